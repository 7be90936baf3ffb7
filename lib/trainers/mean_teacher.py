"""The self-ensembling teacher (Tarvainen & Valpola, NeurIPS 2017; the seed paper's self-ensembling contrastive
learning): an exponential moving average of the whole subnet pair, built on torch's ``AveragedModel``."""

from __future__ import annotations

import torch
from torch import nn
from torch.optim.swa_utils import AveragedModel

__all__ = ["EMADecay", "mean_teacher", "restart"]


class EMADecay:
    """``AveragedModel``'s ``avg_fn`` for an EMA whose decay starts low: min(decay, 1 - 1 / (n + 1)) after n
    updates, so that the teacher follows the students closely in the first iterations (Tarvainen & Valpola)
    instead of averaging in the random initialisation. A class, not a closure: the trainer must pickle."""

    def __init__(self, decay: float) -> None:
        if not 0.0 < decay < 1.0:
            raise ValueError(f"decay must be in (0, 1), got {decay}")
        self.decay = decay

    def __call__(self, averaged: torch.Tensor, current: torch.Tensor, num_averaged: torch.Tensor) -> torch.Tensor:
        decay = min(self.decay, 1.0 - 1.0 / (float(num_averaged) + 1.0))
        return averaged + (current - averaged) * (1.0 - decay)


def mean_teacher(student: nn.Module, decay: float) -> AveragedModel | None:
    """The teacher of ``student`` (weights and batch-norm statistics averaged), or None for ``decay`` 0. It starts
    as a copy; :func:`restart` makes it a copy again once a checkpoint has been loaded into the student."""
    if decay == 0.0:
        return None
    teacher = AveragedModel(student, avg_fn=EMADecay(decay), use_buffers=True)
    teacher.requires_grad_(False)
    return teacher


@torch.no_grad()
def restart(teacher: AveragedModel, student: nn.Module) -> None:
    """Make the teacher an exact copy of ``student`` and restart the decay warm-up (``AveragedModel`` copies on its
    first update)."""
    teacher.n_averaged.zero_()
    teacher.update_parameters(student)
