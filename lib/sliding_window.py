"""The sliding-window inferer that validation, inference and scoring share, so that all three see a study the same
way."""

from __future__ import annotations

from typing import TYPE_CHECKING

from monai.inferers import SlidingWindowInferer

if TYPE_CHECKING:  # only a type: the GPU benchmark imports this module without PyYAML
    from .config import AppConfig

__all__ = ["sliding_window_inferer"]


def sliding_window_inferer(config: AppConfig) -> SlidingWindowInferer:
    """Windows of the training patch size (it also pads studies smaller than a patch to what the networks need)."""
    return SlidingWindowInferer(
        roi_size=config.patch_size, sw_batch_size=config.sw_batch_size, overlap=config.sw_overlap, mode="gaussian"
    )
