"""The trail's tables and the queries the log needs (SQLite and PostgreSQL alike).

``trail_state`` is the head of the log (one row: size, root, and a version bumped by every append,
whose UPDATE is the lock that serialises appenders across processes); ``trail_leaves`` maps each
leaf index to its audit event and keeps the entry bytes; ``trail_tiles`` holds the tree's hashes as
fat tiles (see ``tiles.py``); ``trail_checkpoints`` every signed checkpoint.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections import OrderedDict
from collections.abc import Iterable, Sequence

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
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, Session, mapped_column

from assay.platform.db import Base, UTCDateTime
from assay.trail import tiles
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


def lock_head(session: Session) -> TrailState:
    """Take the appenders' lock (an UPDATE of the head row) and return the head."""
    session.execute(
        update(TrailState).where(TrailState.id == STATE_ID).values(version=TrailState.version + 1)
    )
    return session.scalars(select(TrailState).where(TrailState.id == STATE_ID)).one()


def head(session: Session) -> TrailState:
    """The head, without locking."""
    return session.scalars(select(TrailState).where(TrailState.id == STATE_ID)).one()


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


def write_tiles(session: Session, buffers: Iterable[tiles.TileBuffer]) -> None:
    """Insert or replace tiles."""
    rows = [
        {"level": b.tile.level, "idx": b.tile.index, "width": b.width, "data": b.encode()}
        for b in buffers
    ]
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    stmt = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(TrailTile)
    stmt = stmt.on_conflict_do_update(
        index_elements=[TrailTile.level, TrailTile.idx],
        set_={"width": stmt.excluded.width, "data": stmt.excluded.data},
    )
    session.execute(stmt, rows)


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
