"""One encoder-decoder subnet with a 1x1x1 segmentation head and, optionally, a projection head for the contrast."""

from __future__ import annotations

from typing import NamedTuple

import torch
from monai.networks.blocks import Convolution
from torch import nn

from .vnet_decoder import VNetDecoder

__all__ = ["EncoderDecoder", "SubnetOutput"]


class SubnetOutput(NamedTuple):
    logits: torch.Tensor  # (B, num_classes, *spatial)
    features: torch.Tensor  # (B, F, *spatial): the voxel embedding the contrastive terms work on


class EncoderDecoder(nn.Module):
    """With ``projection_dim`` > 0 the contrastive terms see a small 1x1x1 MLP of the last decoder feature map
    (SimCLR's projection head, Chen et al. 2020) instead of the 4-16 features the segmentation head reads: contrasting
    those directly pulls on the very features the classifier uses, which is close to entropy minimisation."""

    def __init__(
        self,
        encoder: nn.Module,
        num_classes: int,
        norm: str = "batch",
        projection_dim: int = 0,
        feature_selection: bool = False,
    ) -> None:
        super().__init__()
        self.encoder = encoder
        self.decoder = VNetDecoder(encoder.out_channels, norm, num_classes if feature_selection else 0)
        channels = self.decoder.out_channels
        self.head = Convolution(3, channels, num_classes, kernel_size=1, conv_only=True)
        self.projection = (
            nn.Sequential(
                Convolution(3, channels, 2 * channels, kernel_size=1, act="RELU", norm=norm),
                Convolution(3, 2 * channels, projection_dim, kernel_size=1, conv_only=True),
            )
            if projection_dim > 0
            else None
        )

    def forward(self, x: torch.Tensor) -> SubnetOutput:
        features = self.decoder(self.encoder(x))
        embedding = features if self.projection is None else self.projection(features)
        return SubnetOutput(self.head(features), embedding)

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        """The segmentation alone (inference, validation, scoring): the projection head is not run."""
        return self.logits_and_bottleneck(x)[0]

    def logits_and_bottleneck(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The segmentation and the encoder's deepest features averaged over space (B, channels): what scoring keeps
        as a study's description, so that a batch of studies can be told apart from near-duplicates."""
        stages = self.encoder(x)
        return self.head(self.decoder(stages)), stages[-1].mean(dim=tuple(range(2, stages[-1].ndim)))
