"""Term 4 (with term 3's choice of the better subnet): cross-entropy on pseudo-labels of reliable unlabeled voxels."""

from __future__ import annotations

import torch
from torch import nn

from ..uncertainty import class_map
from .targeted_verification import masked_cross_entropy

__all__ = [
    "PseudoLabelLoss",
    "class_balanced_reliable_mask",
    "fuse_pseudo_labels",
    "inverse_frequency_weights",
    "reliable_mask",
]


# A percentile is taken over at most about this many evenly strided values (as the contrastive band's quantile): the
# same threshold to a fraction of a percentile, for a fraction of ``kthvalue``'s time over a batch of patches.
PERCENTILE_SAMPLE = 100_000


def _percentile_threshold(values: torch.Tensor, percentile: float) -> torch.Tensor:
    flat = values.detach().flatten().float()
    flat = flat[:: max(1, flat.numel() // PERCENTILE_SAMPLE)]
    # kthvalue instead of torch.quantile: quantile refuses inputs of more than 16 M elements.
    k = max(1, min(flat.numel(), int(round(percentile / 100.0 * flat.numel()))))
    return flat.kthvalue(k).values


def reliable_mask(entropy: torch.Tensor, percentile: float) -> torch.Tensor:
    """Voxels whose entropy is at or below the ``percentile``-th percentile of this batch's entropies.

    The threshold adapts to how confident the subnet currently is, as the paper's percentile rule intends.

    Args:
        entropy: (B, H, W, D) normalised entropy.
        percentile: in (0, 100].

    Returns:
        (B, H, W, D) bool.
    """
    if not 0.0 < percentile <= 100.0:
        raise ValueError(f"percentile must be in (0, 100], got {percentile}")
    return entropy <= _percentile_threshold(entropy, percentile)


def class_balanced_reliable_mask(entropy: torch.Tensor, predicted: torch.Tensor, percentile: float) -> torch.Tensor:
    """The percentile rule applied within each predicted class: a voxel is reliable when its entropy is at or below
    the ``percentile``-th percentile of the voxels predicted as its class.

    One batch-wide percentile selects almost only background (the easiest, largest class); per class, every class
    the network predicts contributes its own most confident share (as class-wise thresholds in FlexMatch/CPS do).

    Args:
        entropy: (B, H, W, D) normalised entropy.
        predicted: (B, H, W, D) predicted class indices.
        percentile: in (0, 100].

    Returns:
        (B, H, W, D) bool.
    """
    if not 0.0 < percentile <= 100.0:
        raise ValueError(f"percentile must be in (0, 100], got {percentile}")
    mask = torch.zeros_like(entropy, dtype=torch.bool)
    # The classes present, by counting: ``unique`` sorts every voxel (8 ms an iteration at the default batch).
    for cls in torch.bincount(predicted.flatten()).nonzero().flatten().tolist():
        members = predicted == cls
        mask |= members & (entropy <= _percentile_threshold(entropy[members], percentile))
    return mask


def inverse_frequency_weights(pseudo: torch.Tensor, reliable: torch.Tensor, num_classes: int) -> torch.Tensor:
    """Per-voxel weight 1 / (frequency of its pseudo-class among reliable voxels), scaled so that the reliable voxels
    weigh 1 on average: each present class then carries the same total weight (0 outside ``reliable``).

    Args:
        pseudo: (B, H, W, D) pseudo-label class indices.
        reliable: (B, H, W, D) bool.
        num_classes: C, background included.

    Returns:
        (B, H, W, D) float weights.
    """
    classes = pseudo[reliable].long()
    counts = torch.bincount(classes, minlength=num_classes).to(torch.float32)
    present = int((counts > 0).sum())
    per_class = torch.where(counts > 0, classes.numel() / (present * counts.clamp_min(1.0)), torch.zeros_like(counts))
    return per_class[pseudo.long()] * reliable.to(torch.float32)


def fuse_pseudo_labels(
    probs_vnet: torch.Tensor,
    probs_resnet: torch.Tensor,
    reliable_vnet: torch.Tensor,
    reliable_resnet: torch.Tensor,
    vnet_is_better: bool | torch.Tensor,
) -> tuple[torch.Tensor, torch.Tensor]:
    """(pseudo_label, reliable) for each voxel (B, *spatial).

    A voxel is reliable when at least one subnet is reliable there. Its pseudo-label is the better subnet's class
    where the better subnet is reliable, otherwise the other subnet's: so where both are sure but disagree, the
    weaker subnet learns from the better one (term 3).

    Args:
        probs_vnet, probs_resnet: (B, C, H, W, D) each subnet's class probabilities.
        reliable_vnet, reliable_resnet: (B, H, W, D) bool, each subnet's reliable voxels.
        vnet_is_better: a bool or a 0-d bool tensor (on the probabilities' device).
    """
    cls_vnet, cls_resnet = class_map(probs_vnet), class_map(probs_resnet)
    # torch.where on a (possibly GPU) scalar: no host round trip to read the decision.
    vnet_is_better = torch.as_tensor(vnet_is_better, device=cls_vnet.device)
    better_cls, other_cls = (
        torch.where(vnet_is_better, cls_vnet, cls_resnet),
        torch.where(vnet_is_better, cls_resnet, cls_vnet),
    )
    better_reliable = torch.where(vnet_is_better, reliable_vnet, reliable_resnet)
    pseudo = torch.where(better_reliable, better_cls, other_cls)
    return pseudo, reliable_vnet | reliable_resnet


class PseudoLabelLoss(nn.Module):
    """Cross-entropy of a subnet's logits against detached pseudo-labels over the reliable voxels, optionally weighted
    per voxel (class balance, certainty) and averaged over the reliable voxels.

    Unlike the public reference code, it is computed on the live logits (not on detached probabilities), so it
    trains the subnet.
    """

    def forward(
        self,
        logits: torch.Tensor,
        pseudo_label: torch.Tensor,
        reliable: torch.Tensor,
        weight: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """
        Args:
            logits: (B, C, H, W, D) one subnet's logits on the unlabeled patches.
            pseudo_label: (B, H, W, D) class indices.
            reliable: (B, H, W, D) bool, the voxels that count.
            weight: (B, H, W, D) per-voxel weights, or None.

        Returns:
            A scalar.
        """
        weight = None if weight is None else weight.detach()
        return masked_cross_entropy(logits, pseudo_label.detach(), reliable.detach(), weight=weight)
