"""Refusals as HTTP answers: the layers below raise plain :class:`~lib.validation.errors.RequestRefused` errors
(a bad request, no trained model yet); this answers each with its status and ``{"detail": message}``, the shape of
FastAPI's own ``HTTPException`` answers, which viewers already read."""

from __future__ import annotations

import logging

from fastapi import Request
from fastapi.responses import JSONResponse

from ..monailabel_compat import handle_exceptions
from ..validation.errors import RequestRefused

__all__ = ["answer_refusals", "refusal_response"]

logger = logging.getLogger(__name__)


async def refusal_response(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestRefused)
    logger.info("%s %s refused (%d): %s", request.method, request.url.path, error.status_code, error.detail)
    return JSONResponse(status_code=error.status_code, content={"detail": error.detail})


def answer_refusals() -> None:
    """Install the answer on the server's FastAPI app (server process only)."""
    handle_exceptions(RequestRefused, refusal_response)
