"""The subnets' disagreement scores on hand-made label maps, and the post-transform that reads it from stacked
probabilities."""

from __future__ import annotations

import pytest
import torch
from monai.data import MetaTensor

from lib.networks import DualSubnetSegmenter, StackedSubnetSoftmax, study_embedding
from lib.transforms import SubnetDisagreementd
from lib.uncertainty import class_disagreement, focus_disagreement, subnet_disagreement


def test_disagreement_is_the_disputed_fraction_of_the_foreground_either_subnet_labels() -> None:
    a = torch.tensor([0, 0, 1, 1, 2, 2, 0, 0])
    b = torch.tensor([0, 1, 1, 1, 2, 1, 0, 0])
    # either labels foreground at 1..5 (5 voxels); they differ at 1 and 5.
    assert subnet_disagreement(a, b) == pytest.approx(2 / 5)


def test_background_does_not_dilute_the_disagreement() -> None:
    """The same dispute in a volume ten times larger scores the same: the score does not follow the volume's size."""
    a, b = torch.tensor([1, 1, 0, 0]), torch.tensor([1, 2, 0, 0])
    padded_a, padded_b = torch.cat([a, torch.zeros(36, dtype=a.dtype)]), torch.cat([b, torch.zeros(36, dtype=b.dtype)])
    assert subnet_disagreement(a, b) == subnet_disagreement(padded_a, padded_b) == pytest.approx(0.5)


def test_two_empty_predictions_do_not_disagree() -> None:
    empty = torch.zeros(3, 4, 5, dtype=torch.long)
    assert subnet_disagreement(empty, empty) == 0.0


def test_label_maps_of_different_shapes_are_refused() -> None:
    with pytest.raises(ValueError, match="differ in shape"):
        subnet_disagreement(torch.zeros(4), torch.zeros(5))
    with pytest.raises(ValueError, match="differ in shape"):
        class_disagreement(torch.zeros(4), torch.zeros(5), num_classes=3)


def test_class_disagreement_is_one_minus_the_per_label_dice_averaged_over_labels() -> None:
    a = torch.tensor([0, 1, 1, 1, 1, 2, 2, 0])
    b = torch.tensor([0, 1, 1, 1, 2, 2, 0, 0])
    # label 1: a 4 voxels, b 3, shared 3 -> Dice 6/7; label 2: a 2, b 2, shared 1 -> Dice 1/2.
    assert class_disagreement(a, b, num_classes=3) == pytest.approx(1 - (6 / 7 + 1 / 2) / 2)
    # Pooled over labels, the large label 1 rules: 2 of the 6 voxels either labels as foreground differ.
    assert subnet_disagreement(a, b) == pytest.approx(2 / 6)


def test_a_small_label_weighs_as_much_as_a_large_one() -> None:
    """Losing a small label entirely halves the agreement of two labels, however large the other one is."""
    large = torch.ones(100, dtype=torch.long)
    a, b = torch.cat([large, torch.tensor([2])]), torch.cat([large, torch.tensor([0])])
    assert class_disagreement(a, b, num_classes=3) == pytest.approx(0.5)
    assert subnet_disagreement(a, b) == pytest.approx(1 / 101)


def test_a_label_in_one_map_only_counts_as_full_disagreement_and_one_in_neither_not_at_all() -> None:
    a, b = torch.tensor([0, 1, 1, 3]), torch.tensor([0, 1, 1, 0])
    # labels 1 (Dice 1) and 3 (in a only: Dice 0) count; label 2 is in neither map.
    assert class_disagreement(a, b, num_classes=4) == class_disagreement(b, a, num_classes=4) == pytest.approx(0.5)
    empty = torch.zeros(2, 3, dtype=torch.long)
    assert class_disagreement(empty, empty, num_classes=3) == 0.0


def test_the_transform_scores_the_stacked_halves_and_leaves_their_average() -> None:
    probs_vnet = torch.tensor([[0.9, 0.2], [0.1, 0.8]])  # (C=2, 2 voxels): labels [0, 1]
    probs_resnet = torch.tensor([[0.3, 0.4], [0.7, 0.6]])  # labels [1, 1]
    out = SubnetDisagreementd(keys="pred", focus=1, focus_min_ml=0.0)({"pred": torch.cat([probs_vnet, probs_resnet])})
    assert out["result"]["subnet_disagreement"] == pytest.approx(1 / 2)
    # label 1: a has 1 voxel, b 2, shared 1 -> Dice 2/3.
    assert out["result"]["class_disagreement"] == pytest.approx(1 / 3)
    torch.testing.assert_close(out["pred"], (probs_vnet + probs_resnet) / 2)
    assert out["result"]["focus_disagreement"] == pytest.approx(1 / 2)  # label 1: 2 voxels in either, 1 in both


def test_focus_disagreement_is_one_minus_iou_of_the_focus_label_over_at_least_the_minimum_region() -> None:
    a = torch.tensor([0, 1, 1, 2, 2, 2, 0, 0])
    b = torch.tensor([0, 1, 2, 2, 2, 0, 0, 2])
    # label 2: either at indices 2, 3, 4, 5, 7 (5 voxels), both at 3, 4 -> 3 of 5 disputed; label 1's dispute ignored.
    assert focus_disagreement(a, b, focus=2, min_voxels=0) == pytest.approx(3 / 5)
    # A region under the minimum counts as the minimum: a suspected speck scores near 0, not by its own noise.
    assert focus_disagreement(a, b, focus=2, min_voxels=30) == pytest.approx(3 / 30)
    assert focus_disagreement(a, b, focus=1, min_voxels=0) == pytest.approx(1 / 2)
    nothing = torch.zeros(8, dtype=torch.long)
    assert focus_disagreement(nothing, nothing, focus=2, min_voxels=0) == 0.0
    assert focus_disagreement(a, a, focus=2, min_voxels=0) == 0.0


def test_the_transform_takes_the_minimum_region_in_millilitres_of_its_input_grid() -> None:
    probs = torch.zeros(3, 10, 10, 10)
    probs[0] = 1.0
    vnet, resnet = probs.clone(), probs.clone()
    vnet[:, :2, 0, 0] = torch.tensor([0.0, 0.0, 1.0])[:, None]  # vnet calls 2 voxels lesion, resnet none
    stacked = MetaTensor(torch.cat([vnet, resnet]), affine=torch.diag(torch.tensor([2.0, 2.0, 2.0, 1.0])))
    # 2 mm voxels: 8 mm^3 each, so 0.08 mL is a region of 10 voxels: 2 disputed voxels of at least 10.
    out = SubnetDisagreementd(keys="pred", focus=2, focus_min_ml=0.08)({"pred": stacked})
    assert out["result"]["focus_disagreement"] == pytest.approx(2 / 10)


def test_stacked_softmax_averages_to_the_pairs_own_prediction() -> None:
    pair = DualSubnetSegmenter(in_channels=1, num_classes=3, width=2).eval()
    x = torch.randn(1, 1, 16, 16, 16)
    with torch.no_grad():
        stacked, averaged = StackedSubnetSoftmax(pair)(x), pair(x)
    assert stacked.shape == (1, 6, 16, 16, 16)
    halves = stacked.chunk(2, dim=1)
    torch.testing.assert_close((halves[0] + halves[1]) / 2, averaged)
    torch.testing.assert_close(halves[0].sum(1), torch.ones(1, 16, 16, 16))


def test_stacked_softmax_collects_each_windows_pooled_bottlenecks_without_changing_the_prediction() -> None:
    pair = DualSubnetSegmenter(in_channels=1, num_classes=3, width=2).eval()
    x = torch.randn(2, 1, 16, 16, 16)
    collected: list[torch.Tensor] = []
    with torch.no_grad():
        torch.testing.assert_close(StackedSubnetSoftmax(pair, collected)(x), StackedSubnetSoftmax(pair)(x))
        deepest = [subnet.encoder(x)[-1].mean(dim=(2, 3, 4)) for subnet in (pair.vnet, pair.resnet)]
    (windows,) = collected
    torch.testing.assert_close(windows, torch.cat(deepest, dim=1))


def test_study_embedding_is_the_windows_mean_with_each_encoders_half_of_unit_length() -> None:
    windows = [torch.tensor([[2.0, 0.0, 0.0, 1.0]]), torch.tensor([[4.0, 0.0, 0.0, 3.0]])]
    assert study_embedding(windows) == pytest.approx([1.0, 0.0, 0.0, 1.0])
    assert study_embedding([torch.tensor([[3.0, 4.0, 1.0, 0.0]])]) == pytest.approx([0.6, 0.8, 1.0, 0.0])
