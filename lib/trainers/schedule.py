"""Where a training run is: supervised warm-up, ramp-up of the unlabeled terms, learning-rate decay; all relative to
the run's length, so that a 200- and a 6,000-iteration run go through the same phases (UA-MT and MCF ramp over the
whole run; BCP warms up supervised first)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..losses import sigmoid_rampup

__all__ = ["LearningRateDecay", "SemiSupervisedSchedule"]


@dataclass(frozen=True)
class SemiSupervisedSchedule:
    """The unlabeled terms' weight factor r(t): 0 for the first ``warmup_fraction`` of ``total_iterations``, then
    the sigmoid ramp-up exp(-5 (1 - s)^2) over the next ``rampup_fraction``, then 1."""

    total_iterations: int
    warmup_fraction: float = 0.0
    rampup_fraction: float = 0.4

    def __post_init__(self) -> None:
        if self.total_iterations < 1:
            raise ValueError(f"total_iterations must be at least 1, got {self.total_iterations}")
        if not 0.0 <= self.warmup_fraction < 1.0:
            raise ValueError(f"warmup_fraction must be in [0, 1), got {self.warmup_fraction}")
        if not 0.0 < self.rampup_fraction <= 1.0:
            raise ValueError(f"rampup_fraction must be in (0, 1], got {self.rampup_fraction}")

    @property
    def warmup_iterations(self) -> int:
        return int(round(self.warmup_fraction * self.total_iterations))

    def ramp(self, iteration: int) -> float:
        """r at ``iteration`` (0-based: the number of iterations done before this one)."""
        done = iteration - self.warmup_iterations
        if done < 0:
            return 0.0
        return sigmoid_rampup(done, self.rampup_fraction * self.total_iterations)


class LearningRateDecay:
    """Multiplier of the base learning rate at an iteration, for ``torch.optim.lr_scheduler.LambdaLR``: ``cosine``
    (half a cosine to 0), ``poly`` ((1 - t)^0.9, nnU-Net's) or ``constant``. A class, not a lambda: MONAI Label's
    multi-GPU spawn pickles the trainer."""

    def __init__(self, kind: str, total_iterations: int) -> None:
        if kind not in ("cosine", "poly", "constant"):
            raise ValueError(f"kind must be cosine, poly or constant, got {kind!r}")
        self.kind = kind
        self.total_iterations = max(1, total_iterations)

    def __call__(self, iteration: int) -> float:
        t = min(max(iteration / self.total_iterations, 0.0), 1.0)
        if self.kind == "cosine":
            return 0.5 * (1.0 + math.cos(math.pi * t))
        if self.kind == "poly":
            return (1.0 - t) ** 0.9
        return 1.0
