"""The datastore index (``datastore_v2.json``) written to a temporary file and renamed, and still seen when renamed."""

from __future__ import annotations

import json
import os
from typing import Any

from filelock import FileLock

from ..atomic_write import atomic_write_text

__all__ = ["AtomicIndex"]


class AtomicIndex:
    """Mixin for a MONAI Label ``LocalDatastore`` (or subclass): MONAI Label rewrites the index in place, so a kill
    during the write leaves a truncated JSON that the next start cannot read. Call ``_watch_renames`` after
    ``LocalDatastore.__init__``."""

    def _watch_renames(self) -> None:
        handler = getattr(self, "_handler", None)
        if handler is not None:
            # An atomic write is a rename, which MONAI Label's file watcher (modify events only) would not notice:
            # the server would miss the scores that a scoring subprocess writes.
            handler.on_moved = self._on_moved_event

    def _on_moved_event(self, event: Any) -> None:
        if getattr(event, "dest_path", None) == self._datastore_config_path:
            self._init_from_datastore_file()

    def _update_datastore_file(self, lock: bool = True) -> None:
        def write() -> None:
            atomic_write_text(
                self._datastore_config_path,
                json.dumps(self._datastore.model_dump(exclude={"base_path"}), indent=2, default=str),
            )
            self._config_ts = os.stat(self._datastore_config_path).st_mtime

        if lock:
            with FileLock(self._lock_file):
                write()
        else:
            write()
