"""``uncertainty`` strategy: the unlabeled study the current model is least sure about."""

from __future__ import annotations

import logging
import random
from typing import Any

from monailabel.interfaces.datastore import Datastore
from monailabel.interfaces.tasks.strategy import Strategy

from ..infers import UncertaintyContrastiveInfer
from ..scoring.mean_uncertainty import SCORE_KEY, SCORE_TS_KEY, model_timestamp

__all__ = ["MostUncertain"]

logger = logging.getLogger(__name__)


class MostUncertain(Strategy):
    """Highest ``mean_uncertainty`` among the unlabeled studies scored with the current model.

    Strategies run inside the request, so this one only reads stored scores. Studies without a current score are
    left out (and counted in the log); when none has one, the choice is random and the response says so.
    """

    def __init__(self, infer_task: UncertaintyContrastiveInfer) -> None:
        super().__init__("Unlabeled study with the highest mean uncertainty under the current model")
        self.infer_task = infer_task

    def __call__(self, request: dict[str, Any], datastore: Datastore) -> dict[str, Any] | None:
        images = sorted(datastore.get_unlabeled_images())
        if not images:
            return None
        model_ts = model_timestamp(self.infer_task)
        scores: dict[str, float] = {}
        for image_id in images:
            info = datastore.get_image_info(image_id)
            if model_ts is not None and info.get(SCORE_TS_KEY) == model_ts and info.get(SCORE_KEY) is not None:
                scores[image_id] = float(info[SCORE_KEY])

        unscored = len(images) - len(scores)
        if unscored:
            logger.warning(
                "uncertainty strategy: %d of %d unlabeled studies have no %s score for the current model%s",
                unscored,
                len(images),
                SCORE_KEY,
                "" if model_ts is not None else " (there is no trained model yet)",
            )
        if not scores:
            image_id = random.choice(images)
            logger.warning("uncertainty strategy: no current scores; falling back to random: %s", image_id)
            return {"id": image_id, "strategy_fallback": "random"}
        image_id = max(scores, key=scores.__getitem__)
        logger.info("uncertainty strategy: %s (mean_uncertainty %.5f)", image_id, scores[image_id])
        return {"id": image_id, SCORE_KEY: scores[image_id]}
