from __future__ import annotations

import pytest
import torch

from lib.networks import DualSubnetSegmenter


def _count(module: torch.nn.Module) -> float:
    return sum(p.numel() for p in module.parameters()) / 1e6


def test_each_subnet_returns_logits_and_full_resolution_features() -> None:
    net = DualSubnetSegmenter(in_channels=1, num_classes=3, width=4)
    out_vnet, out_resnet = net(torch.randn(2, 1, 32, 32, 16), return_subnets=True)
    for out in (out_vnet, out_resnet):
        assert out.logits.shape == (2, 3, 32, 32, 16)
        assert out.features.shape == (2, 4, 32, 32, 16)


def test_forward_is_the_average_of_the_two_subnets_softmax() -> None:
    net = DualSubnetSegmenter(in_channels=1, num_classes=3, width=4).eval()
    x = torch.randn(1, 1, 16, 16, 16)
    with torch.no_grad():
        out_vnet, out_resnet = net(x, return_subnets=True)
        probs = net(x)
    expected = (out_vnet.logits.softmax(1) + out_resnet.logits.softmax(1)) / 2
    torch.testing.assert_close(probs, expected)
    torch.testing.assert_close(probs.sum(1), torch.ones(1, 16, 16, 16))


def test_the_two_subnets_are_different_architectures() -> None:
    net = DualSubnetSegmenter(in_channels=1, num_classes=2, width=4)
    assert type(net.vnet.encoder).__name__ == "VNetEncoder"
    assert type(net.resnet.encoder).__name__ == "ResNet34Encoder"
    assert _count(net.resnet) > 1.5 * _count(net.vnet)


def test_width_16_gives_the_reference_network_sizes() -> None:
    """The reference sizes at width 16: measured here 9.1 M (V-Net subnet) and 17.9 M (ResNet-34-encoder subnet)
    parameters; the reference V-Net is quoted at 9.4 M."""
    net = DualSubnetSegmenter(in_channels=1, num_classes=2, width=16)
    assert 8.5 < _count(net.vnet) < 10.0
    assert 17.0 < _count(net.resnet) < 19.0


def test_needs_background_and_one_label() -> None:
    with pytest.raises(ValueError, match="num_classes"):
        DualSubnetSegmenter(in_channels=1, num_classes=1)
