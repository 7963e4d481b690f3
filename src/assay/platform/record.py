"""The record of changes: the one call through which every service says who changed what.

``record(ctx, action, obj, before=..., after=...)`` writes an audit event in the same
transaction as the change itself, so a change and its record are committed together or not at all.
Capabilities may hook in (``Capability.record_hook``): the trail appends every event to its
Merkle log in that same transaction, which makes the record tamper-evident. ``write_changes`` is
the batch form used by the trail's group-commit appender. Never pass secrets (password hashes,
token values) in before/after. Call ``record`` after the change's own writes.

Event ids come from the database. On PostgreSQL one ``INSERT ... RETURNING`` per 1,000 rows
returns them in order; SQLite cannot order ``RETURNING`` over many rows, so there the first row
takes the next id and, under the write lock that insert took, the others follow it in a few
multi-row inserts. On SQLite the row values are written out here, as SQLAlchemy's column types
would write them (the UTC timestamp's text, ``json.dumps`` of the states) but several times
cheaper: this runs once per recorded change, tens of thousands of times a second under load.
"""

from __future__ import annotations

import _json
import datetime as dt
import json
import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from sqlalchemy import Connection, Dialect, func, insert, select

from assay.platform.context import Context
from assay.platform.db import insert_rows
from assay.platform.tables import AuditEvent

ANONYMOUS = "anonymous"


@dataclass(frozen=True)
class ObjectRef:
    """Which object a change touched: its type (``user``, ``licence``...) and identifier."""

    type: str
    id: str | int


class Change(NamedTuple):
    """A change to record: when, who, what, which object, the state before and after.

    A named tuple rather than a frozen dataclass: as immutable, and three times cheaper to
    build, which counts where every recorded change makes one (and the trail's appender
    tens of thousands a second).
    """

    at: dt.datetime
    actor: str
    action: str
    object_type: str
    object_id: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None


class RecordedEvent(NamedTuple):
    """A change once recorded: the :class:`Change`'s fields, then the id of its audit event."""

    at: dt.datetime
    actor: str
    action: str
    object_type: str
    object_id: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    id: int


def record(
    ctx: Context,
    action: str,
    obj: ObjectRef,
    *,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
) -> RecordedEvent:
    """Record that the context's actor did ``action`` (``capability.verb``) to ``obj``.

    The event joins the unit of work; it becomes durable with the caller's commit.
    """
    change = Change(
        at=ctx.clock.now(),
        actor=ctx.actor.label if ctx.actor else ANONYMOUS,
        action=action,
        object_type=obj.type,
        object_id=str(obj.id),
        before=_jsonable(before),
        after=_jsonable(after),
    )
    return write_changes(ctx, [change])[0]


def write_changes(ctx: Context, changes: Sequence[Change]) -> list[RecordedEvent]:
    """Store ``changes`` as audit events in the context's transaction and run the record hooks."""
    if not changes:
        return []
    ctx.session.flush()
    ids = _insert_events(ctx.session.connection(), changes)
    events = [
        RecordedEvent(*change, event_id) for change, event_id in zip(changes, ids, strict=True)
    ]
    for hook in ctx.record_hooks:
        hook(ctx, events)
    return events


def _json_text(encoder: json.JSONEncoder) -> Callable[[Any], str]:
    """``encoder.encode``, without building a new C encoder on every call: the same text.

    ``json.dumps`` and ``JSONEncoder.encode`` build CPython's C encoder afresh per call, which
    costs more than encoding a small state does; this one is built once. Anything that goes
    wrong (a value that contains itself, a type JSON does not have) is handed to
    ``encoder.encode``, which raises as ``json.dumps`` would.
    """
    if encoder.indent is not None:
        return encoder.encode
    markers: dict[int, Any] | None = {} if encoder.check_circular else None
    make = _json.make_encoder(
        markers,
        encoder.default,
        _json.encode_basestring_ascii if encoder.ensure_ascii else _json.encode_basestring,
        None,
        encoder.key_separator,
        encoder.item_separator,
        encoder.sort_keys,
        encoder.skipkeys,
        encoder.allow_nan,
    )
    join = "".join

    def encode(value: Any) -> str:
        try:
            return join(make(value, 0))
        except Exception:  # noqa: BLE001 - encode() raises the same, with a fresh encoder
            if markers is not None:
                markers.clear()  # a failed call leaves the containers it was in marked
            return encoder.encode(value)

    return encode


#: ``json.dumps`` with its defaults, which is what SQLAlchemy's JSON type stores on SQLite.
_dumps = _json_text(json.JSONEncoder())
_UTC = dt.UTC
#: The text SQLAlchemy's SQLite ``DATETIME`` stores (its ``_storage_format``, positionally).
_SQLITE_DATETIME = "%04d-%02d-%02d %02d:%02d:%02d.%06d"


def _sqlite_values(change: Change, event_id: int | None) -> tuple[Any, ...]:
    """The change's audit-event row, as SQLAlchemy's column types hand it to sqlite3.

    ``at``: ``UTCDateTime`` makes it naive UTC and SQLite's ``DATETIME`` writes
    ``YYYY-MM-DD HH:MM:SS.ffffff``; the states: ``json.dumps``, ``null`` for None (the JSON type
    stores None as JSON). A test compares the stored rows with a plain Core insert's.
    """
    at = change.at
    if at.tzinfo is not _UTC:
        if at.tzinfo is None:
            raise ValueError(f"naive datetime {at!r} given where UTC time is required")
        at = at.astimezone(_UTC)
    return (
        event_id,
        _SQLITE_DATETIME
        % (at.year, at.month, at.day, at.hour, at.minute, at.second, at.microsecond),
        change.actor,
        change.action,
        change.object_type,
        change.object_id,
        _dumps(change.before),
        _dumps(change.after),
    )


_COLUMNS = ("at", "actor", "action", "object_type", "object_id", "before", "after")
_Processor = Callable[[Any], Any]
#: Per dialect, (column position, bind processor) of the columns whose type converts values.
_PROCESSORS: weakref.WeakKeyDictionary[Dialect, tuple[tuple[int, _Processor], ...]] = (
    weakref.WeakKeyDictionary()
)


def _processors(dialect: Dialect) -> tuple[tuple[int, _Processor], ...]:
    found = _PROCESSORS.get(dialect)
    if found is None:
        table = AuditEvent.__table__
        found = _PROCESSORS[dialect] = tuple(
            (position, process)
            for position, name in enumerate(_COLUMNS)
            if (process := table.c[name].type.dialect_impl(dialect).bind_processor(dialect))
        )
    return found


def _audit_values(change: Change, dialect: Dialect) -> tuple[Any, ...]:
    """The change's audit-event columns (no id), as SQLAlchemy's column types give them.

    Exactly what an ORM or Core insert hands ``dialect``'s driver: UTC timestamps, JSON text.
    """
    values = [
        change.at,
        change.actor,
        change.action,
        change.object_type,
        change.object_id,
        change.before,
        change.after,
    ]
    for position, process in _processors(dialect):
        values[position] = process(values[position])
    return tuple(values)


def _quoted(dialect: Dialect) -> tuple[str, ...]:
    quote = dialect.identifier_preparer.quote
    return tuple(quote(name) for name in _COLUMNS)


def _insert_events(connection: Connection, changes: Sequence[Change]) -> Sequence[int]:
    """Insert the changes' audit events in order; their ids, in the same order."""
    dialect = connection.dialect
    if dialect.name != "sqlite":
        rows = [
            {
                "at": c.at,
                "actor": c.actor,
                "action": c.action,
                "object_type": c.object_type,
                "object_id": c.object_id,
                "before": c.before,
                "after": c.after,
            }
            for c in changes
        ]
        query = insert(AuditEvent).returning(AuditEvent.id, sort_by_parameter_order=True)
        return list(connection.execute(query, rows).scalars())
    # SQLite: the first insert (its id NULL) takes the database's write lock and the next rowid
    # (one more than the largest); nobody else can insert until we commit, so the others follow.
    if getattr(dialect, "_json_serializer", None) is None:  # the types' own serialiser: json.dumps
        row = _sqlite_values
    else:

        def row(change: Change, event_id: int | None) -> tuple[Any, ...]:
            return (event_id, *_audit_values(change, dialect))

    names = ("id", *_quoted(dialect))
    table = AuditEvent.__tablename__
    cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        insert_rows(cursor, table, names, [row(changes[0], None)])
        first = int(cursor.lastrowid)
        rest = [row(change, event_id) for event_id, change in enumerate(changes[1:], first + 1)]
        insert_rows(cursor, table, names, rest)
    finally:
        cursor.close()
    return range(first, first + len(changes))


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
