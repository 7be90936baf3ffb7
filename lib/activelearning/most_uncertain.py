"""``uncertainty`` strategy: the unlabeled studies the current model is least sure about."""

from __future__ import annotations

import logging
import random
from typing import Any

from monailabel.interfaces.datastore import Datastore

from ..infers import UncertaintyContrastiveInfer
from ..scoring.mean_uncertainty import SCORE_TS_KEY, STUDY_SCORES, model_timestamp
from .leases import LeaseBook
from .leasing_strategy import LeasingStrategy

__all__ = ["MostUncertain"]

logger = logging.getLogger(__name__)


class MostUncertain(LeasingStrategy):
    """Highest score (``score_key``: ``subnet_disagreement`` or ``mean_uncertainty``) among the free unlabeled
    studies scored with the current model; ``k`` of them in score order.

    Strategies run inside the request, so this one only reads stored scores. Studies without a current score are
    left out (and counted in the log) unless fewer than ``k`` have one: the rest is then drawn at random and marked
    ``strategy_fallback: random``.
    """

    def __init__(self, infer_task: UncertaintyContrastiveInfer, score_key: str, book: LeaseBook) -> None:
        if score_key not in STUDY_SCORES:
            raise ValueError(f"score_key must be one of {STUDY_SCORES}, got {score_key!r}")
        super().__init__(f"Unlabeled studies with the highest {score_key} under the current model", book)
        self.infer_task = infer_task
        self.score_key = score_key

    def pick(self, candidates: list[str], k: int, datastore: Datastore) -> list[dict[str, Any]]:
        model_ts = model_timestamp(self.infer_task)
        scores: dict[str, float] = {}
        for image_id in candidates:
            info = datastore.get_image_info(image_id)
            if model_ts is not None and info.get(SCORE_TS_KEY) == model_ts and info.get(self.score_key) is not None:
                scores[image_id] = float(info[self.score_key])

        unscored = [i for i in candidates if i not in scores]
        if unscored:
            logger.warning(
                "uncertainty strategy: %d of %d free unlabeled studies have no %s score for the current model%s",
                len(unscored),
                len(candidates),
                self.score_key,
                "" if model_ts is not None else " (there is no trained model yet)",
            )
        ranked = sorted(scores, key=lambda i: (-scores[i], i))[:k]
        picked = [{"id": i, self.score_key: scores[i]} for i in ranked]
        if len(picked) < k:
            extra = random.sample(unscored, min(k - len(picked), len(unscored)))
            logger.warning("uncertainty strategy: no current scores for %s; drawn at random", extra)
            picked += [{"id": i, "strategy_fallback": "random"} for i in extra]
        return picked
