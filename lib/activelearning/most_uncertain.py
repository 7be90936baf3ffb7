"""``uncertainty`` strategy: the unlabeled study the current model is least sure about."""

from __future__ import annotations

import logging
import random
from typing import Any

from monailabel.interfaces.datastore import Datastore
from monailabel.interfaces.tasks.strategy import Strategy

from ..infers import UncertaintyContrastiveInfer
from ..scoring.mean_uncertainty import SCORE_TS_KEY, STUDY_SCORES, model_timestamp

__all__ = ["MostUncertain"]

logger = logging.getLogger(__name__)


class MostUncertain(Strategy):
    """Highest score (``score_key``: ``subnet_disagreement`` or ``mean_uncertainty``) among the unlabeled studies
    scored with the current model.

    Strategies run inside the request, so this one only reads stored scores. Studies without a current score are
    left out (and counted in the log); when none has one, the choice is random and the response says so.
    """

    def __init__(self, infer_task: UncertaintyContrastiveInfer, score_key: str) -> None:
        if score_key not in STUDY_SCORES:
            raise ValueError(f"score_key must be one of {STUDY_SCORES}, got {score_key!r}")
        super().__init__(f"Unlabeled study with the highest {score_key} under the current model")
        self.infer_task = infer_task
        self.score_key = score_key

    def __call__(self, request: dict[str, Any], datastore: Datastore) -> dict[str, Any] | None:
        images = sorted(datastore.get_unlabeled_images())
        if not images:
            return None
        model_ts = model_timestamp(self.infer_task)
        scores: dict[str, float] = {}
        for image_id in images:
            info = datastore.get_image_info(image_id)
            if model_ts is not None and info.get(SCORE_TS_KEY) == model_ts and info.get(self.score_key) is not None:
                scores[image_id] = float(info[self.score_key])

        unscored = len(images) - len(scores)
        if unscored:
            logger.warning(
                "uncertainty strategy: %d of %d unlabeled studies have no %s score for the current model%s",
                unscored,
                len(images),
                self.score_key,
                "" if model_ts is not None else " (there is no trained model yet)",
            )
        if not scores:
            image_id = random.choice(images)
            logger.warning("uncertainty strategy: no current scores; falling back to random: %s", image_id)
            return {"id": image_id, "strategy_fallback": "random"}
        image_id = max(scores, key=scores.__getitem__)
        logger.info("uncertainty strategy: %s (%s %.5f)", image_id, self.score_key, scores[image_id])
        return {"id": image_id, self.score_key: scores[image_id]}
