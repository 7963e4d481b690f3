"""Errors on the wire, in one place: RFC 9457 problem documents for the API, pages for people.

Every AssayError, every request-validation error and every unexpected exception reaching the app
goes through :func:`install`. API paths (``/api/``, ``/healthz``, ``/readyz``) get
``application/problem+json``; pages get a friendly HTML page (or, when not signed in, a redirect
to the sign-in page). No stack trace ever reaches the client: unexpected errors are logged here.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from assay.errors import (
    AssayError,
    Conflict,
    InvalidInput,
    MalformedRequest,
    MethodNotAllowed,
    NotFound,
    RateLimited,
)
from assay.platform.web.deps import SignInRequired

log = logging.getLogger("assay.web")

PROBLEM_TYPE = "urn:assay:problem:"
PROBLEM_MEDIA_TYPE = "application/problem+json"
API_PREFIXES = ("/api/", "/healthz", "/readyz")
DOCS_PAGE = "/api/v1/docs"  # a page for people, though it lives under /api


def is_api(request: Request) -> bool:
    """Whether the request is for the API (problem documents) rather than a page."""
    return is_machine_path(request.url.path, getattr(request.app.state, "machine_paths", ()))


def is_machine_path(path: str, machine_paths: tuple[str, ...] = ()) -> bool:
    """Whether ``path`` answers machines: the API, the probes, capabilities' machine paths.

    A capability's machine path ending in "/" is a prefix; any other is an exact path.
    """
    if path.startswith(DOCS_PAGE):
        return False
    if path.startswith(API_PREFIXES):
        return True
    return any(path.startswith(p) if p.endswith("/") else path == p for p in machine_paths)


def problem(error: AssayError, instance: str, **extra: Any) -> dict[str, Any]:
    """The RFC 9457 problem document for ``error``."""
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE + error.code,
        "title": error.title,
        "status": error.status,
        "detail": error.message,
        "instance": instance,
        "code": error.code,
    }
    if error.field is not None:
        body["field"] = error.field
    if error.value is not None:
        body["value"] = (
            error.value if isinstance(error.value, str | int | float | bool) else str(error.value)
        )
    body.update({k: v for k, v in error.details.items() if v is not None})
    body.update(extra)
    return body


def problem_response(error: AssayError, request: Request, **extra: Any) -> JSONResponse:
    """A problem document response for ``error``."""
    headers: dict[str, str] = {}
    if error.status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="assay"'
    if isinstance(error, RateLimited) and "retry_after" in error.details:
        headers["Retry-After"] = str(error.details["retry_after"])
    return JSONResponse(
        problem(error, request.url.path, **extra),
        status_code=error.status,
        headers=headers,
        media_type=PROBLEM_MEDIA_TYPE,
    )


def error_page(request: Request, error: AssayError) -> Response:
    """The page shown to a person for ``error``."""
    from assay.platform.web.templating import render  # noqa: PLC0415 - avoids an import cycle

    if isinstance(error, SignInRequired):
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/signin?next={quote(target, safe='')}", status_code=303)
    return render(request, "error.html", {"error": error}, status_code=error.status)


async def _assay_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, AssayError)  # noqa: S101 - registered for AssayError only
    return problem_response(exc, request) if is_api(request) else error_page(request, exc)


def _field_path(loc: tuple[int | str, ...]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in {"body", "query", "path", "header", "cookie"}:
        parts = parts[1:] or parts
    return ".".join(parts)


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)  # noqa: S101 - registered for this type only
    errors = [
        {
            "field": _field_path(tuple(e.get("loc", ()))),
            "message": e.get("msg", ""),
            "value": e.get("input")
            if isinstance(e.get("input"), str | int | float | bool)
            else None,
        }
        for e in exc.errors()
    ]
    malformed = any(e.get("type") == "json_invalid" for e in exc.errors())
    summary = "; ".join(f"{e['field'] or 'body'}: {e['message']}" for e in errors)
    error: InvalidInput = (
        MalformedRequest(f"the request body is not valid JSON ({summary})")
        if malformed
        else InvalidInput(f"the request was not accepted: {summary}")
    )
    if not is_api(request):
        return error_page(request, error)
    return problem_response(error, request, errors=errors)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)  # noqa: S101 - registered for this type only
    error: AssayError
    if exc.status_code == 404:
        error = NotFound(f"nothing here: {request.url.path}")
    elif exc.status_code == 405:
        error = MethodNotAllowed(f"{request.method} is not allowed on {request.url.path}")
    else:
        error = AssayError(str(exc.detail))
        error.status = exc.status_code
    return problem_response(error, request) if is_api(request) else error_page(request, error)


async def _database_error(request: Request, exc: Exception) -> Response:
    log.error("database error on %s %s: %s", request.method, request.url.path, exc)
    error: AssayError
    if isinstance(exc, IntegrityError):
        error = Conflict("the change clashes with data stored meanwhile; reload and try again")
    elif isinstance(exc, OperationalError | InterfaceError):
        error = request.app.state.runtime.db.unavailable(exc)
    else:
        error = AssayError("the database refused the request; it has been logged for the operators")
    return await _assay_error(request, error)


async def _unexpected(request: Request, exc: Exception) -> Response:
    log.error("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
    error = AssayError("an unexpected error occurred; it has been logged for the operators")
    return problem_response(error, request) if is_api(request) else error_page(request, error)


def install(app: FastAPI) -> None:
    """Register the handlers on ``app``."""
    app.add_exception_handler(AssayError, _assay_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(DBAPIError, _database_error)
    app.add_exception_handler(Exception, _unexpected)
