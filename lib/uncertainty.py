"""Voxel-wise predictive entropy: the uncertainty measure shared by training, inference and scoring.

MONAI has no entropy of a probability map (``monai.metrics.active_learning_metrics`` offers variance and label
quality only), so it is written here.
"""

from __future__ import annotations

import math

import torch

__all__ = ["class_map", "normalized_entropy", "subnet_disagreement"]

_EPS = 1e-8


def class_map(probs: torch.Tensor, dim: int = 1, keepdim: bool = False) -> torch.Tensor:
    """The most probable class along ``dim`` (the first, on ties), as ``argmax`` gives it.

    ``Tensor.argmax`` over the class dimension of a volume is some 25x slower on CPU than ``Tensor.max(dim).indices``
    with the same result (0.31 s vs 0.011 s for 3 x 128 x 128 x 96 with this torch build): in scoring it cost more
    than a third of the time beside the networks' pass. MONAI's ``AsDiscrete(argmax=True)`` calls ``argmax``.
    """
    return probs.max(dim=dim, keepdim=keepdim).indices


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


def subnet_disagreement(label_a: torch.Tensor, label_b: torch.Tensor) -> float:
    """Of the voxels that either subnet labels as foreground, the fraction where the two label maps differ; 0 where
    neither labels anything.

    Unlike the mean entropy over the volume, which grows with the boundary area of what is segmented (and so is
    highest for large, easy structures), this is relative to the segmented region itself: it measures how much of the
    segmentation the two dissimilar subnets dispute (see ``python -m benchmarks score_error``).
    """
    if label_a.shape != label_b.shape:
        raise ValueError(f"label maps differ in shape: {tuple(label_a.shape)} vs {tuple(label_b.shape)}")
    either = (label_a > 0) | (label_b > 0)
    return float(((label_a != label_b) & either).sum() / either.sum().clamp_min(1))
