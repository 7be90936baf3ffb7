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


def disagreement_region(probs_vnet: torch.Tensor, probs_resnet: torch.Tensor, threshold: float) -> torch.Tensor:
    """Voxels (B, *spatial) where exactly one subnet is confidently foreground, or both are but for different
    foreground classes. Built from probabilities only; callers pass detached tensors."""
    fg_vnet, cls_vnet = confident_foreground(probs_vnet, threshold)
    fg_resnet, cls_resnet = confident_foreground(probs_resnet, threshold)
    return (fg_vnet ^ fg_resnet) | (fg_vnet & fg_resnet & (cls_vnet != cls_resnet))


def masked_cross_entropy(
    logits: torch.Tensor,
    target: torch.Tensor,
    mask: torch.Tensor,
    weight: torch.Tensor | None = None,
    per_voxel_of_batch: bool = False,
) -> torch.Tensor:
    """Cross-entropy of ``logits`` (B, C, *spatial) against index ``target`` (B, *spatial) summed over ``mask``
    (times ``weight`` where given) and divided by the number of voxels in ``mask``, or with ``per_voxel_of_batch``
    by the number of voxels in the whole batch (so that a small region weighs per voxel what any voxel weighs).

    An empty mask gives an exact zero that still belongs to the graph, so a term never silently drops out of
    backward and gradients stay defined.
    """
    voxel_ce = F.cross_entropy(logits, target.long(), reduction="none")
    mask = mask.to(voxel_ce.dtype)
    weighted = mask if weight is None else mask * weight.to(voxel_ce.dtype)
    denominator = float(mask.numel()) if per_voxel_of_batch else mask.sum().clamp_min(1.0)
    return (voxel_ce * weighted).sum() / denominator


class TargetedVerificationLoss(nn.Module):
    """Cross-entropy of each subnet against the label, restricted to the region where the two subnets disagree and
    averaged over all labeled voxels: a region of 50 voxels then adds what those 50 voxels' cross-entropy is worth,
    instead of weighing each of them hundreds of times more than a voxel of the supervised term.

    The region itself carries no gradient (it is a selection), each subnet's term only its own.
    """

    def __init__(self, threshold: float = 0.6) -> None:
        super().__init__()
        if not 0.0 < threshold <= 1.0:
            raise ValueError(f"threshold must be in (0, 1], got {threshold}")
        self.threshold = threshold

    def forward(
        self, logits_vnet: torch.Tensor, logits_resnet: torch.Tensor, label: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """
        Args:
            logits_vnet, logits_resnet: (B, C, H, W, D) each subnet's logits on the labeled patches.
            label: (B, 1, H, W, D) class indices.

        Returns:
            The two subnets' terms, scalars.
        """
        with torch.no_grad():
            region = disagreement_region(logits_vnet.softmax(1), logits_resnet.softmax(1), self.threshold)
        target = label[:, 0]
        return tuple(
            masked_cross_entropy(logits, target, region, per_voxel_of_batch=True)
            for logits in (logits_vnet, logits_resnet)
        )
