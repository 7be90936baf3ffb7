"""Term 2: targeted verification of the two subnets' disagreement on labeled data (MCF's contrastive difference
review; Jarimijafarbigloo et al., MIDL 2024, Sec. 2)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["TargetedVerificationLoss", "disagreement_region", "confident_foreground"]


def confident_foreground(probs: torch.Tensor, threshold: float) -> tuple[torch.Tensor, torch.Tensor]:
    """(mask, class): voxels whose most probable class is a foreground class with probability >= ``threshold``.

    For two classes this is the paper's "p_fg >= tau"; for more it is its natural multi-class form.
    """
    top_prob, top_class = probs.max(dim=1)
    return (top_class > 0) & (top_prob >= threshold), top_class


def disagreement_region(probs_a: torch.Tensor, probs_b: torch.Tensor, threshold: float) -> torch.Tensor:
    """Voxels (B, *spatial) where exactly one subnet is confidently foreground, or both are but for different
    foreground classes. Built from probabilities only; callers pass detached tensors."""
    fg_a, cls_a = confident_foreground(probs_a, threshold)
    fg_b, cls_b = confident_foreground(probs_b, threshold)
    return (fg_a ^ fg_b) | (fg_a & fg_b & (cls_a != cls_b))


def masked_cross_entropy(logits: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy of ``logits`` (B, C, *spatial) against index ``target`` (B, *spatial) over ``mask``.

    An empty mask gives an exact zero that still belongs to the graph, so a term never silently drops out of
    backward and gradients stay defined.
    """
    voxel_ce = F.cross_entropy(logits, target.long(), reduction="none")
    mask = mask.to(voxel_ce.dtype)
    return (voxel_ce * mask).sum() / mask.sum().clamp_min(1.0)


class TargetedVerificationLoss(nn.Module):
    """Cross-entropy of each subnet against the label, restricted to the region where the two subnets disagree.

    The region itself carries no gradient (it is a selection), each subnet's term only its own.
    """

    def __init__(self, threshold: float = 0.6) -> None:
        super().__init__()
        if not 0.0 < threshold <= 1.0:
            raise ValueError(f"threshold must be in (0, 1], got {threshold}")
        self.threshold = threshold

    def forward(
        self, logits_a: torch.Tensor, logits_b: torch.Tensor, label: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        with torch.no_grad():
            region = disagreement_region(logits_a.softmax(1), logits_b.softmax(1), self.threshold)
        target = label[:, 0]
        return masked_cross_entropy(logits_a, target, region), masked_cross_entropy(logits_b, target, region)
