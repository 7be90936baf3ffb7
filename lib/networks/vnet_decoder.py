"""The decoder both subnets share (as a design, not as weights)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from monai.networks.blocks import Convolution, ResidualUnit
from torch import nn

from .feature_selection import UncertaintyAwareFeatureSelection

__all__ = ["VNetDecoder"]

# V-Net's decoder stages hold 3, 3, 2, 1 convolutions, from the coarsest level up.
VNET_DECODER_CONVS = (3, 3, 2, 1)


class VNetDecoder(nn.Module):
    """V-Net decoder: transposed-convolution upsampling, skip features *added* (as the UA-MT/MCF reference V-Net),
    then a residual stage.

    Returns the last decoder feature map (full resolution, ``encoder_channels[0]`` channels): the voxel
    representation the contrastive term works on.
    """

    def __init__(self, encoder_channels: Sequence[int], norm: str = "batch", feature_selection: int = 0) -> None:
        """``feature_selection``: the number of classes of an uncertainty-aware feature selection block after every
        stage (``lib/networks/feature_selection.py``), 0 for none."""
        super().__init__()
        if len(encoder_channels) != len(VNET_DECODER_CONVS) + 1:
            raise ValueError(f"encoder_channels must list {len(VNET_DECODER_CONVS) + 1} levels, got {encoder_channels}")
        coarse_to_fine = list(reversed(encoder_channels))
        self.up = nn.ModuleList()
        self.stages = nn.ModuleList()
        for (c_in, c_out), convs in zip(zip(coarse_to_fine[:-1], coarse_to_fine[1:]), VNET_DECODER_CONVS):
            self.up.append(
                Convolution(
                    3,
                    c_in,
                    c_out,
                    strides=2,
                    kernel_size=2,
                    padding=0,
                    output_padding=0,
                    act="RELU",
                    norm=norm,
                    is_transposed=True,
                )
            )
            self.stages.append(ResidualUnit(3, c_out, c_out, subunits=convs, act="RELU", norm=norm))
        self.selections = nn.ModuleList(
            UncertaintyAwareFeatureSelection(c_out, feature_selection, norm) if feature_selection else nn.Identity()
            for c_out in coarse_to_fine[1:]
        )
        self.out_channels = encoder_channels[0]

    def forward(self, features: Sequence[torch.Tensor]) -> torch.Tensor:
        skips = list(reversed(features))
        x = skips[0]
        for up, stage, select, skip in zip(self.up, self.stages, self.selections, skips[1:]):
            x = select(stage(up(x) + skip))
        return x
