"""The scores of each unlabeled study, from one deterministic pass of the subnet pair: the two subnets' disagreement
(``subnet_disagreement``, ``class_disagreement``), the mean voxel entropy (``mean_uncertainty``) and the encoders'
description of the study (``study_embedding``), stored in the datastore's image info. Registered under MONAI Label's
name ``mean_uncertainty`` (its REST path and stored keys are unchanged: existing datastores need no migration)."""

from __future__ import annotations

import logging
import os
import time
from typing import Any

from monailabel.interfaces.datastore import Datastore
from monailabel.interfaces.tasks.scoring import ScoringMethod

from ..config import STUDY_SCORES
from ..datastore.image_infos import store_image_infos
from ..distributed import all_gather_objects, rank, shard, world_size
from ..infers import EMBEDDING_KEY, WITH_SUBNETS, NoTrainedModelError, UncertaintyContrastiveInfer
from ..model_card import check_model

__all__ = [
    "DISAGREEMENT_KEY",
    "StudyScoring",
    "SCORE_GRID_KEY",
    "SCORE_KEY",
    "SCORE_TS_KEY",
    "STUDY_SCORES",
    "is_current",
    "model_timestamp",
    "score_stamp",
]

logger = logging.getLogger(__name__)

# Flat keys in the image info, as MONAI Label's epistemic scoring stores `epistemic_entropy` / `epistemic_ts`.
SCORE_KEY = "mean_uncertainty"
DISAGREEMENT_KEY = "subnet_disagreement"
SCORE_TS_KEY = "mean_uncertainty_ts"
# The scoring grid a score was made on (``score_downsample``): scores from another grid rank differently.
SCORE_GRID_KEY = "mean_uncertainty_grid"
# One pass stores all of STUDY_SCORES; the ``uncertainty`` strategy ranks by the one ``next_study_score`` names.


def model_timestamp(infer_task: UncertaintyContrastiveInfer) -> float | None:
    """Modification time of the model file inference uses now: a score is current only if made with it."""
    path = infer_task.get_path()
    return os.stat(path).st_mtime if path else None


def score_stamp(infer_task: UncertaintyContrastiveInfer) -> dict[str, float] | None:
    """What a current score was made with: the model file inference uses now and the scoring grid; None without a
    trained model."""
    model_ts = model_timestamp(infer_task)
    if model_ts is None:
        return None
    return {SCORE_TS_KEY: model_ts, SCORE_GRID_KEY: infer_task.app_config.score_downsample}


def is_current(info: dict[str, Any], stamp: dict[str, float] | None) -> bool:
    """Whether a study's stored scores were made with ``stamp`` (a score stored before grids were recorded was made
    on the full grid)."""
    return (
        stamp is not None
        and info.get(SCORE_TS_KEY) == stamp[SCORE_TS_KEY]
        and info.get(SCORE_GRID_KEY, 1) == stamp[SCORE_GRID_KEY]
    )


def _has_current_scores(info: dict[str, Any], stamp: dict[str, float]) -> bool:
    return is_current(info, stamp) and all(key in info for key in STUDY_SCORES)


class StudyScoring(ScoringMethod):
    """Runs the ``uncertainty_contrastive`` infer task (without writing a label) on every unlabeled study, or every
    study with ``score_all``, and stores its ``STUDY_SCORES`` (``mean_uncertainty``, ``subnet_disagreement``,
    ``class_disagreement``) and ``study_embedding`` (both encoders' pooled bottleneck features).

    While fewer than ``cold_start_labels`` studies are labeled, labeled studies are described too (the strategy's
    cold start compares the pool with them). Studies already scored with the current model on the current grid are
    skipped, so that MONAI Label's automatic
    re-scoring (after every training run, every active-learning request and at start-up) costs nothing while the
    model and ``score_downsample`` are unchanged.
    No Monte-Carlo sampling: the two subnets' disagreement already shows in the entropy of their averaged softmax.

    Called in every rank of a ``torch.distributed`` group (``sample-apps/distributed/run.py score`` under torchrun),
    each rank scores its share of the pending studies and rank 0 stores all scores with one datastore write.
    """

    def __init__(
        self, infer_task: UncertaintyContrastiveInfer, score_all: bool = False, cold_start_labels: int = 0
    ) -> None:
        super().__init__(
            "Mean voxel entropy of the subnet pair's averaged prediction and the subnets' disagreement "
            "(higher = label sooner)"
        )
        self.infer_task = infer_task
        self.score_all = score_all
        self.cold_start_labels = cold_start_labels

    def info(self) -> dict[str, Any]:
        return {**super().info(), "config": {"score_all": self.score_all}}

    def __call__(self, request: dict[str, Any], datastore: Datastore) -> dict[str, Any]:
        stamp = score_stamp(self.infer_task)
        if stamp is None:
            raise NoTrainedModelError(self.infer_task.path)
        check_model(self.infer_task.get_path(), self.infer_task.app_config)  # scores of another model's meaning: no
        score_all = request.get("score_all", self.score_all)
        if not isinstance(score_all, bool):
            raise ValueError(f"score_all must be true or false, got {score_all!r}")

        # The strategy's cold start compares unlabeled studies with the labeled ones: describe those too meanwhile.
        cold_start = len(datastore.get_labeled_images()) < self.cold_start_labels
        images = sorted(datastore.list_images() if score_all or cold_start else datastore.get_unlabeled_images())
        # A score stored before a newer score key existed is made again, so that every key can be ranked by.
        pending = [i for i in images if not _has_current_scores(datastore.get_image_info(i), stamp)]
        start = time.time()
        scores, failed = self._score(shard(pending), request.get("device"), datastore)
        # Under torch.distributed each rank scored its shard of the pool; one process writes them all, once.
        gathered = all_gather_objects((scores, failed))
        scores = {image_id: score for part, _ in gathered for image_id, score in part.items()}
        failed = sorted(image_id for _, part in gathered for image_id in part)
        if rank() == 0:
            store_image_infos(datastore, {i: {**values, **stamp} for i, values in scores.items()})
        summary = {
            "total": len(images),
            "skipped": len(images) - len(pending),
            "executed": len(pending) - len(failed),
            "failed": failed,
            "latency": round(time.time() - start, 3),
            "model_ts": stamp[SCORE_TS_KEY],
            "grid": stamp[SCORE_GRID_KEY],
            "ranks": world_size(),
        }
        logger.info("mean_uncertainty: %s", summary)
        return summary

    def _score(
        self, image_ids: list[str], device: str | None, datastore: Datastore
    ) -> tuple[dict[str, dict[str, float]], list[str]]:
        scores, failed = {}, []
        for image_id in image_ids:
            try:
                _, data = self.infer_task(
                    {
                        "image": datastore.get_image_uri(image_id),
                        "skip_writer": True,
                        "logging": "warning",
                        "device": device,
                        WITH_SUBNETS: True,
                    }
                )
                # The study's bottleneck description, for the strategy's diverse batches (batch_pool_factor).
                scores[image_id] = {key: data["result"][key] for key in (*STUDY_SCORES, EMBEDDING_KEY)}
            except Exception as e:  # one unreadable study must not stop the others from being scored
                logger.exception("mean_uncertainty: cannot score %s: %s", image_id, e)
                failed.append(image_id)
                continue
            logger.info("mean_uncertainty: %s => %s", image_id, {k: scores[image_id][k] for k in STUDY_SCORES})
        return scores, failed
