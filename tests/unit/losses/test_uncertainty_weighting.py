"""Bidirectional uncertainty weighting: labeled voxels weigh more where the pair is uncertain, unlabeled ones less."""

from __future__ import annotations

import math

import pytest
import torch

from lib.losses import certainty_weights, uncertainty_weighted_cross_entropy


def test_labeled_term_is_the_cross_entropy_weighted_by_uncertainty() -> None:
    logit = math.log(0.8 / 0.2)
    logits = torch.tensor([[[logit, logit], [0.0, 0.0]]], requires_grad=True)  # p(class 0) = 0.8 at both voxels
    label = torch.tensor([[[0, 0]]])
    uncertainty = torch.tensor([[1.0, 0.0]])
    loss = uncertainty_weighted_cross_entropy(logits, label, uncertainty)
    assert loss.item() == pytest.approx(-math.log(0.8) / 2, rel=1e-5)
    loss.backward()
    assert logits.grad[..., 0].abs().sum() > 0 and logits.grad[..., 1].abs().sum() == 0


def test_the_uncertainty_map_carries_no_gradient() -> None:
    uncertainty = torch.rand(1, 8, requires_grad=True)
    loss = uncertainty_weighted_cross_entropy(
        torch.randn(1, 3, 8, requires_grad=True), torch.zeros(1, 1, 8), uncertainty
    )
    assert torch.autograd.grad(loss, uncertainty, allow_unused=True)[0] is None


def test_unlabeled_weights_fall_with_uncertainty_and_power_zero_is_off() -> None:
    u = torch.tensor([0.0, 0.5, 1.0])
    assert certainty_weights(u, 2.0).tolist() == [1.0, 0.25, 0.0]
    assert certainty_weights(u, 0.0).tolist() == [1.0, 1.0, 1.0]
    with pytest.raises(ValueError, match="power"):
        certainty_weights(u, -1.0)
