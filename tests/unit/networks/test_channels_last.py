"""The pair in the channels-last layout computes what it computes in PyTorch's default layout, trains the same
parameters and keeps checkpoints interchangeable; only few-channel batch norms change class."""

from __future__ import annotations

import copy

import torch
from torch import nn

from lib.networks import DualSubnetSegmenter, GradContiguousBatchNorm3d, to_channels_last


def _pair() -> DualSubnetSegmenter:
    torch.manual_seed(0)
    return DualSubnetSegmenter(1, 3, width=8, projection_dim=4)


def test_outputs_and_gradients_match_the_default_layout() -> None:
    default = _pair()
    fast = to_channels_last(copy.deepcopy(default))
    x = torch.randn(2, 1, 32, 32, 16)
    outputs = []
    for network in (default, fast):
        network.train()
        out_vnet, out_resnet = network(x, return_subnets=True)
        (out_vnet.logits.square().mean() + out_resnet.features.mean()).backward()
        outputs.append((out_vnet.logits, {n: p.grad for n, p in network.named_parameters()}))
    (logits, grads), (fast_logits, fast_grads) = outputs
    torch.testing.assert_close(fast_logits, logits, rtol=1e-4, atol=1e-5)
    assert grads.keys() == fast_grads.keys()
    for name in grads:
        # Summation order differs between layouts; a bias ahead of a batch norm has a gradient of float noise (~1e-5).
        torch.testing.assert_close(fast_grads[name], grads[name], rtol=1e-2, atol=1e-4, msg=name)
    default.eval(), fast.eval()
    with torch.no_grad():
        torch.testing.assert_close(fast(x), default(x), rtol=1e-4, atol=1e-5)


def test_only_batch_norms_of_few_channels_are_replaced_and_checkpoints_load_both_ways() -> None:
    default = _pair()
    fast = to_channels_last(copy.deepcopy(default))
    replaced = [m for m in fast.modules() if isinstance(m, GradContiguousBatchNorm3d)]
    kept = [m for m in fast.modules() if type(m) is nn.BatchNorm3d]
    assert replaced and kept
    assert all(m.num_features <= 8 for m in replaced) and all(m.num_features > 8 for m in kept)
    assert fast.state_dict().keys() == default.state_dict().keys()
    _pair().load_state_dict(fast.state_dict())
    to_channels_last(_pair()).load_state_dict(default.state_dict())
    assert to_channels_last(fast) is fast and len([m for m in fast.modules() if type(m) is nn.BatchNorm3d]) == len(kept)
