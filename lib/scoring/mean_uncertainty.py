"""``mean_uncertainty`` scoring: one deterministic pass of the subnet pair per study, mean voxel entropy stored in
the datastore's image info."""

from __future__ import annotations

import logging
import os
import time
from typing import Any

from monailabel.interfaces.datastore import Datastore
from monailabel.interfaces.tasks.scoring import ScoringMethod

from ..infers import NoTrainedModelError, UncertaintyContrastiveInfer

__all__ = ["MeanUncertaintyScoring", "SCORE_KEY", "SCORE_TS_KEY", "model_timestamp"]

logger = logging.getLogger(__name__)

# Flat keys in the image info, as MONAI Label's epistemic scoring stores `epistemic_entropy` / `epistemic_ts`.
SCORE_KEY = "mean_uncertainty"
SCORE_TS_KEY = "mean_uncertainty_ts"


def model_timestamp(infer_task: UncertaintyContrastiveInfer) -> float | None:
    """Modification time of the model file inference uses now: a score is current only if made with it."""
    path = infer_task.get_path()
    return os.stat(path).st_mtime if path else None


class MeanUncertaintyScoring(ScoringMethod):
    """Runs the ``uncertainty_contrastive`` infer task (without writing a label) on every unlabeled study, or every
    study with ``score_all``, and stores its ``mean_uncertainty``.

    Studies already scored with the current model are skipped, so that MONAI Label's automatic re-scoring (after
    every training run, every active-learning request and at start-up) costs nothing while the model is unchanged.
    No Monte-Carlo sampling: the two subnets' disagreement already shows in the entropy of their averaged softmax.
    """

    def __init__(self, infer_task: UncertaintyContrastiveInfer, score_all: bool = False) -> None:
        super().__init__("Mean voxel entropy of the subnet pair's averaged prediction (higher = label sooner)")
        self.infer_task = infer_task
        self.score_all = score_all

    def info(self) -> dict[str, Any]:
        return {**super().info(), "config": {"score_all": self.score_all}}

    def __call__(self, request: dict[str, Any], datastore: Datastore) -> dict[str, Any]:
        model_ts = model_timestamp(self.infer_task)
        if model_ts is None:
            raise NoTrainedModelError(self.infer_task.path)
        score_all = request.get("score_all", self.score_all)
        if not isinstance(score_all, bool):
            raise ValueError(f"score_all must be true or false, got {score_all!r}")

        images = sorted(datastore.list_images() if score_all else datastore.get_unlabeled_images())
        pending = [i for i in images if datastore.get_image_info(i).get(SCORE_TS_KEY) != model_ts]
        start, failed = time.time(), []
        for image_id in pending:
            try:
                _, data = self.infer_task(
                    {
                        "image": datastore.get_image_uri(image_id),
                        "skip_writer": True,
                        "logging": "warning",
                        "device": request.get("device"),
                    }
                )
                score = data["result"][SCORE_KEY]
            except Exception as e:  # one unreadable study must not stop the others from being scored
                logger.error("mean_uncertainty: cannot score %s: %s", image_id, e)
                failed.append(image_id)
                continue
            # One update per study (each rewrites the datastore JSON): slower for big pools, but every finished
            # score survives a crash of the scoring process.
            datastore.update_image_info(image_id, {SCORE_KEY: score, SCORE_TS_KEY: model_ts})
            logger.info("mean_uncertainty: %s => %.5f", image_id, score)
        summary = {
            "total": len(images),
            "skipped": len(images) - len(pending),
            "executed": len(pending) - len(failed),
            "failed": failed,
            "latency": round(time.time() - start, 3),
            "model_ts": model_ts,
        }
        logger.info("mean_uncertainty: %s", summary)
        return summary
