"""The strong view of unlabeled patches that the students see while the teacher sees the weak one (FixMatch's
weak/strong split, Sohn et al. 2020), from MONAI's intensity transforms only: the two views stay voxel-aligned, so
the teacher's per-voxel pseudo-labels apply to the student's view unchanged."""

from __future__ import annotations

import torch
from monai.transforms import (
    Compose,
    RandAdjustContrast,
    RandGaussianNoise,
    RandGaussianSmooth,
    RandScaleIntensity,
    RandShiftIntensity,
)

__all__ = ["StrongView"]


class StrongView:
    """Applied per patch of a batch (B, C, *spatial) on its device; ``seed`` makes the sequence of views
    reproducible (the paired accuracy benchmark gives every recipe the same one)."""

    def __init__(self, seed: int | None = None) -> None:
        self.transforms = Compose(
            [
                RandGaussianNoise(prob=0.8, std=0.1),
                RandGaussianSmooth(prob=0.5, sigma_x=(0.5, 1.0), sigma_y=(0.5, 1.0), sigma_z=(0.5, 1.0)),
                RandAdjustContrast(prob=0.8, gamma=(0.7, 1.5)),
                RandScaleIntensity(factors=0.2, prob=0.8),
                RandShiftIntensity(offsets=0.1, prob=0.8),
            ]
        )
        if seed is not None:
            self.transforms.set_random_state(seed=seed)

    def __call__(self, batch: torch.Tensor) -> torch.Tensor:
        return torch.stack([torch.as_tensor(self.transforms(item)) for item in batch])
