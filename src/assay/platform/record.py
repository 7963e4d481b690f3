"""The record of changes: the one call through which every service says who changed what.

``record(ctx, action, obj, before=..., after=...)`` writes an audit event in the same
transaction as the change itself, so a change and its record are committed together or not at all.
The trail capability will make these events tamper-evident; it hooks in here, so every capability
keeps calling this one function. Never pass secrets (password hashes, token values) in before/after.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from assay.platform.context import Context
from assay.platform.tables import AuditEvent

ANONYMOUS = "anonymous"


@dataclass(frozen=True)
class ObjectRef:
    """Which object a change touched: its type (``user``, ``licence``...) and identifier."""

    type: str
    id: str | int


def record(
    ctx: Context,
    action: str,
    obj: ObjectRef,
    *,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
) -> AuditEvent:
    """Record that the context's actor did ``action`` (``capability.verb``) to ``obj``.

    The event is added to the unit of work; it becomes durable with the caller's commit.
    """
    event = AuditEvent(
        at=ctx.clock.now(),
        actor=ctx.actor.label if ctx.actor else ANONYMOUS,
        action=action,
        object_type=obj.type,
        object_id=str(obj.id),
        before=_jsonable(before),
        after=_jsonable(after),
    )
    ctx.session.add(event)
    ctx.session.flush()
    return event


@dataclass(frozen=True)
class EventFilter:
    """Which events to list; every field is optional."""

    action_prefix: str | None = None
    object_type: str | None = None
    object_id: str | None = None
    actor: str | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None


def list_events(ctx: Context, where: EventFilter, *, limit: int = 100) -> list[AuditEvent]:
    """The most recent events matching ``where``, newest first (any signed-in role may read)."""
    ctx.require_actor()
    query = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit)
    if where.action_prefix:
        query = query.where(AuditEvent.action.startswith(where.action_prefix, autoescape=True))
    if where.object_type:
        query = query.where(AuditEvent.object_type == where.object_type)
    if where.object_id:
        query = query.where(AuditEvent.object_id == where.object_id)
    if where.actor:
        query = query.where(AuditEvent.actor.contains(where.actor, autoescape=True))
    if where.since:
        query = query.where(AuditEvent.at >= where.since)
    if where.until:
        query = query.where(AuditEvent.at < where.until)
    return list(ctx.session.scalars(query))


def count_events(ctx: Context) -> int:
    """How many events have been recorded."""
    return ctx.session.scalar(select(func.count()).select_from(AuditEvent)) or 0


def _jsonable(data: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if data is None:
        return None
    return {key: _plain(value) for key, value in data.items()}


def _plain(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)
