"""The platform's public schemas: what the API returns and accepts, and what services hand back.

Tables never leave the services; they are converted here, in one place (``*_public`` helpers).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from assay.platform.roles import Role
from assay.platform.tables import ApiToken, AuditEvent, LegalEntity, User


class Schema(BaseModel):
    """Base of the platform's schemas: unknown fields are refused, not ignored."""

    model_config = ConfigDict(extra="forbid")


class UserPublic(Schema):
    """A user as others may see them."""

    id: int
    email: str
    name: str
    role: Role
    active: bool
    created_at: dt.datetime
    last_signin_at: dt.datetime | None


class UserCreate(Schema):
    """A new user."""

    email: str = Field(min_length=3, max_length=254, examples=["ana@example.com"])
    name: str = Field(min_length=1, max_length=200)
    role: Role
    password: str = Field(min_length=1, max_length=1024)


class UserUpdate(Schema):
    """A change to a user: role, active flag, or both."""

    role: Role | None = None
    active: bool | None = None


class TokenPublic(Schema):
    """An API token as listed (never its value)."""

    id: int
    user_email: str
    name: str
    prefix: str
    created_at: dt.datetime
    expires_at: dt.datetime
    revoked_at: dt.datetime | None
    last_used_at: dt.datetime | None
    status: str


class TokenCreate(Schema):
    """A request for a new personal API token."""

    name: str = Field(min_length=1, max_length=100)
    expires_in_days: int | None = Field(default=None, ge=1, le=3650)


class TokenCreated(TokenPublic):
    """A token just created: the only time its value is shown."""

    token: str


class EventPublic(Schema):
    """One recorded change."""

    id: int
    at: dt.datetime
    actor: str
    action: str
    object_type: str
    object_id: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None


class EntityPublic(Schema):
    """A legal entity of the group."""

    id: int
    code: str
    name: str
    role: str
    home_jurisdiction: str
    regime: str
    authorised_on: dt.date | None
    scope: str
    lei: str | None


class Me(Schema):
    """Who the caller is and what they may do."""

    name: str
    role: Role
    user_id: int | None
    via: str
    permissions: list[str]


def user_public(user: User) -> UserPublic:
    """The public view of a user row."""
    return UserPublic(
        id=user.id,
        email=user.email,
        name=user.name,
        role=Role(user.role),
        active=user.active,
        created_at=user.created_at,
        last_signin_at=user.last_signin_at,
    )


def token_public(token: ApiToken, user_email: str, now: dt.datetime) -> TokenPublic:
    """The public view of a token row; ``status`` is active, expired or revoked at ``now``."""
    status = "revoked" if token.revoked_at else "expired" if token.expires_at <= now else "active"
    return TokenPublic(
        id=token.id,
        user_email=user_email,
        name=token.name,
        prefix=token.prefix,
        created_at=token.created_at,
        expires_at=token.expires_at,
        revoked_at=token.revoked_at,
        last_used_at=token.last_used_at,
        status=status,
    )


def event_public(event: AuditEvent) -> EventPublic:
    """The public view of an audit event."""
    return EventPublic.model_validate(event, from_attributes=True)


def entity_public(entity: LegalEntity) -> EntityPublic:
    """The public view of a legal entity."""
    return EntityPublic.model_validate(entity, from_attributes=True)
