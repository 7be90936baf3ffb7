"""``random`` strategy for a team: unlabeled studies drawn at random among those no other annotator holds."""

from __future__ import annotations

import random
from typing import Any

from monailabel.interfaces.datastore import Datastore

from .leases import LeaseBook
from .leasing_strategy import LeasingStrategy

__all__ = ["RandomFree"]


class RandomFree(LeasingStrategy):
    """The active-learning baseline, leased like ``uncertainty`` (MONAI Label's ``Random`` may hand every annotator
    the same study)."""

    def __init__(self, book: LeaseBook) -> None:
        super().__init__("Unlabeled studies at random", book)

    def pick(self, candidates: list[str], k: int, datastore: Datastore) -> list[dict[str, Any]]:
        return [{"id": i} for i in random.sample(candidates, min(k, len(candidates)))]
