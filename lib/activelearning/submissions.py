"""What a submitted final label says about the labeling round, kept in the study's image info; it ends the lease."""

from __future__ import annotations

import logging
from typing import Any

from monailabel.interfaces.datastore import Datastore, DefaultLabelTag

from ..datastore.image_infos import store_image_infos
from .leases import NO_LEASE, LeaseBook

__all__ = ["SUBMISSION_KEYS", "record_submission"]

logger = logging.getLogger(__name__)

# Flat keys, as the scores: who submitted (the client id, else the signed-in user), when, whom the study had been
# handed out to, and how long after the hand-out (null when it was not leased: any annotator may label any study).
SUBMISSION_KEYS = ("submitted_by", "submitted_ts", "handed_out_to", "seconds_from_handout")


def record_submission(
    datastore: Datastore, book: LeaseBook, image_id: str, tag: str, params: dict[str, Any], user: str | None
) -> dict[str, Any]:
    """For a ``final`` label: store the submission's signals and end the study's lease; other tags change nothing."""
    if tag != DefaultLabelTag.FINAL.value:
        return {}
    now = book.now()
    lease = book.current(datastore.get_image_info(image_id), now)
    signals = dict(
        zip(
            SUBMISSION_KEYS,
            (
                params.get("client_id") or user,
                now,
                lease.client_id if lease else None,
                round(now - lease.ts, 1) if lease else None,
            ),
        )
    )
    with book.lock:
        store_image_infos(datastore, {image_id: {**NO_LEASE, **signals}})
    logger.info("Label of %s submitted by %s: %s", image_id, signals["submitted_by"], signals)
    return signals
