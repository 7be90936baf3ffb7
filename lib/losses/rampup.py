"""Sigmoid ramp-up of the unsupervised weights (Laine & Aila, ICLR 2017), as in UA-MT and MCF; MONAI has none."""

from __future__ import annotations

import math

__all__ = ["sigmoid_rampup"]


def sigmoid_rampup(step: int | float, length: int | float) -> float:
    """exp(-5 (1 - t)^2) with t = step / length clipped to [0, 1]; 1.0 once ``length`` steps have passed."""
    if length <= 0:
        return 1.0
    t = min(max(float(step) / float(length), 0.0), 1.0)
    return math.exp(-5.0 * (1.0 - t) ** 2)
