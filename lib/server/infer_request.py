"""Checks of a ``POST /infer/{model}`` request, made before any inference runs.

MONAI Label 0.8.5 answers an unknown model or image id with a bare 500, and runs inference on any *path* a client
names as ``image`` (``/etc/passwd``, or a file outside the datastore): here only the datastore's images are inferred,
and only the options the app knows are accepted, each of its type.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from monailabel.interfaces.datastore import Datastore

from ..validation.errors import InvalidInputError, check_id
from ..validation.options import InferOptions, check_options
from ..validation.volumes import check_size, volume_header

__all__ = ["validate_infer_request"]

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
    check_options(InferOptions, {k: v for k, v in request.items() if k not in SET_BY_SERVER}, "infer")
    # Studies copied into the datastore folder by hand were never checked on upload.
    check_size(
        volume_header(datastore.get_image_uri(image_id), f"image {image_id!r}"), f"image {image_id!r}", max_voxels
    )
