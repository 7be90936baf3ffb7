"""The label map of class probabilities, as MONAI's ``AsDiscreted(argmax=True)`` makes it, but fast on CPU."""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from typing import Any

import torch
from monai.transforms import MapTransform

from ..uncertainty import class_map

__all__ = ["ClassMapd"]


class ClassMapd(MapTransform):
    """Replace the class probabilities in ``keys`` (C, *spatial) by their label map (1, *spatial), float32 like
    ``AsDiscreted(argmax=True)``. Written here because that transform's ``argmax`` took 0.3 s of a 2.2 s ``/infer``
    of a 128 x 128 x 96 study on CPU (see :func:`~lib.uncertainty.class_map`)."""

    def __call__(self, data: Mapping[Hashable, Any]) -> dict[Hashable, Any]:
        d = dict(data)
        for key in self.key_iterator(d):
            d[key] = class_map(d[key], dim=0, keepdim=True).to(torch.float32)
        return d
