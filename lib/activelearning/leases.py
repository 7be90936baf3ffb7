"""Leases: which annotator holds which unlabeled study, so that a team labeling at once gets a different study each.

A lease is two flat keys in the study's image info (``lease_client_id``, ``lease_ts``), so it lives in the datastore
index and survives a server restart. It ends when a label is submitted for the study, when the holder asks to skip
it, or ``lease_seconds`` after it was handed out (or last handed back to the same client). MONAI Label's stock
strategies ignore what was handed out (all annotators get the same top study); its ``epistemic`` strategy only
lowers the weight of studies picked in the last 24 h, for everyone alike.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from monailabel.interfaces.datastore import Datastore

from ..datastore.image_infos import store_image_infos

__all__ = ["LEASE_CLIENT_KEY", "LEASE_KEYS", "LEASE_TS_KEY", "NO_LEASE", "Lease", "LeaseBook", "anonymous_client"]

LEASE_CLIENT_KEY = "lease_client_id"
LEASE_TS_KEY = "lease_ts"
LEASE_KEYS = (LEASE_CLIENT_KEY, LEASE_TS_KEY)
NO_LEASE = {LEASE_CLIENT_KEY: None, LEASE_TS_KEY: None}


def anonymous_client() -> str:
    """A request without a client id is a client of its own (OHIF's panel sends none): what it is handed is leased
    to a fresh id, so other annotators do not get it, and the same request repeated gets another study."""
    return f"anonymous-{uuid.uuid4().hex}"


@dataclass(frozen=True)
class Lease:
    client_id: str
    ts: float


class LeaseBook:
    """Reads and writes leases in a datastore's image info. Pick-and-lease must be one step for concurrent requests
    (MONAI Label runs ``/activelearning`` in the event loop, but its Python callers and the tests need not): hold
    :attr:`lock` around it."""

    lock = threading.RLock()

    def __init__(self, lease_seconds: float) -> None:
        if lease_seconds <= 0:
            raise ValueError(f"lease_seconds must be > 0, got {lease_seconds}")
        self.lease_seconds = lease_seconds

    def current(self, info: dict[str, Any], now: float) -> Lease | None:
        client_id, ts = info.get(LEASE_CLIENT_KEY), info.get(LEASE_TS_KEY)
        if not client_id or not isinstance(ts, (int, float)) or now - ts >= self.lease_seconds:
            return None
        return Lease(client_id, float(ts))

    def leases(self, datastore: Datastore, image_ids: Iterable[str], now: float) -> dict[str, Lease]:
        """The live leases among ``image_ids``."""
        found = {}
        for image_id in image_ids:
            lease = self.current(datastore.get_image_info(image_id), now)
            if lease is not None:
                found[image_id] = lease
        return found

    def grant(self, datastore: Datastore, image_ids: Iterable[str], client_id: str, now: float) -> None:
        image_ids = list(image_ids)
        for image_id in image_ids:
            if not datastore.get_image_info(image_id):
                # A PACS series that the server has never fetched has no entry yet in the DICOMweb datastore's index
                # to hold the lease (MONAI Label adds it on the first download): fetch it now, as the annotator's
                # viewer and the first /infer are about to.
                datastore.get_image_uri(image_id)
        store_image_infos(datastore, {i: {LEASE_CLIENT_KEY: client_id, LEASE_TS_KEY: now} for i in image_ids})

    def release(self, datastore: Datastore, image_ids: Iterable[str]) -> None:
        store_image_infos(datastore, {i: dict(NO_LEASE) for i in image_ids})

    @staticmethod
    def now() -> float:
        return time.time()
