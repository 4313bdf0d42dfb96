"""Errors as ``application/problem+json`` (RFC 9457): the library's error, its HTTP status, one line.

The document's ``error`` names the library's exception class, so the client
raises the same error the library would have raised in its own process, and
``detail`` is the one line the CLI prints after ``Error:``.
"""
from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from peewee import PeeweeException
from starlette.exceptions import HTTPException

from rfarm.errors import (
    AnalysisError,
    Cancelled,
    ConfigError,
    IntegrityError,
    JobFailed,
    NotAllowedError,
    NotAuthenticatedError,
    NotFoundError,
    RateLimited,
    RfarmError,
    ServiceError,
    StateError,
    UsageError,
    first_line,
)

log = logging.getLogger(__name__)

MEDIA_TYPE = "application/problem+json"

#: most specific first: the first class an error is an instance of gives its status
STATUS: tuple[tuple[type[RfarmError], int], ...] = (
    (NotFoundError, 404),
    (NotAuthenticatedError, 401),
    (RateLimited, 429),
    (UsageError, 400),
    (NotAllowedError, 403),
    (AnalysisError, 422),
    (IntegrityError, 422),
    (StateError, 409),
    (JobFailed, 409),
    (ConfigError, 503),  # the server's own configuration: not the client's fault
    (ServiceError, 503),
    (Cancelled, 503),
    (RfarmError, 400),
)

#: the schema every error answer follows, for the OpenAPI document
SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["title", "status", "detail", "error"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "error": {"type": "string", "description": "The rfarm error class, e.g. NotFoundError."},
    },
}
RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {"description": text, "content": {MEDIA_TYPE: {"schema": SCHEMA}}}
    for code, text in (
        (400, "Bad input"), (401, "No token, or a bad, expired or revoked one"), (403, "Not allowed"),
        (404, "Unknown, or not yours"), (409, "The task or frame changed meanwhile; ask again"),
        (422, "Invalid request"), (429, "Too many requests"),
        (503, "A service the farm needs is unreachable"),
    )
}


def problem(status: int, error: str, detail: str, *, headers: dict[str, str] | None = None) -> JSONResponse:
    """One problem document; ``detail`` is folded onto one line."""
    detail = " ".join(detail.split()) or error
    doc = {"type": "about:blank", "title": error, "status": status, "detail": detail, "error": error}
    return JSONResponse(doc, status_code=status, media_type=MEDIA_TYPE, headers=headers)


def status_of(exc: RfarmError) -> int:
    return next(code for cls, code in STATUS if isinstance(exc, cls))


def install(app: FastAPI) -> None:
    """Answer every error, the unexpected ones included, with a problem document."""

    @app.exception_handler(RfarmError)
    async def _rfarm(request: Request, exc: RfarmError) -> JSONResponse:
        status = status_of(exc)
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
        if isinstance(exc, RateLimited):
            headers = {"Retry-After": f"{exc.retry_after:.0f}"}
        return problem(status, type(exc).__name__, str(exc), headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()) if p != "body")
        return problem(422, "UsageError", f"{where}: {first.get('msg', 'invalid request')}".lstrip(": "))

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> JSONResponse:
        error = {404: "NotFoundError", 401: "NotAllowedError", 403: "NotAllowedError"}.get(exc.status_code, "UsageError")
        return problem(exc.status_code, error, str(exc.detail), headers=getattr(exc, "headers", None))

    @app.exception_handler(PeeweeException)
    async def _database(request: Request, exc: PeeweeException) -> JSONResponse:
        log.warning("database error on %s %s: %s", request.method, request.url.path, first_line(exc))
        return problem(503, "ServiceError", f"database: {first_line(exc)}")

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return problem(500, "RfarmError", f"internal error ({type(exc).__name__}); the server's log has the details")
