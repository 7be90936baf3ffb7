"""Checks of the volumes a client uploads, made before anything is stored, so that bad input changes nothing.

Stock MONAI Label 0.8.5 stores any upload (truncated gzip, text, 2D, 4D, misaligned or out-of-range labels) as a
``final`` label, and accepts ids such as ``../x`` that write outside the datastore; the failure then shows up later,
in every training run. Each check here raises :class:`InvalidInputError`, which the REST layer answers with its status
code and message.
"""

from __future__ import annotations

import logging
import os
import tempfile
import zlib
from collections.abc import Iterable

import nibabel as nib
import numpy as np

from .errors import InvalidInputError

__all__ = [
    "check_label",
    "check_label_file",
    "check_size",
    "read_volume",
    "remove_upload",
    "volume_header",
]

logger = logging.getLogger(__name__)

# Voxel-to-world matrices closer than this (mm) describe the same grid: labels written by viewers round the affine.
AFFINE_TOLERANCE = 1e-3


def volume_header(path: str, what: str) -> nib.Nifti1Image:
    """The NIfTI header (shape, affine) without reading the voxels."""
    try:
        image = nib.load(path)
    except Exception as e:  # nibabel raises many types for files that are not images at all
        raise InvalidInputError(422, f"{what} is not a readable NIfTI volume ({type(e).__name__}: {e})") from None
    if not isinstance(image, nib.Nifti1Image):  # Nifti2Image derives from it
        raise InvalidInputError(422, f"{what} must be NIfTI (.nii or .nii.gz), got {type(image).__name__}")
    return image


def read_volume(path: str, what: str, max_voxels: int) -> tuple[nib.Nifti1Image, np.ndarray]:
    """A 3D NIfTI volume of at most ``max_voxels`` voxels, read completely (a truncated gzip fails only there).

    The size is checked from the header, before the voxels are read: inference needs about 50 bytes a voxel.
    """
    image = volume_header(path, what)
    if len(image.shape) != 3:
        raise InvalidInputError(422, f"{what} must be a 3D volume, got shape {tuple(image.shape)}")
    check_size(image, what, max_voxels)
    try:
        data = np.asanyarray(image.dataobj)
    except (OSError, EOFError, ValueError, zlib.error) as e:
        raise InvalidInputError(422, f"{what} is truncated or corrupt ({type(e).__name__}: {e})") from None
    return image, data


def check_size(image: nib.Nifti1Image, what: str, max_voxels: int) -> None:
    voxels = int(np.prod(image.shape))
    if voxels > max_voxels:
        raise InvalidInputError(
            413, f"{what} has {voxels} voxels, more than this server's max_voxels ({max_voxels}); crop or resample it"
        )


def check_label(
    label: nib.Nifti1Image, data: np.ndarray, image: nib.Nifti1Image, label_values: Iterable[int], what: str
) -> None:
    """A label must lie on its image's voxel grid, use only the declared label values, and mark something."""
    if tuple(label.shape) != tuple(image.shape):
        raise InvalidInputError(
            422, f"{what} has shape {tuple(label.shape)}, its image {tuple(image.shape)}: they must be the same"
        )
    if not np.allclose(label.affine, image.affine, atol=AFFINE_TOLERANCE, rtol=0.0):
        raise InvalidInputError(
            422, f"{what} is not on its image's grid: affine\n{label.affine.round(4)}\nvs\n{image.affine.round(4)}"
        )
    allowed = {0, *label_values}
    values = np.unique(data)
    unexpected = [v.item() for v in values if v != np.round(v) or int(np.round(v)) not in allowed]
    if unexpected:
        raise InvalidInputError(
            422, f"{what} has values {unexpected[:10]} outside the declared labels {sorted(allowed)} (0 = background)"
        )
    if not values.any():
        raise InvalidInputError(422, f"{what} is empty (all background): nothing would be learned from it")


def check_label_file(
    label_path: str, image_path: str, image_id: str, label_values: Iterable[int], max_voxels: int
) -> np.ndarray:
    """The voxels of a label file that passed :func:`check_label` against the image at ``image_path``."""
    label, data = read_volume(label_path, "label", max_voxels)
    check_label(label, data, volume_header(image_path, f"image {image_id!r}"), label_values, "label")
    return data


def remove_upload(path: str) -> None:
    """MONAI Label deletes an upload's temporary file in a background task that does not run when the request fails;
    a refused upload is deleted here. Only files in the temporary folder: a Python caller's own file stays."""
    if os.path.dirname(os.path.realpath(path)) == os.path.realpath(tempfile.gettempdir()):
        try:
            os.remove(path)
        except OSError:
            pass
