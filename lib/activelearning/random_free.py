"""``random`` strategy for a team: unlabeled studies drawn at random among those no other annotator holds."""

from __future__ import annotations

import random
from typing import Any

from monailabel.interfaces.datastore import Datastore

from ..validation.options import ActiveLearningOptions
from .leases import LeaseBook
from .leasing_strategy import LeasingStrategy

__all__ = ["RandomFree"]


class RandomFree(LeasingStrategy):
    """The active-learning baseline, leased like ``uncertainty`` (MONAI Label's ``Random`` may hand every annotator
    the same study). With the request option ``seed``, the draw is repeatable: the same free studies and seed give
    the same studies (a benchmark's random loop can be run again); without it, as every user gets it, unseeded."""

    def __init__(self, book: LeaseBook) -> None:
        super().__init__("Unlabeled studies at random", book)

    def pick(
        self, candidates: list[str], k: int, datastore: Datastore, options: ActiveLearningOptions
    ) -> list[dict[str, Any]]:
        draw = random.Random(options.seed) if options.seed is not None else random
        return [{"id": i} for i in draw.sample(sorted(candidates), min(k, len(candidates)))]
