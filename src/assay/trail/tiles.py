"""How the tree's hashes are stored: tiles of height 8, as in C2SP tlog-tiles, kept "fat".

A tile at tile level ``T`` and index ``N`` covers the tree-level-``8T`` hashes with indices
``N*256 .. N*256+255``. C2SP serves only those hashes (the tile's bottom row). We also keep the
tile's inner rows, tree levels ``8T+1 .. 8T+7``, so that every node a proof needs is read, never
recomputed: the stored ``data`` is row 0 (``w`` hashes), then row 1 (``w >> 1``), ... row 7
(``w >> 7``), where ``w`` is the tile's width. A tile of width 256 is full and never changes again.
This module is pure: layout arithmetic and the C2SP path grammar, no storage.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from typing import NamedTuple

HEIGHT = 8
WIDTH = 1 << HEIGHT
HASH_SIZE = 32


class TileId(NamedTuple):
    """A tile's address: tile level and index.

    A tuple, so that the proof path can look tiles up with plain ``(level, index)`` keys without
    building one of these per node (see ``log.StoreReader``).
    """

    level: int
    # C2SP's word for a tile's position; it hides tuple.index, which nothing here calls.
    index: int  # type: ignore[assignment]


def locate(level: int, index: int) -> tuple[TileId, int, int]:
    """Where tree node (level, index) lives: its tile, row within the tile, position in the row."""
    tile_level, row = divmod(level, HEIGHT)
    per_tile = WIDTH >> row
    return TileId(tile_level, index // per_tile), row, index % per_tile


def row_offsets(width: int) -> list[int]:
    """Start (in hashes) of each row of a tile of ``width``, plus the total as a last element."""
    return list(row_starts(width))


@functools.cache
def row_starts(width: int) -> tuple[int, ...]:
    """:func:`row_offsets` as a tuple, computed once per width (proofs ask for it per node)."""
    offsets, total = [], 0
    for row in range(HEIGHT):
        offsets.append(total)
        total += width >> row
    offsets.append(total)
    return tuple(offsets)


@dataclass
class TileBuffer:
    """A tile being filled: each row's hashes, concatenated (a row grows at its end only).

    A row is one ``bytearray`` rather than a list of hashes: decoding a stored tile is then
    one slice per row and encoding it one join, which the log does for its edge tiles on
    every append.
    """

    tile: TileId
    rows: list[bytearray] = field(default_factory=lambda: [bytearray() for _ in range(HEIGHT)])

    @property
    def width(self) -> int:
        """How many bottom-row hashes the tile holds."""
        return len(self.rows[0]) // HASH_SIZE

    def count(self, row: int) -> int:
        """How many hashes ``row`` holds."""
        return len(self.rows[row]) // HASH_SIZE

    def put(self, row: int, position: int, digest: bytes) -> None:
        """Store a newly completed node; nodes arrive in order, so it is always appended."""
        if position != self.count(row) or len(digest) != HASH_SIZE:
            raise ValueError(
                f"tile {self.tile} row {row}: node {position} of {len(digest)} bytes arrived, "
                f"node {self.count(row)} of {HASH_SIZE} expected"
            )
        self.rows[row] += digest

    def encode(self) -> bytes:
        """The stored form: rows 0..7 concatenated."""
        return b"".join(self.rows)

    @classmethod
    def decode(cls, tile: TileId, width: int, data: bytes) -> TileBuffer:
        """Rebuild a buffer from stored data; ValueError when the length does not fit ``width``."""
        offsets = row_offsets(width)
        if len(data) != offsets[-1] * HASH_SIZE:
            raise ValueError(
                f"tile {tile.level}/{tile.index} holds {len(data)} bytes, "
                f"{offsets[-1] * HASH_SIZE} expected for width {width}"
            )
        buffer = cls(tile)
        for row in range(HEIGHT):
            buffer.rows[row] = bytearray(
                data[offsets[row] * HASH_SIZE : offsets[row + 1] * HASH_SIZE]
            )
        return buffer


def node_in(data: bytes, width: int, row: int, position: int) -> bytes | None:
    """The hash at (row, position) of a stored tile, or None if the tile does not hold it yet."""
    if position >= width >> row:
        return None
    start = (row_starts(width)[row] + position) * HASH_SIZE
    return data[start : start + HASH_SIZE]


def bottom_row(data: bytes, width: int) -> bytes:
    """The C2SP tile: the ``width`` hashes of the tile's bottom row."""
    return data[: width * HASH_SIZE]


# --- C2SP tlog-tiles paths -------------------------------------------------------------------

_INDEX = re.compile(r"^(?:x\d{3}/)*\d{3}$")


def encode_index(index: int) -> str:
    """A tile index as a path: groups of three digits, all but the last prefixed ``x``."""
    digits = str(index)
    digits = "0" * (-len(digits) % 3) + digits
    groups = [digits[i : i + 3] for i in range(0, len(digits), 3)]
    return "/".join([*(f"x{g}" for g in groups[:-1]), groups[-1]])


def decode_index(path: str) -> int:
    """The tile index a path names; ValueError for anything not in the C2SP grammar."""
    if not _INDEX.match(path):
        raise ValueError(f"{path!r} is not a tile index path (e.g. 067 or x001/x234/067)")
    groups = path.split("/")
    if len(groups) > 1 and groups[0] == "x000":
        raise ValueError(f"{path!r} has a leading zero group")
    return int("".join(g.removeprefix("x") for g in groups))


def tile_path(level: int | str, index: int, width: int = WIDTH) -> str:
    """``tile/<L>/<N>[.p/<W>]`` (``L`` is ``entries`` for entry bundles)."""
    path = f"tile/{level}/{encode_index(index)}"
    return path if width == WIDTH else f"{path}.p/{width}"


def parse_tile_path(path: str) -> tuple[int | str, int, int]:
    """(level, index, width) of ``<L>/<N>[.p/<W>]``; level is ``"entries"`` for bundles."""
    level_text, _, rest = path.partition("/")
    width = WIDTH
    if ".p/" in rest:
        rest, _, width_text = rest.partition(".p/")
        if not width_text.isdigit() or not 1 <= int(width_text) < WIDTH:
            raise ValueError(f"partial width {width_text!r} must be 1..{WIDTH - 1}")
        width = int(width_text)
    level: int | str
    if level_text == "entries":
        level = level_text
    elif level_text.isdigit() and len(level_text) <= 2:
        level = int(level_text)
    else:
        raise ValueError(f"tile level {level_text!r} must be a number or 'entries'")
    return level, decode_index(rest), width
