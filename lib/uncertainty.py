"""Voxel-wise predictive entropy: the uncertainty measure shared by training, inference and scoring.

MONAI has no entropy of a probability map (``monai.metrics.active_learning_metrics`` offers variance and label
quality only), so it is written here.
"""

from __future__ import annotations

import math

import torch

__all__ = ["normalized_entropy"]

_EPS = 1e-8


def normalized_entropy(probs: torch.Tensor, dim: int = 1) -> torch.Tensor:
    """Shannon entropy of class probabilities along ``dim``, divided by log(num_classes) so that it lies in [0, 1]
    whatever the number of labels: 0 for a one-hot prediction, 1 for a uniform one.

    Dividing by log(C) makes thresholds (``uncertainty_threshold``) and scores comparable between label sets.
    """
    num_classes = probs.shape[dim]
    if num_classes < 2:
        raise ValueError(f"probs needs at least two classes along dim {dim}, got shape {tuple(probs.shape)}")
    entropy = -(probs * torch.log(probs.clamp_min(_EPS))).sum(dim=dim)
    return entropy / math.log(num_classes)
