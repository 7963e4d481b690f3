"""The platform's HTTP API under ``/api/v1``: who am I, users, API tokens, entities, activity.

Routes are thin: they authenticate (bearer token), check the permission, call a service function
and return its public schema. Errors become problem documents in ``problems.py``.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Query, status

from assay.platform import entities, record, tokens, users
from assay.platform.context import Context
from assay.platform.roles import OWN_TOKENS, USERS_READ, USERS_WRITE
from assay.platform.schemas import (
    EntityPublic,
    EventPublic,
    Me,
    TokenCreate,
    TokenCreated,
    TokenPublic,
    UserCreate,
    UserPublic,
    UserUpdate,
    event_public,
)
from assay.platform.web.deps import ApiCtx, RuntimeDep, api_permission


def router() -> APIRouter:
    """The platform's API routes."""
    api = APIRouter()

    @api.get("/me", tags=["identity"])
    def me(ctx: ApiCtx, runtime: RuntimeDep) -> Me:
        """The caller's identity, role and permissions."""
        actor = ctx.require_actor()
        held = sorted(p.name for c in runtime.capabilities for p in c.permissions if actor.can(p))
        return Me(
            name=actor.name,
            role=actor.role,
            user_id=actor.user_id,
            via=actor.via,
            permissions=held,
        )

    @api.get("/users", tags=["identity"])
    def list_users(
        ctx: Annotated[Context, Depends(api_permission(USERS_READ))],
    ) -> list[UserPublic]:
        """Every user with their role (admins and auditors)."""
        return users.list_users(ctx)

    @api.post("/users", status_code=status.HTTP_201_CREATED, tags=["identity"])
    def add_user(
        body: UserCreate, ctx: Annotated[Context, Depends(api_permission(USERS_WRITE))]
    ) -> UserPublic:
        """Add a user."""
        return users.add_user(
            ctx, email=body.email, name=body.name, role=body.role, password=body.password
        )

    @api.patch("/users/{user_id}", tags=["identity"])
    def update_user(
        user_id: int,
        body: UserUpdate,
        ctx: Annotated[Context, Depends(api_permission(USERS_WRITE))],
    ) -> UserPublic:
        """Change a user's role or disable/enable them."""
        return users.update_user(ctx, user_id, role=body.role, active=body.active)

    @api.get("/tokens", tags=["identity"])
    def list_tokens(ctx: ApiCtx, all: bool = False) -> list[TokenPublic]:
        """The caller's API tokens (``all=true``: everyone's, admins only)."""
        return tokens.list_tokens(ctx, everyone=all)

    @api.post("/tokens", status_code=status.HTTP_201_CREATED, tags=["identity"])
    def create_token(
        body: TokenCreate, ctx: Annotated[Context, Depends(api_permission(OWN_TOKENS))]
    ) -> TokenCreated:
        """Create a token for the caller; the response is the only place its value appears."""
        return tokens.create_token(ctx, name=body.name, expires_in_days=body.expires_in_days)

    @api.delete("/tokens/{token_id}", tags=["identity"])
    def revoke_token(
        token_id: int, ctx: Annotated[Context, Depends(api_permission(OWN_TOKENS))]
    ) -> TokenPublic:
        """Revoke a token (one's own; anyone's for admins)."""
        return tokens.revoke_token(ctx, token_id)

    @api.get("/entities", tags=["group"])
    def list_entities(ctx: ApiCtx) -> list[EntityPublic]:
        """The group's legal entities."""
        return entities.list_entities(ctx)

    @api.get("/events", tags=["activity"])
    def list_events(
        *,
        ctx: ApiCtx,
        action: Annotated[
            str | None, Query(description="action prefix, e.g. platform.user")
        ] = None,
        object_type: str | None = None,
        object_id: str | None = None,
        actor: str | None = None,
        since: dt.datetime | None = None,
        until: dt.datetime | None = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> list[EventPublic]:
        """Recorded changes, newest first."""
        where = record.EventFilter(
            action_prefix=action,
            object_type=object_type,
            object_id=object_id,
            actor=actor,
            since=_aware(since),
            until=_aware(until),
        )
        return [event_public(e) for e in record.list_events(ctx, where, limit=limit)]

    return api


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=dt.UTC)
