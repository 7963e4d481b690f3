"""Database engine, the declarative base, and the unit of work.

SQLite (the embedded default) runs in WAL mode with foreign keys on; PostgreSQL is reached through
psycopg 3. An engine is built by :class:`Database`, created by a composition root, never at import.
Connection failures are translated here into :class:`~assay.errors.DatabaseUnavailable`.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Sequence
from itertools import chain
from pathlib import Path
from types import TracebackType
from typing import Any

from sqlalchemy import Connection, DateTime, Engine, MetaData, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

from assay.errors import ConfigurationError, DatabaseUnavailable

#: Constraint names are stable across backends so migrations can refer to them.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base of every Assay table, in every capability."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """A timestamp stored as naive UTC and always returned timezone-aware (UTC).

    SQLite keeps no zone; storing UTC everywhere makes both backends compare the same way.
    """

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, _dialect: Any) -> dt.datetime | None:
        """Convert an aware datetime to naive UTC; refuse naive ones (their zone is unknown)."""
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r} given where UTC time is required")
        return value.astimezone(dt.UTC).replace(tzinfo=None)

    def process_result_value(self, value: dt.datetime | None, _dialect: Any) -> dt.datetime | None:
        """Attach UTC to the stored value."""
        return None if value is None else value.replace(tzinfo=dt.UTC)


def redact_url(url: str) -> str:
    """The URL with its password hidden, safe to print."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unparseable database URL>"


def insert_rows(
    cursor: Any, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]], mark: str = "?"
) -> None:
    """Insert ``rows`` through a DBAPI cursor in a few multi-row ``INSERT ... VALUES`` statements.

    An ``executemany`` steps the database once per row, and sqlite3 lets go of the GIL and takes
    it back at every step: with other threads busy, taking it back is what costs. One statement
    per power of two of rows (at most 256) takes a handful of steps for a whole batch, and the
    driver's statement cache keeps every shape. ``mark`` is the driver's placeholder (``?`` for
    sqlite3, ``%s`` for psycopg).
    """
    done = 0
    columns = tuple(columns)
    flat = chain.from_iterable
    while done < len(rows):
        count = min(1 << ((len(rows) - done).bit_length() - 1), _MAX_ROWS)
        sql = _insert_sql(table, columns, count, mark)
        cursor.execute(sql, list(flat(rows[done : done + count])))
        done += count


_MAX_ROWS = 256


@functools.cache
def _insert_sql(table: str, columns: tuple[str, ...], count: int, mark: str) -> str:
    row = "(" + ", ".join([mark] * len(columns)) + ")"
    values = ", ".join([row] * count)
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES {values}"  # noqa: S608


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def build_engine(url: str) -> Engine:
    """Create the engine for ``url``: WAL-mode SQLite or PostgreSQL.

    Raises:
        ConfigurationError: the URL cannot be parsed or names a driver that is not installed.
    """
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise ConfigurationError(
            f"ASSAY_DATABASE_URL {redact_url(url)!r} is not a database URL "
            "(expected sqlite:///path or postgresql+psycopg://user@host/db)",
            field="ASSAY_DATABASE_URL",
        ) from exc
    if parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    kwargs: dict[str, Any] = {}
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": 10}
    else:
        kwargs["pool_pre_ping"] = True
        kwargs["connect_args"] = {"connect_timeout": 5}
    try:
        engine = create_engine(parsed, **kwargs)
    except (NoSuchModuleError, ImportError) as exc:
        raise ConfigurationError(
            f"ASSAY_DATABASE_URL names driver {parsed.drivername!r}, which is not installed; "
            "use sqlite:/// or postgresql+psycopg://",
            field="ASSAY_DATABASE_URL",
        ) from exc
    if parsed.get_backend_name() == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


class Database:
    """One database: its engine and the factory of units of work."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = build_engine(url)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @property
    def backend(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self.engine.dialect.name

    def unavailable(self, exc: BaseException) -> DatabaseUnavailable:
        """The error to report when this database cannot be used."""
        reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0] if str(exc) else repr(exc)
        return DatabaseUnavailable(
            f"cannot reach the database at {redact_url(self.url)}: {reason}",
            field="ASSAY_DATABASE_URL",
        )

    def ping(self) -> None:
        """Run a trivial query, raising DatabaseUnavailable when the database cannot answer."""
        try:
            with self.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except DBAPIError as exc:
            raise self.unavailable(exc) from exc

    def uow(self, connection: Connection | None = None) -> UnitOfWork:
        """A new unit of work (use it as a context manager).

        ``connection``: work on this connection (from :meth:`connect`), which the caller keeps
        from one unit of work to the next and closes, instead of taking one from the pool each
        time. The trail's group commit does: a check-out and check-in from the pool cost about
        as much as a small batch's inserts.
        """
        return UnitOfWork(self, connection)

    def connect(self) -> Connection:
        """A connection of the caller's own (DatabaseUnavailable when it cannot be made)."""
        try:
            return self.engine.connect()
        except DBAPIError as exc:
            raise self.unavailable(exc) from exc

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()


class UnitOfWork:
    """One transaction's worth of work: a session that commits only when told to.

    ``with db.uow() as uow: ...; uow.commit()`` - leaving the block rolls back whatever was not
    committed, so a failed request or command stores nothing half-done.
    """

    session: Session

    def __init__(self, database: Database, connection: Connection | None = None) -> None:
        self.database = database
        self._connection = connection

    def __enter__(self) -> UnitOfWork:
        if self._connection is None:
            self.session = self.database._sessions()
        else:  # the session begins, commits or rolls back its transactions on the connection
            self.session = self.database._sessions(bind=self._connection)
        try:
            self.session.connection()
        except DBAPIError as exc:
            self.session.close()
            raise self.database.unavailable(exc) from exc
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # close() rolls back whatever was not committed and, unlike rollback(), leaves loaded
        # objects readable after the block.
        self.session.close()

    def commit(self) -> None:
        """Make everything done so far durable."""
        self.session.commit()

    def rollback(self) -> None:
        """Discard everything not yet committed."""
        self.session.rollback()
