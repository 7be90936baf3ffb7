"""The options a ``POST /train/{model}`` request may carry, each with its type and range.

MONAI Label checks none of them: ``max_epochs: "ten"`` is accepted with 200 and fails later, in the training
subprocess, as ERROR in ``GET /train/``; ``name`` becomes a folder under ``model/``, so ``../x`` would write elsewhere.
The server checks them before it starts a run (see ``lib/request_guards.py``), the train task again when called.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ..validation import InvalidInputError, check_id

__all__ = ["TRAIN_OPTIONS", "validate_train_options"]


def _integer(minimum: int) -> Callable[[Any], bool]:
    return lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= minimum


def _number(low: float, high: float, high_open: bool = False) -> Callable[[Any], bool]:
    def check(v: Any) -> bool:
        return (
            isinstance(v, int | float)
            and not isinstance(v, bool)
            and low <= v
            and (v < high if high_open else v <= high)
        )

    return check


def _string(v: Any) -> bool:
    return isinstance(v, str)


def _flag(v: Any) -> bool:
    return isinstance(v, bool)


def _strings(v: Any) -> bool:
    """MONAI Label's defaults for choices such as ``device`` or ``dataset`` are lists (the first is used)."""
    return isinstance(v, str) or (isinstance(v, list) and all(isinstance(s, str) for s in v))


# Option -> (check, what a valid value is). The trainer's own options, then MONAI Label's BasicTrainTask options.
TRAIN_OPTIONS: dict[str, tuple[Callable[[Any], bool], str]] = {
    "max_epochs": (_integer(1), "an integer >= 1"),
    "learning_rate": (_number(1e-12, 10.0), "a number in (0, 10]"),
    "val_split": (_number(0.0, 1.0, high_open=True), "a number in [0, 1)"),
    "train_batch_size": (_integer(1), "an integer >= 1"),
    "val_batch_size": (_integer(1), "an integer >= 1"),
    "early_stop_patience": (_integer(-1), "an integer >= -1 (<= 0: off)"),
    "pretrained": (_flag, "true or false"),
    "multi_gpu": (_flag, "true or false"),
    "device": (_strings, "a device name such as 'cpu' or 'cuda'"),
    "gpus": (_string, "'all' or GPU indices such as '0,1'"),
    "dataset": (_strings, "a MONAI dataset name such as 'CacheDataset'"),
    "dataloader": (_strings, "'ThreadDataLoader' or 'DataLoader'"),
    "tracking": (_strings, "'None' or 'mlflow'"),
    "tracking_uri": (_string, "a string"),
    "tracking_experiment_name": (_string, "a string"),
    "tracking_run_name": (_string, "a string"),
    "name": (_string, "a plain folder name"),
    "model": (_string, "the model name"),
    "client_id": (lambda v: v is None or isinstance(v, str), "a string"),  # MONAILabelClient sends null
}


def validate_train_options(options: Mapping[str, Any] | None, allow_unknown: bool = False) -> None:
    """Raise :class:`InvalidInputError` (422) for an unknown option or a value of the wrong type or range.

    ``allow_unknown`` for the train task itself: MONAI Label adds keys of its own (``local_rank``) on the way.
    """
    if options is None:
        return
    if not isinstance(options, Mapping):
        raise InvalidInputError(422, f"train options must be a JSON object, got {type(options).__name__}")
    unknown = sorted(set(options) - set(TRAIN_OPTIONS))
    if unknown and not allow_unknown:
        raise InvalidInputError(422, f"unknown train options {unknown}; known: {sorted(TRAIN_OPTIONS)}")
    for name, value in options.items():
        if name not in TRAIN_OPTIONS:
            continue
        check, expected = TRAIN_OPTIONS[name]
        if not check(value):
            raise InvalidInputError(422, f"train option {name!r} must be {expected}, got {value!r}")
    if "name" in options:
        check_id(options["name"], "train option 'name'")
