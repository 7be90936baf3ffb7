"""The errors that refuse a request, raised in any layer, and the check of every id that names a file or folder.

They are plain exceptions that carry the HTTP status they mean: the layers below the server raise them without
knowing about HTTP, and the HTTP layer (:mod:`lib.server.refusals`) answers each with its status and message.
"""

from __future__ import annotations

import os

from monailabel.interfaces.exception import MONAILabelError, MONAILabelException

__all__ = ["InvalidInputError", "RequestRefused", "check_id"]

MAX_ID_LENGTH = 255


class RequestRefused(Exception):
    """A request that is refused with ``status_code`` and a message (``detail``) for the person who sent it."""

    def __init__(self, status_code: int, detail: str) -> None:
        Exception.__init__(self, detail)  # not super(): in a subclass that is also a MONAILabelException, that is next
        self.status_code = status_code
        self.detail = detail


class InvalidInputError(RequestRefused, MONAILabelException):
    """A request with bad input. Also a ``MONAILabelException`` (``INVALID_INPUT``) for Python callers of the app."""

    def __init__(self, status_code: int, msg: str) -> None:
        RequestRefused.__init__(self, status_code, msg)
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
