"""Checks of a ``POST /infer/{model}`` request, made before any inference runs.

MONAI Label 0.8.5 answers an unknown model or image id with a bare 500, and runs inference on any *path* a client
names as ``image`` (``/etc/passwd``, or a file outside the datastore): here only the datastore's images are inferred,
and only the options the app knows are accepted, each of its type.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from monailabel.interfaces.datastore import Datastore

from ..validation import InvalidInputError, check_id, check_size, volume_header

__all__ = ["INFER_OPTIONS", "validate_infer_request"]


def _threshold(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and 0.0 < v <= 1.0


def _string(v: Any) -> bool:
    return isinstance(v, str)


def _flag(v: Any) -> bool:
    return isinstance(v, bool)


# Option -> (check, what a valid value is): the app's own, then those of MONAI Label's infer task and writer that a
# viewer may send. ``model`` and ``image`` are set by the REST layer and checked separately. Not accepted: ``session``
# and uploaded files (their ``image`` is a path, which a client could also name), ``save_label`` (a prediction is no
# annotator's label), ``label`` (these models take none).
INFER_OPTIONS: dict[str, tuple[Callable[[Any], bool], str]] = {
    "uncertainty_threshold": (_threshold, "a number in (0, 1]"),
    "device": (_string, "a device name such as 'cpu' or 'cuda'"),
    # OHIF's MONAI Label panel asks for ``.nrrd`` (written by ITK); NIfTI is written by nibabel.
    "result_extension": (lambda v: v in (".nii.gz", ".nii", ".nrrd"), "'.nii.gz', '.nii' or '.nrrd'"),
    "result_dtype": (lambda v: v in ("uint8", "uint16", "int16", "int32"), "an integer dtype name such as 'uint8'"),
    "result_compress": (_flag, "true or false"),
    # OHIF sends false: label values as the model's config numbers them (ours are 1..N either way).
    "restore_label_idx": (_flag, "true or false"),
    "client_id": (lambda v: v is None or isinstance(v, str), "a string"),  # MONAILabelClient sends null
    "logging": (lambda v: v in ("debug", "info", "warning", "error"), "a log level name such as 'info'"),
}
SET_BY_SERVER = ("model", "image")


def validate_infer_request(
    request: Mapping[str, Any], datastore: Datastore, models: Mapping[str, Any], max_voxels: int
) -> None:
    """Raise :class:`InvalidInputError`: 404 for an unknown model or image id, 400 for an id that is a path, 422 for
    an unknown option or a wrong type, 413 (from the header, no voxel read) for a volume above ``max_voxels``."""
    model = request.get("model")
    if model not in models:
        raise InvalidInputError(404, f"unknown model {model!r}; this server has {sorted(models)}")
    image_id = check_id(request.get("image"), "image id")
    if image_id not in datastore.list_images():
        raise InvalidInputError(
            404, f"image {image_id!r} is not in the datastore; upload it first (PUT /datastore/image)"
        )
    options = {k: v for k, v in request.items() if k not in SET_BY_SERVER}
    unknown = sorted(set(options) - set(INFER_OPTIONS))
    if unknown:
        raise InvalidInputError(422, f"unknown infer options {unknown}; known: {sorted(INFER_OPTIONS)}")
    for name, value in options.items():
        check, expected = INFER_OPTIONS[name]
        if not check(value):
            raise InvalidInputError(422, f"infer option {name!r} must be {expected}, got {value!r}")
    # Studies copied into the datastore folder by hand were never checked on upload.
    check_size(
        volume_header(datastore.get_image_uri(image_id), f"image {image_id!r}"), f"image {image_id!r}", max_voxels
    )
