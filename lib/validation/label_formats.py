"""Labels in the file formats the viewers send, turned into the NIfTI that the label checks and datastores work on.

3D Slicer's MONAI Label module can submit a segmentation as NRRD (``.seg.nrrd``, whose header names each segment
and its value); stock MONAI Label stores any file ITK reads. Here an NRRD label is read with pynrrd (a MONAI Label
dependency), its segments are mapped to the app's label values by name where the header names them (by value
otherwise), and it is written as NIfTI on the same grid: the checks of grid, values and emptiness then apply as to
any other label. MONAI Label has no such conversion (its ``binary_to_image`` covers only OHIF's raw ``.bin``).
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Collection, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import nibabel as nib
import nrrd
import numpy as np

from ..infers.uncertainty_region import UNCERTAIN_LABEL
from .errors import InvalidInputError
from .volumes import remove_upload

__all__ = ["NIFTI_EXTENSIONS", "NRRD_EXTENSIONS", "label_extension", "nrrd_label_as_nifti", "viewer_label_as_nifti"]

NIFTI_EXTENSIONS = (".nii.gz", ".nii")
NRRD_EXTENSIONS = (".seg.nrrd", ".nrrd")
# NRRD "space" values whose first two axes point the other way from NIfTI's RAS.
LPS_SPACES = ("left-posterior-superior", "LPS")
RAS_SPACES = ("right-anterior-superior", "RAS")
SEGMENT_NAME = re.compile(r"^Segment(\d+)_Name$")


def label_extension(filename: str, accepted: Collection[str]) -> str:
    """The extension of an uploaded label among ``accepted`` (longest first: ``.seg.nrrd`` before ``.nrrd``), or a
    422 that lists them."""
    name = os.path.basename(filename).lower()
    for extension in sorted(accepted, key=len, reverse=True):
        if name.endswith(extension):
            return extension
    suffix = "".join(Path(filename).suffixes[-2:])
    raise InvalidInputError(422, f"label file must be one of {tuple(accepted)}, got {suffix!r}")


def _affine(header: Mapping[str, Any]) -> np.ndarray:
    space = header.get("space")
    if space not in LPS_SPACES + RAS_SPACES or "space directions" not in header:
        raise InvalidInputError(
            422, f"NRRD label must give 'space' (RAS or LPS) and 'space directions', got space {space!r}"
        )
    directions = np.asarray(header["space directions"], dtype=float)
    origin = np.asarray(header.get("space origin", np.zeros(3)), dtype=float)
    affine = np.eye(4)
    affine[:3, :3] = directions.T  # NRRD: one row per axis; NIfTI: one column per axis
    affine[:3, 3] = origin
    if space in LPS_SPACES:
        affine[:2] *= -1
    return affine


def _value_map(header: Mapping[str, Any], labels: Mapping[str, int], ignored: Collection[str]) -> dict[int, int]:
    """File value -> app value from the segments the header names; a segment the app ignores maps to 0."""
    mapping = {}
    for key, name in header.items():
        match = SEGMENT_NAME.match(key)
        if not match:
            continue
        value = int(header.get(f"Segment{match.group(1)}_LabelValue", int(match.group(1)) + 1))
        if name in labels:
            mapping[value] = labels[name]
        elif name in ignored:
            mapping[value] = 0
        else:
            raise InvalidInputError(
                422, f"label segment {name!r} is not one of this server's labels {sorted(labels)}: rename or remove it"
            )
    return mapping


def nrrd_label_as_nifti(path: str, labels: Mapping[str, int], ignored: Collection[str] = ()) -> str:
    """A temporary ``.nii.gz`` holding the NRRD label at ``path`` on its own grid, with the app's label values; the
    caller removes it. ``ignored`` names segments that are no label (the app's own ``uncertain`` overlay)."""
    try:
        data, header = nrrd.read(path)  # index order F: data[i, j, k] as in NIfTI
    except Exception as e:  # pynrrd raises several types for files that are not NRRD at all
        raise InvalidInputError(422, f"label is not a readable NRRD file ({type(e).__name__}: {e})") from None
    if data.ndim != 3:
        raise InvalidInputError(
            422,
            f"label must be a 3D labelmap, got shape {data.shape}: overlapping segments (several layers) cannot be "
            "one label; export the segmentation as a labelmap",
        )
    affine = _affine(header)
    mapping = _value_map(header, labels, ignored)
    if mapping:
        unnamed = sorted(int(v) for v in np.unique(data) if v and int(v) not in mapping)
        if unnamed:
            raise InvalidInputError(422, f"label has values {unnamed[:10]} that none of its named segments holds")
    mapped = data.astype(np.int32)
    for value, app_value in mapping.items():
        mapped[data == value] = app_value
    handle, out = tempfile.mkstemp(suffix=".nii.gz", prefix="label-from-nrrd-")
    os.close(handle)
    nib.save(nib.Nifti1Image(mapped, affine), out)
    return out


@contextmanager
def viewer_label_as_nifti(upload: str, labels: Mapping[str, int], accepted: Collection[str]) -> Iterator[str]:
    """The uploaded label as a file the label checks read: the upload itself, or its NIfTI conversion (removed
    afterwards). A refused upload (any :class:`InvalidInputError` inside the block) is removed too: MONAI Label's own
    clean-up does not run for a request that fails."""
    converted = ""
    try:
        if label_extension(upload, accepted) in NRRD_EXTENSIONS:
            converted = nrrd_label_as_nifti(upload, labels, ignored=UNCERTAIN_LABEL)
        yield converted or upload
    except InvalidInputError:
        remove_upload(upload)
        raise
    finally:
        if converted:
            os.unlink(converted)
