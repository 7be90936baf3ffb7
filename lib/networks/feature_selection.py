"""Uncertainty-aware feature selection (UAFS; Li et al., "Contrastive and Selective Hidden Embeddings for Medical
Image Segmentation", arXiv 2201.08779, TMI 2022 as UAFR): the second module of the seed paper's PDCR work.

A small head reads a decoder feature map and predicts the classes from it; where that prediction is certain the
features are amplified, where it is uncertain they pass unchanged:

    x' = x * (1 + (1 - H(softmax(head(x)))))

with H the normalised entropy (0 certain, 1 uniform). Confident features lead the next stage, and the minority of
highly uncertain features cannot shift what it learns. The head is trained through the segmentation loss alone, as in
the authors' code (github.com/lzh19961031/PDCR_UAFR-MIS, ``get_uncertainty_att``). MONAI has no such block.
"""

from __future__ import annotations

import torch
from monai.networks.blocks import Convolution
from torch import nn

from ..uncertainty import normalized_entropy

__all__ = ["UncertaintyAwareFeatureSelection"]

# The authors' head: a 3x3x3 convolution to 16 channels, batch norm and ReLU, then 1x1x1 to the classes.
HIDDEN_CHANNELS = 16


class UncertaintyAwareFeatureSelection(nn.Module):
    """Re-weights ``channels`` feature maps (B, channels, H, W, D) by the certainty of a class prediction made from
    them; the output has the input's shape."""

    def __init__(self, channels: int, num_classes: int, norm: str = "batch") -> None:
        super().__init__()
        if num_classes < 2:
            raise ValueError(f"num_classes must count background and at least one label, got {num_classes}")
        self.head = nn.Sequential(
            Convolution(3, channels, HIDDEN_CHANNELS, kernel_size=3, act="RELU", norm=norm),
            Convolution(3, HIDDEN_CHANNELS, num_classes, kernel_size=1, conv_only=True),
        )

    def certainty(self, x: torch.Tensor) -> torch.Tensor:
        """1 - the head's normalised entropy, (B, 1, H, W, D) in [0, 1]."""
        return 1.0 - normalized_entropy(self.head(x).float().softmax(1)).unsqueeze(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * (1.0 + self.certainty(x).to(x.dtype))
