"""The two subnets' disagreement as a per-volume score, from their stacked probabilities, for post-processing."""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from typing import Any

import torch
from monai.transforms import MapTransform

from ..uncertainty import class_map, subnet_disagreement

__all__ = ["SubnetDisagreementd"]


class SubnetDisagreementd(MapTransform):
    """From both subnets' probabilities in ``keys`` (2C, *spatial; see ``StackedSubnetSoftmax``), store
    :func:`~lib.uncertainty.subnet_disagreement` of their label maps under ``result[score_name]`` and replace the
    input by the pair's averaged probabilities (C, *spatial), so that the rest of post-processing is unchanged."""

    def __init__(self, keys: str, score_name: str = "subnet_disagreement") -> None:
        super().__init__(keys)
        self.score_name = score_name

    def __call__(self, data: Mapping[Hashable, Any]) -> dict[Hashable, Any]:
        d = dict(data)
        for key in self.key_iterator(d):
            probs_a, probs_b = torch.as_tensor(d[key]).chunk(2, dim=0)
            d.setdefault("result", {})[self.score_name] = subnet_disagreement(
                class_map(probs_a, 0), class_map(probs_b, 0)
            )
            d[key] = (probs_a + probs_b) / 2
        return d
