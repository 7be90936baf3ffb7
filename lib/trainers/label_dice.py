"""Dice per label for training and validation, and their mean over labels as the key metric that chooses the best
checkpoint (as MONAI Label's radiology trainer reports region-wise metrics).

MONAI's ``MeanDice`` handler skips a label that a study does not hold (NaN): on a pool where most studies hold no
lesion, a model that paints lesions into every lesion-free study would lose nothing for it, and the lesion's Dice
would come from a few studies only. Here a label absent from both the study and its prediction counts 1 and a label
predicted where there is none counts 0 (MONAI's ``DiceMetric(ignore_empty=False)``), each label's Dice is the mean
over the studies, and the key metric is the mean over labels, so that a small label weighs as much as a large one.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import torch
from monai.handlers import IgniteMetricHandler, from_engine
from monai.metrics import DiceMetric

__all__ = ["LabelDice", "label_dice_metrics", "per_label_dice"]

# How ``label_dice_metrics`` names a label's Dice.
_LABEL_METRIC = re.compile(r"^(?:val|train)_(.+)_mean_dice$")


class LabelDice(DiceMetric):
    """``DiceMetric`` without background whose ``aggregate`` is one label's Dice over the studies seen, or with
    ``label`` None the mean of every label's."""

    def __init__(self, label: int | None = None) -> None:
        super().__init__(include_background=False, reduction="mean_batch", ignore_empty=False)
        self.label = label

    def aggregate(self, reduction: str | None = None) -> torch.Tensor:  # type: ignore[override]
        per_label = super().aggregate(reduction)
        return per_label.mean() if self.label is None else per_label[self.label - 1]


def label_dice_metrics(labels: Mapping[str, int], key: str, prefix: str) -> dict[str, IgniteMetricHandler]:
    """``key`` (the mean over labels, first: MONAI's engines take a dict's first metric as the key metric), then
    ``<prefix>_<label>_mean_dice`` for each label, as MONAI Label's ``region_wise_metrics`` names them."""

    def handler(label: int | None) -> IgniteMetricHandler:
        pairs = from_engine(["pred", "label"])
        return IgniteMetricHandler(LabelDice(label), output_transform=pairs, save_details=False)

    metrics = {key: handler(None)}
    metrics.update({f"{prefix}_{name}_mean_dice": handler(value) for name, value in labels.items()})
    return metrics


def per_label_dice(metrics: Mapping[str, float]) -> dict[str, float]:
    """Each label's Dice among an engine's metrics (``{"val_lesion_mean_dice": 0.4, ...}`` -> ``{"lesion": 0.4}``)."""
    return {m.group(1): float(v) for k, v in metrics.items() if (m := _LABEL_METRIC.match(k))}
