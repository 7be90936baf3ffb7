"""Patch-level contrastive regularisation with a continuous affinity (after PDCR in "Contrastive and selective hidden
embeddings for medical image segmentation"): sub-patch embeddings are pulled together as much as their label
compositions agree. MONAI's ``ContrastiveLoss`` knows only positive pairs of two views, so this is written here."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["PatchContrastiveLoss"]


class PatchContrastiveLoss(nn.Module):
    """Each patch of the batch is cut into ``grid``³ sub-patches; sub-patch i has the mean embedding z_i and the label
    composition q_i (class fractions: the ground truth on labeled patches, the teacher's probabilities on unlabeled
    ones). With affinity a_ij = cos(q_i, q_j) >= 0 and temperature T,

        L = mean_i  - sum_{j != i} (a_ij / sum_k a_ik) log softmax_j( cos(z_i, z_j) / T )

    a soft InfoNCE whose targets are continuous: two sub-patches that are both mostly white matter are positives,
    half-and-half ones partly so, instead of the hard same-class / other-class split of a voxel contrast.
    """

    def __init__(self, grid: int = 4, temperature: float = 0.1) -> None:
        super().__init__()
        if grid < 2:
            raise ValueError(f"grid must be at least 2, got {grid}")
        if temperature <= 0:
            raise ValueError(f"temperature must be positive, got {temperature}")
        self.grid = grid
        self.temperature = temperature

    def forward(self, embedding: torch.Tensor, composition: torch.Tensor) -> torch.Tensor:
        """
        Args:
            embedding: (B, F, *spatial) voxel embeddings of one subnet (live).
            composition: (B, C, *spatial) per-voxel class probabilities or one-hot labels (detached).
        """
        size = [s // self.grid for s in embedding.shape[2:]]
        z = F.avg_pool3d(embedding, size, size).flatten(2).transpose(1, 2).flatten(0, 1)  # (B * grid^3, F)
        q = F.avg_pool3d(composition.detach().to(z.dtype), size, size).flatten(2).transpose(1, 2).flatten(0, 1)
        affinity = F.normalize(q, dim=1) @ F.normalize(q, dim=1).T
        self_pairs = torch.eye(z.shape[0], dtype=torch.bool, device=z.device)
        affinity = affinity.clamp_min(0.0).masked_fill(self_pairs, 0.0)
        keep = affinity.sum(1) > 0
        if int(keep.sum()) == 0:
            return embedding.sum() * 0.0
        targets = affinity[keep] / affinity[keep].sum(1, keepdim=True)
        logits = (F.normalize(z, dim=1) @ F.normalize(z, dim=1).T / self.temperature).masked_fill(self_pairs, -1e4)
        return -(targets * logits[keep].log_softmax(1)).sum(1).mean()
