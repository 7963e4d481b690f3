"""Personal API tokens: shown once, stored as SHA-256 digests, with expiry, revocation, last use.

A token is ``assay_`` followed by 43 URL-safe characters (256 random bits): too much entropy to
guess, so a fast digest is enough to store it (unlike passwords, which need Argon2).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from sqlalchemy import select

from assay.errors import Conflict, InvalidToken, NotFound, PermissionDenied
from assay.platform.context import Context
from assay.platform.record import ObjectRef, record
from assay.platform.roles import ANY_TOKENS, OWN_TOKENS, Principal, Role
from assay.platform.schemas import TokenCreated, TokenPublic, token_public
from assay.platform.tables import ApiToken, User

TOKEN_PREFIX = "assay_"  # noqa: S105 - the public prefix that marks a token, not a secret
#: last_used_at is written at most this often per token, so reads do not become writes.
LAST_USED_RESOLUTION = dt.timedelta(minutes=1)


def digest(raw: str) -> str:
    """The stored form of a token value."""
    return hashlib.sha256(raw.encode()).hexdigest()


def create_token(
    ctx: Context, *, name: str, expires_in_days: int | None = None, owner: str | None = None
) -> TokenCreated:
    """Issue a token for the acting user (or, with ``platform.tokens.any``, for ``owner``).

    The token's value is in the result and nowhere else.
    """
    actor = ctx.require(OWN_TOKENS)
    if owner is not None:
        ctx.require(ANY_TOKENS)
        user = ctx.session.scalar(select(User).where(User.email == owner.strip().lower()))
        if user is None:
            raise NotFound(f"no user with email {owner!r}", field="owner", value=owner)
        if not user.active:
            raise Conflict(f"{user.email} is disabled; enable them first", field="owner")
    else:
        user = _acting_user(ctx, actor)
    days = expires_in_days or ctx.settings.token_default_days
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    now = ctx.clock.now()
    token = ApiToken(
        user_id=user.id,
        name=name.strip() or "token",
        prefix=raw[: len(TOKEN_PREFIX) + 6],
        digest=digest(raw),
        created_at=now,
        expires_at=now + dt.timedelta(days=days),
    )
    ctx.session.add(token)
    ctx.session.flush()
    public = token_public(token, user.email, now)
    record(
        ctx,
        "platform.token.create",
        ObjectRef("api_token", token.id),
        after=public.model_dump(include={"name", "prefix", "user_email", "expires_at"}),
    )
    ctx.commit()
    return TokenCreated(**public.model_dump(), token=raw)


def list_tokens(ctx: Context, *, everyone: bool = False) -> list[TokenPublic]:
    """The acting user's tokens, or everyone's (needs ``platform.tokens.any``)."""
    actor = ctx.require(ANY_TOKENS if everyone else OWN_TOKENS)
    query = select(ApiToken, User.email).join(User).order_by(ApiToken.id)
    if not everyone:
        query = query.where(ApiToken.user_id == _acting_user(ctx, actor).id)
    now = ctx.clock.now()
    return [token_public(token, email, now) for token, email in ctx.session.execute(query)]


def revoke_token(ctx: Context, token_id: int) -> TokenPublic:
    """Revoke a token at once; one's own, or anyone's with ``platform.tokens.any``."""
    actor = ctx.require(OWN_TOKENS)
    token = ctx.session.get(ApiToken, token_id)
    if token is None:
        raise NotFound(f"no API token with id {token_id}", field="token_id", value=token_id)
    if token.user_id != actor.user_id and not actor.can(ANY_TOKENS):
        raise PermissionDenied(
            f"API token {token_id} belongs to another user; only an admin may revoke it",
            field="token_id",
            value=token_id,
        )
    owner = ctx.session.get_one(User, token.user_id)
    now = ctx.clock.now()
    if token.revoked_at is None:
        token.revoked_at = now
        record(
            ctx,
            "platform.token.revoke",
            ObjectRef("api_token", token.id),
            after={"name": token.name, "prefix": token.prefix, "user_email": owner.email},
        )
        ctx.commit()
    return token_public(token, owner.email, now)


def authenticate(ctx: Context, raw: str) -> Principal:
    """The principal a bearer token stands for; InvalidToken when unknown, expired or revoked."""
    token = ctx.session.scalar(select(ApiToken).where(ApiToken.digest == digest(raw.strip())))
    now = ctx.clock.now()
    if token is None:
        raise InvalidToken("the API token is not known (check it was copied whole)")
    if token.revoked_at is not None:
        raise InvalidToken(
            f"the API token {token.prefix}... was revoked on {token.revoked_at:%Y-%m-%d}"
        )
    if token.expires_at <= now:
        raise InvalidToken(
            f"the API token {token.prefix}... expired on {token.expires_at:%Y-%m-%d}"
        )
    user = ctx.session.get_one(User, token.user_id)
    if not user.active:
        raise InvalidToken(f"the API token {token.prefix}... belongs to a disabled user")
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
        token.last_used_at = now
        ctx.commit()
    return Principal(name=user.email, role=Role(user.role), user_id=user.id, via="token")


def _acting_user(ctx: Context, actor: Principal) -> User:
    user = ctx.session.get(User, actor.user_id) if actor.user_id is not None else None
    if user is None:
        raise PermissionDenied(
            f"{actor.label} is not a user: API tokens belong to users "
            "(pass --for EMAIL to issue one to a user, or --as EMAIL to act as one)"
        )
    return user
