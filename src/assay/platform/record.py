"""The record of changes: the one call through which every service says who changed what.

``record(ctx, action, obj, before=..., after=...)`` writes an audit event in the same
transaction as the change itself, so a change and its record are committed together or not at all.
Capabilities may hook in (``Capability.record_hook``): the trail appends every event to its
Merkle log in that same transaction, which makes the record tamper-evident. ``write_changes`` is
the batch form used by the trail's group-commit appender, which first hands its batch to
``prepare_changes``: the part of recording that needs no transaction (each audit row's values,
each hook's own per-change work) is done before the database's write lock is taken, so that
several processes appending at once hold that lock only for what needs it. Never pass secrets
(password hashes, token values) in before/after. Call ``record`` after the change's own writes.

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
from typing import Any, NamedTuple, Protocol, cast, runtime_checkable

from sqlalchemy import Connection, Dialect, func, insert, select

from assay.platform.context import Context, RecordHook
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


@runtime_checkable
class PreparingHook(Protocol):
    """A record hook that can do its per-change work before the recording transaction.

    ``prepare(changes)`` runs outside any transaction and returns a list with one item per
    change; the hook is then called with that list as a third argument. Called with two, it
    does all its work itself.
    """

    def prepare(self, changes: Sequence[Change]) -> list[Any]:
        """This hook's work on ``changes`` that needs no database (ids are not known yet)."""

    def __call__(
        self, ctx: Context, events: Sequence[RecordedEvent], prepared: list[Any] | None = None
    ) -> Any:
        """Do the hook's work on ``events`` in the recording transaction."""


class PreparedChanges:
    """Changes with what can be done before their transaction already done.

    The audit rows' values (on SQLite with the column types' own JSON, the product's engine)
    and what each :class:`PreparingHook` prepared, for the hooks it was prepared for. Built by
    :func:`prepare_changes`; written by :func:`write_changes` like the changes themselves.
    """

    __slots__ = ("changes", "hooks", "ready", "rows")

    def __init__(
        self,
        changes: list[Change],
        rows: list[list[Any]] | None,
        hooks: tuple[RecordHook, ...],
        ready: tuple[list[Any] | None, ...],
    ) -> None:
        self.changes = changes
        self.rows = rows  # [None, at, actor, ...] per change: the id is set when known
        self.hooks = hooks
        self.ready = ready  # per hook, what it prepared (None: nothing)

    def __len__(self) -> int:
        return len(self.changes)

    def extend(self, more: PreparedChanges) -> None:
        """Append ``more`` (prepared for the same database and hooks) to these changes."""
        if more.hooks != self.hooks or (more.rows is None) != (self.rows is None):
            raise ValueError("prepared changes for other hooks or another database")
        self.changes.extend(more.changes)
        if self.rows is not None and more.rows is not None:
            self.rows.extend(more.rows)
        for mine, theirs in zip(self.ready, more.ready, strict=True):
            if mine is not None and theirs is not None:
                mine.extend(theirs)


def prepare_changes(
    dialect: Dialect, hooks: tuple[RecordHook, ...], changes: Sequence[Change]
) -> PreparedChanges:
    """Do the part of recording ``changes`` that needs no transaction, for ``dialect``.

    Raises:
        ValueError: a change's time is naive (it must be UTC), or a hook prepared a list of
            another length.
    """
    rows = None
    if dialect.name == "sqlite" and _default_json(dialect):
        rows = [_sqlite_row(change) for change in changes]
    else:
        for change in changes:
            _check_utc(change.at)
    ready: list[list[Any] | None] = []
    for hook in hooks:
        done = hook.prepare(changes) if isinstance(hook, PreparingHook) else None
        if done is not None and len(done) != len(changes):
            raise ValueError(f"record hook {hook!r} prepared {len(done)} of {len(changes)}")
        ready.append(done)
    return PreparedChanges(list(changes), rows, hooks, tuple(ready))


def write_changes(ctx: Context, changes: Sequence[Change] | PreparedChanges) -> list[RecordedEvent]:
    """Store ``changes`` as audit events in the context's transaction and run the record hooks.

    ``changes`` may have been through :func:`prepare_changes`: then only what needs the
    transaction is done here.
    """
    if not changes:
        return []
    prepared = changes if isinstance(changes, PreparedChanges) else None
    plain = prepared.changes if prepared is not None else cast("Sequence[Change]", changes)
    ctx.session.flush()
    connection = ctx.session.connection()
    if prepared is not None and prepared.rows is not None and connection.dialect.name == "sqlite":
        ids: Sequence[int] = _insert_sqlite_rows(connection, prepared.rows)
    else:
        ids = _insert_events(connection, plain)
    events = [RecordedEvent(*change, event_id) for change, event_id in zip(plain, ids, strict=True)]
    ready: tuple[list[Any] | None, ...] = ()
    if prepared is not None and prepared.hooks == ctx.record_hooks:
        ready = prepared.ready
    for position, hook in enumerate(ctx.record_hooks):
        done = ready[position] if ready else None
        if done is None:
            hook(ctx, events)
        else:  # only a PreparingHook prepared something
            cast("PreparingHook", hook)(ctx, events, done)
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


def _default_json(dialect: Dialect) -> bool:
    """Whether the engine keeps the JSON types' own serialiser, ``json.dumps``.

    Then :func:`_sqlite_row` writes exactly what the column types would.
    """
    return getattr(dialect, "_json_serializer", None) is None


def _check_utc(at: dt.datetime) -> dt.datetime:
    """``at`` in UTC; ValueError when it is naive."""
    if at.tzinfo is not _UTC:
        if at.tzinfo is None:
            raise ValueError(f"naive datetime {at!r} given where UTC time is required")
        at = at.astimezone(_UTC)
    return at


def _sqlite_row(change: Change) -> list[Any]:
    """The change's audit-event row, as SQLAlchemy's column types hand it to sqlite3, id None.

    ``at``: ``UTCDateTime`` makes it naive UTC and SQLite's ``DATETIME`` writes
    ``YYYY-MM-DD HH:MM:SS.ffffff``; the states: ``json.dumps``, ``null`` for None (the JSON type
    stores None as JSON). A test compares the stored rows with a plain Core insert's.
    """
    at = _check_utc(change.at)
    return [
        None,
        _SQLITE_DATETIME
        % (at.year, at.month, at.day, at.hour, at.minute, at.second, at.microsecond),
        change.actor,
        change.action,
        change.object_type,
        change.object_id,
        _dumps(change.before),
        _dumps(change.after),
    ]


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
    # SQLite cannot order RETURNING over many rows: see _insert_sqlite_rows.
    if _default_json(dialect):
        values = [_sqlite_row(change) for change in changes]
    else:
        values = [[None, *_audit_values(change, dialect)] for change in changes]
    return _insert_sqlite_rows(connection, values)


def _insert_sqlite_rows(connection: Connection, rows: list[list[Any]]) -> range:
    """Insert SQLite audit rows (``[None, at, actor, ...]``) in order; their ids, set in place.

    The first insert (its id NULL) takes the database's write lock and the next rowid (one more
    than the largest); nobody else can insert until we commit, so the others follow it.
    """
    names = ("id", *_quoted(connection.dialect))
    table = AuditEvent.__tablename__
    cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        rows[0][0] = None
        insert_rows(cursor, table, names, rows[:1])
        first = int(cursor.lastrowid)
        rows[0][0] = first
        for event_id, row in enumerate(rows[1:], first + 1):
            row[0] = event_id
        insert_rows(cursor, table, names, rows[1:])
    finally:
        cursor.close()
    return range(first, first + len(rows))


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
