"""The ``resnet`` subnet's encoder: a ResNet-34 style residual 3D encoder (He et al., CVPR 2016), as in MCF's
second subnet."""

from __future__ import annotations

import torch
from monai.networks.blocks import Convolution
from monai.networks.layers.factories import Conv, Norm
from monai.networks.nets.resnet import ResNetBlock
from torch import nn

from .vnet_encoder import stage_widths

__all__ = ["ResNet34Encoder"]

# ResNet-34: 3, 4, 6, 3 basic blocks per stage.
RESNET34_BLOCKS = (3, 4, 6, 3)


def _residual_stage(in_channels: int, out_channels: int, blocks: int, norm: str) -> nn.Sequential:
    """A ResNet stage that halves the resolution in its first block (projection shortcut, as torchvision's ResNet)."""
    shortcut = nn.Sequential(
        Conv[Conv.CONV, 3](in_channels, out_channels, kernel_size=1, stride=2, bias=False),
        Norm[norm, 3](out_channels),
    )
    layers = [ResNetBlock(in_channels, out_channels, spatial_dims=3, stride=2, downsample=shortcut, norm=norm)]
    layers += [ResNetBlock(out_channels, out_channels, spatial_dims=3, norm=norm) for _ in range(blocks - 1)]
    return nn.Sequential(*layers)


class ResNet34Encoder(nn.Module):
    """A full-resolution stem followed by the four ResNet-34 stages, each halving the resolution.

    The stem replaces ResNet's 7x7x7 stride-2 convolution and max-pooling so that the encoder has the same five
    levels (and channel counts) as the V-Net encoder and both subnets can share one decoder design.
    """

    def __init__(self, in_channels: int, width: int, norm: str = "batch", dropout: float = 0.0) -> None:
        super().__init__()
        widths = stage_widths(width)
        self.stem = Convolution(3, in_channels, widths[0], kernel_size=3, act="RELU", norm=norm)
        self.stages = nn.ModuleList(
            _residual_stage(widths[i], widths[i + 1], blocks, norm) for i, blocks in enumerate(RESNET34_BLOCKS)
        )
        self.dropout = nn.Dropout3d(dropout) if dropout > 0 else nn.Identity()
        self.out_channels = widths

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        features = [self.stem(x)]
        for stage in self.stages:
            features.append(stage(features[-1]))
        features[-1] = self.dropout(features[-1])
        return features
