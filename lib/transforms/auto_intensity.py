"""Intensity normalisation chosen per study, so that an MR study is not clipped to a CT window (which turns it into
noise without a word). MONAI has the two normalisations but no switch between them by modality."""

from __future__ import annotations

import logging
from collections.abc import Hashable, Mapping
from pathlib import Path
from typing import Any

import pydicom
import torch
from monai.transforms import MapTransform, Transform

__all__ = ["AutoIntensityd", "dicom_modality"]

logger = logging.getLogger(__name__)

# Air in CT is about -1000 HU and no MR or PET study holds values this low.
CT_BELOW_HU = -500.0


def dicom_modality(meta: Mapping[str, Any]) -> str | None:
    """The DICOM Modality (0008,0060) of a loaded study: from its metadata as ITK (``0008|0060``) or pydicom
    (``00080060``) name it, else from the first file of the DICOM series folder it was loaded from (MONAI's ITK
    reader keeps no DICOM tags), else None (NIfTI, NRRD)."""
    for key in ("0008|0060", "00080060", "Modality"):
        value = meta.get(key)
        if isinstance(value, dict):  # pydicom's JSON form: {"vr": "CS", "Value": ["CT"]}
            value = (value.get("Value") or [None])[0]
        if isinstance(value, str) and value.strip():
            return value.strip().upper()
    folder = Path(str(meta.get("filename_or_obj", "")))
    if folder.is_dir():
        for path in sorted(folder.iterdir()):
            try:
                modality = pydicom.dcmread(path, stop_before_pixels=True, specific_tags=["Modality"]).get("Modality")
            except (pydicom.errors.InvalidDicomError, OSError):
                continue
            return str(modality).strip().upper() if modality else None
    return None


class AutoIntensityd(MapTransform):
    """``ct`` (a window) for a study whose DICOM modality is CT or that holds values below -500 HU, ``mri`` (z-score)
    for any other; the choice is logged once per study and process (a training run without a cache loads every
    study again and again, and the log then held little else)."""

    # Studies whose choice this process has logged; shared by every instance (training builds several pipelines).
    _logged: set[str] = set()

    def __init__(self, keys: str, ct: Transform, mri: Transform) -> None:
        super().__init__(keys)
        self.ct, self.mri = ct, mri

    def __call__(self, data: Mapping[Hashable, Any]) -> dict[Hashable, Any]:
        d = dict(data)
        for key in self.key_iterator(d):
            image = d[key]
            meta = getattr(image, "meta", {})
            modality = dicom_modality(meta)
            if modality is not None:
                is_ct, why = modality == "CT", f"DICOM modality {modality}"
            else:
                low = float(torch.as_tensor(image).min())
                is_ct, why = low < CT_BELOW_HU, f"minimum value {low:.0f}"
            study = str(meta.get("filename_or_obj", key))
            level = logging.DEBUG if study in self._logged else logging.INFO
            self._logged.add(study)
            logger.log(level, "intensity of %s: %s (%s)", study, "ct window" if is_ct else "z-score", why)
            d = (self.ct if is_ct else self.mri)(d)
        return d
