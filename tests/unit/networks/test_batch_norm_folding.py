"""Folding batch norms into convolutions for inference: the same predictions, no batch norm left, and only for a
network in eval mode."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from lib.networks import DualSubnetSegmenter, fold_batch_norms


@pytest.fixture()
def trained_like() -> DualSubnetSegmenter:
    """A pair whose batch norms hold statistics and affine parameters far from their initial identity."""
    torch.manual_seed(0)
    pair = DualSubnetSegmenter(1, 3, width=4, dropout=0.2)
    for module in pair.modules():
        if isinstance(module, nn.BatchNorm3d):
            module.running_mean.uniform_(-1.0, 1.0)
            module.running_var.uniform_(0.5, 2.0)
            module.weight.data.uniform_(0.5, 1.5)
            module.bias.data.uniform_(-0.5, 0.5)
    return pair.eval()


def test_a_folded_pair_predicts_what_the_pair_predicts(trained_like: DualSubnetSegmenter) -> None:
    folded = fold_batch_norms(copy.deepcopy(trained_like))
    x = torch.randn(2, 1, 32, 32, 16)
    with torch.no_grad():
        torch.testing.assert_close(folded(x), trained_like(x), rtol=1e-4, atol=1e-5)
        for subnet in ("vnet", "resnet"):
            torch.testing.assert_close(
                getattr(folded, subnet)(x).features, getattr(trained_like, subnet)(x).features, rtol=1e-4, atol=1e-5
            )


def test_no_batch_norm_is_left_and_folding_again_changes_nothing(trained_like: DualSubnetSegmenter) -> None:
    folded = fold_batch_norms(copy.deepcopy(trained_like))
    assert not any(isinstance(m, nn.BatchNorm3d) for m in folded.modules())
    before = copy.deepcopy(folded.state_dict())
    fold_batch_norms(folded)
    assert all(torch.equal(before[k], v) for k, v in folded.state_dict().items())


def test_a_network_in_training_mode_is_refused(trained_like: DualSubnetSegmenter) -> None:
    with pytest.raises(ValueError, match="eval mode"):
        fold_batch_norms(trained_like.train())
