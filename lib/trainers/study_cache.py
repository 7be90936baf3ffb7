"""How many pre-processed studies a training run keeps in memory, and the MONAI dataset that keeps them.

Loading and resampling a study costs more than the networks' step on a CPU (a 96 x 112 x 96 brain MR: ~0.15 s, four
per iteration), so training caches the deterministic pre-processing (``lib.transforms.preprocessing``) of every
study it can. A pool can hold far more than memory does (1,000 abdominal CTs at 1.5 x 1.5 x 2 mm are ~64 GB of
float32), so the cache is bounded by a share of the machine's memory (the ``cache_fraction`` setting): the studies
that fit are cached whole (MONAI ``CacheDataset``); for a part of the pool that does not fit, MONAI's
``SmartCacheDataset`` keeps as many as fit and replaces a share of them with other studies after every epoch, so the
run still sees the whole pool over time without reloading a study per iteration.

Sizes are read from the studies' headers (NIfTI, NRRD; other formats are loaded once), resampled to the app's
``spacing``: 4 bytes a voxel for the image (float32), 1 for a training label (uint8) and 4 for a validation label
(float32, as MONAI's metrics take it), as they sit in the cache.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import nibabel as nib
import nrrd
import numpy as np
from monai.data import CacheDataset, SmartCacheDataset
from monai.transforms import LoadImage

__all__ = ["CachePlan", "cached_dataset", "machine_memory_bytes", "plan_cache", "preprocessed_bytes"]

logger = logging.getLogger(__name__)

IMAGE_BYTES_PER_VOXEL = 4
TRAIN_LABEL_BYTES_PER_VOXEL = 1
VALIDATION_LABEL_BYTES_PER_VOXEL = 4
# Share of a SmartCacheDataset's studies replaced after every epoch (MONAI Label's own default for it).
REPLACE_RATE = 0.25


def machine_memory_bytes() -> int:
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def _grid(path: str) -> tuple[Sequence[int], Sequence[float]]:
    """Voxel counts and spacing (mm) of the first three axes of a study, from its header where the format has one."""
    name = path.lower()
    if name.endswith((".nii", ".nii.gz", ".mgz")):
        header = nib.load(path).header
        return header.get_data_shape()[:3], header.get_zooms()[:3]
    if name.endswith((".nrrd", ".nhdr")):
        header = nrrd.read_header(path)
        directions = np.asarray(header.get("space directions"), dtype=float)[-3:]
        return header["sizes"][-3:], np.linalg.norm(directions, axis=1)
    image = LoadImage(image_only=True)(path)  # a DICOM series folder, or another format ITK reads
    return image.shape[-3:], [float(s) for s in image.pixdim[:3]]


def preprocessed_bytes(path: str, spacing: Sequence[float], label_bytes: int = 0) -> int:
    """Bytes a study takes in the cache once resampled to ``spacing``: its image, and ``label_bytes`` a voxel for
    its label."""
    shape, zooms = _grid(path)
    voxels = math.prod(max(1, round(n * z / s)) for n, z, s in zip(shape, zooms, spacing))
    return voxels * (IMAGE_BYTES_PER_VOXEL + label_bytes)


@dataclass(frozen=True)
class CachePlan:
    """How many studies of each list are cached: the first ``train`` training pairs, ``unlabeled`` unlabeled studies
    (rotating when fewer than all), the first ``validation`` validation pairs; ``bytes`` the memory that takes."""

    train: int
    unlabeled: int
    validation: int
    bytes: int

    def describe(self, train: int, unlabeled: int, validation: int, budget: int) -> str:
        return (
            f"caching {self.train} of {train} labeled, {self.unlabeled} of {unlabeled} unlabeled and {self.validation} "
            f"of {validation} validation studies: {self.bytes / 2**30:.2f} GiB of a {budget / 2**30:.2f} GiB budget"
        )


def plan_cache(
    train: Sequence[dict[str, Any]],
    unlabeled: Sequence[dict[str, Any]],
    validation: Sequence[dict[str, Any]],
    spacing: Sequence[float],
    budget: int,
) -> CachePlan:
    """Fill ``budget`` bytes in the order studies are used: training pairs (every iteration), unlabeled studies
    (every iteration after the warm-up), validation pairs (every few epochs)."""
    counts, used = [], 0
    lists = ((train, TRAIN_LABEL_BYTES_PER_VOXEL), (unlabeled, 0), (validation, VALIDATION_LABEL_BYTES_PER_VOXEL))
    for items, label_bytes in lists:
        fitted = 0
        for item in items:
            size = preprocessed_bytes(item["image"], spacing, label_bytes)
            if used + size > budget:
                break
            used += size
            fitted += 1
        counts.append(fitted)
    return CachePlan(*counts, used)


def cached_dataset(
    datalist: Sequence[dict[str, Any]], transforms: Any, cache_num: int, rotate: bool
) -> CacheDataset | SmartCacheDataset:
    """A ``CacheDataset`` of the first ``cache_num`` studies (the others loaded at each use), or with ``rotate`` and
    fewer than all cached, a ``SmartCacheDataset`` of ``cache_num`` studies that replaces a share after each epoch
    (its ``start``, ``update_cache`` and ``shutdown`` are the caller's: MONAI's ``SmartCacheHandler``).

    Items are not copied out of the cache (``copy_cache=False``): the random transforms after the cached ones crop
    (a view) and compute new tensors, never writing into what they were given, which a unit test checks."""
    if rotate and 0 < cache_num < len(datalist):
        return SmartCacheDataset(
            list(datalist), transforms, cache_num=cache_num, replace_rate=REPLACE_RATE, shuffle=True, copy_cache=False,
            progress=False,
        )  # fmt: skip
    return CacheDataset(list(datalist), transforms, cache_num=cache_num, copy_cache=False, progress=False)
