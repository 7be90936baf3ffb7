"""Term 4 (with term 3's choice of the better subnet): cross-entropy on pseudo-labels of reliable unlabeled voxels."""

from __future__ import annotations

import torch
from torch import nn

import torch.nn.functional as F

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
    a_is_better: bool,
) -> tuple[torch.Tensor, torch.Tensor]:
    """(pseudo_label, reliable) for each voxel (B, *spatial).

    A voxel is reliable when at least one subnet is reliable there. Its pseudo-label is the better subnet's class
    where the better subnet is reliable, otherwise the other subnet's: so where both are sure but disagree, the
    weaker subnet learns from the better one (term 3).
    """
    cls_a, cls_b = probs_a.argmax(dim=1), probs_b.argmax(dim=1)
    better_cls, other_cls = (cls_a, cls_b) if a_is_better else (cls_b, cls_a)
    better_reliable = reliable_a if a_is_better else reliable_b
    pseudo = torch.where(better_reliable, better_cls, other_cls)
    return pseudo, reliable_a | reliable_b


class PseudoLabelLoss(nn.Module):
    """Class-balanced cross-entropy of a subnet's logits against detached pseudo-labels over the reliable voxels:
    the mean over the classes present of each class's mean voxel cross-entropy.

    The lowest-entropy voxels of a patch are mostly background; a plain voxel mean would then teach "background"
    ever harder and shrink the foreground (we measured validation Dice falling once the term's ramp-up completed).
    Unlike the public reference code, it is computed on the live logits (not on detached probabilities), so it
    trains the subnet.
    """

    def forward(self, logits: torch.Tensor, pseudo_label: torch.Tensor, reliable: torch.Tensor) -> torch.Tensor:
        voxel_ce = F.cross_entropy(logits, pseudo_label.detach().long(), reduction="none")
        classes = pseudo_label.detach()[reliable]
        per_voxel = voxel_ce[reliable.detach()]
        num_classes = logits.shape[1]
        sums = torch.zeros(num_classes, dtype=voxel_ce.dtype, device=voxel_ce.device).index_add(0, classes, per_voxel)
        counts = torch.bincount(classes, minlength=num_classes)
        present = counts > 0
        if not bool(present.any()):
            return logits.sum() * 0.0  # no reliable voxel: a zero that keeps the graph
        return (sums[present] / counts[present]).mean()
