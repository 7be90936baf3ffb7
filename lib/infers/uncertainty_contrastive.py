"""``uncertainty_contrastive``: the segmentation, with the study's mean uncertainty and label volumes in the JSON."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from monai.transforms import SqueezeDimd

from ..transforms import ClassMapd, LabelVoxelCountsd, MeanUncertaintyd, SubnetDisagreementd
from .dual_subnet_infer import WITH_SUBNETS, DualSubnetInfer

__all__ = ["UncertaintyContrastiveInfer"]


class UncertaintyContrastiveInfer(DualSubnetInfer):
    """Averaged softmax of both subnets -> argmax label map on the study's grid.

    Result JSON: ``mean_uncertainty`` (mean normalised voxel entropy of the averaged prediction, in [0, 1]) and
    ``label_voxels`` (voxel count per label); for the scorer (``with_subnets``) also ``subnet_disagreement``,
    ``class_disagreement`` and ``focus_disagreement``.
    """

    def post_transforms(self, data: dict[str, Any] | None = None) -> list[Callable]:
        c = self.app_config
        with_subnets = (
            [SubnetDisagreementd(keys="pred", focus=c.focus_value, focus_min_ml=c.focus_min_ml)]
            if (data or {}).get(WITH_SUBNETS)
            else []
        )
        return with_subnets + [
            MeanUncertaintyd(keys="pred", entropy_key=None),
            ClassMapd(keys="pred"),
            LabelVoxelCountsd(keys="pred", labels=self.labels),
            SqueezeDimd(keys="pred", dim=0),
        ]
