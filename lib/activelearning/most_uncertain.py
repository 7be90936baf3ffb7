"""``uncertainty`` strategy: the unlabeled studies the current model is least sure about."""

from __future__ import annotations

import logging
import random
from typing import Any

import torch
from monailabel.interfaces.datastore import Datastore

from ..infers import EMBEDDING_KEY, UncertaintyContrastiveInfer
from ..scoring.mean_uncertainty import STUDY_SCORES, is_current, score_stamp
from .leases import LeaseBook
from .leasing_strategy import LeasingStrategy

__all__ = ["MostUncertain"]

logger = logging.getLogger(__name__)


class MostUncertain(LeasingStrategy):
    """Highest score (``score_key``: one of ``STUDY_SCORES``) among the free unlabeled studies scored with the current
    model on the current grid; ``k`` of them in score order, or with ``pool_factor`` > 1 a diverse batch: among the
    ``pool_factor`` x ``k`` highest, the top one, then each time the one whose bottleneck description
    (``study_embedding``) is farthest (cosine) from those already in the batch, so that a batch is not k near-duplicates
    (farthest-first traversal, as core-set selection, restricted to the most uncertain).

    Strategies run inside the request, so this one only reads stored scores. Studies without a current score are
    left out (and counted in the log) unless fewer than ``k`` have one: the rest is then drawn at random and marked
    ``strategy_fallback: random``.
    """

    def __init__(
        self, infer_task: UncertaintyContrastiveInfer, score_key: str, book: LeaseBook, pool_factor: int = 1
    ) -> None:
        if score_key not in STUDY_SCORES:
            raise ValueError(f"score_key must be one of {STUDY_SCORES}, got {score_key!r}")
        if pool_factor < 1:
            raise ValueError(f"pool_factor must be at least 1, got {pool_factor}")
        super().__init__(f"Unlabeled studies with the highest {score_key} under the current model", book)
        self.infer_task = infer_task
        self.score_key = score_key
        self.pool_factor = pool_factor

    def pick(self, candidates: list[str], k: int, datastore: Datastore) -> list[dict[str, Any]]:
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
        ranked = self._diverse(ranked[: self.pool_factor * k], k, embeddings) if self.pool_factor > 1 else ranked[:k]
        picked = [{"id": i, self.score_key: scores[i]} for i in ranked]
        if len(picked) < k:
            extra = random.sample(unscored, min(k - len(picked), len(unscored)))
            logger.warning("uncertainty strategy: no current scores for %s; drawn at random", extra)
            picked += [{"id": i, "strategy_fallback": "random"} for i in extra]
        return picked

    @staticmethod
    def _diverse(ranked: list[str], k: int, embeddings: dict[str, list[float]]) -> list[str]:
        """Farthest-first among ``ranked`` (best score first), starting from the best; plain score order when a
        candidate has no description (scored before descriptions were stored)."""
        if any(i not in embeddings for i in ranked):
            return ranked[:k]
        vectors = torch.nn.functional.normalize(torch.tensor([embeddings[i] for i in ranked]), dim=1)
        chosen = [0]
        while len(chosen) < min(k, len(ranked)):
            # Distance of each candidate to its nearest chosen study; ties go to the better score (lower index).
            nearest = (1.0 - vectors @ vectors[chosen].T).min(dim=1).values
            nearest[chosen] = -1.0
            chosen.append(int(nearest.argmax()))
        return [ranked[i] for i in chosen]
