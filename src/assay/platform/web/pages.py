"""The platform's pages: sign-in and sign-out, the dashboard, activity, users and API tokens.

Handlers are thin: they parse the form, call the same service functions as the API and the CLI,
and render or redirect. Every form post goes through ``page_form(permission)`` (session, CSRF,
permission, in that order).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import FileResponse, RedirectResponse, Response

from assay.errors import AssayError, InvalidCredentials, InvalidInput, NotFound, RateLimited
from assay.platform import entities, record, signin, tokens, users
from assay.platform.context import Context
from assay.platform.roles import OWN_TOKENS, USERS_READ, USERS_WRITE, Role
from assay.platform.web.deps import Ctx, PageCtx, page_context, page_form, page_permission
from assay.platform.web.security import (
    CSRF_FIELD,
    SESSION_COOKIE,
    add_flash,
    check_csrf,
    rotate_csrf,
    set_cookie,
)
from assay.platform.web.templating import render

SWAGGER_ASSETS = {"swagger-ui.css", "swagger-ui-bundle.js"}


def safe_next(target: str | None) -> str:
    """A local path to go to after sign-in; anything pointing elsewhere becomes ``/``."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    parts = urlsplit(target)
    return "/" if parts.scheme or parts.netloc else target


def _redirect(path: str) -> RedirectResponse:
    return RedirectResponse(path, status_code=303)


def _parse_day(value: str | None, field: str) -> dt.datetime | None:
    if not value:
        return None
    try:
        return dt.datetime.combine(dt.date.fromisoformat(value), dt.time(), tzinfo=dt.UTC)
    except ValueError:
        raise InvalidInput(
            f"{field} {value!r} is not a date (expected YYYY-MM-DD)", field=field, value=value
        ) from None


def router() -> APIRouter:  # noqa: PLR0915 - one flat list of small handlers reads best
    """The platform's page routes."""
    pages = APIRouter(include_in_schema=False)

    @pages.get("/signin")
    def signin_form(request: Request, next: str = "/") -> Response:
        return render(request, "signin.html", {"next": safe_next(next), "email": ""})

    @pages.post("/signin")
    def signin_submit(
        *,
        request: Request,
        ctx: Ctx,
        email: Annotated[str, Form()] = "",
        password: Annotated[str, Form()] = "",
        next: Annotated[str, Form()] = "/",
        csrf_token: Annotated[str | None, Form(alias=CSRF_FIELD)] = None,
    ) -> Response:
        check_csrf(ctx.settings, request, csrf_token)
        address = request.client.host if request.client else "unknown"
        try:
            done = signin.sign_in(ctx, email=email, password=password, address=address)
        except (InvalidCredentials, RateLimited) as exc:
            page = {"next": safe_next(next), "email": email, "error": exc.message}
            page_response = render(request, "signin.html", page, status_code=exc.status)
            if isinstance(exc, RateLimited):
                page_response.headers["Retry-After"] = str(exc.details.get("retry_after", 60))
            return page_response
        response = _redirect(safe_next(next))
        max_age = int((done.expires_at - ctx.clock.now()).total_seconds())
        set_cookie(response, ctx.settings, SESSION_COOKIE, done.cookie, max_age=max_age)
        rotate_csrf(response, ctx.settings)
        return response

    @pages.post("/signout")
    def signout(
        request: Request,
        ctx: PageCtx,
        csrf_token: Annotated[str | None, Form(alias=CSRF_FIELD)] = None,
    ) -> Response:
        check_csrf(ctx.settings, request, csrf_token)
        signin.sign_out(ctx, request.cookies.get(SESSION_COOKIE, ""))
        response = _redirect("/signin")
        response.delete_cookie(SESSION_COOKIE, path="/")
        rotate_csrf(response, ctx.settings)
        add_flash(request, response, ctx.settings, "info", "You have signed out.")
        return response

    @pages.get("/")
    def dashboard(request: Request, ctx: PageCtx) -> Response:
        return render(
            request,
            "dashboard.html",
            {
                "entities": entities.list_entities(ctx),
                "events": record.list_events(ctx, record.EventFilter(), limit=8),
                "event_count": record.count_events(ctx),
            },
        )

    @pages.get("/activity")
    def activity(
        *,
        request: Request,
        ctx: PageCtx,
        action: str = "",
        object_type: str = "",
        actor: str = "",
        since: str = "",
        until: str = "",
    ) -> Response:
        where = record.EventFilter(
            action_prefix=action or None,
            object_type=object_type or None,
            actor=actor or None,
            since=_parse_day(since, "since"),
            until=_parse_day(until, "until"),
        )
        events = record.list_events(ctx, where, limit=500)
        page = {"events": events, "filters": where, "since": since, "until": until}
        return render(request, "activity.html", page)

    def users_page(request: Request, ctx: Context, status: int = 200, **extra: object) -> Response:
        page = {
            "users": users.list_users(ctx),
            "can_write": ctx.require_actor().can(USERS_WRITE),
            "roles": list(Role),
            "role_options": [(r.value, r.value) for r in Role],
            "form": {},
            "errors": {},
        }
        page.update(extra)
        return render(request, "users.html", page, status_code=status)

    @pages.get("/admin/users")
    def users_list(
        request: Request, ctx: Annotated[Context, Depends(page_permission(USERS_READ))]
    ) -> Response:
        return users_page(request, ctx)

    @pages.post("/admin/users")
    def users_add(
        *,
        request: Request,
        ctx: Annotated[Context, Depends(page_form(USERS_WRITE))],
        email: Annotated[str, Form()] = "",
        name: Annotated[str, Form()] = "",
        role: Annotated[str, Form()] = "viewer",
        password: Annotated[str, Form()] = "",
    ) -> Response:
        form = {"email": email, "name": name, "role": role}
        try:
            added = users.add_user(
                ctx, email=email, name=name, role=Role.parse(role), password=password
            )
        except AssayError as exc:
            if exc.status not in (409, 422):
                raise
            errors = {exc.field: exc.message} if exc.field else {}
            return users_page(request, ctx, exc.status, form=form, errors=errors, error=exc.message)
        response = _redirect("/admin/users")
        add_flash(request, response, ctx.settings, "success", f"Added {added.email}.")
        return response

    @pages.post("/admin/users/{user_id}")
    def users_update(
        request: Request,
        user_id: int,
        ctx: Annotated[Context, Depends(page_form(USERS_WRITE))],
        role: Annotated[str, Form()] = "",
        active: Annotated[str, Form()] = "",
    ) -> Response:
        new_role = Role.parse(role) if role else None
        new_active = None if not active else active == "true"
        updated = users.update_user(ctx, user_id, role=new_role, active=new_active)
        response = _redirect("/admin/users")
        state = "active" if updated.active else "disabled"
        message = f"{updated.email} is now {updated.role.value}, {state}."
        add_flash(request, response, ctx.settings, "success", message)
        return response

    def tokens_page(request: Request, ctx: Context, **extra: object) -> Response:
        page = {
            "tokens": tokens.list_tokens(ctx),
            "default_days": ctx.settings.token_default_days,
        }
        page.update(extra)
        return render(request, "tokens.html", page)

    @pages.get("/account/tokens")
    def tokens_list(request: Request, ctx: PageCtx) -> Response:
        return tokens_page(request, ctx)

    @pages.post("/account/tokens")
    def tokens_create(
        request: Request,
        ctx: Annotated[Context, Depends(page_form(OWN_TOKENS))],
        name: Annotated[str, Form()] = "",
        expires_in_days: Annotated[str, Form()] = "",
    ) -> Response:
        days = _parse_days(expires_in_days)
        created = tokens.create_token(ctx, name=name, expires_in_days=days)
        return tokens_page(request, ctx, created=created)

    @pages.post("/account/tokens/{token_id}/revoke")
    def tokens_revoke(
        request: Request,
        token_id: int,
        ctx: Annotated[Context, Depends(page_form(OWN_TOKENS))],
    ) -> Response:
        revoked = tokens.revoke_token(ctx, token_id)
        response = _redirect("/account/tokens")
        add_flash(request, response, ctx.settings, "success", f"Revoked token {revoked.name}.")
        return response

    @pages.get("/api/v1/docs", dependencies=[Depends(page_context)])
    def api_docs(request: Request) -> Response:
        return render(request, "api_docs.html")

    @pages.get("/api/v1/docs/assets/{name}", dependencies=[Depends(page_context)])
    def api_docs_asset(name: str) -> Response:
        if name == "swagger-init.js":
            return FileResponse(Path(__file__).parent.parent / "static" / name)
        if name not in SWAGGER_ASSETS:
            raise NotFound(f"no documentation asset {name!r}", field="name", value=name)
        import fastapi_offline  # noqa: PLC0415 - only needed when the docs page is opened

        return FileResponse(Path(fastapi_offline.__file__).parent / "static" / name)

    return pages


def _parse_days(value: str) -> int | None:
    if not value.strip():
        return None
    try:
        days = int(value)
    except ValueError:
        raise InvalidInput(
            f"expires_in_days {value!r} is not a whole number of days",
            field="expires_in_days",
            value=value,
        ) from None
    if not 1 <= days <= 3650:
        raise InvalidInput(
            f"expires_in_days {days} is outside 1..3650", field="expires_in_days", value=days
        )
    return days
