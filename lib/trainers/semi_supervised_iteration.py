"""One semi-supervised training iteration, plugged into MONAI's ``SupervisedTrainer`` as its ``iteration_update``
(the way MONAI Label's DeepEdit trainer plugs in its interaction loop)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import torch
from monai.engines import SupervisedTrainer
from monai.utils import CommonKeys as Keys

from ..networks import averaged_softmax

__all__ = ["SemiSupervisedIteration"]


class SemiSupervisedIteration:
    """Takes the engine's labeled batch, draws the next unlabeled batch from its own loader (cycling it), runs both
    subnets once on the concatenation and optimises :class:`~lib.losses.UncertaintyContrastiveLoss`.

    The engine's ``network`` must accept ``return_subnets=True`` and its ``loss_function`` must be the combined loss.
    A class rather than a closure so that the trainer stays picklable for MONAI Label's multi-GPU spawn.
    """

    def __init__(self, unlabeled_loader: Iterable[dict[str, Any]] | None) -> None:
        self.unlabeled_loader = unlabeled_loader
        self._unlabeled: Iterator[dict[str, Any]] | None = None

    def _next_unlabeled(self) -> torch.Tensor | None:
        if self.unlabeled_loader is None:
            return None
        if self._unlabeled is None:
            self._unlabeled = iter(self.unlabeled_loader)
        try:
            return next(self._unlabeled)["image"]
        except StopIteration:
            self._unlabeled = iter(self.unlabeled_loader)
            return next(self._unlabeled)["image"]

    def __call__(self, engine: SupervisedTrainer, batchdata: dict[str, Any]) -> dict[str, Any]:
        images, labels = engine.prepare_batch(batchdata, engine.state.device, engine.non_blocking)[:2]
        unlabeled = self._next_unlabeled()
        inputs = images if unlabeled is None else torch.cat([images, unlabeled.to(images.device, images.dtype)])

        engine.network.train()
        engine.optimizer.zero_grad(set_to_none=True)
        out_a, out_b = engine.network(inputs, return_subnets=True)
        terms = engine.loss_function(out_a, out_b, labels, images.shape[0], engine.state.iteration)
        terms["loss"].backward()
        engine.optimizer.step()

        n = images.shape[0]
        with torch.no_grad():
            pred = averaged_softmax(out_a, out_b)[:n]
        output = {Keys.IMAGE: images, Keys.LABEL: labels, Keys.PRED: pred}
        output.update({name: value.detach() for name, value in terms.items()})
        return output
