from __future__ import annotations

import math

import pytest
import torch

from lib.losses import TargetedVerificationLoss, disagreement_region


def _probs(*foreground: float) -> torch.Tensor:
    """Binary probabilities (1, 2, N) from foreground probabilities."""
    fg = torch.tensor(foreground).reshape(1, 1, -1)
    return torch.cat([1 - fg, fg], dim=1)


def test_region_is_where_exactly_one_subnet_is_confidently_foreground() -> None:
    probs_vnet = _probs(0.9, 0.9, 0.2, 0.55, 0.7)
    probs_resnet = _probs(0.8, 0.3, 0.1, 0.2, 0.59)
    region = disagreement_region(probs_vnet, probs_resnet, threshold=0.6)
    assert region.tolist() == [[False, True, False, False, True]]


def test_multi_class_region_includes_confident_but_different_foreground_classes() -> None:
    probs_vnet = torch.tensor([[0.1, 0.8, 0.1], [0.1, 0.8, 0.1]]).T.reshape(1, 3, 2)
    probs_resnet = torch.tensor([[0.1, 0.1, 0.8], [0.1, 0.8, 0.1]]).T.reshape(1, 3, 2)
    assert disagreement_region(probs_vnet, probs_resnet, 0.6).tolist() == [[True, False]]


def test_loss_is_the_cross_entropy_of_the_disagreement_region_per_labeled_voxel() -> None:
    logit = math.log(0.9 / 0.1)  # softmax([0, logit]) = [0.1, 0.9]
    logits_vnet = torch.tensor([[[0.0, 0.0], [logit, logit]]]).requires_grad_()  # fg 0.9 at both voxels
    logits_resnet = torch.tensor([[[0.0, 0.0], [logit, -logit]]]).requires_grad_()  # fg 0.9, then 0.1
    label = torch.tensor([[[1, 0]]])
    loss_vnet, loss_resnet = TargetedVerificationLoss(threshold=0.6)(logits_vnet, logits_resnet, label)
    # Only voxel 2 of 2 disagrees; its label is background: vnet says 0.1 (wrong), resnet says 0.9 (right). The region's
    # cross-entropy is divided by all labeled voxels, so one voxel weighs what it weighs in the supervised term.
    assert loss_vnet.item() == pytest.approx(-math.log(0.1) / 2, rel=1e-5)
    assert loss_resnet.item() == pytest.approx(-math.log(0.9) / 2, rel=1e-5)


def test_each_subnet_term_trains_only_its_own_logits() -> None:
    logits_vnet = torch.randn(1, 2, 64, requires_grad=True)
    logits_resnet = torch.randn(1, 2, 64, requires_grad=True)
    label = torch.randint(0, 2, (1, 1, 64))
    loss_vnet, _ = TargetedVerificationLoss(threshold=0.6)(logits_vnet, logits_resnet, label)
    grad_vnet, grad_resnet = torch.autograd.grad(loss_vnet, (logits_vnet, logits_resnet), allow_unused=True)
    assert grad_vnet.abs().sum() > 0
    assert grad_resnet is None


def test_empty_region_gives_zero_that_still_backpropagates() -> None:
    logits = torch.zeros(1, 2, 8, requires_grad=True)
    loss_vnet, loss_resnet = TargetedVerificationLoss()(logits, logits * 1, torch.zeros(1, 1, 8, dtype=torch.long))
    assert loss_vnet.item() == 0.0
    loss_vnet.backward()
    assert logits.grad is not None
