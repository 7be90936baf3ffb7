"""Uncertainty-aware feature selection: features are amplified where the block's own class prediction is certain and
left as they are where it is uncertain; the head learns through the block's output."""

from __future__ import annotations

import torch
from torch import nn

from lib.config import load_config
from lib.networks import DualSubnetSegmenter
from lib.networks.feature_selection import UncertaintyAwareFeatureSelection


class _FixedLogits(nn.Module):
    """Certain (logits 20, 0, 0) in the first half of the first axis, uniform (0, 0, 0) in the second."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        logits = torch.zeros(x.shape[0], 3, *x.shape[2:])
        logits[:, 0, : x.shape[2] // 2] = 20.0
        return logits


def test_certain_features_are_doubled_and_uncertain_ones_kept() -> None:
    block = UncertaintyAwareFeatureSelection(channels=4, num_classes=3)
    block.head = _FixedLogits()
    x = torch.randn(2, 4, 8, 4, 4)
    out = block(x)
    torch.testing.assert_close(out[:, :, :4], 2 * x[:, :, :4], atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(out[:, :, 4:], x[:, :, 4:])


def test_the_head_is_trained_through_the_blocks_output() -> None:
    torch.manual_seed(0)
    block = UncertaintyAwareFeatureSelection(channels=4, num_classes=3)
    block(torch.randn(2, 4, 8, 8, 8)).square().mean().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in block.head.parameters() if p.requires_grad)


def test_the_setting_puts_a_block_after_every_decoder_stage_of_both_subnets() -> None:
    off = DualSubnetSegmenter.from_config(load_config({"width": "2"}))
    on = DualSubnetSegmenter.from_config(load_config({"width": "2", "feature_selection": "true"}))
    blocks = [m for m in on.modules() if isinstance(m, UncertaintyAwareFeatureSelection)]
    assert len(blocks) == 8 and not any(isinstance(m, UncertaintyAwareFeatureSelection) for m in off.modules())
    x = torch.randn(2, 1, 32, 32, 16)
    assert on(x).shape == off(x).shape == (2, 3, 32, 32, 16)
