"""Cookies of the page shell: the session cookie, CSRF tokens and flash messages.

CSRF uses the signed double-submit pattern (OWASP): a random ``assay_csrf`` cookie, and in every
form an HMAC of it under the secret key; the value is replaced at sign-in and sign-out. Flash
messages travel to the next page in a signed cookie.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Literal

from fastapi import Request, Response
from itsdangerous import BadSignature, URLSafeSerializer

from assay.errors import CsrfRejected
from assay.settings import Settings

SESSION_COOKIE = "assay_session"
CSRF_COOKIE = "assay_csrf"
FLASH_COOKIE = "assay_flash"
CSRF_FIELD = "csrf_token"

FlashLevel = Literal["success", "info", "warning", "error"]


def csrf_cookie_value(request: Request) -> str:
    """The CSRF cookie of this request, or a new value that the response must set."""
    value = request.cookies.get(CSRF_COOKIE) or getattr(request.state, "new_csrf", None)
    if not value:
        value = secrets.token_urlsafe(32)
        request.state.new_csrf = value
    return value


def csrf_token(settings: Settings, cookie_value: str) -> str:
    """The token a form must carry for the given CSRF cookie."""
    return hmac.new(settings.secret(), cookie_value.encode(), hashlib.sha256).hexdigest()


def check_csrf(settings: Settings, request: Request, submitted: str | None) -> None:
    """Raise CsrfRejected unless ``submitted`` matches this request's CSRF cookie."""
    cookie = request.cookies.get(CSRF_COOKIE)
    if not cookie or not submitted:
        raise CsrfRejected(
            "the form arrived without its security token (are cookies blocked, or was the page "
            "open too long?); reload the page and submit it again",
            field=CSRF_FIELD,
        )
    if not hmac.compare_digest(csrf_token(settings, cookie), submitted):
        raise CsrfRejected(
            "the form's security token does not match; reload the page and submit it again",
            field=CSRF_FIELD,
        )


def set_cookie(
    response: Response, settings: Settings, name: str, value: str, *, max_age: int | None = None
) -> None:
    """Set a cookie with Assay's attributes: HttpOnly, SameSite=Lax, Secure outside development."""
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        httponly=True,
        samesite="lax",
        secure=settings.secure_cookies,
        path="/",
    )


def rotate_csrf(response: Response, settings: Settings) -> None:
    """Give the browser a new CSRF cookie (at sign-in and sign-out)."""
    set_cookie(response, settings, CSRF_COOKIE, secrets.token_urlsafe(32))


def add_flash(
    request: Request, response: Response, settings: Settings, level: FlashLevel, message: str
) -> None:
    """Queue a message for the next page this browser renders."""
    messages = [*read_flash(request, settings), (level, message)]
    serializer = URLSafeSerializer(settings.secret().decode(), salt="flash")
    set_cookie(response, settings, FLASH_COOKIE, serializer.dumps(messages))


def read_flash(request: Request, settings: Settings) -> list[tuple[FlashLevel, str]]:
    """The queued messages (a tampered or unreadable cookie yields none)."""
    raw = request.cookies.get(FLASH_COOKIE)
    if not raw:
        return []
    serializer = URLSafeSerializer(settings.secret().decode(), salt="flash")
    try:
        data = serializer.loads(raw)
    except BadSignature:
        return []
    return [(level, str(text)) for level, text in data if level in _LEVELS]


_LEVELS = {"success", "info", "warning", "error"}
