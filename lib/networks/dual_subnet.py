"""The pair of dissimilar subnets whose agreement, disagreement and entropy drive training and uncertainty."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from .encoder_decoder import EncoderDecoder, SubnetOutput
from .resnet34_encoder import ResNet34Encoder
from .vnet_encoder import VNetEncoder

__all__ = [
    "DualSubnetSegmenter",
    "StackedSubnetSoftmax",
    "SubnetOutput",
    "DOWNSAMPLING_FACTOR",
    "SUBNET_NAMES",
    "averaged_softmax",
    "study_embedding",
]

# Four stride-2 levels: every spatial size the networks see must be a multiple of 16.
DOWNSAMPLING_FACTOR = 16
# The pair's members, in the order in which every pair of outputs, losses and curves comes (attributes of the network,
# suffixes of the loss terms).
SUBNET_NAMES = ("vnet", "resnet")


def averaged_softmax(out_vnet: SubnetOutput | torch.Tensor, out_resnet: SubnetOutput | torch.Tensor) -> torch.Tensor:
    """The pair's prediction: the mean of the two subnets' class probabilities (from their outputs or logits)."""
    logits_vnet = out_vnet.logits if isinstance(out_vnet, SubnetOutput) else out_vnet
    logits_resnet = out_resnet.logits if isinstance(out_resnet, SubnetOutput) else out_resnet
    return (logits_vnet.softmax(dim=1) + logits_resnet.softmax(dim=1)) / 2


class DualSubnetSegmenter(nn.Module):
    """Subnet ``vnet`` (V-Net) and subnet ``resnet`` (ResNet-34 encoder + V-Net decoder), after Jarimijafarbigloo
    et al., MIDL 2024, and MCF (Wang et al., CVPR 2023); with ``feature_selection``, an uncertainty-aware feature
    selection block after each decoder stage of both (``lib/networks/feature_selection.py``).

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
        projection_dim: int = 0,
        feature_selection: bool = False,
    ) -> None:
        super().__init__()
        if num_classes < 2:
            raise ValueError(f"num_classes must count background and at least one label, got {num_classes}")
        self.num_classes = num_classes
        heads = dict(norm=norm, projection_dim=projection_dim, feature_selection=feature_selection)
        self.vnet = EncoderDecoder(VNetEncoder(in_channels, width, norm, dropout), num_classes, **heads)
        self.resnet = EncoderDecoder(ResNet34Encoder(in_channels, width, norm, dropout), num_classes, **heads)

    @classmethod
    def from_config(cls, config: Any) -> DualSubnetSegmenter:
        """The pair an ``AppConfig`` describes (one place for the app, its tasks and the benchmarks)."""
        return cls(
            1,
            config.num_classes,
            config.width,
            dropout=config.dropout,
            projection_dim=config.projection_dim,
            feature_selection=config.feature_selection,
        )

    def forward(
        self, x: torch.Tensor, return_subnets: bool = False
    ) -> torch.Tensor | tuple[SubnetOutput, SubnetOutput]:
        if return_subnets:
            return self.vnet(x), self.resnet(x)
        return averaged_softmax(self.vnet.logits(x), self.resnet.logits(x))


class StackedSubnetSoftmax(nn.Module):
    """Both subnets' class probabilities side by side (2C channels: ``vnet``'s, then ``resnet``'s), for MONAI's
    inferers.

    A sliding window blends windows linearly, so the average of the blended halves equals the blended average that
    ``DualSubnetSegmenter.forward`` gives, and each subnet's own label map can be read as well.

    With ``bottlenecks`` (a list), each call also appends its windows' pooled bottleneck features, both encoders'
    side by side (B, 2 x channels): the scorer's study description (:func:`study_embedding`).
    """

    def __init__(self, pair: DualSubnetSegmenter, bottlenecks: list[torch.Tensor] | None = None) -> None:
        super().__init__()
        self.pair = pair
        self.bottlenecks = bottlenecks

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        logits_vnet, pooled_vnet = self.pair.vnet.logits_and_bottleneck(x)
        logits_resnet, pooled_resnet = self.pair.resnet.logits_and_bottleneck(x)
        if self.bottlenecks is not None:
            self.bottlenecks.append(torch.cat([pooled_vnet, pooled_resnet], dim=1).float().cpu())
        return torch.cat([logits_vnet.softmax(dim=1), logits_resnet.softmax(dim=1)], dim=1)


def study_embedding(bottlenecks: list[torch.Tensor]) -> list[float]:
    """One study's description from its windows' pooled bottlenecks: their mean, each encoder's half scaled to unit
    length (the two encoders' features are not on one scale), as a plain list for the datastore."""
    mean = torch.cat(bottlenecks).mean(dim=0)
    halves = [nn.functional.normalize(half, dim=0) for half in mean.chunk(2)]
    return [round(float(v), 5) for v in torch.cat(halves)]
