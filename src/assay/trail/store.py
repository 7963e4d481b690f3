"""The trail's tables and the queries the log needs (SQLite and PostgreSQL alike).

``trail_state`` is the head of the log (one row: size, root, and a version bumped by every append,
whose UPDATE is the lock that serialises appenders across processes); ``trail_leaves`` maps each
leaf index to its audit event and keeps the entry bytes; ``trail_tiles`` holds the tree's hashes as
fat tiles (see ``tiles.py``); ``trail_checkpoints`` every signed checkpoint.

Reads for pages, proofs and verification go through the ORM. The append path, which runs once per
group commit, goes through :class:`Statements`: plain SQL on the session's own DBAPI connection
(so in its transaction), about a seventh of the cost of a compiled SQLAlchemy statement each.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import (
    BigInteger,
    ForeignKey,
    Integer,
    LargeBinary,
    Select,
    SmallInteger,
    String,
    Text,
    bindparam,
    select,
)
from sqlalchemy.orm import Mapped, Session, mapped_column
from sqlalchemy.orm.util import identity_key

from assay.platform.db import Base, UTCDateTime, insert_rows
from assay.trail.tiles import TileId


class TrailState(Base):
    """The head of the log."""

    __tablename__ = "trail_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)
    root: Mapped[bytes] = mapped_column(LargeBinary(32))
    version: Mapped[int] = mapped_column(BigInteger)


class TrailLeaf(Base):
    """One leaf: its index, the audit event it commits to, and the entry bytes."""

    __tablename__ = "trail_leaves"

    leaf_index: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    event_id: Mapped[int] = mapped_column(ForeignKey("audit_events.id"), unique=True)
    entry: Mapped[bytes] = mapped_column(LargeBinary)


class TrailTile(Base):
    """A fat tile of the tree's hashes."""

    __tablename__ = "trail_tiles"

    level: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    idx: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    width: Mapped[int] = mapped_column(SmallInteger)
    data: Mapped[bytes] = mapped_column(LargeBinary)


class TrailCheckpoint(Base):
    """A signed checkpoint (a C2SP signed note)."""

    __tablename__ = "trail_checkpoints"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger, index=True)
    root: Mapped[bytes] = mapped_column(LargeBinary(32))
    note: Mapped[str] = mapped_column(Text)
    key_id: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


STATE_ID = 1


def head(session: Session) -> TrailState:
    """The head, without locking."""
    return session.scalars(select(TrailState).where(TrailState.id == STATE_ID)).one()


def forget_head(session: Session) -> None:
    """Make the session read the head again (after :class:`Statements` changed it)."""
    loaded = session.identity_map.get(_head_key())
    if loaded is not None:
        session.expire(loaded)


@functools.cache
def _head_key() -> Any:
    return identity_key(TrailState, STATE_ID)


class Statements:
    """The append path's queries, as plain SQL on the session's DBAPI connection.

    Same SQL on SQLite and PostgreSQL (``ON CONFLICT`` and ``RETURNING`` exist on both); only the
    parameter markers differ. Nothing here is seen by the ORM: call :func:`forget_head` after
    :meth:`set_head`.
    """

    def __init__(self, session: Session) -> None:
        connection = session.connection()
        style = connection.dialect.paramstyle
        if style not in ("qmark", "format", "pyformat"):
            raise NotImplementedError(f"parameter style {style!r}")  # sqlite3 and psycopg only
        self._mark = "?" if style == "qmark" else "%s"
        driver = connection.connection.driver_connection
        assert driver is not None  # noqa: S101 - the session's connection is open
        self._cursor: Any = driver.cursor()

    def _sql(self, text: str) -> str:
        return text if self._mark == "?" else text.replace("?", self._mark)

    def close(self) -> None:
        """Release the cursor."""
        self._cursor.close()

    def lock_head(self) -> tuple[int, bytes]:
        """Take the appenders' lock (bump the head's version) and return (size, root)."""
        cursor = self._cursor
        cursor.execute(
            f"UPDATE trail_state SET version = version + 1 WHERE id = {STATE_ID} "  # noqa: S608
            "RETURNING size, root"
        )
        size, root = cursor.fetchone()
        return int(size), bytes(root)

    def head_size(self) -> int:
        """The head's size, without locking."""
        cursor = self._cursor
        cursor.execute(f"SELECT size FROM trail_state WHERE id = {STATE_ID}")  # noqa: S608
        return int(cursor.fetchone()[0])

    def latest_checkpoint(self) -> tuple[int, int, bytes] | None:
        """(id, size, root) of the most recent checkpoint, if any."""
        cursor = self._cursor
        cursor.execute("SELECT id, size, root FROM trail_checkpoints ORDER BY id DESC LIMIT 1")
        found = cursor.fetchone()
        return None if found is None else (int(found[0]), int(found[1]), bytes(found[2]))

    def tiles(self, ids: Iterable[TileId]) -> dict[TileId, tuple[int, Any]]:
        """(width, data) of the stored tiles among ``ids``, in one query (a few ids at most)."""
        wanted = sorted(ids)
        if not wanted:
            return {}
        cursor = self._cursor
        cursor.execute(
            self._sql(_tiles_query(len(wanted))),
            [value for tile in wanted for value in tile],
        )
        return {TileId(level, idx): (width, data) for level, idx, width, data in cursor}

    def insert_leaves(self, rows: Sequence[tuple[int, int, bytes]]) -> None:
        """Insert (leaf_index, event_id, entry) rows."""
        insert_rows(
            self._cursor, "trail_leaves", ("leaf_index", "event_id", "entry"), rows, self._mark
        )

    def put_tiles(self, rows: Sequence[tuple[int, int, int, bytes]]) -> None:
        """Insert or replace (level, idx, width, data) tiles."""
        self._cursor.executemany(
            self._sql(
                "INSERT INTO trail_tiles (level, idx, width, data) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (level, idx) DO UPDATE SET width = excluded.width, "
                "data = excluded.data"
            ),
            rows,
        )

    def set_head(self, size: int, root: bytes) -> None:
        """Store the new head."""
        self._cursor.execute(
            self._sql(f"UPDATE trail_state SET size = ?, root = ? WHERE id = {STATE_ID}"),  # noqa: S608
            (size, root),
        )


@functools.cache
def _tiles_query(count: int) -> str:
    # One primary-key search per tile, OR-ed: both SQLite and PostgreSQL plan it as such.
    terms = " OR ".join(["(level = ? AND idx = ?)"] * count)
    return f"SELECT level, idx, width, data FROM trail_tiles WHERE {terms}"  # noqa: S608


def read_tiles(session: Session, ids: Iterable[TileId]) -> dict[TileId, TrailTile]:
    """The stored tiles among ``ids``, in one query per tile level.

    Not one ``(level, idx) IN (...)`` query: SQLite plans a row-value IN list as a scan of the
    whole primary-key index, which at 10M entries made every append and checkpoint read ~40k
    index entries; ``level = ? AND idx IN (...)`` is a direct search.
    """
    by_level: dict[int, set[int]] = {}
    for tile in ids:
        by_level.setdefault(tile.level, set()).add(tile.index)
    found: dict[TileId, TrailTile] = {}
    for level, indexes in by_level.items():
        rows = session.scalars(
            select(TrailTile).where(TrailTile.level == level, TrailTile.idx.in_(sorted(indexes)))
        )
        found.update((TileId(row.level, row.idx), row) for row in rows)
    return found


@functools.cache
def _tile_data_query() -> Select[int, int, bytes]:
    return select(TrailTile.idx, TrailTile.width, TrailTile.data).where(
        TrailTile.level == bindparam("level"),
        TrailTile.idx.in_(bindparam("ids", expanding=True)),
    )


def read_tile_data(session: Session, ids: Iterable[TileId]) -> dict[TileId, tuple[int, bytes]]:
    """(width, data) of the stored tiles among ``ids``: one query per tile level.

    The proofs' read path: a plain column query on the session's connection, several times
    cheaper than loading ``TrailTile`` objects (which a proof never needs).
    """
    by_level: dict[int, set[int]] = {}
    for tile in ids:
        by_level.setdefault(tile.level, set()).add(tile.index)
    found: dict[TileId, tuple[int, bytes]] = {}
    if not by_level:
        return found
    connection = session.connection()
    for level, indexes in by_level.items():
        rows = connection.execute(_tile_data_query(), {"level": level, "ids": sorted(indexes)})
        for idx, width, data in rows:
            found[TileId(level, idx)] = (width, data)
    return found


def latest_checkpoint(session: Session) -> TrailCheckpoint | None:
    """The most recent checkpoint, if any."""
    return session.scalars(
        select(TrailCheckpoint).order_by(TrailCheckpoint.id.desc()).limit(1)
    ).first()


def leaves(session: Session, start: int, stop: int) -> Sequence[TrailLeaf]:
    """Leaves ``start .. stop-1``, in order."""
    query = (
        select(TrailLeaf)
        .where(TrailLeaf.leaf_index >= start, TrailLeaf.leaf_index < stop)
        .order_by(TrailLeaf.leaf_index)
    )
    return session.scalars(query).all()


class TileCache:
    """Recently read tiles, per process.

    Tiles only ever grow, and a node once stored never changes, so a cached tile answers for
    every node it holds; a reader asking for a node beyond the cached width reads the tile again.
    """

    def __init__(self, capacity: int = 4096) -> None:
        self.capacity = capacity
        self._tiles: OrderedDict[tuple[int, int], tuple[int, bytes]] = OrderedDict()

    def get(self, tile: tuple[int, int]) -> tuple[int, bytes] | None:
        """(width, data) of a cached tile, if held (a TileId or a plain (level, index))."""
        found = self._tiles.get(tile)
        if found is not None:
            self._tiles.move_to_end(tile)
        return found

    def put(self, tile: TileId, width: int, data: bytes) -> None:
        """Remember a tile as read."""
        self._tiles[tile] = (width, data)
        self._tiles.move_to_end(tile)
        while len(self._tiles) > self.capacity:
            self._tiles.popitem(last=False)

    def clear(self) -> None:
        """Forget everything (after a verification found the store changed, for instance)."""
        self._tiles.clear()
