"""How often this process has loaded each study: what tells a cached training run (each study once) from one that
loads and resamples its studies again at every iteration. MONAI's datasets keep no such count."""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Mapping
from typing import Any

from monai.transforms import MapTransform

__all__ = ["CountLoadsd", "study_loads"]

# Study path -> loads in this process (DataLoader workers, where num_workers > 0, count in their own processes).
_LOADS: Counter[str] = Counter()


class CountLoadsd(MapTransform):
    """Counts a load of ``keys``' study (its ``filename_or_obj``); place it right after ``LoadImaged``."""

    def __call__(self, data: Mapping[Hashable, Any]) -> Mapping[Hashable, Any]:
        for key in self.key_iterator(data):
            _LOADS[str(getattr(data[key], "meta", {}).get("filename_or_obj", key))] += 1
        return data


def study_loads() -> Counter[str]:
    """A snapshot of the loads so far; subtract an earlier snapshot for the loads in between."""
    return Counter(_LOADS)
