from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from lib.losses import PrototypeContrastiveLoss, PrototypeMemory, class_prototypes
from lib.losses.prototype_contrastive import class_feature_sums


def test_prototypes_are_the_mean_features_of_the_selected_voxels_per_class() -> None:
    features = torch.tensor([[[1.0, 3.0, 5.0, 7.0], [0.0, 2.0, 0.0, 9.0]]])  # (1, F=2, N=4)
    labels = torch.tensor([[0, 0, 1, 1]])
    mask = torch.tensor([[True, True, True, False]])
    sums, counts = class_feature_sums(features, labels, mask, num_classes=3)
    prototypes, valid = class_prototypes(sums, counts)
    torch.testing.assert_close(prototypes, torch.tensor([[2.0, 1.0], [5.0, 0.0], [0.0, 0.0]]))
    assert valid.tolist() == [True, True, False]


def test_loss_is_infonce_over_prototypes_with_temperature() -> None:
    prototypes = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    features = torch.tensor([[[1.0], [0.0]]])  # one voxel, equal to prototype 0
    loss = PrototypeContrastiveLoss(temperature=0.5)(
        features, torch.tensor([[0]]), torch.tensor([[True]]), prototypes, torch.tensor([True, True])
    )
    expected = -math.log(math.exp(1 / 0.5) / (math.exp(1 / 0.5) + math.exp(0)))
    assert loss.item() == pytest.approx(expected, rel=1e-5)


def test_a_gradient_step_pulls_towards_the_own_prototype_and_pushes_from_the_other() -> None:
    """The reference code's prototype term pulled the prototypes together; this one must separate classes."""
    prototypes = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    features = torch.tensor([[[0.6], [0.8]]], requires_grad=True)  # closer to prototype 1, but class 0
    loss_fn = PrototypeContrastiveLoss(temperature=0.1)
    loss = loss_fn(features, torch.tensor([[0]]), torch.tensor([[True]]), prototypes, torch.tensor([True, True]))
    loss.backward()
    moved = (features - 0.05 * features.grad).detach()[0, :, 0]
    before = F.cosine_similarity(features.detach()[0, :, 0], prototypes, dim=1)
    after = F.cosine_similarity(moved, prototypes, dim=1)
    assert after[0] > before[0]
    assert after[1] < before[1]


def test_prototypes_are_anchors_and_receive_no_gradient() -> None:
    prototypes = torch.randn(3, 4, requires_grad=True)
    features = torch.randn(1, 4, 10, requires_grad=True)
    loss = PrototypeContrastiveLoss()(
        features, torch.randint(0, 3, (1, 10)), torch.ones(1, 10, dtype=torch.bool), prototypes, torch.ones(3).bool()
    )
    loss.backward()
    assert prototypes.grad is None
    assert features.grad.abs().sum() > 0


def test_only_uncertain_voxels_of_classes_with_a_prototype_take_part() -> None:
    features = torch.randn(1, 4, 6, requires_grad=True)
    uncertain = torch.tensor([[True, False, True, False, True, True]])
    predicted = torch.tensor([[0, 0, 1, 1, 2, 2]])
    valid = torch.tensor([True, True, False])
    PrototypeContrastiveLoss()(features, predicted, uncertain, torch.randn(3, 4), valid).backward()
    touched = features.grad.abs().sum(1)[0] > 0
    assert touched.tolist() == [True, False, True, False, False, False]


def test_voxel_sampling_bounds_how_many_voxels_take_part() -> None:
    features = torch.randn(1, 4, 1000, requires_grad=True)
    PrototypeContrastiveLoss(max_voxels=50)(
        features, torch.randint(0, 2, (1, 1000)), torch.ones(1, 1000).bool(), torch.randn(2, 4), torch.ones(2).bool()
    ).backward()
    assert int((features.grad.abs().sum(1) > 0).sum()) == 50


def test_fewer_than_two_prototypes_give_zero_loss() -> None:
    features = torch.randn(1, 4, 5, requires_grad=True)
    loss = PrototypeContrastiveLoss()(
        features, torch.zeros(1, 5).long(), torch.ones(1, 5).bool(), torch.randn(2, 4), torch.tensor([True, False])
    )
    assert loss.item() == 0.0
    loss.backward()


def test_prototype_memory_averages_batches_and_keeps_classes_a_batch_lacks() -> None:
    memory = PrototypeMemory(momentum=0.5)
    first, valid = memory(torch.tensor([[2.0, 0.0], [0.0, 0.0]]), torch.tensor([1.0, 0.0]))
    assert first.tolist() == [[2.0, 0.0], [0.0, 0.0]] and valid.tolist() == [True, False]
    second, valid = memory(torch.tensor([[0.0, 0.0], [0.0, 4.0]]), torch.tensor([1.0, 2.0]))
    assert second.tolist() == [[1.0, 0.0], [0.0, 2.0]]  # class 0 averaged, class 1 new: its batch prototype
    assert valid.tolist() == [True, True]
    third, _ = memory(torch.tensor([[0.0, 0.0], [0.0, 0.0]]), torch.tensor([0.0, 0.0]))
    assert third.tolist() == second.tolist()  # nothing seen: nothing forgotten


def test_prototype_memory_with_momentum_zero_is_the_batch_prototype() -> None:
    memory = PrototypeMemory(momentum=0.0)
    memory(torch.tensor([[2.0, 0.0]]), torch.tensor([1.0]))
    prototypes, _ = memory(torch.tensor([[0.0, 6.0]]), torch.tensor([2.0]))
    assert prototypes.tolist() == [[0.0, 3.0]]
