"""Bidirectional uncertainty-aware region learning (after "bidirectional uncertainty-aware region learning", 2025):
on labeled voxels, learn more where the pair is uncertain; on unlabeled voxels, learn only, and more, where it is
certain. MONAI has no uncertainty-weighted cross-entropy, so both sides are written here."""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["certainty_weights", "uncertainty_weighted_cross_entropy"]


def uncertainty_weighted_cross_entropy(
    logits: torch.Tensor, label: torch.Tensor, uncertainty: torch.Tensor
) -> torch.Tensor:
    """Mean over labeled voxels of u * CE(logits, label), u in [0, 1] (detached): added with weight w to the
    supervised loss, a voxel weighs 1 + w * u, so the hard, ambiguous voxels (boundaries, where the two subnets or
    the teacher hesitate) get more of the labels' signal than the many easy ones.

    Args:
        logits: (B, C, H, W, D) one subnet's logits on the labeled patches.
        label: (B, 1, H, W, D) class indices.
        uncertainty: (B, H, W, D) normalised entropy in [0, 1] (the teacher pair's).

    Returns:
        A scalar.
    """
    voxel_ce = F.cross_entropy(logits, label[:, 0].long(), reduction="none")
    return (voxel_ce * uncertainty.detach().to(voxel_ce.dtype)).mean()


def certainty_weights(uncertainty: torch.Tensor, power: float) -> torch.Tensor:
    """(1 - u)^power for unlabeled voxels: 1 where the pair is certain, falling towards 0 where it is not (power 0:
    all ones), so that pseudo-labels near the decision boundary, the likeliest to be wrong, pull least.

    Args:
        uncertainty: (B, H, W, D) normalised entropy in [0, 1].

    Returns:
        (B, H, W, D) weights in [0, 1], detached.
    """
    if power < 0:
        raise ValueError(f"power must not be negative, got {power}")
    return (1.0 - uncertainty.detach()).clamp(0.0, 1.0) ** power
