"""Labeled content pasted into the students' view of unlabeled patches (the labeled-into-unlabeled direction of
bidirectional copy-paste, BCP: Bai et al., CVPR 2023): one box of each unlabeled patch is replaced by the same box of
a labeled patch, and there the student learns from the ground truth instead of a pseudo-label. Labeled and
unlabeled content then meet in one patch, which BCP found to close the gap between what the network learns from each.

Written here because MONAI's ``CutMix`` mixes a batch with a permutation of itself and mixes labels by area (a
classification recipe): segmentation needs the box itself, and its labels voxel by voxel.
"""

from __future__ import annotations

import torch

__all__ = ["CopyPaste", "PastedBox"]

PastedBox = tuple[torch.Tensor, torch.Tensor]  # (box mask (U, *spatial) bool, labels there (U, *spatial) long)


class CopyPaste:
    """Boxes of ``fraction`` of each side (BCP: 2/3) at a random position per unlabeled patch; unlabeled patch i
    gets labeled patch ``i % n``'s box. ``seed`` makes the boxes reproducible (the paired accuracy benchmark)."""

    def __init__(self, fraction: float, seed: int | None = None) -> None:
        if not 0.0 < fraction <= 1.0:
            raise ValueError(f"fraction must be in (0, 1], got {fraction}")
        self.fraction = fraction
        self.generator = torch.Generator()
        if seed is not None:
            self.generator.manual_seed(seed)

    def __call__(
        self, images: torch.Tensor, labels: torch.Tensor, unlabeled: torch.Tensor
    ) -> tuple[torch.Tensor, PastedBox]:
        """``images`` (n, C, *spatial) with ``labels`` (n, 1, *spatial) and ``unlabeled`` (U, C, *spatial), all the
        same spatial size: the mixed unlabeled patches and, per patch, where the box is and its labels."""
        if images.shape[2:] != unlabeled.shape[2:] or labels.shape[2:] != images.shape[2:]:
            raise ValueError(f"patches differ in size: {tuple(images.shape)}, {tuple(unlabeled.shape)}")
        spatial = unlabeled.shape[2:]
        sides = [max(1, round(self.fraction * s)) for s in spatial]
        box = torch.zeros((unlabeled.shape[0], *spatial), dtype=torch.bool, device=unlabeled.device)
        for i in range(unlabeled.shape[0]):
            starts = [int(torch.randint(s - b + 1, (1,), generator=self.generator)) for s, b in zip(spatial, sides)]
            box[(i, *(slice(a, a + b) for a, b in zip(starts, sides)))] = True
        source = torch.arange(unlabeled.shape[0], device=unlabeled.device) % images.shape[0]
        mixed = torch.where(box.unsqueeze(1), images[source].to(unlabeled.dtype), unlabeled)
        return mixed, (box, labels[source, 0].long())
