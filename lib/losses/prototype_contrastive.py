"""Term 5: contrast the features of uncertain voxels against class prototypes built from reliable voxels.

MONAI's ``ContrastiveLoss`` is SimCLR's pairwise loss between two views, not a prototype loss, so this one is
written here: InfoNCE (van den Oord et al., 2018) with the class prototypes as the candidate set.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["PrototypeContrastiveLoss", "PrototypeMemory", "class_feature_sums", "class_prototypes"]


def class_feature_sums(
    features: torch.Tensor, labels: torch.Tensor, mask: torch.Tensor, num_classes: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-class sum of the feature vectors of the voxels in ``mask`` and their count.

    Sums and counts (not means) so that partial results from several batches or processes add up exactly.

    Args:
        features: (B, F, H, W, D) voxel features.
        labels: (B, H, W, D) class indices (ground truth or pseudo-labels).
        mask: (B, H, W, D) bool, the voxels that count.
        num_classes: C, background included.

    Returns:
        Sums (C, F) and counts (C,).
    """
    channels = features.shape[1]
    flat = features.movedim(1, -1).reshape(-1, channels)
    selected = mask.reshape(-1)
    classes = labels.reshape(-1)[selected].long()
    sums = torch.zeros(num_classes, channels, dtype=features.dtype, device=features.device)
    sums.index_add_(0, classes, flat[selected])
    counts = torch.bincount(classes, minlength=num_classes).to(features.dtype)
    return sums, counts


def class_prototypes(sums: torch.Tensor, counts: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean feature vector per class (C, F), and which classes have any voxel at all (C,), from the sums (C, F) and
    counts (C,) of :func:`class_feature_sums`."""
    return sums / counts.clamp_min(1.0).unsqueeze(1), counts > 0


class PrototypeMemory(nn.Module):
    """Class prototypes kept across iterations as an exponential moving average of each batch's (as the momentum
    memories of contrastive segmentation, e.g. Wang et al., ICCV 2021): with one or two patches per iteration, a
    batch's prototype of a rare class rests on a few voxels and jumps from one iteration to the next.

    ``momentum`` 0 gives this batch's prototypes alone (the paper's rule). A class seen for the first time takes its
    batch prototype as it is. Not saved with the model: it is rebuilt within a few iterations of any run.
    """

    def __init__(self, momentum: float = 0.9) -> None:
        super().__init__()
        if not 0.0 <= momentum < 1.0:
            raise ValueError(f"momentum must be in [0, 1), got {momentum}")
        self.momentum = momentum
        self.prototypes: torch.Tensor | None = None
        self.seen: torch.Tensor | None = None

    @torch.no_grad()
    def forward(self, sums: torch.Tensor, counts: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Update with a batch's per-class feature sums and counts (over all ranks); returns (prototypes, valid)."""
        batch, present = class_prototypes(sums, counts)
        if self.momentum == 0.0:
            return batch, present
        if self.prototypes is None or self.prototypes.shape != batch.shape:
            self.prototypes, self.seen = torch.zeros_like(batch), torch.zeros_like(present)
        keep = torch.where(self.seen, self.momentum, 0.0).unsqueeze(1)
        updated = keep * self.prototypes + (1.0 - keep) * batch
        self.prototypes = torch.where(present.unsqueeze(1), updated, self.prototypes)
        self.seen = self.seen | present
        return self.prototypes, self.seen


class PrototypeContrastiveLoss(nn.Module):
    """InfoNCE of uncertain voxel features over the class prototypes.

    For an uncertain voxel with feature f and predicted class y, with cosine similarity s(., .) and temperature T:

        L = -log( exp(s(f, P_y) / T) / sum_c exp(s(f, P_c) / T) )

    which pulls f towards its class prototype and pushes it away from every other class's prototype. The
    prototypes are anchors (detached): the term refines the uncertain voxels' representation, and each subnet's
    term trains only that subnet. At most ``max_voxels`` uncertain voxels are sampled, which bounds memory.
    """

    def __init__(self, temperature: float = 0.1, max_voxels: int = 4096) -> None:
        super().__init__()
        if temperature <= 0:
            raise ValueError(f"temperature must be positive, got {temperature}")
        if max_voxels < 1:
            raise ValueError(f"max_voxels must be positive, got {max_voxels}")
        self.temperature = temperature
        self.max_voxels = max_voxels

    def forward(
        self,
        features: torch.Tensor,
        predicted_class: torch.Tensor,
        uncertain: torch.Tensor,
        prototypes: torch.Tensor,
        valid: torch.Tensor,
    ) -> torch.Tensor:
        """
        Args:
            features: (B, F, *spatial) voxel features of one subnet.
            predicted_class: (B, *spatial) class each voxel is pulled towards.
            uncertain: (B, *spatial) voxels that take part.
            prototypes: (C, F) class prototypes of the same subnet.
            valid: (C,) classes that have a prototype.
        """
        channels = features.shape[1]
        classes = predicted_class.reshape(-1).long()
        candidates = (uncertain.reshape(-1) & valid[classes]).nonzero().squeeze(1)
        if candidates.numel() == 0 or int(valid.sum()) < 2:
            return features.sum() * 0.0  # nothing to contrast: a zero that keeps the graph
        if candidates.numel() > self.max_voxels:
            pick = torch.randperm(candidates.numel(), device=candidates.device)[: self.max_voxels]
            candidates = candidates[pick]
        voxel_features = features.movedim(1, -1).reshape(-1, channels)[candidates]
        similarity = F.normalize(voxel_features, dim=1) @ F.normalize(prototypes.detach(), dim=1).T
        logits = (similarity / self.temperature).masked_fill(~valid.unsqueeze(0), float("-inf"))
        return F.cross_entropy(logits, classes[candidates])
