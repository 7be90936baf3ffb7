"""Labeling rounds: what each training run learned from, and what the annotators did in between; and whether
labeling still pays off.

A round ends when a training run starts: round i holds the final labels submitted after run i-1 started and before
run i did, and reports run i's validation Dice; the labels submitted since the last run form the open round.
"""

from __future__ import annotations

import glob
import json
import os
import statistics
from dataclasses import dataclass
from typing import Any

from monailabel.interfaces.datastore import Datastore, DefaultLabelTag

from ..trainers.label_dice import per_label_dice
from .prelabel_agreement import CORRECTED_ML_KEY, PRELABEL_DICE_KEY

__all__ = ["TrainingRun", "labeling_rounds", "training_runs"]


@dataclass(frozen=True)
class TrainingRun:
    start_ts: float
    validation_dice: float | None
    validation_dice_per_label: dict[str, float] | None = None


def training_runs(model_dir: str) -> list[TrainingRun]:
    """Every run's stats file (``<model_dir>/<run name>/stats_<run id>.json``, written by the publisher each epoch),
    oldest first: the best key metric (the mean over labels) and each label's Dice of the published model."""
    runs = []
    for path in glob.glob(os.path.join(model_dir, "*", "stats_*.json")):
        with open(path) as f:
            stats = json.load(f)
        best = stats.get("best_metric")
        metrics = stats.get("published_model_metrics") or {}
        per_label = per_label_dice(metrics)
        dice = None if best in (None, -1) else float(best)
        runs.append(TrainingRun(float(stats["start_ts"]), dice, per_label or None))
    return sorted(runs, key=lambda run: run.start_ts)


def _submissions(datastore: Datastore) -> list[dict[str, Any]]:
    """One entry per study with a final label: when (the recorded submission, else the label's own time stamp),
    its pre-label agreement, the volume corrected and annotation time where known."""
    entries = []
    for image_id in datastore.get_labeled_images():
        info = datastore.get_image_info(image_id)
        ts = info.get("submitted_ts")
        if ts is None:
            ts = (datastore.get_label_info(image_id, DefaultLabelTag.FINAL.value) or {}).get("ts", 0)
        entries.append(
            {
                "id": image_id,
                "ts": float(ts),
                "dice": info.get(PRELABEL_DICE_KEY),
                "corrected_ml": info.get(CORRECTED_ML_KEY),
                "seconds": info.get("seconds_from_handout"),
            }
        )
    return sorted(entries, key=lambda entry: entry["ts"])


def _mean(values: list[float]) -> float | None:
    return statistics.fmean(values) if values else None


def labeling_rounds(datastore: Datastore, runs: list[TrainingRun], threshold: float, window: int) -> dict[str, Any]:
    """Per round: labels submitted, labeled in all, the run's validation Dice (the mean over labels, and each label's
    of the published model), mean pre-label agreement, the volume the round's submissions corrected (and all rounds'
    up to it: the effort paid so far) and median annotation time of the round's submissions; then the stop signal
    over the last ``window`` submissions."""
    submissions = _submissions(datastore)
    bounds = [float("-inf")] + [run.start_ts for run in runs] + [float("inf")]
    rounds, labeled, corrected_so_far = [], 0, 0.0
    for index in range(len(bounds) - 1):
        inside = [s for s in submissions if bounds[index] <= s["ts"] < bounds[index + 1]]
        labeled += len(inside)
        trained = index < len(runs)
        dice = [s["dice"] for s in inside if s["dice"] is not None]
        seconds = [s["seconds"] for s in inside if s["seconds"] is not None]
        corrected = sum(s["corrected_ml"] for s in inside if s["corrected_ml"] is not None)
        corrected_so_far += corrected
        rounds.append(
            {
                "round": index + 1,
                "trained": trained,
                "training_started_ts": runs[index].start_ts if trained else None,
                "submitted": len(inside),
                "labeled": labeled,
                "validation_dice": runs[index].validation_dice if trained else None,
                "validation_dice_per_label": runs[index].validation_dice_per_label if trained else None,
                "prelabel_dice_mean": _mean(dice),
                "corrected_ml": corrected,
                "corrected_ml_so_far": corrected_so_far,
                "annotation_seconds_median": statistics.median(seconds) if seconds else None,
            }
        )
    recent = [s["dice"] for s in submissions if s["dice"] is not None][-window:]
    met = len(recent) == window and min(recent) >= threshold
    if met:
        message = (
            f"the model's segmentations are now accepted nearly unchanged: pre-label Dice >= {threshold} for each of "
            f"the last {window} submitted labels; more labels may not pay off"
        )
    else:
        message = f"labeling still changes the model's segmentations (needs {window} in a row at Dice >= {threshold})"
    return {
        "rounds": rounds,
        "stop_signal": {
            "threshold": threshold,
            "window": window,
            "recent_prelabel_dice": recent,
            "met": met,
            "message": message,
        },
    }
