"""The durable log: appending recorded events as leaves, reading hashes back for proofs.

Appends happen inside the caller's transaction (the business change, or a group-commit batch),
after taking the head lock, so leaves, tiles and head commit together with the events or not at
all. Before appending, the stored state is checked against itself and against the latest signed
checkpoint: a log whose stored hashes no longer produce the signed root refuses to grow.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import insert
from sqlalchemy.orm import Session

from assay.platform.record import RecordedEvent
from assay.trail import store, tiles, tlog
from assay.trail.entry import entry_for
from assay.trail.errors import TrailTampered
from assay.trail.rfc9162 import leaf_hash
from assay.trail.store import TileCache, TrailTile
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


def edge_tiles(session: Session, size: int) -> dict[int, TileBuffer]:
    """The rightmost, partly filled tile of every tile level of a tree of ``size`` leaves.

    These hold every node of the tree's right edge, and are where the next nodes go.
    """
    expected: dict[TileId, int] = {}
    tile_level = 0
    while (count := size >> (tiles.HEIGHT * tile_level)) > 0:
        width = count % tiles.WIDTH
        if width:
            expected[TileId(tile_level, count // tiles.WIDTH)] = width
        tile_level += 1
    rows: dict[TileId, TrailTile] = store.read_tiles(session, expected)
    buffers: dict[int, TileBuffer] = {}
    for tile, width in expected.items():
        row = rows.get(tile)
        if row is None or row.width != width:
            found = "missing" if row is None else f"of width {row.width}"
            raise TrailTampered(
                f"tile {tile.level}/{tile.index} is {found}; a tree of {size} entries needs "
                f"width {width}"
            )
        try:
            buffers[tile.level] = TileBuffer.decode(tile, width, row.data)
        except ValueError as exc:
            raise TrailTampered(str(exc)) from exc
    return buffers


def check_checkpoint(session: Session, head: store.TrailState, cache: TileCache | None) -> None:
    """Refuse (TrailTampered) when the stored tree no longer produces the latest signed root."""
    latest = store.latest_checkpoint(session)
    if latest is None or latest.size > head.size:
        if latest is not None:
            raise TrailTampered(
                f"checkpoint {latest.id} is for {latest.size} entries but the log holds {head.size}"
            )
        return
    root = (
        head.root
        if latest.size == head.size
        else tlog.tree_root(latest.size, StoreReader(session, cache))
    )
    if root != latest.root:
        raise TrailTampered(
            f"the stored log at size {latest.size} has root {root.hex()}, but checkpoint "
            f"{latest.id} signed {latest.root.hex()}: the stored hashes were changed"
        )


def append(session: Session, events: Sequence[RecordedEvent]) -> list[int]:
    """Append ``events`` as leaves in the session's transaction; returns their leaf indexes."""
    head = store.lock_head(session)
    size = head.size
    buffers = edge_tiles(session, size)
    overlay = {b.tile: b for b in buffers.values()}
    edge = tlog.CompactRange.from_reader(size, StoreReader(session, None, overlay))
    if edge.root() != head.root:
        raise TrailTampered(
            f"the stored tiles give root {edge.root().hex()} for {size} entries, but the head "
            f"says {head.root.hex()}"
        )
    check_checkpoint(session, head, None)  # fresh reads: a cache could hide a changed tile
    dirty: dict[TileId, TileBuffer] = {}
    rows: list[dict[str, Any]] = []
    for offset, event in enumerate(events):
        data = entry_for(
            event=event.id,
            at=event.at,
            actor=event.actor,
            action=event.action,
            object_type=event.object_type,
            object_id=event.object_id,
            before=event.before,
            after=event.after,
        ).to_bytes()
        for level, index, digest in edge.append(leaf_hash(data)):
            tile, row, position = tiles.locate(level, index)
            buffer = buffers.get(tile.level)
            if buffer is None or buffer.tile != tile:
                buffer = buffers[tile.level] = TileBuffer(tile)
            buffer.put(row, position, digest)
            dirty[tile] = buffer
        rows.append({"leaf_index": size + offset, "event_id": event.id, "entry": data})
    if rows:
        session.execute(insert(store.TrailLeaf), rows)
        store.write_tiles(session, dirty.values())
        head.size, head.root = edge.size, edge.root()
        session.flush()
    return [int(r["leaf_index"]) for r in rows]
