"""The OKX V2 tree audit on every core: a clean file proved clean by numpy, in parallel.

The streaming audit (:func:`assay.reserves.okx_tree.audit_okx_v2_tree`) checks one parent at a
time in Python, about 2.5 µs a line: some 50 s for a 10M-account file on this project's machine.
This module checks the same file in three steps:

1. **Index**: the workers count the newlines of 64 KB blocks; each block gives an anchor (a line
   number and its byte offset). From the root's height and the padding rule alone (a level
   opens with a padding copy when its first two hashes are equal) every level's first line and
   size follow, as in the streaming audit; the file must end exactly with the leaf level.
2. **Columns**: a range of lines of one level and everything below them, down to the leaves, is
   independent of the rest: the children of the real lines ``k0`` to ``k1`` of a level are lines
   ``2*k0`` to ``2*k1`` of the level below (file order, right end first). The levels are cut
   into such columns (at most 2^17 leaves each) plus one column from the root down to their
   tops, handed to the workers.
3. **Check**, a column from the bottom up, each line read (``os.pread``) and parsed once by
   numpy: the whole line must have OKX's plain form (lowercase hex, the height of its place,
   amounts as digits with at most 8 decimals; fixed text compared eight bytes at a time, digits
   read eight at a time with integer tricks). The children's sums are added as integers, whole
   and fraction apart, and compared with the parent's; a parent's text must be canonical, so
   its hash is ``sha256(leftHash + rightHash + B + E + U + height)`` over bytes taken from the
   lines themselves, compared with the hash it states. Padding must hold zero; the leaves are
   summed for the comparison with the root.

This module runs the steps (the pool, the levels, the cut into columns); what the workers do is
:mod:`assay.reserves.okx_columns`, and the numpy parsing :mod:`assay.reserves.okx_fast_parse`.

It only ever proves a file clean. On anything else (a mismatch, a negative or malformed amount,
a CRLF line end, a non-canonical ``0.10``, a truncated file) :func:`fast_audit` returns None and
the caller runs the streaming audit, whose report (every problem, its line and message, or the
``InvalidInput`` it raises) is the reference: the answer never depends on the path taken. The
report of a clean file is assembled by the streaming audit's own functions
(:func:`~assay.reserves.okx_tree.check_root`, :func:`~assay.reserves.okx_tree.tree_audit`).

It holds one column per worker (a few tens of MB), never writes, and raises nothing of its own.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

import numpy as np

from assay.errors import InvalidInput
from assay.reserves.okx_columns import (
    INDEX_BLOCK,
    Column,
    TreeFile,
    WorkerState,
    check_column,
    count_newlines,
    share,
)
from assay.reserves.okx_format import Problems, Sums
from assay.reserves.okx_layout import Level
from assay.reserves.okx_lines import Progress, TreeNode, TreeSource
from assay.reserves.okx_tree import TreeAudit, check_root, tree_audit

__all__ = ["FAST_MIN_BYTES", "fast_audit"]

#: Files smaller than this are left to the streaming audit (a pool is not worth starting).
FAST_MIN_BYTES = 16 << 20
#: Processes by default: one per CPU, at most this many (each holds a column, ~100 MB).
MAX_WORKERS = 8
#: A column task holds at most 2^COLUMN_LEVELS leaves.
COLUMN_LEVELS = 17
#: Aim for at least this many columns per worker (smaller columns on smaller trees).
COLUMNS_PER_WORKER = 8


def _index(run: _Runner, f: TreeFile) -> int:
    """Count the file's lines (the total) and keep an anchor per 64 KB block, in parallel."""
    blocks = -(-f.size // INDEX_BLOCK)
    step = max(1, -(-blocks // (4 * run.workers)))
    ranges = [range(b, min(blocks, b + step)) for b in range(0, blocks, step)]
    results = sorted(run.map(count_newlines, ranges), key=lambda r: r[0])
    counts = np.array([c for r in results for c in r[1]], dtype=np.int64)
    firsts = np.array([x for r in results for x in r[2]], dtype=np.int64)
    before = np.cumsum(counts) - counts
    found = firsts >= 0
    block_start = np.arange(blocks, dtype=np.int64) * INDEX_BLOCK
    f.anchor_lines = np.concatenate([[1], (before + 2)[found]]).astype(np.int64)
    f.anchor_offsets = np.concatenate([[0], (block_start + firsts + 1)[found]]).astype(np.int64)
    total = int(counts.sum()) + (os.pread(f.fd, 1, f.size - 1) != b"\n")
    f.mean_line = f.size / max(1, total)
    return total


def _levels(f: TreeFile, top: TreeNode, total: int) -> dict[int, Level] | None:
    """Each level's first line, size and padding; None unless the file ends with the leaves."""
    levels = {top.height: Level(top.height, 1, 1, padded=False)}
    first, size, real = 1, 1, 1
    for height in range(top.height - 1, 0, -1):
        first, size = first + size, 2 * real
        if first + size - 1 > total:
            return None  # truncated, or the root's height is wrong
        got = f.lines(f.offset(first), 2)
        if got is None:
            return None
        data, newlines = got
        padded = data[:64] == data[int(newlines[0]) + 1 : int(newlines[0]) + 65]
        levels[height] = Level(height, first, size, padded)
        real = size - padded
    return levels if first + size - 1 == total else None  # else lines follow the leaves


def _columns(levels: dict[int, Level], workers: int, column_levels: int) -> list[Column]:
    """The root's column down to a cut level, and that level's lines one column each."""
    top = max(levels)
    spread = max(0, (COLUMNS_PER_WORKER * workers - 1).bit_length())
    cut = max(2, min(1 + column_levels, top - spread))
    if cut >= top:
        return [Column(top, 0, 1, 1)]
    columns = [Column(top, 0, 1, cut)]
    columns += [Column(cut, j, j + 1, 1) for j in range(levels[cut].size)]
    return columns


class _Runner:
    """Runs a function over items on forked worker processes (or here, for one worker)."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self._pool: ProcessPoolExecutor | None = None

    def start(self) -> None:
        """New workers: they fork from this process as it is now (the state they inherit)."""
        self.stop()
        if self.workers > 1:
            context = multiprocessing.get_context("fork")
            self._pool = ProcessPoolExecutor(self.workers, mp_context=context)

    def map(self, fn: Callable[[Any], Any], items: Iterable[Any]) -> Iterator[Any]:
        """``fn`` over ``items``, results as they come (``BrokenProcessPool`` if one dies)."""
        if self._pool is None:
            return map(fn, items)
        futures = [self._pool.submit(fn, item) for item in items]
        return (future.result() for future in as_completed(futures))

    def stop(self) -> None:
        """Cancel what has not started, wait for what has, end the workers."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


def fast_audit(
    path: str | os.PathLike[str],
    *,
    root: str | None = None,
    progress: Progress | None = None,
    max_problems: int = 1000,
    workers: int | None = None,
    min_bytes: int | None = None,
    column_levels: int = COLUMN_LEVELS,
) -> TreeAudit | None:
    """The audit of a tree file that recomputes clean, on ``workers`` processes; else None.

    Args:
        path: the tree file.
        root: the published root hash, compared with line 1 (a difference is reported).
        progress: called as columns are checked with (bytes checked, file size).
        max_problems: as for the streaming audit.
        workers: processes (None: one per CPU, at most ``MAX_WORKERS``; 1: this process).
        min_bytes: smaller files return None at once, left to the streaming audit (None:
            ``FAST_MIN_BYTES``).
        column_levels: a column holds at most 2^column_levels leaves (smaller in tests).

    Returns:
        Exactly what ``audit_okx_v2_tree(path, workers=0)`` returns, or None when the file is
        small or anything in it needs the streaming audit to say what.
    """
    source = Path(path)
    try:
        size = source.stat().st_size
        least = FAST_MIN_BYTES if min_bytes is None else min_bytes
        top = TreeSource(source).first_line() if size >= max(least, 1) else None
    except (OSError, InvalidInput):
        return None
    if top is None or top.height < 2:
        return None
    if workers is None:
        cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1
        workers = min(MAX_WORKERS, cpus)
    checked = _run(
        source,
        size,
        top,
        workers=max(1, workers),
        column_levels=column_levels,
        progress=progress,
    )
    if checked is None:
        return None
    levels, total, leaf_sums = checked
    problems = Problems(max_problems)
    check_root(top, root, problems)
    leaves = levels[1]
    return tree_audit(
        top,
        problems,
        leaf_sums=leaf_sums,
        leaf_count=leaves.size - leaves.padded,
        node_count=total,
        padding_count=sum(level.padded for level in levels.values()),
    )


def _run(
    source: Path,
    size: int,
    top: TreeNode,
    *,
    workers: int,
    column_levels: int,
    progress: Progress | None,
) -> tuple[dict[int, Level], int, Sums] | None:
    """Index the file and check every column: its levels, lines and leaves' sums; or None."""
    run = _Runner(workers)
    try:
        f = TreeFile(source, size)
    except OSError:
        return None
    state = WorkerState(f, {})
    share(state)
    try:
        run.start()
        total = _index(run, f)
        levels = _levels(f, top, total)
        if levels is None:
            return None
        state.levels = levels
        run.start()  # again: the workers need the anchors and the levels
        leaf_sums = (0, 0, 0)
        done = 0
        for result in run.map(check_column, _columns(levels, run.workers, column_levels)):
            if not result.clean:
                return None
            leaf_sums = (
                leaf_sums[0] + result.leaf_sums[0],
                leaf_sums[1] + result.leaf_sums[1],
                leaf_sums[2] + result.leaf_sums[2],
            )
            done += result.lines
            if progress is not None:
                progress(min(size, int(done * f.mean_line)), size)
        if progress is not None:
            progress(size, size)
    except (BrokenProcessPool, OSError):
        return None  # a worker died (killed, out of memory), or a read failed: streaming decides
    finally:
        run.stop()
        f.close()
        share(None)
    return levels, total, leaf_sums
