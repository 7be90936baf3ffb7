"""Uncertainty map and per-volume score of a probability prediction, as dictionary transforms for post-processing."""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from typing import Any

import torch
from monai.transforms import MapTransform

from ..uncertainty import normalized_entropy

__all__ = ["MeanUncertaintyd"]


class MeanUncertaintyd(MapTransform):
    """From class probabilities in ``keys`` (C, *spatial), store the mean normalised voxel entropy over the volume
    under ``result[score_name]`` and, unless ``entropy_key`` is None, the entropy map (1, *spatial) under
    ``entropy_key`` (which may be the input key itself).

    The mean over the whole volume is the paper's per-volume uncertainty; it is what scoring ranks studies by.
    """

    def __init__(self, keys: str, entropy_key: str | None = None, score_name: str = "mean_uncertainty") -> None:
        super().__init__(keys)
        self.entropy_key = entropy_key
        self.score_name = score_name

    def __call__(self, data: Mapping[Hashable, Any]) -> dict[Hashable, Any]:
        d = dict(data)
        for key in self.key_iterator(d):
            entropy = normalized_entropy(torch.as_tensor(d[key]), dim=0)
            if self.entropy_key is not None:
                d[self.entropy_key] = entropy.unsqueeze(0)
            d.setdefault("result", {})[self.score_name] = float(entropy.mean())
        return d
