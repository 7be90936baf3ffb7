"""Write a file so that a reader, or a restart after SIGKILL, sees either the old content or the new, never half.

MONAI Label writes the datastore JSON, the training stats and the published model in place: a kill during the write
leaves a truncated file that the next start or the next training run cannot read.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["atomic_copy", "atomic_replace", "atomic_write_text"]


@contextmanager
def atomic_replace(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; when the block succeeds, flush it to disk and rename it over ``path``.

    The temporary file is in the same folder (``os.replace`` is atomic only within one file system) and starts with a
    dot, so MONAI Label's datastore scan (``*.nii.gz``) does not pick it up. It is removed if the block fails. The
    file keeps the mode of the one it replaces (``mkstemp`` would leave it readable by its owner only).
    """
    path = Path(path)
    mode = path.stat().st_mode & 0o777 if path.exists() else 0o644
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        os.chmod(tmp, mode)
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    with atomic_replace(path) as tmp:
        tmp.write_text(text)


def atomic_copy(src: str | os.PathLike, dst: str | os.PathLike) -> None:
    with atomic_replace(dst) as tmp:
        shutil.copyfile(src, tmp)
