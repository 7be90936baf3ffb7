"""The networks' memory layout on a CPU: channels-last 3D, in which oneDNN runs 3D convolutions fastest.

Measured on this 2-core CPU for the default pair (width 8) on a batch of four 48 x 48 x 32 patches: forward and
backward 0.615 s in PyTorch's default layout, 0.510 s channels-last, 0.442 s channels-last with the batch norms of
8 channels or fewer running in the default layout while gradients are recorded; a forward without gradients (the
teacher, inference) 0.158, 0.112 and 0.111 s. PyTorch's CPU batch-norm backward is slow in channels-last at few
channels (8 channels on a 48 x 48 x 32 patch: 22.4 ms against 4.6 ms contiguous, 16 channels: 7.1 against 8.1 ms),
and MONAI's blocks have no layout switch of their own: the module below is the workaround.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["GradContiguousBatchNorm3d", "SLOW_CHANNELS_LAST_BATCH_NORM", "to_channels_last"]

# Batch norms with at most this many channels run their training pass in the default layout.
SLOW_CHANNELS_LAST_BATCH_NORM = 8


class GradContiguousBatchNorm3d(nn.BatchNorm3d):
    """``BatchNorm3d`` that, while gradients are recorded, normalises a contiguous copy of its input (the next
    convolution takes it back to channels-last); without gradients it runs in whatever layout it is given. The same
    parameters and buffers as ``BatchNorm3d``: checkpoints load either way."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if torch.is_grad_enabled():
            x = x.contiguous()
        return super().forward(x)


def _with_grad_contiguous_batch_norms(module: nn.Module) -> None:
    for name, child in module.named_children():
        if (
            type(child) is nn.BatchNorm3d
            and child.track_running_stats
            and child.num_features <= SLOW_CHANNELS_LAST_BATCH_NORM
        ):
            replacement = GradContiguousBatchNorm3d(
                child.num_features, child.eps, child.momentum, child.affine, child.track_running_stats
            )
            replacement.load_state_dict(child.state_dict())
            setattr(module, name, replacement.to(child.running_mean.device))
        else:
            _with_grad_contiguous_batch_norms(child)


def to_channels_last(network: nn.Module) -> nn.Module:
    """``network`` in place: weights channels-last 3D, the few-channel batch norms as above. Call it before an
    optimizer takes the parameters (batch norms are replaced, with new parameters)."""
    _with_grad_contiguous_batch_norms(network)
    return network.to(memory_format=torch.channels_last_3d)
