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

It only ever proves a file clean. On anything else (a mismatch, a negative or malformed amount,
a CRLF line end, a non-canonical ``0.10``, a truncated file) :func:`fast_audit` returns None and
the caller runs the streaming audit, whose report (every problem, its line and message, or the
``InvalidInput`` it raises) is the reference: the answer never depends on the path taken. The
report of a clean file is assembled by the streaming audit's own functions
(:func:`~assay.reserves.okx_tree.check_root`, :func:`~assay.reserves.okx_tree.tree_audit`).

It holds one column per worker (a few tens of MB), never writes, and raises nothing of its own.
"""

from __future__ import annotations

import binascii
import hashlib
import multiprocessing
import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from assay.errors import InvalidInput
from assay.reserves.okx_format import UNIT, Problems, Sums
from assay.reserves.okx_layout import Level
from assay.reserves.okx_lines import Progress, TreeNode, TreeSource
from assay.reserves.okx_tree import TreeAudit, check_root, tree_audit

__all__ = ["FAST_MIN_BYTES", "fast_audit"]

#: Files smaller than this are left to the streaming audit (a pool is not worth starting).
FAST_MIN_BYTES = 16 << 20
#: Processes by default: one per CPU, at most this many (each holds a column, ~100 MB).
MAX_WORKERS = 8
#: Bytes per block of the index pass (an anchor each).
INDEX_BLOCK = 1 << 16
#: A column task holds at most 2^COLUMN_LEVELS leaves.
COLUMN_LEVELS = 17
#: Aim for at least this many columns per worker (smaller columns on smaller trees).
COLUMNS_PER_WORKER = 8
#: Lines parsed per numpy block (their temporaries stay in the processor's cache).
BLOCK_LINES = 8192
#: Whole-part digits an amount may have here (sums stay below 2^63); longer ones go streaming.
MAX_WHOLE_DIGITS = 18

Ints = npt.NDArray[np.int64]
Words = npt.NDArray[np.uint64]
_U64 = np.uint64
_ZEROS = _U64(0x3030303030303030)  # eight ASCII '0'
_HIGH = _U64(0xF0F0F0F0F0F0F0F0)
_SIX = _U64(0x0606060606060606)
_M8, _M16, _M32 = _U64(0x00FF00FF00FF00FF), _U64(0x0000FFFF0000FFFF), _U64(0xFFFFFFFF)
_ALL = (1 << 64) - 1
#: Masks keeping the first (lowest, little-endian) or the last k bytes of a word.
_KEEP_FIRST = np.array([(1 << (8 * k)) - 1 for k in range(9)], dtype=np.uint64)
_KEEP_LAST = np.array([_ALL ^ ((1 << (8 * (8 - k))) - 1) for k in range(9)], dtype=np.uint64)
_FILL_FIRST = _ZEROS & ~_KEEP_FIRST  # '0' where a byte is not kept
_FILL_LAST = _ZEROS & ~_KEEP_LAST
_POINTS = _U64(0x2E2E2E2E2E2E2E2E)  # eight '.'
_LOW7 = _U64(0x7F7F7F7F7F7F7F7F)
_BYTE_INDEX = _U64(0x0001020304050607)
_HASH_WORDS = np.arange(0, 64, 8)


def _word(text: bytes) -> np.uint64:
    """Eight bytes as the little-endian word that an unaligned read of them gives."""
    return np.uint64(int.from_bytes(text, "little"))


_BTC = _word(b',{"BTC":')
_ETH = _word(b'","ETH":')
_USDT = _word(b'","USDT"')
_USDT_END = _word(b'"USDT":"')
#: What a plain line holds besides its hash, height, amounts and newline.
_PUNCTUATION = b'",:{}BCDEHSTU'


class _File:
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


# --- numpy parsing of a block of lines ---------------------------------------------------------


@dataclass(frozen=True)
class _Level:
    """Lines of one level in OKX's plain form, parsed: what checking their parents needs."""

    hashes: Words  # (m, 8): each line's 64 hex digits, as eight words
    whole: Ints  # (m, 3): whole coins
    fraction: Ints  # (m, 3): the rest, in 1e-8
    canonical: npt.NDArray[np.bool_]  # (m,): written as the streaming audit writes a sum
    bare: bytes  # with ``bare``: each line as '<hash><height><B><E><U><height>', back to back
    sizes: Ints  # with ``bare``: (m,) the length of each line in ``bare``

    @staticmethod
    def join(parts: list[_Level]) -> _Level:
        """Consecutive blocks as one."""
        if len(parts) == 1:
            return parts[0]
        return _Level(
            np.concatenate([p.hashes for p in parts]),
            np.concatenate([p.whole for p in parts]),
            np.concatenate([p.fraction for p in parts]),
            np.concatenate([p.canonical for p in parts]),
            b"".join(p.bare for p in parts),
            np.concatenate([p.sizes for p in parts]),
        )


def _parse(data: bytes, m: int, height: int, *, bare: bool) -> _Level | None:
    """``m`` lines ``<64 hex>,<height>,{"BTC":"<a>","ETH":"<a>","USDT":"<a>"}``; None if not.

    An amount is 1 to ``MAX_WHOLE_DIGITS`` digits, then optionally a point and 1 to 8 digits.
    Every byte is checked here but the hashes: a parent's is compared with the one computed
    from its children, a leaf's read as hex when its parent's hash is computed, and a padding
    copy's is its neighbour's. With ``bare``, also each line's text without its punctuation
    and asset names (amounts hold only digits and a point) and its newline made the height:
    what a parent's hash covers after its children's hashes is one slice of it.
    """
    padded = data + b"00000000"
    a = np.frombuffer(padded, dtype=np.uint8)
    words: Words = np.ndarray((len(padded) - 7,), dtype="<u8", buffer=padded, strides=(1,))
    quotes = np.flatnonzero(a == 34)
    if quotes.size != 12 * m:
        return None
    q = quotes.reshape(m, 12)
    ends = q[:, 11] + 2  # where each line's newline must be
    starts = np.empty(m, dtype=np.int64)
    starts[0] = 0
    starts[1:] = ends[:-1] + 1
    text = b"%d" % height
    # Lines back to back, each with its first quote right after '<hash>,<height>,{' and a
    # newline two bytes after its last; the text around the quotes compared eight bytes at a
    # time, which also places the quotes in between but the two that open B and E.
    head = _word((b"," + text + b',{"BTC":"')[:8])
    if not (
        int(ends[-1]) == len(data) - 1
        and np.array_equal(q[:, 0], starts + 67 + len(text))
        and np.array_equal(q[:, 2], q[:, 1] + 2)
        and np.array_equal(q[:, 6], q[:, 5] + 2)
        and (a[ends] == 10).all()
        and (words[starts + 64] == head).all()
        and (words[q[:, 0] - 2] == _BTC).all()
        and (words[q[:, 3]] == _ETH).all()
        and (words[q[:, 7]] == _USDT).all()
        and (words[q[:, 7] + 2] == _USDT_END).all()
        and (a[q[:, 11] + 1] == 125).all()  # '}'
    ):
        return None
    low, high = q[:, 2::4] + 1, q[:, 3::4]
    amounts = _amounts(a, words, low.ravel(), high.ravel())
    if amounts is None:
        return None
    whole, fraction, canonical = amounts
    stripped, sizes = b"", np.zeros(0, dtype=np.int64)
    if bare:
        stripped = data.translate(None, _PUNCTUATION).replace(b"\n", text)
        sizes = 64 + 2 * len(text) + (high - low).sum(axis=1)
    return _Level(
        words[starts[:, None] + _HASH_WORDS],
        whole.reshape(m, 3),
        fraction.reshape(m, 3),
        np.asarray(canonical.reshape(m, 3).all(axis=1)),
        stripped,
        sizes,
    )


def _digits(v: Words) -> tuple[Ints, npt.NDArray[np.bool_]]:
    """Eight ASCII digits per word (first digit in the lowest byte) as numbers; all digits?"""
    ok = ((v & _HIGH) == _ZEROS) & (((v + _SIX) & _HIGH) == _ZEROS)
    x = v - _ZEROS
    x = (x * _U64(10) + (x >> _U64(8))) & _M8
    x = (x * _U64(100) + (x >> _U64(16))) & _M16
    x = (x * _U64(10000) + (x >> _U64(32))) & _M32
    return x.astype(np.int64), ok


def _amounts(
    a: npt.NDArray[np.uint8], words: Words, low: Ints, high: Ints
) -> tuple[Ints, Ints, npt.NDArray[np.bool_]] | None:
    """Each span ``low[i]:high[i]`` read as an amount: whole, fraction (1e-8), canonical?

    Every byte of a span is checked: the point, then digits before and after it.
    """
    # A point is among the 2nd to 9th bytes before the closing quote (1 to 8 decimals); the
    # text before an amount holds none. Any other '.' fails a digit check below.
    x = words[high - 9] ^ _POINTS
    found = ~(((x & _LOW7) + _LOW7) | x | _LOW7)  # 0x80 in each byte that is '.'
    if ((found & (found - _U64(1))) != 0).any():
        return None  # two points in one amount
    has_fraction = found != 0
    # The byte holding the point: (found >> 7) is 1 << 8k; times _BYTE_INDEX, its top byte is k.
    at = (((found >> _U64(7)) * _BYTE_INDEX) >> _U64(56)).astype(np.int64)
    point = high - np.where(has_fraction, 9 - at, 0)
    whole_len = point - low
    fraction_len = np.maximum(high - point - 1, 0)
    if whole_len.min() < 1 or whole_len.max() > MAX_WHOLE_DIGITS:
        return None
    # The fraction: the eight bytes after the point, those past its end read as '0'.
    keep = _KEEP_FIRST[fraction_len]
    fraction, ok = _digits((words[point + 1] & keep) | _FILL_FIRST[fraction_len])
    # The whole part: eight bytes at a time back from the point, those before it read as '0'.
    whole = np.zeros(low.size, dtype=np.int64)
    for word, scale in enumerate((1, 10**8, 10**16)):
        if word and int(whole_len.max()) <= 8 * word:
            break
        digits = np.clip(whole_len - 8 * word, 0, 8)
        keep = _KEEP_LAST[digits]
        part, good = _digits((words[point - 8 * (word + 1)] & keep) | _FILL_LAST[digits])
        whole += part * scale
        ok &= good
    if not ok.all():
        return None
    canonical = ((whole_len == 1) | (a[low] != 48)) & (~has_fraction | (a[high - 1] != 48))
    return whole, fraction, canonical


def _parents_recompute(parents: _Level, skip: int, children: _Level, height: int) -> bool:
    """Whether lines ``skip:`` of ``parents`` are what their children (right, left) make.

    The children's sums must be the parent's (integers), the parent's amounts canonical, and
    its hash ``sha256(left + right + B + E + U + height)``: the amounts are the parent line's
    own bytes, which the two checks before make the canonical ones.
    """
    n = parents.whole.shape[0] - skip
    if children.whole.shape[0] != 2 * n or not parents.canonical[skip:].all():
        return False
    fraction = children.fraction[0::2] + children.fraction[1::2]
    carry = (fraction >= UNIT).astype(np.int64)
    fraction -= carry * UNIT
    whole = children.whole[0::2] + children.whole[1::2] + carry
    if not (
        np.array_equal(whole, parents.whole[skip:])
        and np.array_equal(fraction, parents.fraction[skip:])
    ):
        return False
    pairs = np.empty((n, 16), dtype=np.uint64)
    pairs[:, :8] = children.hashes[1::2]  # left
    pairs[:, 8:] = children.hashes[0::2]  # right
    both = pairs.tobytes()
    if height == 2 and both.translate(None, b"0123456789abcdef"):
        return False  # a leaf hash that is not lowercase hex
    above = len(b"%d" % height)
    ends = np.cumsum(parents.sizes)
    firsts = (ends - parents.sizes + 64 + above)[skip:].tolist()
    bare, sha = parents.bare, hashlib.sha256
    digests = b"".join(
        [
            sha(both[i : i + 128] + bare[x:y]).digest()
            for i, x, y in zip(range(0, 128 * n, 128), firsts, ends[skip:].tolist(), strict=True)
        ]
    )
    stated: bytes = parents.hashes[skip:].tobytes()
    return binascii.hexlify(digests) == stated


# --- columns, in the workers -------------------------------------------------------------------


@dataclass(frozen=True)
class _Column:
    """Lines ``first`` to ``end`` (file order) of the level at ``top``, and below to ``bottom``."""

    top: int
    first: int
    end: int
    bottom: int


@dataclass(frozen=True)
class _Done:
    """A column's outcome: clean or not, its leaves' sums, the lines it checked as children."""

    clean: bool
    leaf_sums: tuple[int, int, int]
    lines: int


@dataclass
class _State:
    """What a worker holds: the file with its anchors, and the levels."""

    file: _File
    levels: dict[int, Level]


_STATE: _State | None = None


def _state() -> _State:
    if _STATE is None:  # pragma: no cover - set before any worker starts
        raise RuntimeError("no tree file is being audited in this process")
    return _STATE


def _count(blocks: range) -> tuple[int, list[int], list[int]]:
    """Index pass: per block of ``blocks``, its newlines and the offset of its first one."""
    fd = _state().file.fd
    counts, firsts = [], []
    for block in blocks:
        data = os.pread(fd, INDEX_BLOCK, block * INDEX_BLOCK)
        counts.append(data.count(b"\n"))
        firsts.append(data.find(b"\n"))
    return blocks.start, counts, firsts


def _spans(column: _Column, levels: dict[int, Level]) -> dict[int, tuple[int, int]]:
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


def _read(f: _File, line: int, count: int, height: int, *, bare: bool) -> _Level | None:
    """Lines ``line`` to ``line + count - 1``, parsed a block of ``BLOCK_LINES`` at a time."""
    parts = []
    for at in range(line, line + count, BLOCK_LINES):
        m = min(BLOCK_LINES, line + count - at)
        part = _parse(f.span(at, m), m, height, bare=bare)
        if part is None:
            return None
        parts.append(part)
    return _Level.join(parts)


def _check(column: _Column) -> _Done:
    """Check a column from its lowest level up: each level's parents against the one below."""
    state = _state()
    f, levels = state.file, state.levels
    top = max(levels)
    below: _Level | None = None
    leaf_sums = (0, 0, 0)
    spans = _spans(column, levels)
    low = min(spans)
    for height in sorted(spans):
        first, end = spans[height]
        level = levels[height]
        lines = _read(f, level.first_line + first, end - first, height, bare=height > low)
        if lines is None:
            return _Done(clean=False, leaf_sums=leaf_sums, lines=0)
        opens = first == 0 and level.padded  # this column holds the level's padding copy
        if opens and height < top and (lines.whole[0].any() or lines.fraction[0].any()):
            return _Done(clean=False, leaf_sums=leaf_sums, lines=0)  # padding holds nothing
        if below is not None and not _parents_recompute(lines, int(opens), below, height):
            return _Done(clean=False, leaf_sums=leaf_sums, lines=0)
        if height == 1:
            w, fr = lines.whole.sum(axis=0).tolist(), lines.fraction.sum(axis=0).tolist()
            leaf_sums = (w[0] * UNIT + fr[0], w[1] * UNIT + fr[1], w[2] * UNIT + fr[2])
        below = lines
    counted = sum(end - first for height, (first, end) in spans.items() if height < column.top)
    return _Done(clean=True, leaf_sums=leaf_sums, lines=counted)


# --- the audit ---------------------------------------------------------------------------------


def _index(run: _Runner, f: _File) -> int:
    """Count the file's lines (the total) and keep an anchor per 64 KB block, in parallel."""
    blocks = -(-f.size // INDEX_BLOCK)
    step = max(1, -(-blocks // (4 * run.workers)))
    ranges = [range(b, min(blocks, b + step)) for b in range(0, blocks, step)]
    results = sorted(run.map(_count, ranges), key=lambda r: r[0])
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


def _levels(f: _File, top: TreeNode, total: int) -> dict[int, Level] | None:
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


def _columns(levels: dict[int, Level], workers: int, column_levels: int) -> list[_Column]:
    """The root's column down to a cut level, and that level's lines one column each."""
    top = max(levels)
    spread = max(0, (COLUMNS_PER_WORKER * workers - 1).bit_length())
    cut = max(2, min(1 + column_levels, top - spread))
    if cut >= top:
        return [_Column(top, 0, 1, 1)]
    columns = [_Column(top, 0, 1, cut)]
    columns += [_Column(cut, j, j + 1, 1) for j in range(levels[cut].size)]
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
    global _STATE  # noqa: PLW0603 - what forked workers inherit
    run = _Runner(workers)
    try:
        f = _File(source, size)
    except OSError:
        return None
    _STATE = _State(f, {})
    try:
        run.start()
        total = _index(run, f)
        levels = _levels(f, top, total)
        if levels is None:
            return None
        _STATE.levels = levels
        run.start()  # again: the workers need the anchors and the levels
        leaf_sums = (0, 0, 0)
        done = 0
        for result in run.map(_check, _columns(levels, run.workers, column_levels)):
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
        _STATE = None
    return levels, total, leaf_sums
