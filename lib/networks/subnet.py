"""One encoder-decoder subnet with a 1x1x1 segmentation head."""

from __future__ import annotations

from typing import NamedTuple

import torch
from monai.networks.blocks import Convolution
from torch import nn

from .decoder import VNetDecoder

__all__ = ["EncoderDecoder", "SubnetOutput"]


class SubnetOutput(NamedTuple):
    logits: torch.Tensor  # (B, num_classes, *spatial)
    features: torch.Tensor  # (B, width, *spatial): the last decoder feature map


class EncoderDecoder(nn.Module):
    def __init__(self, encoder: nn.Module, num_classes: int, norm: str = "batch") -> None:
        super().__init__()
        self.encoder = encoder
        self.decoder = VNetDecoder(encoder.out_channels, norm=norm)
        self.head = Convolution(3, self.decoder.out_channels, num_classes, kernel_size=1, conv_only=True)

    def forward(self, x: torch.Tensor) -> SubnetOutput:
        features = self.decoder(self.encoder(x))
        return SubnetOutput(self.head(features), features)
