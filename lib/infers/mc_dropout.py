"""Monte-Carlo dropout pass for MONAI Label's own epistemic scoring (``monailabel.tasks.scoring.epistemic_v2``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from torch import nn

from .dual_subnet_infer import DualSubnetInfer

__all__ = ["McDropoutInfer"]


class McDropoutInfer(DualSubnetInfer):
    """The averaged class probabilities of one stochastic pass, dropout on, nothing written.

    MONAI Label's ``train_mode=True`` would switch batch norm to batch statistics too, which with a sliding window
    of one patch changes every prediction; only the dropout layers are put in training mode here.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.skip_writer = True

    def _get_network(self, device: str, data: dict[str, Any] | None) -> nn.Module:
        network = super()._get_network(device, data)
        network.eval()
        for module in network.modules():
            if isinstance(module, nn.modules.dropout._DropoutNd):
                module.train()
        return network

    def post_transforms(self, data: dict[str, Any] | None = None) -> list[Callable]:
        return []
