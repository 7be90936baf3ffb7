"""The options each request may carry, declared once as pydantic models, and the one path that checks them.

MONAI Label 0.8.5 checks none of them: ``max_epochs: "ten"`` is accepted with 200 and fails later, in the training
subprocess, as ERROR in ``GET /train/``; an unknown infer option is silently ignored; ``name`` becomes a folder under
``model/``, so ``../x`` would write elsewhere. Every field's ``description`` says what a valid value is: it is the
message a client gets for a wrong one. Fields default to ``None``, "not sent" (pydantic does not validate a default):
the tasks keep their own defaults, and an explicit ``null`` is refused where the type has no ``None``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .errors import InvalidInputError, check_id

__all__ = [
    "ActiveLearningOptions",
    "InferOptions",
    "ScoringOptions",
    "TrainOptions",
    "check_options",
    "check_train_options",
]

STRICT = ConfigDict(strict=True, extra="forbid", frozen=True)
Flag = Annotated[bool, Field(description="true or false")]
# MONAI Label's defaults for choices such as ``device`` or ``dataset`` are lists (the first is used).
Choice = str | list[str]
ClientId = Annotated[str | None, Field(description="a string")]  # MONAILabelClient sends null


class SegmentInfo(BaseModel):
    """One segment of a DICOM SEG result (``output=dicom_seg``), as MONAI Label's ``nifti_to_dicom_seg`` reads it;
    other keys a viewer adds (such as ``idx``) are left to it."""

    model_config = ConfigDict(strict=True, extra="allow", frozen=True)

    name: str = None
    description: str = None
    color: Annotated[list[Annotated[int, Field(ge=0, le=255)]], Field(min_length=3, max_length=3)] = None
    model_name: str = None
    segmentAttribute: dict = None  # noqa: N815 (MONAI Label's key)


class InferOptions(BaseModel):
    """The app's own option, then those of MONAI Label's infer task and writer that a viewer may send. ``model`` and
    ``image`` are set by the REST layer and checked separately. Not accepted: ``session`` and uploaded files (their
    ``image`` is a path, which a client could also name), ``save_label`` (a prediction is no annotator's label),
    ``label`` (these models take none)."""

    model_config = STRICT

    uncertainty_threshold: Annotated[float, Field(gt=0.0, le=1.0, description="a number in (0, 1]")] = None
    device: Annotated[str, Field(description="a device name such as 'cpu' or 'cuda'")] = None
    # OHIF's MONAI Label panel asks for ``.nrrd`` (written by ITK); NIfTI is written by nibabel.
    result_extension: Annotated[
        Literal[".nii.gz", ".nii", ".nrrd"], Field(description="'.nii.gz', '.nii' or '.nrrd'")
    ] = None
    result_dtype: Annotated[
        Literal["uint8", "uint16", "int16", "int32"], Field(description="an integer dtype name such as 'uint8'")
    ] = None
    result_compress: Flag = None
    # OHIF sends false: label values as the model's config numbers them (ours are 1..N either way).
    restore_label_idx: Flag = None
    client_id: ClientId = None
    logging: Annotated[
        Literal["debug", "info", "warning", "error"], Field(description="a log level name such as 'info'")
    ] = None
    # MONAI Label's own option for naming the segments of a DICOM SEG result (POST /infer?output=dicom_seg).
    label_info: Annotated[
        list[SegmentInfo],
        Field(description="a list of segments such as [{'name': 'organ'}] (name, description, color [r, g, b])"),
    ] = None


class TrainOptions(BaseModel):
    """The trainer's own options, then MONAI Label's ``BasicTrainTask`` options."""

    model_config = STRICT

    max_epochs: Annotated[int, Field(ge=1, description="an integer >= 1")] = None
    learning_rate: Annotated[float, Field(gt=0.0, le=10.0, description="a number in (0, 10]")] = None
    val_split: Annotated[float, Field(ge=0.0, lt=1.0, description="a number in [0, 1)")] = None
    train_batch_size: Annotated[int, Field(ge=1, description="an integer >= 1")] = None
    val_batch_size: Annotated[int, Field(ge=1, description="an integer >= 1")] = None
    early_stop_patience: Annotated[int, Field(ge=-1, description="an integer >= -1 (<= 0: off)")] = None
    pretrained: Flag = None
    # The app's own: new weights instead of fine-tuning the published model (whose model card may not match).
    from_scratch: Flag = None
    # The app's own: a run that repeats (same studies, settings and seed: the same model on the same machine).
    seed: Annotated[int, Field(ge=0, description="an integer >= 0")] = None
    multi_gpu: Flag = None
    device: Annotated[Choice, Field(description="a device name such as 'cpu' or 'cuda'")] = None
    gpus: Annotated[str, Field(description="'all' or GPU indices such as '0,1'")] = None
    dataset: Annotated[Choice, Field(description="a MONAI dataset name such as 'CacheDataset'")] = None
    dataloader: Annotated[Choice, Field(description="'ThreadDataLoader' or 'DataLoader'")] = None
    tracking: Annotated[Choice, Field(description="'None' or 'mlflow'")] = None
    tracking_uri: Annotated[str, Field(description="a string")] = None
    tracking_experiment_name: Annotated[str, Field(description="a string")] = None
    tracking_run_name: Annotated[str, Field(description="a string")] = None
    name: Annotated[str, Field(description="a plain folder name")] = None
    model: Annotated[str, Field(description="the model name")] = None
    client_id: ClientId = None


class ScoringOptions(BaseModel):
    """What ``POST /scoring/{method}`` may carry."""

    model_config = STRICT

    score_all: Flag = None
    device: Annotated[str, Field(description="a device name such as 'cpu' or 'cuda'")] = None


class ActiveLearningOptions(BaseModel):
    """What ``POST /activelearning/{strategy}`` may carry for the app's leasing strategies (``lib.activelearning``).
    MONAI Label's client sends ``client_id`` with every request; OHIF's panel sends nothing."""

    model_config = STRICT

    client_id: Annotated[
        str | None, Field(min_length=1, max_length=255, description="a string of 1 to 255 characters")
    ] = None
    k: Annotated[int, Field(ge=1, description="an integer >= 1 (how many studies to hand out)")] = None
    skip: Annotated[bool, Field(description="true or false (true: release the studies you hold, get others)")] = None
    # Benchmarks repeat a ``random`` loop with it; without it (the server's default) the draw is unseeded.
    seed: Annotated[
        int, Field(ge=0, description="an integer >= 0 (random: the same free studies and seed give the same draw)")
    ] = None


def check_options(
    model: type[BaseModel], options: Mapping[str, Any] | None, what: str, allow_unknown: bool = False
) -> BaseModel:
    """``options`` as ``model`` or :class:`InvalidInputError` (422) naming the first unknown or bad option.

    ``allow_unknown`` for a task called with MONAI Label's own additions to the request (``local_rank``).
    """
    options = {} if options is None else options
    if not isinstance(options, Mapping):
        raise InvalidInputError(422, f"{what} options must be a JSON object, got {type(options).__name__}")
    known = sorted(model.model_fields)
    unknown = sorted(set(options) - set(known))
    if unknown and not allow_unknown:
        raise InvalidInputError(422, f"unknown {what} options {unknown}; known: {known}")
    try:
        return model.model_validate({name: value for name, value in options.items() if name in known})
    except ValidationError as error:
        name = str(error.errors()[0]["loc"][0])
        expected = model.model_fields[name].description
        raise InvalidInputError(422, f"{what} option {name!r} must be {expected}, got {options[name]!r}") from None


def check_train_options(options: Mapping[str, Any] | None, allow_unknown: bool = False) -> None:
    """Train options, and a run ``name`` that cannot point outside the model folder."""
    check_options(TrainOptions, options, "train", allow_unknown)
    if options and "name" in options:
        check_id(options["name"], "train option 'name'")
