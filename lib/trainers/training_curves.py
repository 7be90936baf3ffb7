"""Training curves of every loss term, the reliable fraction, the pseudo-labels' class composition and precision,
the ramp and the learning rate, per iteration, as TensorBoard event files in the model folder (where MONAI Label's
own handler writes ``train_loss``): what a user opens to see why a run went wrong."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from monai.handlers import TensorBoardStatsHandler
from monai.utils import CommonKeys as Keys

__all__ = ["LoggedTerms", "training_curves_handler"]

_NOT_CURVES = {Keys.IMAGE, Keys.LABEL, Keys.PRED}


class LoggedTerms:
    """From the engine's output (decollated by MONAI: one dict per labeled patch with the scalars repeated), the
    scalars of the first item. A class, not a lambda: the trainer must pickle for MONAI Label's multi-GPU spawn."""

    def __call__(self, output: Sequence[Mapping[str, Any]] | Mapping[str, Any]) -> dict[str, float]:
        first = output[0] if isinstance(output, Sequence) else output
        return {
            f"train/{name}": float(value)
            for name, value in first.items()
            if name not in _NOT_CURVES and getattr(value, "ndim", 0) == 0
        }


def training_curves_handler(events_dir: str) -> TensorBoardStatsHandler:
    return TensorBoardStatsHandler(log_dir=events_dir, epoch_log=False, output_transform=LoggedTerms())
