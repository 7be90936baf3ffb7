from __future__ import annotations

import math

import pytest
import torch

from lib.losses import (
    PseudoLabelLoss,
    class_balanced_reliable_mask,
    fuse_pseudo_labels,
    inverse_frequency_weights,
    reliable_mask,
)


def test_reliable_voxels_are_those_at_or_below_the_entropy_percentile() -> None:
    entropy = torch.arange(10, dtype=torch.float).reshape(1, 10)
    assert reliable_mask(entropy, 20.0).sum() == 2
    assert reliable_mask(entropy, 20.0)[0, :2].all()
    assert reliable_mask(entropy, 100.0).all()


def test_reliable_mask_rejects_a_percentile_out_of_range() -> None:
    with pytest.raises(ValueError, match="percentile"):
        reliable_mask(torch.rand(4), 0.0)


def test_better_subnet_decides_where_it_is_reliable_the_other_elsewhere() -> None:
    # Classes: vnet says 1,1,1,0 ; resnet says 0,0,0,1.
    probs_vnet = torch.tensor([[0.1, 0.9]] * 3 + [[0.9, 0.1]]).T.reshape(1, 2, 4)
    probs_resnet = probs_vnet.flip(1)
    reliable_vnet = torch.tensor([[True, False, False, True]])
    reliable_resnet = torch.tensor([[True, True, False, False]])
    pseudo, reliable = fuse_pseudo_labels(probs_vnet, probs_resnet, reliable_vnet, reliable_resnet, vnet_is_better=True)
    assert pseudo[reliable].tolist() == [1, 0, 0]  # voxel 1: vnet unreliable, resnet's class; voxel 3: vnet's class
    assert reliable.tolist() == [[True, True, False, True]]
    pseudo_b_better, _ = fuse_pseudo_labels(
        probs_vnet, probs_resnet, reliable_vnet, reliable_resnet, vnet_is_better=False
    )
    assert pseudo_b_better[reliable].tolist() == [0, 0, 0]


def test_pseudo_label_loss_is_cross_entropy_on_reliable_voxels_with_gradient_to_the_logits() -> None:
    logit = math.log(0.8 / 0.2)
    logits = torch.tensor([[[0.0, 0.0, 0.0], [logit, logit, -logit]]], requires_grad=True)
    pseudo = torch.tensor([[1, 0, 0]])
    reliable = torch.tensor([[True, False, True]])
    loss = PseudoLabelLoss()(logits, pseudo, reliable)
    assert loss.item() == pytest.approx(-math.log(0.8), rel=1e-5)
    loss.backward()
    assert logits.grad[..., 1].abs().sum() == 0  # the unreliable voxel gets no gradient
    assert logits.grad[..., 0].abs().sum() > 0


def test_class_balanced_reliability_takes_the_percentile_within_each_predicted_class() -> None:
    """A batch-wide 50th percentile would keep only the four confident background voxels; per class, the most
    confident half of each class is kept."""
    entropy = torch.tensor([[0.01, 0.02, 0.03, 0.04, 0.5, 0.6, 0.7, 0.8]])
    predicted = torch.tensor([[0, 0, 0, 0, 1, 1, 1, 1]])
    assert reliable_mask(entropy, 50.0).tolist() == [[True] * 4 + [False] * 4]
    mask = class_balanced_reliable_mask(entropy, predicted, 50.0)
    assert mask.tolist() == [[True, True, False, False, True, True, False, False]]


def test_inverse_frequency_weights_give_each_class_the_same_total_weight() -> None:
    pseudo = torch.tensor([0, 0, 0, 0, 0, 0, 1, 1, 2])
    reliable = torch.tensor([True] * 8 + [False])
    weights = inverse_frequency_weights(pseudo, reliable, num_classes=3)
    assert float(weights[:6].sum()) == pytest.approx(float(weights[6:8].sum()))
    assert float(weights[reliable].mean()) == pytest.approx(1.0)
    assert float(weights[8]) == 0.0  # not reliable


def test_pseudo_label_weights_scale_each_voxel_and_the_mean_stays_over_reliable_voxels() -> None:
    logits = torch.zeros(1, 2, 2, requires_grad=True)  # CE = log 2 everywhere
    pseudo, reliable = torch.tensor([[1, 0]]), torch.tensor([[True, True]])
    loss = PseudoLabelLoss()(logits, pseudo, reliable, weight=torch.tensor([[1.0, 0.0]]))
    assert loss.item() == pytest.approx(math.log(2) / 2, rel=1e-5)
