"""Term 4 (with term 3's choice of the better subnet): cross-entropy on pseudo-labels of reliable unlabeled voxels."""

from __future__ import annotations

import torch
from torch import nn

from ..uncertainty import class_map
from .targeted_verification import masked_cross_entropy

__all__ = ["PseudoLabelLoss", "fuse_pseudo_labels", "reliable_mask"]


def reliable_mask(entropy: torch.Tensor, percentile: float) -> torch.Tensor:
    """Voxels whose entropy is at or below the ``percentile``-th percentile of this batch's entropies.

    The threshold adapts to how confident the subnet currently is, as the paper's percentile rule intends.
    """
    if not 0.0 < percentile <= 100.0:
        raise ValueError(f"percentile must be in (0, 100], got {percentile}")
    flat = entropy.detach().flatten().float()
    # kthvalue instead of torch.quantile: quantile refuses inputs of more than 16 M elements.
    k = max(1, min(flat.numel(), int(round(percentile / 100.0 * flat.numel()))))
    threshold = flat.kthvalue(k).values
    return entropy <= threshold


def fuse_pseudo_labels(
    probs_a: torch.Tensor,
    probs_b: torch.Tensor,
    reliable_a: torch.Tensor,
    reliable_b: torch.Tensor,
    a_is_better: bool | torch.Tensor,
) -> tuple[torch.Tensor, torch.Tensor]:
    """(pseudo_label, reliable) for each voxel (B, *spatial).

    A voxel is reliable when at least one subnet is reliable there. Its pseudo-label is the better subnet's class
    where the better subnet is reliable, otherwise the other subnet's: so where both are sure but disagree, the
    weaker subnet learns from the better one (term 3).
    """
    cls_a, cls_b = class_map(probs_a), class_map(probs_b)
    # torch.where on a (possibly GPU) scalar: no host round trip to read the decision.
    a_is_better = torch.as_tensor(a_is_better, device=cls_a.device)
    better_cls, other_cls = torch.where(a_is_better, cls_a, cls_b), torch.where(a_is_better, cls_b, cls_a)
    better_reliable = torch.where(a_is_better, reliable_a, reliable_b)
    pseudo = torch.where(better_reliable, better_cls, other_cls)
    return pseudo, reliable_a | reliable_b


class PseudoLabelLoss(nn.Module):
    """Cross-entropy of a subnet's logits against detached pseudo-labels over the reliable voxels.

    Unlike the public reference code, it is computed on the live logits (not on detached probabilities), so it
    trains the subnet.
    """

    def forward(self, logits: torch.Tensor, pseudo_label: torch.Tensor, reliable: torch.Tensor) -> torch.Tensor:
        return masked_cross_entropy(logits, pseudo_label.detach(), reliable.detach())
