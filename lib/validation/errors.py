"""The one error type of the server's request checks, and the check of every id that names a file or folder."""

from __future__ import annotations

import os

from fastapi import HTTPException
from monailabel.interfaces.exception import MONAILabelError, MONAILabelException

__all__ = ["InvalidInputError", "check_id"]

MAX_ID_LENGTH = 255


class InvalidInputError(MONAILabelException, HTTPException):
    """A request the server refuses. A ``MONAILabelException`` (``INVALID_INPUT``) for Python callers of the app, and
    an ``HTTPException`` because MONAI Label 0.8.5 has no handler for its own exceptions: they would reach the client
    as a bare 500."""

    def __init__(self, status_code: int, msg: str) -> None:
        HTTPException.__init__(self, status_code=status_code, detail=msg)
        MONAILabelException.__init__(self, MONAILabelError.INVALID_INPUT, msg)


def check_id(value: object, what: str) -> str:
    """An image id, label tag or run name names a file or folder inside the datastore or the model folder: it must
    not be able to point anywhere else (``../x``, ``/etc/passwd``, ``a/b``)."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidInputError(400, f"{what} must be a non-empty string, got {value!r}")
    if len(value) > MAX_ID_LENGTH:
        raise InvalidInputError(400, f"{what} is longer than {MAX_ID_LENGTH} characters")
    if os.path.isabs(value) or "/" in value or "\\" in value or ".." in value or "\x00" in value:
        raise InvalidInputError(400, f"{what} {value!r} must be a plain name: no '/', '\\', '..' or absolute path")
    return value
