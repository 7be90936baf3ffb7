"""One semi-supervised training iteration, plugged into MONAI's ``SupervisedTrainer`` as its ``iteration_update``
(the way MONAI Label's DeepEdit trainer plugs in its interaction loop)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import torch
from monai.engines import SupervisedTrainer
from monai.utils import CommonKeys as Keys

from ..networks import SubnetOutput, averaged_softmax
from ..runtime import autocast

__all__ = ["SemiSupervisedIteration"]


class SemiSupervisedIteration:
    """Takes the engine's labeled batch, draws the next unlabeled batch from its own loader (cycling it), runs both
    subnets once on the concatenation and optimises :class:`~lib.losses.UncertaintyContrastiveLoss`.

    The engine's ``network`` must accept ``return_subnets=True`` and its ``loss_function`` must be the combined loss.
    A class rather than a closure so that the trainer stays picklable for MONAI Label's multi-GPU spawn.

    With ``autocast_dtype`` the forward pass runs in mixed precision and the losses in float32 (entropy percentiles
    and prototype sums lose too much in 16 bits); float16 gradients are scaled against underflow.
    """

    def __init__(
        self, unlabeled_loader: Iterable[dict[str, Any]] | None, autocast_dtype: torch.dtype | None = None
    ) -> None:
        self.unlabeled_loader = unlabeled_loader
        self.autocast_dtype = autocast_dtype
        self._unlabeled: Iterator[dict[str, Any]] | None = None
        self._passes = 0
        self._scaler: torch.amp.GradScaler | None = None

    def _next_unlabeled(self) -> torch.Tensor | None:
        if self.unlabeled_loader is None:
            return None
        if self._unlabeled is not None:
            batch = next(self._unlabeled, None)
            if batch is not None:
                return batch["image"]
        # A new pass: a distributed sampler must be told, or every pass repeats the first one's order.
        sampler = getattr(self.unlabeled_loader, "sampler", None)
        if hasattr(sampler, "set_epoch"):
            sampler.set_epoch(self._passes)
        self._passes += 1
        self._unlabeled = iter(self.unlabeled_loader)
        return next(self._unlabeled)["image"]

    def __call__(self, engine: SupervisedTrainer, batchdata: dict[str, Any]) -> dict[str, Any]:
        images, labels = engine.prepare_batch(batchdata, engine.state.device, engine.non_blocking)[:2]
        unlabeled = self._next_unlabeled()
        inputs = images if unlabeled is None else torch.cat([images, unlabeled.to(images.device, images.dtype)])

        if self._scaler is None:
            self._scaler = torch.amp.GradScaler(inputs.device.type, enabled=self.autocast_dtype == torch.float16)

        engine.network.train()
        engine.optimizer.zero_grad(set_to_none=True)
        with autocast(self.autocast_dtype, inputs.device):
            out_a, out_b = engine.network(inputs, return_subnets=True)
        out_a, out_b = SubnetOutput(*(t.float() for t in out_a)), SubnetOutput(*(t.float() for t in out_b))
        terms = engine.loss_function(out_a, out_b, labels, images.shape[0], engine.state.iteration)
        self._scaler.scale(terms["loss"]).backward()
        self._scaler.step(engine.optimizer)
        self._scaler.update()

        n = images.shape[0]
        with torch.no_grad():
            pred = averaged_softmax(out_a, out_b)[:n]
        output = {Keys.IMAGE: images, Keys.LABEL: labels, Keys.PRED: pred}
        output.update({name: value.detach() for name, value in terms.items()})
        return output
