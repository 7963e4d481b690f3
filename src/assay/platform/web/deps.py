"""FastAPI dependencies: the runtime, a unit of work per request, who is calling, what they may do.

Typed aliases keep route signatures short: ``ApiCtx`` is a context whose actor was authenticated by
a bearer token, ``PageCtx`` one authenticated by the session cookie. ``api_permission(P)`` and
``page_form(P)`` also check a permission (and, for forms, the CSRF token); each carries its
``permission`` attribute so tests can enumerate what every write route requires.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from assay.errors import AuthenticationRequired
from assay.platform import signin, tokens
from assay.platform.context import Context
from assay.platform.roles import Permission, authorize
from assay.platform.runtime import Runtime
from assay.platform.web.security import CSRF_FIELD, SESSION_COOKIE, check_csrf

bearer = HTTPBearer(
    auto_error=False,
    description="A personal API token (`assay tokens create`, or Account > API tokens).",
)


class SignInRequired(AuthenticationRequired):
    """A page was asked for without a session: the browser is sent to the sign-in page."""

    code = "sign-in-required"
    title = "Sign in required"


def get_runtime(request: Request) -> Runtime:
    """The runtime the app was built with."""
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


def get_context(runtime: RuntimeDep) -> Iterator[Context]:
    """A context on a fresh unit of work, closed (and rolled back if uncommitted) afterwards."""
    with runtime.db.uow() as uow:
        yield runtime.context(uow)


Ctx = Annotated[Context, Depends(get_context)]


def api_context(
    ctx: Ctx, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
) -> Context:
    """The context of an API call, its actor identified by the bearer token."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise AuthenticationRequired(
            "this API needs a personal API token: send `Authorization: Bearer <token>` "
            "(create one with `assay tokens create` or on the Account > API tokens page)"
        )
    ctx.actor = tokens.authenticate(ctx, credentials.credentials)
    return ctx


ApiCtx = Annotated[Context, Depends(api_context)]


def page_context(request: Request, ctx: Ctx) -> Context:
    """The context of a page, its actor identified by the session cookie."""
    cookie = request.cookies.get(SESSION_COOKIE)
    principal = signin.resume(ctx, cookie) if cookie else None
    if principal is None:
        raise SignInRequired("sign in to see this page")
    ctx.actor = request.state.principal = principal
    return ctx


PageCtx = Annotated[Context, Depends(page_context)]


def reader_context(
    request: Request,
    ctx: Ctx,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Context:
    """A bearer token if one is sent, else the session cookie.

    For files both people and tools fetch (the trail's tiles, for instance). Without either, a
    401 problem, not a redirect.
    """
    if credentials is not None:
        return api_context(ctx, credentials)
    cookie = request.cookies.get(SESSION_COOKIE)
    principal = signin.resume(ctx, cookie) if cookie else None
    if principal is None:
        raise AuthenticationRequired(
            "send `Authorization: Bearer <token>` (or sign in) to read this"
        )
    ctx.actor = principal
    return ctx


ReaderCtx = Annotated[Context, Depends(reader_context)]


def api_permission(perm: Permission) -> Callable[..., Context]:
    """A dependency: the API context, after checking its actor holds ``perm``."""

    def dependency(ctx: ApiCtx) -> Context:
        authorize(ctx.require_actor(), perm)
        return ctx

    dependency.permission = perm  # type: ignore[attr-defined]
    return dependency


def page_form(perm: Permission) -> Callable[..., Any]:
    """A dependency for a form post: signed in, CSRF token valid, and ``perm`` held (in order)."""

    async def dependency(request: Request, ctx: PageCtx) -> Context:
        form = await request.form()
        submitted = form.get(CSRF_FIELD)
        check_csrf(ctx.settings, request, submitted if isinstance(submitted, str) else None)
        authorize(ctx.require_actor(), perm)
        return ctx

    dependency.permission = perm  # type: ignore[attr-defined]
    return dependency


def page_permission(perm: Permission) -> Callable[..., Context]:
    """A dependency for a page that only holders of ``perm`` may see."""

    def dependency(ctx: PageCtx) -> Context:
        authorize(ctx.require_actor(), perm)
        return ctx

    dependency.permission = perm  # type: ignore[attr-defined]
    return dependency
