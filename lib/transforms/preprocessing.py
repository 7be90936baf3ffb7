"""The deterministic pre-processing that training, validation, inference and scoring share."""

from __future__ import annotations

from collections.abc import Sequence

from monai.transforms import (
    EnsureChannelFirstd,
    EnsureTyped,
    LoadImaged,
    NormalizeIntensityd,
    Orientationd,
    ScaleIntensityRanged,
    Spacingd,
)

from ..config import AppConfig
from .auto_intensity import AutoIntensityd
from .load_count import CountLoadsd

__all__ = ["preprocessing"]


def preprocessing(config: AppConfig, label: bool, spacing: Sequence[float] | None = None) -> list:
    """Load (NIfTI, NRRD or a folder holding a DICOM series), orient to RAS, resample to ``spacing`` (default
    ``config.spacing``; scoring may use a coarser grid) and normalise intensities. With ``label``, the ``label`` key is
    loaded and resampled alongside (nearest neighbour).

    Orientation and spacing are invertible, so inference maps its prediction back onto the study's own grid.
    """
    keys: Sequence[str] = ("image", "label") if label else ("image",)
    modes = ("bilinear", "nearest") if label else ("bilinear",)
    ct = ScaleIntensityRanged(
        keys="image", a_min=config.ct_window_min, a_max=config.ct_window_max, b_min=0.0, b_max=1.0, clip=True
    )
    mri = NormalizeIntensityd(keys="image", nonzero=True, channel_wise=True)
    intensity = {"ct": ct, "mri": mri}.get(config.intensity) or AutoIntensityd("image", ct, mri)
    return [
        LoadImaged(keys=keys, image_only=False),
        CountLoadsd(keys="image"),
        EnsureChannelFirstd(keys=keys),
        Orientationd(keys=keys, axcodes="RAS"),
        Spacingd(keys=keys, pixdim=spacing or config.spacing, mode=modes),
        intensity,
        EnsureTyped(keys="image", dtype="float32"),
    ]
