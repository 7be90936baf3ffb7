"""The two subnets' disagreement as per-volume scores, from their stacked probabilities, for post-processing."""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from typing import Any

import torch
from monai.config import KeysCollection
from monai.data import MetaTensor
from monai.transforms import MapTransform

from ..uncertainty import class_disagreement, class_map, focus_disagreement, subnet_disagreement

__all__ = ["SubnetDisagreementd"]


class SubnetDisagreementd(MapTransform):
    """From both subnets' probabilities in ``keys`` (2C, *spatial; see ``StackedSubnetSoftmax``), store
    :func:`~lib.uncertainty.subnet_disagreement`, :func:`~lib.uncertainty.class_disagreement` and
    :func:`~lib.uncertainty.focus_disagreement` (label ``focus``, at least ``focus_min_ml`` of the input's own grid) of
    their label maps
    under ``result`` and replace the input by the pair's averaged probabilities (C, *spatial), so that the rest of
    post-processing is unchanged."""

    def __init__(self, keys: KeysCollection, focus: int, focus_min_ml: float) -> None:
        super().__init__(keys)
        self.focus = focus
        self.focus_min_ml = focus_min_ml

    def __call__(self, data: Mapping[Hashable, Any]) -> dict[Hashable, Any]:
        d = dict(data)
        for key in self.key_iterator(d):
            probs_vnet, probs_resnet = torch.as_tensor(d[key]).chunk(2, dim=0)
            # Voxel volume of the grid the probabilities are on (the study's, after inverting the resampling).
            spacing = d[key].pixdim if isinstance(d[key], MetaTensor) else (1.0, 1.0, 1.0)
            min_voxels = self.focus_min_ml * 1000.0 / float(torch.as_tensor(spacing).prod())
            label_vnet, label_resnet = class_map(probs_vnet, 0), class_map(probs_resnet, 0)
            d.setdefault("result", {}).update(
                subnet_disagreement=subnet_disagreement(label_vnet, label_resnet),
                class_disagreement=class_disagreement(label_vnet, label_resnet, probs_vnet.shape[0]),
                focus_disagreement=focus_disagreement(label_vnet, label_resnet, self.focus, min_voxels),
            )
            d[key] = (probs_vnet + probs_resnet) / 2
        return d
