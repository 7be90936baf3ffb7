"""A train request merged over the task's declared options, with every choice resolved to one value.

MONAI Label's ``BasicTrainTask.__call__`` merges the request over its ``config`` dict as it is. Choices are declared
there as lists, for Slicer's drop-down (``"dataset": ["CacheDataset", "Dataset"]``, ``dataloader``, ``tracking``,
``device``): a request that does not name one (MONAI Label's REST client, OHIF's *Update Model*, scripts) keeps the
whole list, and ``context.dataset_type == "CacheDataset"`` is then false, so nothing is cached and every iteration
loads and resamples its studies again. Here a list takes its first value, the default the drop-down shows.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

__all__ = ["merged_request"]


def merged_request(declared: Mapping[str, Any], request: Mapping[str, Any]) -> dict[str, Any]:
    """``request`` over ``declared`` (deep copies: MONAI Label adds keys to what it receives), each list-valued
    choice replaced by its first item; an empty list stays as it is, for MONAI Label to refuse."""
    merged = copy.deepcopy(dict(declared))
    merged.update(copy.deepcopy(dict(request)))
    return {key: value[0] if isinstance(value, list) and value else value for key, value in merged.items()}
