"""``uncertainty_region``: where the model is unsure, as a mask an annotator can look at and correct first."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from monai.transforms import AsDiscreted, SqueezeDimd

from ..transforms import LabelVoxelCountsd, MeanUncertaintyd
from .dual_subnet_infer import DualSubnetInfer

__all__ = ["REGION_MODEL", "UNCERTAIN_LABEL", "UncertaintyRegionInfer"]

REGION_MODEL = "uncertainty_region"  # its name in /info/ (OHIF's mode shows it as an overlay)
UNCERTAIN_LABEL = {"uncertain": 1}


class UncertaintyRegionInfer(DualSubnetInfer):
    """Mask (label ``uncertain`` = 1) of the voxels whose normalised entropy exceeds ``uncertainty_threshold``;
    the request may override the threshold (Slicer shows it as an option)."""

    def __init__(self, *args: Any, threshold: float, **kwargs: Any) -> None:
        super().__init__(*args, labels=UNCERTAIN_LABEL, task_config={"uncertainty_threshold": threshold}, **kwargs)

    def post_transforms(self, data: dict[str, Any] | None = None) -> list[Callable]:
        threshold = float((data or {}).get("uncertainty_threshold", self._config["uncertainty_threshold"]))
        if not 0.0 < threshold <= 1.0:
            raise ValueError(f"uncertainty_threshold must be in (0, 1], got {threshold}")
        return [
            MeanUncertaintyd(keys="pred", entropy_key="pred"),
            AsDiscreted(keys="pred", threshold=threshold),
            LabelVoxelCountsd(keys="pred", labels=self.labels),
            SqueezeDimd(keys="pred", dim=0),
        ]
