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
from .batch_selection import diverse_batch, representative_batch
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
    ) -> None:
        if score_key not in STUDY_SCORES:
            raise ValueError(f"score_key must be one of {STUDY_SCORES}, got {score_key!r}")
        if pool_factor < 1:
            raise ValueError(f"pool_factor must be at least 1, got {pool_factor}")
        if batch_pick not in BATCH_PICKS:
            raise ValueError(f"batch_pick must be one of {BATCH_PICKS}, got {batch_pick!r}")
        super().__init__(f"Unlabeled studies with the highest {score_key} under the current model", book)
        self.infer_task = infer_task
        self.score_key = score_key
        self.pool_factor = pool_factor
        self.batch_pick = batch_pick

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
