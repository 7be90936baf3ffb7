"""One semi-supervised training iteration, plugged into MONAI's ``SupervisedTrainer`` as its ``iteration_update``
(the way MONAI Label's DeepEdit trainer plugs in its interaction loop)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

import torch
from monai.engines import SupervisedTrainer
from monai.utils import CommonKeys as Keys
from monai.utils import convert_to_tensor
from torch.optim.swa_utils import AveragedModel
from torch.profiler import record_function

from ..networks import SubnetOutput, averaged_softmax
from ..runtime import autocast
from ..transforms import CopyPaste
from .mean_teacher import restart
from .schedule import SemiSupervisedSchedule

__all__ = ["SemiSupervisedIteration"]


def _float(outputs: tuple[SubnetOutput, SubnetOutput]) -> tuple[SubnetOutput, SubnetOutput]:
    return tuple(SubnetOutput(*(t.float() for t in out)) for out in outputs)  # type: ignore[return-value]


def _labeled_part(out: SubnetOutput, n: int) -> SubnetOutput:
    """The first ``n`` items (a slice of the whole batch would still cost its backward a copy)."""
    return out if out.logits.shape[0] == n else SubnetOutput(*(t[:n] for t in out))


class SemiSupervisedIteration:
    """Takes the engine's labeled batch and, once the schedule's warm-up is over, the next unlabeled batch from its
    own loader (cycling it); runs both subnets once on the concatenation (on this CPU two batches of one patch cost
    twice one batch of two: 0.54 vs 0.26 s), optimises :class:`~lib.losses.UncertaintyContrastiveLoss` and updates
    the teacher.

    With a ``teacher`` (see :mod:`~lib.trainers.mean_teacher`), the teacher sees the weak view (the patches as
    loaded) and the students the ``strong_view`` of the unlabeled patches; with ``copy_paste``, a box of a labeled
    patch in each of them (learnt from its labels, not the teacher's pseudo-labels). The engine's ``network`` must
    accept ``return_subnets=True`` and its ``loss_function`` must be the combined loss. A class rather than a closure so
    that the trainer stays picklable for MONAI Label's multi-GPU spawn.

    Without ``unlabeled_loss`` (the benchmarks' supervised recipes) the unlabeled patches still go through the
    students beside the labeled ones, so that their batch norms normalise batches of the same size as the
    semi-supervised recipe's, but no loss term reads them.

    With ``autocast_dtype`` the forward pass runs in mixed precision and the losses in float32 (entropy percentiles
    and prototype sums lose too much in 16 bits); float16 gradients are scaled against underflow.

    Each stage runs in a ``torch.profiler.record_function`` range of its name, so that PyTorch's profiler (and
    ``python -m benchmarks training_profile``) says where an iteration's time goes; outside a profiler they cost
    nothing measurable.
    """

    def __init__(
        self,
        unlabeled_loader: Iterable[dict[str, Any]] | None,
        autocast_dtype: torch.dtype | None = None,
        schedule: SemiSupervisedSchedule | None = None,
        teacher: AveragedModel | None = None,
        strong_view: Callable[[torch.Tensor], torch.Tensor] | None = None,
        copy_paste: CopyPaste | None = None,
        unlabeled_loss: bool = True,
    ) -> None:
        self.unlabeled_loader = unlabeled_loader
        self.autocast_dtype = autocast_dtype
        self.schedule = schedule
        self.teacher = teacher
        self.strong_view = strong_view
        self.copy_paste = copy_paste
        self.unlabeled_loss = unlabeled_loss
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
        # Plain tensors: slicing MONAI's MetaTensors per batch item (as the loss does) checks their metadata.
        images, labels = (
            convert_to_tensor(t, track_meta=False)
            for t in engine.prepare_batch(batchdata, engine.state.device, engine.non_blocking)[:2]
        )
        student = getattr(engine.network, "module", engine.network)  # the pair inside a DDP wrapper
        if self.teacher is not None and int(self.teacher.n_averaged) == 0:
            restart(self.teacher, student)  # after MONAI Label's CheckpointLoader filled the student
        ramp = 1.0 if self.schedule is None else self.schedule.ramp(engine.state.iteration - 1)
        with record_function("unlabeled batch"):
            unlabeled = self._next_unlabeled() if ramp > 0 else None
        if unlabeled is not None:
            unlabeled = convert_to_tensor(unlabeled, track_meta=False)
        n = images.shape[0]
        weak = images if unlabeled is None else torch.cat([images, unlabeled.to(images.device, images.dtype)])
        strong = weak
        if not self.unlabeled_loss:
            unlabeled = None  # the unlabeled patches pass through the batch norms, and nothing learns from them
        if unlabeled is not None and self.strong_view is not None:
            with record_function("strong view"):
                strong = torch.cat([images, self.strong_view(weak[n:])])
        pasted = None
        if unlabeled is not None and self.copy_paste is not None:
            with record_function("copy-paste"):
                mixed, pasted = self.copy_paste(images, labels, strong[n:])
            strong = torch.cat([images, mixed])

        if self._scaler is None:
            self._scaler = torch.amp.GradScaler(weak.device.type, enabled=self.autocast_dtype == torch.float16)

        teacher_out = None
        if self.teacher is not None and engine.loss_function.needs_teacher(unlabeled is not None):
            self.teacher.eval()
            with record_function("teacher forward"), torch.no_grad(), autocast(self.autocast_dtype, weak.device):
                teacher_out = _float(
                    self.teacher.module(weak if unlabeled is not None else images, return_subnets=True)
                )

        engine.network.train()
        engine.optimizer.zero_grad(set_to_none=True)
        with record_function("students forward"), autocast(self.autocast_dtype, weak.device):
            out_vnet, out_resnet = engine.network(strong, return_subnets=True)
        if unlabeled is None:
            out_vnet, out_resnet = _labeled_part(out_vnet, n), _labeled_part(out_resnet, n)
        out_vnet, out_resnet = _float((out_vnet, out_resnet))
        with record_function("loss"):
            terms = engine.loss_function(out_vnet, out_resnet, labels, n, ramp=ramp, teacher=teacher_out, pasted=pasted)
        with record_function("backward"):
            self._scaler.scale(terms["loss"]).backward()
        with record_function("optimizer step"):
            self._scaler.step(engine.optimizer)
            self._scaler.update()
        if self.teacher is not None:
            with record_function("EMA update"):
                self.teacher.update_parameters(student)

        with torch.no_grad():
            pred = averaged_softmax(out_vnet, out_resnet)[:n]
        output = {Keys.IMAGE: images, Keys.LABEL: labels, Keys.PRED: pred}
        output.update({name: value.detach() for name, value in terms.items()})
        output["learning_rate"] = torch.tensor(engine.optimizer.param_groups[0]["lr"])
        return output
