"""PDCR-style patch contrast: sub-patches with alike label compositions are pulled together."""

from __future__ import annotations

import torch

from lib.losses import PatchContrastiveLoss


def _composition(left_class: int, right_class: int) -> torch.Tensor:
    """(1, 2, 4, 4, 4) one-hot: the x < 2 half is ``left_class``, the other half ``right_class``."""
    label = torch.full((1, 4, 4, 4), right_class)
    label[:, :2] = left_class
    return torch.nn.functional.one_hot(label, 2).movedim(-1, 1).float()


def test_loss_is_lower_when_embeddings_follow_the_label_composition() -> None:
    loss = PatchContrastiveLoss(grid=2, temperature=0.5)
    composition = _composition(0, 1)
    aligned = torch.zeros(1, 2, 4, 4, 4)
    aligned[:, 0, :2], aligned[:, 1, 2:] = 1.0, 1.0  # embedding = composition
    crossed = torch.zeros(1, 2, 4, 4, 4)
    crossed[:, 0, :, :2], crossed[:, 1, :, 2:] = 1.0, 1.0  # the same two directions, split across the labels
    assert loss(aligned, composition) < loss(crossed, composition)


def test_a_gradient_step_brings_same_class_sub_patches_together() -> None:
    torch.manual_seed(0)
    loss = PatchContrastiveLoss(grid=2, temperature=0.5)
    composition = _composition(0, 1)
    embedding = torch.randn(1, 3, 4, 4, 4, requires_grad=True)
    before = loss(embedding, composition)
    before.backward()
    with torch.no_grad():
        after = loss(embedding - 0.5 * embedding.grad, composition)
    assert after < before


def test_the_composition_gets_no_gradient() -> None:
    composition = _composition(0, 1).requires_grad_()
    value = PatchContrastiveLoss(grid=2)(torch.randn(1, 3, 4, 4, 4, requires_grad=True), composition)
    assert torch.autograd.grad(value, composition, allow_unused=True)[0] is None
