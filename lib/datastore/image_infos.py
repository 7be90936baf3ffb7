"""Many images' info updated at once, whatever the datastore: scores, leases and submission signals are written
for many studies together, and MONAI Label's local datastore rewrites its whole index for each single update."""

from __future__ import annotations

from typing import Any

from monailabel.datastore.local import LocalDatastore
from monailabel.interfaces.datastore import Datastore

from ..monailabel_compat import update_image_infos

__all__ = ["store_image_infos"]


def store_image_infos(datastore: Datastore, infos: dict[str, dict[str, Any]]) -> None:
    """Update the info of many images at once: a local datastore's index is written once; other datastores get
    their own per-image update."""
    if isinstance(datastore, LocalDatastore):
        update_image_infos(datastore, infos)
        return
    for image_id, info in infos.items():
        datastore.update_image_info(image_id, info)
