"""The parallel OKX V2 tree audit's work in the workers: the index pass and a column's check.

A range of lines of one level and everything below them, down to the leaves, is independent of
the rest of the tree: the children of the real lines ``k0`` to ``k1`` of a level are lines
``2*k0`` to ``2*k1`` of the level below (file order, right end first). The parallel audit
(:mod:`assay.reserves.okx_parallel`) cuts the levels into such :class:`Column` tasks;
:func:`check_column` checks one from the bottom up, each line read (``os.pread`` through
:class:`TreeFile`) and parsed once (:mod:`assay.reserves.okx_fast_parse`).
:func:`count_newlines` is the index pass, counting the newlines of 64 KB blocks. The workers
find the file and its levels in what they inherit by fork (:func:`share`).

It holds one column per worker (a few tens of MB), never writes, and raises nothing of its own.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from assay.reserves.okx_fast_parse import Ints, PlainLines, parents_recompute, parse_plain
from assay.reserves.okx_format import UNIT
from assay.reserves.okx_layout import Level

#: Bytes per block of the index pass (an anchor each).
INDEX_BLOCK = 1 << 16
#: Lines parsed per numpy block (their temporaries stay in the processor's cache).
BLOCK_LINES = 8192


class TreeFile:
    """The tree file as a worker reads it: ``pread`` of whole lines, found by line number."""

    def __init__(self, path: Path, size: int) -> None:
        self.fd = os.open(path, os.O_RDONLY)
        self.size = size
        self.mean_line = 128.0
        self.anchor_lines: Ints = np.ones(1, dtype=np.int64)
        self.anchor_offsets: Ints = np.zeros(1, dtype=np.int64)

    def close(self) -> None:
        """Release the file descriptor."""
        os.close(self.fd)

    def lines(self, offset: int, count: int) -> tuple[bytes, Ints] | None:
        """Exactly ``count`` lines from ``offset``, each ending in a newline, and where those are.

        The file's last line gets its newline if it has none; None if the file ends first.
        """
        want = int(count * self.mean_line * 1.2) + 4096
        data = os.pread(self.fd, want, offset)
        while True:
            newlines = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == 10)
            if newlines.size >= count:
                return data[: int(newlines[count - 1]) + 1], newlines[:count]
            if offset + len(data) >= self.size:
                if newlines.size == count - 1 and data and not data.endswith(b"\n"):
                    data += b"\n"
                    return data, np.append(newlines, len(data) - 1)
                return None
            data += os.pread(self.fd, max(want, 1 << 16), offset + len(data))

    def offset(self, line: int) -> int:
        """Byte offset of line ``line`` (1-based), from the nearest anchor before it."""
        k = int(np.searchsorted(self.anchor_lines, line, side="right")) - 1
        offset, skip = int(self.anchor_offsets[k]), line - int(self.anchor_lines[k])
        if skip == 0:
            return offset
        got = self.lines(offset, skip)
        return self.size if got is None else offset + len(got[0])

    def span(self, line: int, count: int) -> bytes:
        """Lines ``line`` to ``line + count - 1`` (their ends found from the anchors)."""
        start, end = self.offset(line), self.offset(line + count)
        data = os.pread(self.fd, end - start, start)
        return data if data.endswith(b"\n") else data + b"\n"


@dataclass(frozen=True)
class Column:
    """Lines ``first`` to ``end`` (file order) of the level at ``top``, and below to ``bottom``."""

    top: int
    first: int
    end: int
    bottom: int


@dataclass(frozen=True)
class ColumnOutcome:
    """A column's outcome: clean or not, its leaves' sums, the lines it checked as children."""

    clean: bool
    leaf_sums: tuple[int, int, int]
    lines: int


@dataclass
class WorkerState:
    """What a worker holds: the file with its anchors, and the levels."""

    file: TreeFile
    levels: dict[int, Level]


_STATE: WorkerState | None = None


def share(state: WorkerState | None) -> None:
    """What workers forked from now on inherit: the file and its levels (None: nothing)."""
    global _STATE  # noqa: PLW0603 - what forked workers inherit
    _STATE = state


def _state() -> WorkerState:
    if _STATE is None:  # pragma: no cover - set before any worker starts
        raise RuntimeError("no tree file is being audited in this process")
    return _STATE


def count_newlines(blocks: range) -> tuple[int, list[int], list[int]]:
    """Index pass: per block of ``blocks``, its newlines and the offset of its first one."""
    fd = _state().file.fd
    counts, firsts = [], []
    for block in blocks:
        data = os.pread(fd, INDEX_BLOCK, block * INDEX_BLOCK)
        counts.append(data.count(b"\n"))
        firsts.append(data.find(b"\n"))
    return blocks.start, counts, firsts


def _spans(column: Column, levels: dict[int, Level]) -> dict[int, tuple[int, int]]:
    """The column's lines at each level, from its top down (fewer levels if only padding)."""
    spans = {column.top: (column.first, column.end)}
    for height in range(column.top, column.bottom, -1):
        first, end = spans[height]
        pad = int(levels[height].padded)
        k0, k1 = max(first, pad) - pad, end - pad
        if k1 <= k0:
            break  # only a padding copy, which has no children
        spans[height - 1] = (2 * k0, 2 * k1)
    return spans


def _read(f: TreeFile, line: int, count: int, height: int, *, bare: bool) -> PlainLines | None:
    """Lines ``line`` to ``line + count - 1``, parsed a block of ``BLOCK_LINES`` at a time."""
    parts = []
    for at in range(line, line + count, BLOCK_LINES):
        m = min(BLOCK_LINES, line + count - at)
        part = parse_plain(f.span(at, m), m, height, bare=bare)
        if part is None:
            return None
        parts.append(part)
    return PlainLines.join(parts)


def check_column(column: Column) -> ColumnOutcome:
    """Check a column from its lowest level up: each level's parents against the one below."""
    state = _state()
    f, levels = state.file, state.levels
    top = max(levels)
    below: PlainLines | None = None
    leaf_sums = (0, 0, 0)
    spans = _spans(column, levels)
    low = min(spans)
    for height in sorted(spans):
        first, end = spans[height]
        level = levels[height]
        lines = _read(f, level.first_line + first, end - first, height, bare=height > low)
        if lines is None:
            return ColumnOutcome(clean=False, leaf_sums=leaf_sums, lines=0)
        opens = first == 0 and level.padded  # this column holds the level's padding copy
        if opens and height < top and (lines.whole[0].any() or lines.fraction[0].any()):
            return ColumnOutcome(clean=False, leaf_sums=leaf_sums, lines=0)  # padding holds nothing
        if below is not None and not parents_recompute(lines, int(opens), below, height):
            return ColumnOutcome(clean=False, leaf_sums=leaf_sums, lines=0)
        if height == 1:
            w, fr = lines.whole.sum(axis=0).tolist(), lines.fraction.sum(axis=0).tolist()
            leaf_sums = (w[0] * UNIT + fr[0], w[1] * UNIT + fr[1], w[2] * UNIT + fr[2])
        below = lines
    counted = sum(end - first for height, (first, end) in spans.items() if height < column.top)
    return ColumnOutcome(clean=True, leaf_sums=leaf_sums, lines=counted)
