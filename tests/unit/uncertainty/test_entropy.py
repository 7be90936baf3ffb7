from __future__ import annotations

import math

import pytest
import torch

from lib.transforms import LabelVoxelCountsd, MeanUncertaintyd
from lib.uncertainty import normalized_entropy


def test_one_hot_prediction_has_zero_entropy() -> None:
    probs = torch.tensor([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]).T.reshape(3, 2, 1, 1)
    torch.testing.assert_close(normalized_entropy(probs, dim=0), torch.zeros(2, 1, 1))


@pytest.mark.parametrize("num_classes", [2, 3, 5])
def test_uniform_prediction_has_entropy_one_for_any_label_count(num_classes: int) -> None:
    probs = torch.full((1, num_classes, 2, 2, 2), 1.0 / num_classes)
    torch.testing.assert_close(normalized_entropy(probs), torch.ones(1, 2, 2, 2))


def test_entropy_of_a_hand_computed_binary_prediction() -> None:
    p = 0.9
    probs = torch.tensor([p, 1 - p]).reshape(1, 2, 1)
    expected = -(p * math.log(p) + (1 - p) * math.log(1 - p)) / math.log(2)
    assert normalized_entropy(probs).item() == pytest.approx(expected, rel=1e-5)


def test_mean_uncertainty_transform_stores_the_volume_mean_and_optionally_the_map() -> None:
    probs = torch.stack([torch.tensor([[[1.0, 0.5]]]), torch.tensor([[[0.0, 0.5]]])])  # (2, 1, 1, 2)
    out = MeanUncertaintyd(keys="pred", entropy_key="pred")({"pred": probs})
    assert out["result"]["mean_uncertainty"] == pytest.approx(0.5)
    torch.testing.assert_close(out["pred"], torch.tensor([[[[0.0, 1.0]]]]))
    kept = MeanUncertaintyd(keys="pred")({"pred": probs})
    assert kept["pred"] is probs


def test_label_voxel_counts_name_every_declared_label() -> None:
    label = torch.tensor([[[0, 1, 1], [2, 0, 0]]])
    out = LabelVoxelCountsd(keys="pred", labels={"organ": 1, "lesion": 2, "cyst": 3})({"pred": label})
    assert out["result"]["label_voxels"] == {"organ": 2, "lesion": 1, "cyst": 0}
