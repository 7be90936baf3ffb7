"""Voxel count per label of a label map, for the result JSON (what annotators and scripts read without the image)."""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from typing import Any

import torch
from monai.transforms import MapTransform

__all__ = ["LabelVoxelCountsd"]


class LabelVoxelCountsd(MapTransform):
    def __init__(self, keys: str, labels: Mapping[str, int], result_name: str = "label_voxels") -> None:
        super().__init__(keys)
        self.labels = dict(labels)
        self.result_name = result_name

    def __call__(self, data: Mapping[Hashable, Any]) -> dict[Hashable, Any]:
        d = dict(data)
        for key in self.key_iterator(d):
            label = torch.as_tensor(d[key])
            counts = torch.bincount(label.flatten().long(), minlength=max(self.labels.values(), default=0) + 1)
            d.setdefault("result", {})[self.result_name] = {name: int(counts[v]) for name, v in self.labels.items()}
        return d
