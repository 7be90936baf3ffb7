"""Strategies for a labeling team: each client gets studies no one else holds, ``k`` at a time, leased to it."""

from __future__ import annotations

import logging
from abc import abstractmethod
from typing import Any

from monailabel.interfaces.datastore import Datastore
from monailabel.interfaces.tasks.strategy import Strategy

from ..validation.errors import InvalidInputError
from ..validation.options import ActiveLearningOptions, check_options
from .leases import LeaseBook, anonymous_client

__all__ = ["LeasingStrategy"]

logger = logging.getLogger(__name__)


class LeasingStrategy(Strategy):
    """Template for ``uncertainty`` and ``random``: subclasses only rank candidates (:meth:`pick`).

    Per request (options: ``client_id``, ``k``, ``skip``, and ``seed`` for ``random``):

    - the client's live leases on unlabeled studies come back first (renewed), so asking again is safe;
    - ``skip: true`` releases them instead and picks others;
    - the rest of the ``k`` is picked among unlabeled studies that nobody holds, and leased to the client;
    - ``k`` larger than the unlabeled pool is refused (422); when others hold so many that fewer than ``k`` are free,
      the free ones are returned (``batch`` is shorter); when none is free, 409 says who to wait for.

    The result is MONAI Label's (``id`` of the first study) plus ``batch``: every study handed out, with its score.
    """

    def __init__(self, description: str, book: LeaseBook) -> None:
        super().__init__(description)
        self.book = book

    @abstractmethod
    def pick(
        self, candidates: list[str], k: int, datastore: Datastore, options: ActiveLearningOptions
    ) -> list[dict[str, Any]]:
        """Up to ``k`` of ``candidates`` (sorted ids), best first, each ``{"id": ..., <score>: ...}``; ``options``
        are the request's."""

    def __call__(self, request: dict[str, Any], datastore: Datastore) -> dict[str, Any] | None:
        options = check_options(ActiveLearningOptions, _options(request), "active learning")
        k = options.k or 1
        client_id = options.client_id or anonymous_client()
        with self.book.lock:
            unlabeled = sorted(datastore.get_unlabeled_images())
            if not unlabeled:
                return None
            if k > len(unlabeled):
                raise InvalidInputError(422, f"k={k} is more than the {len(unlabeled)} unlabeled studies")
            now = self.book.now()
            leases = self.book.leases(datastore, unlabeled, now)
            held = sorted(
                (i for i, lease in leases.items() if lease.client_id == client_id), key=lambda i: leases[i].ts
            )
            if options.skip:
                self.book.release(datastore, held)  # and not handed out again in this pick: they are in ``leases``
                held = []
            free = [i for i in unlabeled if i not in leases]
            handed = [{"id": i, "held": True} for i in held[:k]]
            if len(handed) < k:
                if not free:
                    raise InvalidInputError(
                        409,
                        f"all {len(unlabeled)} unlabeled studies are leased to other annotators; a lease ends when "
                        f"its label is submitted or after {self.book.lease_seconds / 60:g} min",
                    )
                handed += self.pick(free, k - len(handed), datastore, options)
            self.book.grant(datastore, [h["id"] for h in handed], client_id, now)
        logger.info("%s: client %s gets %s", type(self).__name__, client_id, [h["id"] for h in handed])
        return {"id": handed[0]["id"], "client_id": client_id, "batch": handed, **_first_scores(handed)}


def _options(request: dict[str, Any]) -> dict[str, Any]:
    """The client's options: MONAI Label adds ``strategy`` to the request itself."""
    return {key: value for key, value in request.items() if key != "strategy"}


def _first_scores(handed: list[dict[str, Any]]) -> dict[str, Any]:
    return {key: value for key, value in handed[0].items() if key not in ("id", "held")}
