"""The pair of dissimilar subnets whose agreement, disagreement and entropy drive training and uncertainty."""

from __future__ import annotations

import torch
from torch import nn

from .resnet_encoder import ResNetEncoder
from .subnet import EncoderDecoder, SubnetOutput
from .vnet_encoder import VNetEncoder

__all__ = ["DualSubnetSegmenter", "StackedSubnetSoftmax", "SubnetOutput", "DOWNSAMPLING_FACTOR", "averaged_softmax"]

# Four stride-2 levels: every spatial size the networks see must be a multiple of 16.
DOWNSAMPLING_FACTOR = 16


def averaged_softmax(out_a: SubnetOutput, out_b: SubnetOutput) -> torch.Tensor:
    """The pair's prediction: the mean of the two subnets' class probabilities."""
    return (out_a.logits.softmax(dim=1) + out_b.logits.softmax(dim=1)) / 2


class DualSubnetSegmenter(nn.Module):
    """Subnet A (V-Net) and subnet B (ResNet-34 encoder + V-Net decoder), after Jarimijafarbigloo et al., MIDL 2024,
    and MCF (Wang et al., CVPR 2023).

    ``forward`` returns the two subnets' softmax probabilities averaged: the prediction used for validation,
    inference and scoring, so that MONAI's inferers and evaluators can use the pair like any segmentation network.
    Training asks for ``return_subnets=True`` to get each subnet's logits and features (through ``forward``, so
    that a ``DistributedDataParallel`` wrapper sees the call).
    """

    def __init__(
        self,
        in_channels: int,
        num_classes: int,
        width: int = 8,
        norm: str = "batch",
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        if num_classes < 2:
            raise ValueError(f"num_classes must count background and at least one label, got {num_classes}")
        self.num_classes = num_classes
        self.vnet = EncoderDecoder(VNetEncoder(in_channels, width, norm, dropout), num_classes, norm)
        self.resnet = EncoderDecoder(ResNetEncoder(in_channels, width, norm, dropout), num_classes, norm)

    def forward(
        self, x: torch.Tensor, return_subnets: bool = False
    ) -> torch.Tensor | tuple[SubnetOutput, SubnetOutput]:
        out_a, out_b = self.vnet(x), self.resnet(x)
        if return_subnets:
            return out_a, out_b
        return averaged_softmax(out_a, out_b)


class StackedSubnetSoftmax(nn.Module):
    """Both subnets' class probabilities side by side (2C channels: subnet A's, then B's), for MONAI's inferers.

    A sliding window blends windows linearly, so the average of the blended halves equals the blended average that
    ``DualSubnetSegmenter.forward`` gives, and each subnet's own label map can be read as well.
    """

    def __init__(self, pair: DualSubnetSegmenter) -> None:
        super().__init__()
        self.pair = pair

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out_a, out_b = self.pair(x, return_subnets=True)
        return torch.cat([out_a.logits.softmax(dim=1), out_b.logits.softmax(dim=1)], dim=1)
