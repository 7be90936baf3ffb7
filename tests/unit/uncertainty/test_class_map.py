"""The fast label map equals MONAI's argmax, ties included, and keeps the image's metadata."""

from __future__ import annotations

import torch
from monai.data import MetaTensor
from monai.transforms import AsDiscrete

from lib.transforms import ClassMapd
from lib.uncertainty import class_map


def test_class_map_equals_argmax_with_ties_resolved_to_the_first_class() -> None:
    probs = torch.rand(2, 3, 5, 6, 7).softmax(1)
    probs[:, :, 0] = 1 / 3  # a plane of exact three-way ties
    probs[:, 2, 1] = probs[:, 1, 1]  # two-way ties between the last classes
    assert torch.equal(class_map(probs), probs.argmax(1))
    assert torch.equal(class_map(probs[0], dim=0, keepdim=True), probs[0].argmax(0, keepdim=True))
    assert (class_map(probs)[:, 0] == 0).all()


def test_class_map_transform_gives_monais_label_map_and_keeps_the_affine() -> None:
    affine = torch.diag(torch.tensor([1.5, 1.5, 2.0, 1.0]))
    probs = MetaTensor(torch.rand(3, 4, 5, 6).softmax(0), affine=affine)
    out = ClassMapd(keys="pred")({"pred": probs})["pred"]
    expected = AsDiscrete(argmax=True)(probs)
    assert out.shape == (1, 4, 5, 6) and out.dtype == expected.dtype
    assert torch.equal(out.as_tensor(), expected.as_tensor())
    assert torch.equal(out.affine, affine)
