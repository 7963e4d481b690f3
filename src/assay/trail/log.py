"""The durable log: appending recorded events as leaves, reading hashes back for proofs.

Appends happen inside the caller's transaction (the business change, or a group-commit batch),
after taking the head lock, so leaves, tiles and head commit together with the events or not at
all. Before appending, the stored state is checked against itself and against the latest signed
checkpoint: a log whose stored hashes no longer produce the signed root refuses to grow.

That check reads, in one query, every tile it needs: the rightmost tile of each level for the
head's size and for the latest checkpoint's (they hold every node of both roots). When the head,
the checkpoint and those tiles are byte for byte what this process last checked or wrote itself,
the check's result still holds and nothing is recomputed; anything else is recomputed from what
is stored. This is what lets a group commit of a few dozen entries cost a few statements.
"""

from __future__ import annotations

import hashlib
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from assay.platform.record import RecordedEvent
from assay.trail import store, tiles, tlog
from assay.trail.entry import entry_parts
from assay.trail.errors import TrailTampered
from assay.trail.store import TileCache
from assay.trail.tiles import TileBuffer, TileId


class StoreReader:
    """A ``tlog.HashReader`` over stored tiles: at most one query per tile level, tiles cached.

    ``overlay`` tiles (an appender's buffers) take precedence over what is stored.
    """

    def __init__(
        self,
        session: Session,
        cache: TileCache | None = None,
        overlay: dict[TileId, TileBuffer] | None = None,
    ) -> None:
        self.session = session
        self.cache = cache
        self.overlay = overlay or {}

    def tiles_for(self, wanted: dict[TileId, int]) -> dict[TileId, tuple[int, bytes]]:
        """(width, data) of each wanted tile (mapped to the width it must at least have)."""
        found: dict[TileId, tuple[int, bytes]] = {}
        missing: set[TileId] = set()
        for tile, need in wanted.items():
            cached = self.cache.get(tile) if self.cache is not None else None
            if tile in self.overlay:
                buffer = self.overlay[tile]
                found[tile] = (buffer.width, buffer.encode())
            elif cached is not None and cached[0] >= need:
                found[tile] = cached
            else:
                missing.add(tile)
        for tile, (width, data) in store.read_tile_data(self.session, missing).items():
            found[tile] = (width, data)
            if self.cache is not None:
                self.cache.put(tile, width, data)
        return found

    def __call__(self, nodes: Sequence[tlog.Node]) -> list[bytes]:
        """The stored hashes of ``nodes``; TrailTampered when one is missing."""
        found = self._from_memory(nodes)
        if found is not None:
            return found
        wanted: dict[TileId, int] = {}
        for level, index in nodes:
            tile, row, position = tiles.locate(level, index)
            # A node at (row, position) exists once the bottom row reaches this width.
            wanted[tile] = max(wanted.get(tile, 0), (position + 1) << row)
        stored = self.tiles_for(wanted)
        out: list[bytes] = []
        for level, index in nodes:
            tile, row, position = tiles.locate(level, index)
            width, data = stored.get(tile, (0, b""))
            digest = tiles.node_in(data, width, row, position)
            if digest is None:
                raise TrailTampered(
                    f"the hash of tree node (level {level}, index {index}) is missing from "
                    f"tile {tile.level}/{tile.index} (width {width})"
                )
            out.append(digest)
        return out

    def _from_memory(self, nodes: Sequence[tlog.Node]) -> list[bytes] | None:
        """The hashes when the overlay and the cache hold them all (no query); else None.

        This is the path of every proof once its tiles are cached, so it is written for speed:
        ``tiles.locate`` inlined, one lookup per tile, one slice per node.
        """
        out: list[bytes] = []
        append = out.append
        places = _PLACES
        # TileId is a tuple: plain (level, index) tuples find the same entries, and are cheaper.
        overlay = cast("dict[tuple[int, int], TileBuffer]", self.overlay)
        cache = self.cache
        current = (-1, -1)
        width, data = 0, b""
        starts: tuple[int, ...] = ()
        for level, index in nodes:
            if level >= _LEVELS:
                return None
            tile_level, row, shift, mask = places[level]
            key = (tile_level, index >> shift)
            if key != current:  # consecutive nodes of a proof mostly share a tile
                buffer = overlay.get(key)
                if buffer is not None:
                    width, data = buffer.width, buffer.encode()
                else:
                    cached = cache.get(key) if cache is not None else None
                    if cached is None:
                        return None
                    width, data = cached
                starts = tiles.row_starts(width)
                current = key
            position = index & mask
            if position >= width >> row:
                return None  # the cached tile is narrower than this node needs: read it again
            start = (starts[row] + position) * _HASH
            append(data[start : start + _HASH])
        return out


_HASH = tiles.HASH_SIZE
_LEVELS = 64
#: Per tree level: its tile level, its row in the tile, and how a node index splits into the
#: tile's index (``index >> shift``) and the position in the row (``index & mask``).
_PLACES = tuple(
    (level // tiles.HEIGHT, row, tiles.HEIGHT - row, (1 << (tiles.HEIGHT - row)) - 1)
    for level in range(_LEVELS)
    for row in (level % tiles.HEIGHT,)
)


def edge_widths(size: int) -> dict[TileId, int]:
    """The rightmost, partly filled tile of every tile level of a tree of ``size`` leaves.

    Mapped to its width. These hold every node of the tree's right edge (so every node of its
    root), and are where the next nodes go.
    """
    widths: dict[TileId, int] = {}
    tile_level = 0
    while (count := size >> (tiles.HEIGHT * tile_level)) > 0:
        width = count % tiles.WIDTH
        if width:
            widths[TileId(tile_level, count // tiles.WIDTH)] = width
        tile_level += 1
    return widths


@dataclass(frozen=True)
class Head:
    """The head of the log, locked and checked in this transaction: what may be built on."""

    size: int
    root: bytes
    #: (id, size, root) of the latest checkpoint, if any.
    checkpoint: tuple[int, int, bytes] | None

    @property
    def checkpoint_size(self) -> int:
        """The size the latest checkpoint signed (0 for none)."""
        return self.checkpoint[1] if self.checkpoint else 0


@dataclass
class _Checked:
    """A stored state known to be consistent, and exactly what was read (or written) for it."""

    head: Head
    tiles: dict[TileId, tuple[int, Any]]  # (width, data) of every tile the check reads
    edge: tlog.CompactRange
    buffers: dict[int, TileBuffer]  # the head's edge tiles, by tile level

    def holds_for(self, head: Head, stored: dict[TileId, tuple[int, Any]]) -> bool:
        """Whether ``head`` and the ``stored`` tiles it needs are exactly this state."""
        return head == self.head and stored == self.tiles


#: Per database, the state this process last checked or wrote (taken while in use).
_CHECKED: weakref.WeakKeyDictionary[Engine, _Checked] = weakref.WeakKeyDictionary()


def _engine(session: Session) -> Engine:
    """The engine the session's database is reached through (it may be bound to a connection)."""
    bind = session.get_bind()
    return bind if isinstance(bind, Engine) else bind.engine


def _wanted(head: Head) -> dict[TileId, int]:
    """The tiles the check reads: the edge tiles of the head and of the latest checkpoint."""
    wanted = edge_widths(head.size)
    if head.checkpoint is not None and head.checkpoint[1] < head.size:
        for tile, width in edge_widths(head.checkpoint[1]).items():
            wanted[tile] = max(width, wanted.get(tile, 0))
    return wanted


def _lock(session: Session, sql: store.Statements) -> _Checked:
    """Lock the head and check the stored log; the checked state, taken out of the memo."""
    size, root = sql.lock_head()
    head = Head(size, root, sql.latest_checkpoint())
    if head.checkpoint is not None and head.checkpoint[1] > size:
        raise TrailTampered(
            f"checkpoint {head.checkpoint[0]} is for {head.checkpoint[1]} entries but the log "
            f"holds {size}"
        )
    stored = sql.tiles(_wanted(head))
    known = _CHECKED.pop(_engine(session), None)
    if known is not None and known.holds_for(head, stored):
        return known
    return _check(session, head, stored)


def _check(session: Session, head: Head, stored: dict[TileId, tuple[int, Any]]) -> _Checked:
    """Recompute the head's and the checkpoint's roots from the stored tiles.

    Raises:
        TrailTampered: a tile is missing or malformed, or either root differs.
    """
    buffers: dict[int, TileBuffer] = {}
    for tile, width in edge_widths(head.size).items():
        found = stored.get(tile)
        if found is None or found[0] != width:
            what = "missing" if found is None else f"of width {found[0]}"
            raise TrailTampered(
                f"tile {tile.level}/{tile.index} is {what}; a tree of {head.size} entries needs "
                f"width {width}"
            )
        try:
            buffers[tile.level] = TileBuffer.decode(tile, width, _binary(tile, found[1]))
        except ValueError as exc:
            raise TrailTampered(str(exc)) from exc
    cache = TileCache()
    for tile, (width, data) in stored.items():
        cache.put(tile, width, _binary(tile, data))
    reader = StoreReader(session, cache, {b.tile: b for b in buffers.values()})
    edge = tlog.CompactRange.from_reader(head.size, reader)
    if edge.root() != head.root:
        raise TrailTampered(
            f"the stored tiles give root {edge.root().hex()} for {head.size} entries, but the "
            f"head says {head.root.hex()}"
        )
    if head.checkpoint is not None:
        number, size, signed = head.checkpoint
        root = head.root if size == head.size else tlog.tree_root(size, reader)
        if root != signed:
            raise TrailTampered(
                f"the stored log at size {size} has root {root.hex()}, but checkpoint "
                f"{number} signed {signed.hex()}: the stored hashes were changed"
            )
    return _Checked(head, stored, edge, buffers)


def _binary(tile: TileId, data: object) -> bytes:
    if not isinstance(data, bytes):
        raise TrailTampered(
            f"tile {tile.level}/{tile.index} holds {type(data).__name__}, not bytes"
        )
    return data


def lock(session: Session) -> Head:
    """Take the appenders' lock and check the stored log (TrailTampered when it is not right)."""
    sql = store.Statements(session)
    try:
        checked = _lock(session, sql)
    finally:
        sql.close()
    store.forget_head(session)  # its version changed
    _CHECKED[_engine(session)] = checked
    return checked.head


def size(session: Session) -> int:
    """The log's size as the session sees it (one plain query, nothing loaded)."""
    sql = store.Statements(session)
    try:
        return sql.head_size()
    finally:
        sql.close()


def checkpointed(session: Session, head: Head, checkpoint_id: int) -> None:
    """Note that a checkpoint of ``head`` was just stored in the session's transaction."""
    engine = _engine(session)
    known = _CHECKED.get(engine)
    if known is None or known.head != head:
        return
    signed = Head(head.size, head.root, (checkpoint_id, head.size, head.root))
    wanted = _wanted(signed)
    tiles_now = {t: known.tiles[t] for t in wanted if t in known.tiles}
    _CHECKED[engine] = _Checked(signed, tiles_now, known.edge, known.buffers)


def append(
    session: Session,
    events: Sequence[RecordedEvent],
    parts: Sequence[tuple[bytes, bytes]] | None = None,
) -> Head:
    """Append ``events`` as leaves in the session's transaction; returns the new head.

    Leaf ``head.size - len(events) + i`` is ``events[i]``. ``parts``: each event's
    ``entry.entry_parts``, built beforehand (outside the write lock); else built here.
    """
    if parts is not None and len(parts) != len(events):
        raise ValueError(f"{len(parts)} prepared entries for {len(events)} events")
    engine = _engine(session)
    sql = store.Statements(session)
    try:
        checked = _lock(session, sql)
        if events:
            checked = _grow(checked, events, sql, parts)
    finally:
        sql.close()
    store.forget_head(session)
    _CHECKED[engine] = checked
    return checked.head


def _grow(
    checked: _Checked,
    events: Sequence[RecordedEvent],
    sql: store.Statements,
    parts: Sequence[tuple[bytes, bytes]] | None,
) -> _Checked:
    """Append the events to the checked state and store leaves, tiles and head."""
    edge = checked.edge
    size = edge.size
    sha256 = hashlib.sha256
    if parts is None:
        parts = [entry_parts(event) for event in events]
    rows: list[tuple[int, int, bytes]] = []
    hashes: list[bytes] = []
    for index, event, (start, end) in zip(
        range(size, size + len(events)), events, parts, strict=True
    ):
        data = b"%s%d%s" % (start, event.id, end)  # entry.entry_of, from its parts
        rows.append((index, event.id, data))
        hashes.append(sha256(_LEAF_PREFIX + data).digest())  # rfc9162.leaf_hash, inlined
    dirty = _place(edge.extend(hashes), checked.buffers)
    encoded = {b.tile: (b.width, b.encode()) for b in dirty}
    sql.insert_leaves(rows)
    sql.put_tiles([(t.level, t.index, width, data) for t, (width, data) in encoded.items()])
    root = edge.root()
    sql.set_head(edge.size, root)
    head = Head(edge.size, root, checked.head.checkpoint)
    known = checked.tiles | encoded
    tiles_now = {t: known[t] for t in _wanted(head) if t in known}
    return _Checked(head, tiles_now, edge, checked.buffers)


_LEAF_PREFIX = b"\x00"


def _place(
    nodes: Sequence[tuple[int, int, bytes]], buffers: dict[int, TileBuffer]
) -> list[TileBuffer]:
    """Put newly completed nodes in their tiles (``buffers``: the edge tile of each tile level).

    Returns every tile that changed: the edge tiles that grew, and the ones started here.
    """
    widths = [(buffer, buffer.width) for buffer in buffers.values()]
    started: list[TileBuffer] = []
    places = _PLACES
    for level, index, digest in nodes:
        tile_level, row, shift, mask = places[level]  # tiles.locate, without a TileId
        buffer = buffers.get(tile_level)
        if buffer is None or buffer.tile.index != index >> shift:
            buffer = buffers[tile_level] = TileBuffer(TileId(tile_level, index >> shift))
            started.append(buffer)
        hashes = buffer.rows[row]
        if len(hashes) != (index & mask) * _HASH:  # TileBuffer.put's check, inlined
            raise ValueError(
                f"tile {buffer.tile} row {row}: node {index & mask} arrived, "
                f"{len(hashes) // _HASH} expected"
            )
        hashes += digest
    return [buffer for buffer, width in widths if buffer.width != width] + started
