"""The two subnets' disagreement as per-volume scores, from their stacked probabilities, for post-processing."""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from typing import Any

import torch
from monai.transforms import MapTransform

from ..uncertainty import class_disagreement, class_map, subnet_disagreement

__all__ = ["SubnetDisagreementd"]


class SubnetDisagreementd(MapTransform):
    """From both subnets' probabilities in ``keys`` (2C, *spatial; see ``StackedSubnetSoftmax``), store
    :func:`~lib.uncertainty.subnet_disagreement` and :func:`~lib.uncertainty.class_disagreement` of their label maps
    under ``result`` and replace the input by the pair's averaged probabilities (C, *spatial), so that the rest of
    post-processing is unchanged."""

    def __call__(self, data: Mapping[Hashable, Any]) -> dict[Hashable, Any]:
        d = dict(data)
        for key in self.key_iterator(d):
            probs_vnet, probs_resnet = torch.as_tensor(d[key]).chunk(2, dim=0)
            label_vnet, label_resnet = class_map(probs_vnet, 0), class_map(probs_resnet, 0)
            d.setdefault("result", {}).update(
                subnet_disagreement=subnet_disagreement(label_vnet, label_resnet),
                class_disagreement=class_disagreement(label_vnet, label_resnet, probs_vnet.shape[0]),
            )
            d[key] = (probs_vnet + probs_resnet) / 2
        return d
