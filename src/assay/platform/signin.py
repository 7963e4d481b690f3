"""Signing in and out of the web pages, with rate limiting of failed attempts.

A browser session is a random cookie value whose SHA-256 digest is stored with the user, its
expiry and when it was last seen. Failed sign-ins are counted per account and per client address;
past the limit (``ASSAY_SIGNIN_MAX_FAILURES``, four times that per address) further attempts are
refused for ``ASSAY_SIGNIN_LOCKOUT_MINUTES``, even with the right password.
"""

from __future__ import annotations

import datetime as dt
import math
import secrets
from dataclasses import dataclass

from sqlalchemy import delete, select

from assay.errors import InvalidCredentials, RateLimited
from assay.platform import passwords
from assay.platform.context import Context
from assay.platform.record import ObjectRef, record
from assay.platform.roles import Principal, Role
from assay.platform.tables import SigninThrottle, User, WebSession
from assay.platform.tokens import digest

ADDRESS_LIMIT_FACTOR = 4
LAST_SEEN_RESOLUTION = dt.timedelta(minutes=1)


@dataclass(frozen=True)
class SignedIn:
    """A new browser session: the cookie value to set and who it belongs to."""

    cookie: str
    principal: Principal
    expires_at: dt.datetime


def sign_in(ctx: Context, *, email: str, password: str, address: str) -> SignedIn:
    """Check credentials and open a session; raises InvalidCredentials or RateLimited.

    Failures are committed before the error is raised, so the count survives the refusal.
    """
    address_key = f"address:{address}"
    account = email.strip().lower()
    account_key = f"account:{account}"
    _refuse_if_locked(ctx, [account_key, address_key])
    user = ctx.session.scalar(select(User).where(User.email == account))
    matches = passwords.verify_password(user.password_hash if user else None, password)
    if user is None or not matches or not user.active:
        limit = ctx.settings.signin_max_failures
        _count_failure(ctx, account_key, limit)
        _count_failure(ctx, address_key, limit * ADDRESS_LIMIT_FACTOR)
        ctx.commit()
        if user is not None and matches and not user.active:
            raise InvalidCredentials(
                f"the account {account} is disabled; ask an administrator", field="email"
            )
        raise InvalidCredentials("wrong email or password", field="email")
    ctx.session.execute(delete(SigninThrottle).where(SigninThrottle.key == account_key))
    if passwords.needs_rehash(user.password_hash):
        user.password_hash = passwords.hash_password(password)
    now = ctx.clock.now()
    user.last_signin_at = now
    cookie = secrets.token_urlsafe(32)
    expires = now + dt.timedelta(hours=ctx.settings.session_hours)
    ctx.session.add(
        WebSession(
            digest=digest(cookie),
            user_id=user.id,
            created_at=now,
            expires_at=expires,
            last_seen_at=now,
        )
    )
    principal = Principal(name=user.email, role=Role(user.role), user_id=user.id, via="session")
    ctx.actor = principal
    record(ctx, "platform.signin", ObjectRef("user", user.id), after={"address": address})
    ctx.commit()
    return SignedIn(cookie=cookie, principal=principal, expires_at=expires)


def resume(ctx: Context, cookie: str) -> Principal | None:
    """The principal of a session cookie, or None when it is unknown, expired, idle or disabled."""
    session = ctx.session.get(WebSession, digest(cookie))
    if session is None:
        return None
    now = ctx.clock.now()
    idle = dt.timedelta(minutes=ctx.settings.session_idle_minutes)
    user = ctx.session.get_one(User, session.user_id)
    if session.expires_at <= now or now - session.last_seen_at >= idle or not user.active:
        ctx.session.delete(session)
        ctx.commit()
        return None
    if now - session.last_seen_at >= LAST_SEEN_RESOLUTION:
        session.last_seen_at = now
        ctx.commit()
    return Principal(name=user.email, role=Role(user.role), user_id=user.id, via="session")


def sign_out(ctx: Context, cookie: str) -> None:
    """End the session of ``cookie`` (nothing happens if it is already gone)."""
    session = ctx.session.get(WebSession, digest(cookie))
    if session is None:
        return
    ctx.session.delete(session)
    record(ctx, "platform.signout", ObjectRef("user", session.user_id))
    ctx.commit()


def _refuse_if_locked(ctx: Context, keys: list[str]) -> None:
    now = ctx.clock.now()
    rows = ctx.session.scalars(select(SigninThrottle).where(SigninThrottle.key.in_(keys)))
    for row in rows:
        if row.locked_until is not None and row.locked_until > now:
            wait = math.ceil((row.locked_until - now).total_seconds())
            raise RateLimited(
                f"too many failed sign-ins; try again in {math.ceil(wait / 60)} minute(s)",
                retry_after=wait,
            )


def _count_failure(ctx: Context, key: str, limit: int) -> None:
    now = ctx.clock.now()
    window = dt.timedelta(minutes=ctx.settings.signin_lockout_minutes)
    row = ctx.session.get(SigninThrottle, key)
    if row is None:
        row = SigninThrottle(key=key, failures=0, first_failure_at=now)
        ctx.session.add(row)
    elif now - row.first_failure_at >= window:
        row.failures, row.first_failure_at, row.locked_until = 0, now, None
    row.failures += 1
    if row.failures >= limit:
        row.locked_until = now + window
        record(
            ctx,
            "platform.signin.locked",
            ObjectRef("signin", key),
            after={"failures": row.failures, "locked_until": row.locked_until},
        )
