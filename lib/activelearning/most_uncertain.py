"""``uncertainty`` strategy: the unlabeled studies the current model is least sure about."""

from __future__ import annotations

import logging
import random
from typing import Any

from monailabel.interfaces.datastore import Datastore

from ..config import BATCH_PICKS
from ..infers import EMBEDDING_KEY, UncertaintyContrastiveInfer
from ..scoring.study_scores import STUDY_SCORES, is_current, score_stamp
from ..validation.options import ActiveLearningOptions
from .batch_selection import diverse_batch, representative_batch, typical_batch
from .leases import LeaseBook
from .leasing_strategy import LeasingStrategy

__all__ = ["MostUncertain"]

logger = logging.getLogger(__name__)


class MostUncertain(LeasingStrategy):
    """Highest score (``score_key``: one of ``STUDY_SCORES``) among the free unlabeled studies scored with the current
    model on the current grid; ``k`` of them in score order, or with ``pool_factor`` > 1 ``k`` chosen among the
    ``pool_factor`` x ``k`` highest by their bottleneck descriptions (``study_embedding``): ``batch_pick`` "diverse",
    each next the one least like those already in the batch; "representative", the ones that best stand for the
    whole free pool (``batch_selection``).

    While fewer than ``cold_start_labels`` studies are labeled, it hands out typical studies of the parts of the pool
    that nothing labeled or held stands for yet (``typical_batch``, TypiClust), marked ``pick: typical``: with few
    labels, typical studies teach a model more than its most uncertain ones.

    Strategies run inside the request, so this one only reads stored scores. Studies without a current score are
    left out (and counted in the log) unless fewer than ``k`` have one: the rest is then drawn at random and marked
    ``strategy_fallback: random``.
    """

    def __init__(
        self,
        infer_task: UncertaintyContrastiveInfer,
        score_key: str,
        book: LeaseBook,
        pool_factor: int = 1,
        batch_pick: str = "diverse",
        cold_start_labels: int = 0,
    ) -> None:
        if score_key not in STUDY_SCORES:
            raise ValueError(f"score_key must be one of {STUDY_SCORES}, got {score_key!r}")
        if pool_factor < 1:
            raise ValueError(f"pool_factor must be at least 1, got {pool_factor}")
        if batch_pick not in BATCH_PICKS:
            raise ValueError(f"batch_pick must be one of {BATCH_PICKS}, got {batch_pick!r}")
        super().__init__(_description(score_key, cold_start_labels), book)
        self.infer_task = infer_task
        self.score_key = score_key
        self.pool_factor = pool_factor
        self.batch_pick = batch_pick
        self.cold_start_labels = cold_start_labels

    def pick(
        self, candidates: list[str], k: int, datastore: Datastore, options: ActiveLearningOptions
    ) -> list[dict[str, Any]]:
        stamp = score_stamp(self.infer_task)
        scores: dict[str, float] = {}
        embeddings: dict[str, list[float]] = {}
        for image_id in candidates:
            info = datastore.get_image_info(image_id)
            if is_current(info, stamp) and info.get(self.score_key) is not None:
                scores[image_id] = float(info[self.score_key])
                if info.get(EMBEDDING_KEY):
                    embeddings[image_id] = info[EMBEDDING_KEY]

        unscored = [i for i in candidates if i not in scores]
        if unscored:
            logger.warning(
                "uncertainty strategy: %d of %d free unlabeled studies have no %s score for the current model%s",
                len(unscored),
                len(candidates),
                self.score_key,
                "" if stamp is not None else " (there is no trained model yet)",
            )
        if len(datastore.get_labeled_images()) < self.cold_start_labels:
            typical = self._typical(candidates, k, datastore, stamp)
            if typical:
                return [{"id": i, "pick": "typical"} for i in typical]
        ranked = sorted(scores, key=lambda i: (-scores[i], i))
        if self.pool_factor == 1:
            ranked = ranked[:k]
        elif self.batch_pick == "diverse":
            ranked = diverse_batch(ranked[: self.pool_factor * k], k, embeddings)
        else:
            ranked = representative_batch(ranked[: self.pool_factor * k], k, embeddings, sorted(scores))
        picked = [{"id": i, self.score_key: scores[i]} for i in ranked]
        if len(picked) < k:
            extra = random.sample(unscored, min(k - len(picked), len(unscored)))
            logger.warning("uncertainty strategy: no current scores for %s; drawn at random", extra)
            picked += [{"id": i, "strategy_fallback": "random"} for i in extra]
        return picked

    def _typical(
        self, candidates: list[str], k: int, datastore: Datastore, stamp: dict[str, float] | None
    ) -> list[str]:
        """The cold start's batch, from the current model's descriptions of every study (the scorer describes the
        labeled ones too while the cold start lasts); empty, and said in the log, while any description is missing."""
        covered = sorted(set(datastore.list_images()) - set(candidates))
        embeddings = {}
        for image_id in (*candidates, *covered):
            info = datastore.get_image_info(image_id)
            if is_current(info, stamp) and info.get(EMBEDDING_KEY):
                embeddings[image_id] = info[EMBEDDING_KEY]
        typical = typical_batch(candidates, k, embeddings, covered)
        if not typical:
            logger.warning(
                "uncertainty strategy: cold start, but %d studies have no description from the current model: by score",
                len(candidates) + len(covered) - len(embeddings),
            )
        return typical


def _description(score_key: str, cold_start_labels: int) -> str:
    """What the strategy does, in an annotator's words (Slicer and OHIF show it)."""
    what = {
        "subnet_disagreement": "where the model's two networks disagree most about what they segment",
        "class_disagreement": "where the model's two networks disagree most, each label weighing the same",
        "mean_uncertainty": "where the model is least sure over the whole study",
        "focus_disagreement": "where the model's two networks disagree most about the lesions they find",
    }[score_key]
    text = f"Next: the unlabeled study {what}"
    if cold_start_labels:
        text = (
            f"First {cold_start_labels} labels: studies typical of the parts of the pool nothing labeled covers yet; "
            f"then: the unlabeled study {what}"
        )
    return text
