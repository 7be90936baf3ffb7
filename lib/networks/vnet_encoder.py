"""The ``vnet`` subnet's encoder: V-Net style (Milletari et al., 3DV 2016)."""

from __future__ import annotations

import torch
from monai.networks.blocks import ResidualUnit
from torch import nn

__all__ = ["VNetEncoder", "stage_widths"]

# V-Net's stages hold 1, 2, 3, 3, 3 convolutions, each stage a residual function of its input.
VNET_ENCODER_CONVS = (1, 2, 3, 3, 3)


def stage_widths(width: int, levels: int = 5) -> list[int]:
    """Channel count of each resolution level: ``width`` doubled at every downsampling, as in V-Net."""
    if width < 1:
        raise ValueError(f"width must be a positive integer, got {width}")
    return [width * 2**i for i in range(levels)]


class VNetEncoder(nn.Module):
    """Five residual stages; stages 2-5 downsample by a strided convolution.

    Differs from the original V-Net in kernel size (3 instead of 5, as in the UA-MT/MCF reference V-Net that the
    paper uses) and in normalisation (batch norm, as the reference code).

    Returns the feature map of every level, full resolution first, for the decoder's skip connections.
    """

    def __init__(self, in_channels: int, width: int, norm: str = "batch", dropout: float = 0.0) -> None:
        super().__init__()
        widths = stage_widths(width)
        self.stages = nn.ModuleList()
        prev = in_channels
        for level, (channels, convs) in enumerate(zip(widths, VNET_ENCODER_CONVS)):
            self.stages.append(
                ResidualUnit(
                    spatial_dims=3,
                    in_channels=prev,
                    out_channels=channels,
                    strides=1 if level == 0 else 2,
                    subunits=convs,
                    act="RELU",
                    norm=norm,
                    dropout=dropout if level == len(widths) - 1 else None,
                )
            )
            prev = channels
        self.out_channels = widths

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        features = []
        for stage in self.stages:
            x = stage(x)
            features.append(x)
        return features
