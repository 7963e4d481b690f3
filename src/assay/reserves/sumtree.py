"""The sum tree of a round: account ids and amounts in, levels of hashes and sums out, and proofs.

``build`` makes three passes over numpy arrays:

1. leaves, in the accounts' input order: each account's salt (HMAC-SHA256 of its id under the
   round secret) and leaf hash; then the padding leaves up to the round's capacity;
2. the shuffle: every leaf, real or padding, placed in the order of its salt (one integer sort of
   the salts' first 64 bits with the leaf number packed below, ties settled on the whole salt);
3. levels: blocks of 2^14 leaves in that order, each reduced to its subtree root by a worker,
   then the few levels above in this process.

The hashing goes through ``native``, a small C helper over OpenSSL that hashes a whole block of
messages per call with the GIL released, so the workers are threads (the sort too is shared
among them, by ranges of values). Without the helper (not built, or ``ASSAY_NATIVE=0``) it goes
through ``hashlib``, one message a call, and the workers are forked processes writing into
shared memory. Both compute the same bytes (``tests/reserves/test_native_hash.py``).

Amounts are uint64 per account and asset, equity and debt apart (``assay.reserves.liabilities``
gives exactly that). In nodes they are carried as 64-bit limbs, one per 8 bytes of the asset's
width, most significant first, so that the limbs' big-endian bytes *are* the layout's amounts;
a carry out of the top limb is an ``amount-overflow`` error naming the asset. Only levels 5 and
up are kept (hashes and sums of 1/16 of the nodes); a proof recomputes its block of 32 leaves.

The layout itself (tags, salts, what each hash covers) is ``layout``'s; this module only computes
it in bulk. It never touches a database, a file or a clock, and draws no randomness: the same
round, secret and accounts give the same tree whatever the accounts' order.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import mmap
import multiprocessing
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from multiprocessing.pool import ThreadPool
from typing import Any

import numpy as np
import numpy.typing as npt

from assay.errors import InvalidInput, NotFound
from assay.reserves import layout, native
from assay.reserves.layout import Asset, Round, Salter, Side

__all__ = ["Node", "Path", "Sibling", "SumTree", "build", "fit_widths", "order_by_salt"]

#: Levels below this are not kept: a proof recomputes its block of 2^KEEP leaves.
KEEP = 5
#: A worker reduces 2^BLOCK_LEVELS leaves to one subtree root per task.
BLOCK_LEVELS = 14
#: Accounts hashed per task in the first pass.
CHUNK = 16384
_PAD_BLOCK = 1 << 16

U64 = npt.NDArray[np.uint64]
#: Account ids: a list of str, or a numpy array of str (which forked workers read without
#: touching Python objects of the parent).
AccountIds = Sequence[str] | npt.NDArray[np.str_]
Bytes2D = npt.NDArray[np.uint8]
_TAG_NODE = np.frombuffer(layout.TAG_NODE, dtype=np.uint64)


@dataclass(frozen=True)
class Node:
    """A node (or leaf) as a proof shows it: its hash and its per-asset sums."""

    hash: bytes
    equity: tuple[int, ...]
    debt: tuple[int, ...]


@dataclass(frozen=True)
class Sibling:
    """A sibling on a leaf's way to the root, and on which side of the path it sits."""

    side: Side
    node: Node


@dataclass(frozen=True)
class Path:
    """Everything a customer proof holds: the leaf's own data, its siblings and the root."""

    account_id: str
    position: int
    salt: bytes
    equity: tuple[int, ...]
    debt: tuple[int, ...]
    siblings: tuple[Sibling, ...]
    root: Node


def _runs(columns: list[int]) -> list[tuple[int, int, int]]:
    """Runs of consecutive ``columns``: (first column, first input, end input)."""
    runs: list[tuple[int, int, int]] = []
    for k, column in enumerate(columns):
        if runs and runs[-1][0] + k - runs[-1][1] == column:
            runs[-1] = (runs[-1][0], runs[-1][1], k + 1)
        else:
            runs.append((column, k, k + 1))
    return runs


class _Limbs:
    """Where each asset's amount sits among a node's 64-bit limbs, and carry-aware addition."""

    def __init__(self, assets: Sequence[Asset]) -> None:
        self.assets = tuple(assets)
        groups: list[tuple[str, Asset, list[int]]] = []
        k = 0
        for side in ("equity", "debt"):
            for asset in assets:
                n = asset.width // 8
                groups.append((side, asset, list(range(k, k + n))))
                k += n
        self.count = k
        self.groups = groups
        a = len(assets)
        lows = [cols[-1] for _, _, cols in groups]
        self.equity_runs = _runs(lows[:a])
        self.debt_runs = _runs(lows[a:])
        self.narrow = all(len(cols) == 1 for _, _, cols in groups)
        self.top = np.array([cols[0] for _, _, cols in groups], dtype=np.intp)
        wide = [cols for _, _, cols in groups if len(cols) == 2]
        self.wide_high = np.array([c[0] for c in wide], dtype=np.intp)
        self.wide_low = np.array([c[1] for c in wide], dtype=np.intp)
        #: 1 for a limb whose carry goes into the limb before it (a 16-byte amount's low half).
        self.chained = np.zeros(k, dtype=np.uint8)
        self.chained[[c for _, _, cols in groups for c in cols[1:]]] = 1

    def leaves(self, equity: npt.NDArray[Any], debt: npt.NDArray[Any] | None) -> U64:
        """Limbs of leaves from rows of per-asset amounts (each below 2^64)."""
        out = np.zeros((equity.shape[0], self.count), dtype=np.uint64)
        for at, start, stop in self.equity_runs:
            out[:, at : at + stop - start] = equity[:, start:stop]
        if debt is not None:
            for at, start, stop in self.debt_runs:
                out[:, at : at + stop - start] = debt[:, start:stop]
        return out

    def add(self, left: U64, right: U64) -> U64:
        """``left + right`` by rows; InvalidInput ``amount-overflow`` if a sum passes its width."""
        total = left + right
        carry = total < left
        if self.wide_low.size:
            c = carry[:, self.wide_low].astype(np.uint64)
            high = total[:, self.wide_high] + c
            carry[:, self.wide_high] |= high < c
            total[:, self.wide_high] = high
        over = carry if self.narrow else carry[:, self.top]
        if over.any():
            row, group = (int(x[0]) for x in np.nonzero(over))
            side, asset, _ = self.groups[group]
            value = self.values(left[row])[group] + self.values(right[row])[group]
            raise InvalidInput(
                f"the {side} sum of {asset.code} reaches {value} minimal units, beyond its "
                f"{asset.width}-byte width"
                + ("; give the asset width 16" if asset.width == 8 else ""),
                field=f"{side}.{asset.code}",
                value=value,
                reason="amount-overflow",
            )
        return total

    def values(self, row: U64) -> list[int]:
        """One node's limbs as integers: equity per asset, then debt per asset."""
        limbs = [int(x) for x in row]
        out = []
        for _, _, cols in self.groups:
            value = 0
            for c in cols:
                value = (value << 64) | limbs[c]
            out.append(value)
        return out

    def node(self, digest: bytes, row: U64) -> Node:
        """A ``Node`` from a hash and its limbs."""
        values = self.values(row)
        a = len(self.assets)
        return Node(digest, tuple(values[:a]), tuple(values[a:]))


def _pair(hashes: Bytes2D, sums: U64, limbs: _Limbs) -> tuple[Bytes2D, U64]:
    """The next level up: pairs hashed as layout.node_hash, an odd last node carried."""
    m = hashes.shape[0]
    half = m // 2
    if not half:
        return hashes, sums
    hasher = native.hasher()
    if hasher is None:
        up = _node_hashes(hashes[: 2 * half], sums[: 2 * half], limbs.count)
        up_sums = limbs.add(sums[0 : 2 * half : 2], sums[1 : 2 * half : 2])
    else:
        try:
            up, up_sums = hasher.nodes(
                layout.TAG_NODE, hashes[: 2 * half], sums[: 2 * half], limbs.chained
            )
        except OverflowError:
            limbs.add(sums[0 : 2 * half : 2], sums[1 : 2 * half : 2])  # names the asset
            raise  # pragma: no cover - add raised
    if m & 1:
        return np.concatenate([up, hashes[-1:]]), np.concatenate([up_sums, sums[-1:]])
    return up, up_sums


def _node_hashes(hashes: Bytes2D, sums: U64, k: int) -> Bytes2D:
    """``layout.node_hash`` of the pairs of rows (0, 1), (2, 3)... through hashlib."""
    half = hashes.shape[0] // 2
    width = 80 + 16 * k
    message = np.empty((half, width), dtype=np.uint8)
    words = message.view(np.uint64)
    words[:, :2] = _TAG_NODE
    words[:, 2:10] = hashes[: 2 * half].view(np.uint64).reshape(half, 8)
    message.view(">u8")[:, 10:] = sums[: 2 * half].reshape(half, 2 * k)
    blob = message.tobytes()
    sha = hashlib.sha256
    digests = b"".join([sha(blob[i : i + width]).digest() for i in range(0, half * width, width)])
    return np.frombuffer(digests, dtype=np.uint8).reshape(half, 32)


def _shared(shape: tuple[int, ...], dtype: type[np.generic]) -> npt.NDArray[Any]:
    """A zeroed array in anonymous shared memory: forked workers write, this process reads."""
    size = int(np.prod(shape)) * np.dtype(dtype).itemsize
    buffer = mmap.mmap(-1, max(size, 1))
    return np.frombuffer(buffer, dtype=dtype, count=int(np.prod(shape))).reshape(shape)


def _amounts(
    values: Any, n: int, assets: Sequence[Asset], side: str, *, first: int = 0
) -> npt.NDArray[Any]:
    """Per-account amounts as an (accounts x assets) integer array, refused if negative.

    ``first`` is the number of the first account (errors name rows from it): a partition of a
    larger round (``distributed``) is checked on its own.
    """
    if isinstance(values, np.ndarray):
        if values.dtype.kind not in "ui":
            raise InvalidInput(
                f"{side} amounts must be integers in minimal units, got dtype {values.dtype}",
                field=side,
                value=str(values.dtype),
            )
        array = values
    else:
        rows = [list(row) for row in values]
        for i, row in enumerate(rows, first):
            if len(row) != len(assets):
                raise InvalidInput(
                    f"{side}[{i}] has {len(row)} amounts for {len(assets)} assets",
                    field=f"{side}[{i}]",
                    value=len(row),
                )
            for asset, v in zip(assets, row, strict=True):
                if type(v) is not int or not 0 <= v < 2**64:
                    raise InvalidInput(
                        f"{side}[{i}].{asset.code}: {v!r} is not a whole number of minimal units "
                        "from 0 to 2^64 - 1",
                        field=f"{side}[{i}].{asset.code}",
                        value=v,
                        reason="negative-amount" if type(v) is int and v < 0 else "amount-overflow",
                    )
        array = np.array(rows, dtype=np.uint64).reshape(len(rows), len(assets))
    if array.shape != (n, len(assets)):
        raise InvalidInput(
            f"{side} must have one row per account and one column per asset: expected "
            f"{(n, len(assets))}, got {array.shape}",
            field=side,
            value=list(array.shape),
        )
    return np.ascontiguousarray(array)


class _Job:
    """What a build shares with its threads, or its forked workers (results in shared memory)."""

    def __init__(
        self,
        round_: Round,
        *,
        secret: bytes,
        salter: Salter,
        account_ids: AccountIds,
        equity: npt.NDArray[Any],
        debt: npt.NDArray[Any] | None,
        block_levels: int,
    ) -> None:
        self.round = round_
        self.salter = salter
        self.secret = secret
        self.native = native.hasher()
        self.ids = account_ids
        self.equity = equity
        self.debt = debt
        self.limbs = _Limbs(round_.assets)
        self.n = len(account_ids)
        self.capacity = round_.capacity
        self.top = (self.capacity - 1).bit_length()
        self.keep = min(KEEP, self.top)
        self.block = min(max(block_levels, self.keep), self.top)
        self.bits = max(1, (self.capacity - 1).bit_length())
        self.no_debt = np.array(
            [k for k, a in enumerate(round_.assets) if not a.debt_allowed], dtype=np.intp
        )
        self.spans = [(lo, min(self.n, lo + CHUNK)) for lo in range(0, self.n, CHUNK)]
        self.id_texts = _joined(account_ids, self.spans)
        # Forked workers write into shared memory; threads (the native hasher) into ordinary
        # arrays, which cost fewer page faults (numpy asks for huge pages, shared memory gets none).
        new = _shared if self.native is None else np.empty
        self.keys: U64 = new((self.capacity,), np.uint64)
        self.leaves: Bytes2D = new((self.capacity, 32), np.uint8)
        self.hashes: dict[int, Bytes2D] = {}
        self.sums: dict[int, U64] = {}
        for level in range(self.keep, self.top + 1):
            size = -(-self.capacity >> level)
            self.hashes[level] = new((size, 32), np.uint8)
            self.sums[level] = new((size, self.limbs.count), np.uint64)

    def id_list(self, task: int, lo: int, hi: int) -> list[str]:
        """Account ids ``lo`` to ``hi`` (task ``task`` of pass 1) as new str objects."""
        if self.id_texts is not None:
            ids = self.id_texts[task].split("\n")
            if len(ids) == hi - lo:
                return ids
        # A numpy array, or an id holding a newline (which the caller refuses).
        chunk = self.ids[lo:hi]
        return chunk.tolist() if isinstance(chunk, np.ndarray) else list(chunk)

    def id_bytes(self, task: int, lo: int, hi: int) -> tuple[Bytes2D, npt.NDArray[np.int64]] | None:
        """The UTF-8 of account ids ``lo`` to ``hi``, joined, and where each starts and ends.

        None if one of them is not a valid account id (1 to 128 bytes of UTF-8, printable):
        the per-id loop of pass 1 then finds and names it.
        """
        if isinstance(self.ids, np.ndarray) and self.ids.dtype.kind == "U":
            ascii_ = _ascii_ids(self.ids[lo:hi])
            if ascii_ is not None:
                return ascii_
        if self.id_texts is not None:
            text = self.id_texts[task]
        else:
            try:
                text = "\n".join(self.id_list(task, lo, hi))
            except TypeError:  # not a str
                return None
        return _utf8_ids(text, hi - lo)

    def rows(self, lo: int, hi: int) -> U64:
        """Limbs of accounts ``lo`` to ``hi``, checked: no negatives, no debt where none allowed."""
        equity = self.equity[lo:hi]
        debt = None if self.debt is None else self.debt[lo:hi]
        for side, values in (("equity", equity), ("debt", debt)):
            if values is not None and values.dtype.kind == "i" and (values < 0).any():
                row, col = (int(x[0]) for x in np.nonzero(values < 0))
                code = self.round.assets[col].code
                raise InvalidInput(
                    f"{side}[{lo + row}].{code}: {int(values[row, col])} is negative; owed "
                    "amounts are equity, owing amounts debt, both non-negative",
                    field=f"{side}[{lo + row}].{code}",
                    value=int(values[row, col]),
                    reason="negative-amount",
                )
        if debt is not None and self.no_debt.size and debt[:, self.no_debt].any():
            row, col = (int(x[0]) for x in np.nonzero(debt[:, self.no_debt]))
            code = self.round.assets[int(self.no_debt[col])].code
            raise InvalidInput(
                f"debt[{lo + row}].{code}: {code} allows no debt",
                field=f"debt[{lo + row}].{code}",
                value=int(debt[row, self.no_debt[col]]),
            )
        return self.limbs.leaves(equity, debt)

    def gathered(self, index: npt.NDArray[np.intp]) -> U64:
        """Limbs of leaves ``index`` (numbers below ``n`` are accounts, the rest padding)."""
        real = index < self.n
        rows = index if real.all() else index[real]
        equity = np.take(self.equity, rows, axis=0)
        debt = None if self.debt is None else np.take(self.debt, rows, axis=0)
        if rows is index:
            return self.limbs.leaves(equity, debt)
        out = np.zeros((index.size, self.limbs.count), dtype=np.uint64)
        out[real] = self.limbs.leaves(equity, debt)
        return out


_JOB: _Job | None = None


def _job() -> _Job:
    if _JOB is None:  # pragma: no cover - a worker always runs inside build()
        raise RuntimeError("no sum tree is being built")
    return _JOB


def _joined(ids: AccountIds, spans: list[tuple[int, int]]) -> list[str] | None:
    """Each span's ids joined by newlines, which no valid id holds.

    Forked workers then read one string per task: touching the parent's own str objects would
    write their reference counts and so copy every page they sit on (some 700 MB for 10M ids).
    """
    if isinstance(ids, np.ndarray):
        return None
    try:
        return ["\n".join(ids[lo:hi]) for lo, hi in spans]
    except TypeError:
        return None  # an id that is not a str: the worker names it


def _ascii_ids(ids: npt.NDArray[np.str_]) -> tuple[Bytes2D, npt.NDArray[np.int64]] | None:
    """Ids of a numpy string array as joined bytes and boundaries, if all are printable ASCII.

    Without a Python object per id: the array's UCS-4 code points, each row a valid id of
    printable ASCII padded with NULs (numpy's own padding), or None.
    """
    width = ids.dtype.itemsize // 4
    if not ids.size or not width:
        return None
    unit = np.dtype(np.uint32).newbyteorder(ids.dtype.byteorder)
    points = np.ascontiguousarray(ids).view(unit).reshape(ids.size, width)
    if points.min() >= 0x20:  # no padding: every id fills the width (ids of fixed length)
        chars, lengths = points.ravel(), np.full(ids.size, width)
    else:
        used = points != 0
        if (used[:, 1:] > used[:, :-1]).any():  # a NUL inside an id
            return None
        chars, lengths = points[used], used.sum(axis=1)
    if (
        lengths.min() < 1
        or lengths.max() > layout.MAX_ACCOUNT_ID_BYTES
        or chars.min() < 0x20
        or chars.max() > 0x7E  # beyond printable ASCII
    ):
        return None
    offsets = np.zeros(ids.size + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    return chars.astype(np.uint8), offsets


def _utf8_ids(text: str, count: int) -> tuple[Bytes2D, npt.NDArray[np.int64]] | None:
    """``count`` ids joined by newlines as joined UTF-8 and boundaries, if every one is valid."""
    try:
        raw = text.encode()
    except UnicodeEncodeError:  # a lone surrogate
        return None
    joined = np.frombuffer(raw, dtype=np.uint8)
    breaks = np.flatnonzero(joined == 0x0A)
    if breaks.size != count - 1 or not text.replace("\n", " ").isprintable():
        return None
    offsets = np.empty(count + 1, dtype=np.int64)
    offsets[0] = 0
    offsets[1:-1] = breaks - np.arange(count - 1)  # each id's end, the newlines before it gone
    offsets[-1] = joined.size - (count - 1)
    lengths = np.diff(offsets)
    if not ((lengths > 0) & (lengths <= layout.MAX_ACCOUNT_ID_BYTES)).all():
        return None
    return joined[joined != 0x0A], offsets


def _hash_accounts(job: _Job, task: int) -> None:
    """Pass 1: salts (their first 8 bytes) and leaf hashes of the accounts of ``task``."""
    lo, hi = job.spans[task]
    if job.native is not None:
        utf8 = job.id_bytes(task, lo, hi)
        if utf8 is not None:  # else an id is bad: the loop below names it
            data, offsets = utf8
            limbs = job.rows(lo, hi)
            salted = job.native.hmac_sha256(job.secret, data, offsets)
            prefix = layout.TAG_LEAF + job.round.digest
            job.native.leaves(prefix, salted, limbs, data, offsets, out=job.leaves[lo:hi])
            job.keys[lo:hi] = salted[:, :8].copy().view(">u8")[:, 0]
            return
    ids = job.id_list(task, lo, hi)
    amounts = job.rows(lo, hi).astype(">u8").tobytes()
    width = 8 * job.limbs.count
    prefix = layout.TAG_LEAF + job.round.digest
    inner, outer = job.salter.states()
    icopy, ocopy = inner.copy, outer.copy
    sha = hashlib.sha256
    salts: list[bytes] = []
    leaves: list[bytes] = []
    off = 0
    try:
        for account in ids:
            raw = account.encode()
            if not 0 < len(raw) <= layout.MAX_ACCOUNT_ID_BYTES or not account.isprintable():
                raise ValueError(account)
            h = icopy()
            h.update(raw)
            o = ocopy()
            o.update(h.digest())
            salt = o.digest()
            salts.append(salt)
            leaves.append(sha(prefix + salt + amounts[off : off + width] + raw).digest())
            off += width
    except (AttributeError, ValueError):
        i = len(salts)
        layout.account_id_bytes(job.ids[lo + i], field=f"account_ids[{lo + i}]")
        raise  # pragma: no cover - account_id_bytes raised
    job.keys[lo:hi] = np.frombuffer(b"".join(salts), dtype=">u8").reshape(hi - lo, 4)[:, 0]
    job.leaves[lo:hi] = np.frombuffer(b"".join(leaves), dtype=np.uint8).reshape(hi - lo, 32)


def _hash_pads(job: _Job, block: int) -> None:
    """Pass 1: salts and hashes of padding leaves ``block * 65536`` onwards."""
    first = block * _PAD_BLOCK
    count = min(_PAD_BLOCK, job.capacity - job.n - first)
    salts = np.frombuffer(job.salter.pad_block(block, count), dtype=np.uint8).reshape(count, 32)
    at = job.n + first
    job.keys[at : at + count] = salts[:, :8].copy().view(">u8")[:, 0]
    if job.native is not None:
        prefix = layout.TAG_PAD + job.round.digest
        job.native.leaves(prefix, salts, out=job.leaves[at : at + count])
        return
    message = np.empty((count, 80), dtype=np.uint8)
    message[:, :16] = np.frombuffer(layout.TAG_PAD, dtype=np.uint8)
    message[:, 16:48] = np.frombuffer(job.round.digest, dtype=np.uint8)
    message[:, 48:] = salts
    blob = message.tobytes()
    sha = hashlib.sha256
    digests = b"".join([sha(blob[i : i + 80]).digest() for i in range(0, count * 80, 80)])
    job.leaves[at : at + count] = np.frombuffer(digests, dtype=np.uint8).reshape(count, 32)


def _hash_block(job: _Job, block: int) -> None:
    """Pass 3: the levels of leaves ``block * 2^b`` onwards, up to their subtree root."""
    p0 = block << job.block
    p1 = min(job.capacity, p0 + (1 << job.block))
    index = (job.keys[p0:p1] & np.uint64((1 << job.bits) - 1)).astype(np.intp)
    hashes, sums = np.take(job.leaves, index, axis=0), job.gathered(index)
    for level in range(job.block + 1):
        if level:
            hashes, sums = _pair(hashes, sums, job.limbs)
        if level >= job.keep:
            at = p0 >> level
            job.hashes[level][at : at + hashes.shape[0]] = hashes
            job.sums[level][at : at + hashes.shape[0]] = sums


def _salt_of(job: _Job, leaf: int) -> bytes:
    if leaf < job.n:
        return job.salter(str(job.ids[leaf]).encode())
    return job.salter.pad(leaf - job.n)


def order_by_salt(
    keys: U64,
    bits: int,
    salt_of: Callable[[int], bytes],
    *,
    sort: Callable[[U64], None] = np.ndarray.sort,
) -> tuple[int, int] | None:
    """Sort leaves by salt, in place (the shuffle), as one sort of 64-bit integers.

    ``keys[i]`` holds leaf ``i``'s salt's first 8 bytes (big-endian); afterwards ``keys[p]``
    holds the top ``64 - bits`` bits of the salt of the leaf at position ``p`` with that leaf's
    number in the low ``bits``. Salts that agree on those top bits are put in the order of
    their whole salt (``salt_of`` recomputes one), so the order is exactly the salts' order.
    Returns the first two leaves whose salts are equal (the same account twice), else None.
    ``sort`` sorts an array in place (``_sort`` shares it among threads).
    """
    shift = np.uint64(bits)
    keys >>= shift
    keys <<= shift
    keys |= np.arange(keys.size, dtype=np.uint64)
    sort(keys)
    high = keys >> shift
    ties = np.flatnonzero(high[1:] == high[:-1])
    del high
    mask = (1 << bits) - 1
    start = 0
    while start < ties.size:
        end = start
        while end + 1 < ties.size and ties[end + 1] == ties[end] + 1:
            end += 1
        lo, hi = int(ties[start]), int(ties[end]) + 2
        salted = sorted((salt_of(int(v) & mask), int(v) & mask) for v in keys[lo:hi])
        for (a, first), (b, second) in itertools.pairwise(salted):
            if a == b:
                return min(first, second), max(first, second)
        top = int(keys[lo]) & ~mask
        keys[lo:hi] = [top | leaf for _, leaf in salted]
        start = end + 1
    return None


def _sort(keys: U64, threads: ThreadPool, parts: int) -> None:
    """Sort ``keys`` in place as ``parts`` ranges of values, each on one of the ``threads``.

    The keys start with salts, which are uniform: equal ranges of values hold about as many
    keys each. Each thread picks its range's keys and sorts them (numpy releases the GIL), then
    the sorted ranges are written back one after the other.
    """
    if parts < 2 or keys.size < 1 << 20:
        keys.sort()
        return
    bounds = [np.uint64((i << 64) // parts) for i in range(1, parts)]

    def piece(i: int) -> U64:
        if i == 0:
            pick = keys < bounds[0]
        elif i == parts - 1:
            pick = keys >= bounds[-1]
        else:
            pick = (keys >= bounds[i - 1]) & (keys < bounds[i])
        found = keys[pick]
        found.sort()
        return found

    at = 0
    for found in threads.map(piece, range(parts)):
        keys[at : at + found.size] = found
        at += found.size


def _order(job: _Job, sort: Callable[[U64], None] = np.ndarray.sort) -> None:
    """Pass 2: the shuffle, in ``job.keys``; InvalidInput if an account id repeats."""
    same = order_by_salt(job.keys, job.bits, lambda leaf: _salt_of(job, leaf), sort=sort)
    if same is not None:
        account = str(job.ids[same[0]])
        raise InvalidInput(
            f"account id {account!r} appears more than once (accounts {same[0]} and {same[1]})",
            field="account_ids",
            value=account,
            reason="duplicate-account",
        )


def _workers(requested: int | None, capacity: int) -> int:
    if "fork" not in multiprocessing.get_all_start_methods():
        return 1  # pragma: no cover - every Unix has fork
    if requested is None:
        if capacity < 1 << 17:
            return 1
        available = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None
        return min(8, len(available) if available else (os.cpu_count() or 1))
    return max(1, requested)


def _run(pool: Any, fn: Callable[[_Job, int], None], job: _Job, tasks: Iterable[int]) -> None:
    """``fn(job, task)`` for each task: here, on the pool's threads, or in its forked workers."""
    if pool is None:
        for task in tasks:
            fn(job, task)
        return
    # A forked worker finds the job it inherited (pickling it would copy every array).
    call = (
        functools.partial(fn, job)
        if isinstance(pool, ThreadPool)
        else functools.partial(_forked, fn)
    )
    for _ in pool.imap_unordered(call, tasks, chunksize=1):
        pass


def _forked(fn: Callable[[_Job, int], None], task: int) -> None:
    fn(_job(), task)


def build(
    round_: Round,
    secret: bytes,
    account_ids: AccountIds,
    equity: Any,
    debt: Any = None,
    *,
    workers: int | None = None,
    block_levels: int = BLOCK_LEVELS,
) -> SumTree:
    """The sum tree of ``round_`` over the accounts, padded to the round's capacity.

    Args:
        round_: the round (id, assets with decimals and widths, capacity).
        secret: the round secret (at least 32 random bytes, fresh each round, kept for the
            auditor): salts, padding and the order all derive from it.
        account_ids: one per account, unique; a list of str or a numpy string array.
        equity: (accounts x assets) what the exchange owes each account, in minimal units: a
            numpy integer array (uint64 or non-negative int64) or rows of Python ints.
        debt: the same shape, what each account owes (only for assets that allow debt); None if
            nobody owes anything.
        workers: threads (native hasher) or forked processes (hashlib) to use; None: one per
            CPU for large rounds, else 1.
        block_levels: a worker's task is a subtree of 2^block_levels leaves.

    The tree keeps the secret and references to ``account_ids``, ``equity`` and ``debt``
    (proofs recompute their bottom levels from them): leave those unchanged while it is used.

    Raises:
        InvalidInput: a bad id, a negative amount, debt where the asset allows none, a duplicate
            id (``reason`` ``duplicate-account``), a sum beyond an asset's width
            (``amount-overflow``), more accounts than the capacity.
    """
    global _JOB  # noqa: PLW0603 - what forked workers inherit
    salter = Salter(secret)
    n = len(account_ids)
    if n > round_.capacity:
        raise InvalidInput(
            f"the round's capacity {round_.capacity} is below its {n} accounts",
            field="round.capacity",
            value=round_.capacity,
        )
    equity_array = _amounts(equity, n, round_.assets, "equity")
    debt_array = None if debt is None else _amounts(debt, n, round_.assets, "debt")
    job = _Job(
        round_,
        secret=secret,
        salter=salter,
        account_ids=account_ids,
        equity=equity_array,
        debt=debt_array,
        block_levels=max(1, block_levels),
    )
    count = _workers(workers, round_.capacity)
    pool: Any = None
    sort: Callable[[U64], None] = np.ndarray.sort
    if job.native is not None:
        # The native hasher releases the GIL for each block of messages: threads then share the
        # work, and the job, without fork and shared memory.
        if count > 1:
            pool = ThreadPool(count)
            sort = functools.partial(_sort, threads=pool, parts=count)
    else:
        # hashlib, a short message a call, holds the GIL: forked processes, inheriting the job.
        _JOB = job
        if count > 1:
            pool = multiprocessing.get_context("fork").Pool(count)
    try:
        pads = range(-(-(round_.capacity - n) // _PAD_BLOCK))
        _run(pool, _hash_accounts, job, range(len(job.spans)))
        _run(pool, _hash_pads, job, pads)
        _order(job, sort)
        _run(pool, _hash_block, job, range(-(-round_.capacity >> job.block)))
    finally:
        if _JOB is job:
            _JOB = None
        if pool is not None:
            pool.terminate()
            pool.join()
    for level in range(job.block + 1, job.top + 1):
        hashes, sums = _pair(job.hashes[level - 1], job.sums[level - 1], job.limbs)
        job.hashes[level][:] = hashes
        job.sums[level][:] = sums
    return SumTree(job)


class SumTree:
    """A built round: its root, any node, and the path of any account to the root."""

    def __init__(self, job: _Job) -> None:
        self.round = job.round
        self._job = job
        job.leaves = np.empty((0, 32), dtype=np.uint8)  # recomputed on demand from now on
        job.id_texts = None
        top = job.top
        self.root = job.limbs.node(job.hashes[top][0].tobytes(), job.sums[top][0])

    @property
    def accounts(self) -> int:
        """How many real accounts the tree holds (the rest of its capacity is padding)."""
        return self._job.n

    @property
    def height(self) -> int:
        """The root's level (leaves are level 0)."""
        return self._job.top

    def position(self, account_id: str) -> int:
        """Where ``account_id``'s leaf is; NotFound if it is not in the round."""
        job = self._job
        raw = layout.account_id_bytes(account_id)
        key = int.from_bytes(job.salter(raw)[:8], "big")
        bits = job.bits
        probe = key >> bits << bits
        lo = int(np.searchsorted(job.keys, np.uint64(probe), side="left"))
        hi = int(np.searchsorted(job.keys, np.uint64(probe | ((1 << bits) - 1)), side="right"))
        mask = (1 << bits) - 1
        for position in range(lo, hi):
            leaf = int(job.keys[position]) & mask
            if leaf < job.n and str(job.ids[leaf]) == account_id:
                return position
        raise NotFound(
            f"account {account_id!r} is not in round {self.round.id}",
            field="account_id",
            value=account_id,
        )

    def node(self, level: int, index: int) -> Node:
        """Node ``index`` of ``level`` (0: leaves, ``height``: the root)."""
        job = self._job
        size = -(-job.capacity >> level)
        if not 0 <= level <= job.top or not 0 <= index < size:
            raise InvalidInput(
                f"there is no node {index} at level {level}", field="node", value=[level, index]
            )
        if level >= job.keep:
            return job.limbs.node(job.hashes[level][index].tobytes(), job.sums[level][index])
        block = index >> (job.keep - level)
        hashes, sums = self._block(block)[level]
        at = index - (block << (job.keep - level))
        return job.limbs.node(hashes[at].tobytes(), sums[at])

    def levels(self) -> list[list[Node]]:
        """Every node, level by level from the leaves up (for small rounds: test vectors)."""
        if self.round.capacity > 1 << 16:
            raise InvalidInput(
                "listing every node is for rounds of at most 65,536 leaves",
                field="capacity",
                value=self.round.capacity,
            )
        return [
            [self.node(level, i) for i in range(-(-self.round.capacity >> level))]
            for level in range(self.height + 1)
        ]

    def leaf_salt(self, position: int) -> bytes:
        """The salt of the leaf at ``position`` (an account's or a padding leaf's)."""
        job = self._job
        return _salt_of(job, int(job.keys[position]) & ((1 << job.bits) - 1))

    def path(self, account_id: str) -> Path:
        """The data of ``account_id``'s proof: its leaf, its siblings bottom up, the root."""
        job = self._job
        position = self.position(account_id)
        leaf = int(job.keys[position]) & ((1 << job.bits) - 1)
        local = self._block(position >> job.keep)
        siblings = []
        index = position
        for level, side in enumerate(layout.path_sides(position, job.capacity)):
            if side is not None:
                other = index ^ 1
                if level < job.keep:
                    hashes, sums = local[level]
                    at = other - ((position >> job.keep) << (job.keep - level))
                    node = job.limbs.node(hashes[at].tobytes(), sums[at])
                else:
                    node = job.limbs.node(
                        job.hashes[level][other].tobytes(), job.sums[level][other]
                    )
                siblings.append(Sibling(side, node))
            index >>= 1
        own = job.limbs.node(b"", job.gathered(np.array([leaf], dtype=np.intp))[0])
        return Path(
            account_id=account_id,
            position=position,
            salt=job.salter(account_id.encode()),
            equity=own.equity,
            debt=own.debt,
            siblings=tuple(siblings),
            root=self.root,
        )

    def _block(self, block: int) -> list[tuple[Bytes2D, U64]]:
        """Levels 0 to keep - 1 of the block of 2^keep leaves ``block``, recomputed."""
        job = self._job
        p0 = block << job.keep
        p1 = min(job.capacity, p0 + (1 << job.keep))
        mask = np.uint64((1 << job.bits) - 1)
        index = (job.keys[p0:p1] & mask).astype(np.intp)
        sums = job.gathered(index)
        amounts = sums.astype(">u8").tobytes()
        width = 8 * job.limbs.count
        digest = job.round.digest
        leaves = []
        for i, leaf in enumerate(index.tolist()):
            if leaf < job.n:
                raw = str(job.ids[leaf]).encode()
                row = amounts[i * width : (i + 1) * width]
                leaves.append(layout.leaf_hash(digest, job.salter(raw), row, raw))
            else:
                leaves.append(layout.pad_hash(digest, job.salter.pad(leaf - job.n)))
        hashes = np.frombuffer(b"".join(leaves), dtype=np.uint8).reshape(len(leaves), 32)
        levels = [(hashes, sums)]
        for _ in range(1, job.keep):
            hashes, sums = _pair(hashes, sums, job.limbs)
            levels.append((hashes, sums))
        return levels


def fit_widths(round_: Round, equity: Any, debt: Any = None) -> Round:
    """``round_`` with each asset's width the smallest (8 or 16 bytes) that holds its totals."""
    n = len(equity)
    totals = [_column_sums(_amounts(equity, n, round_.assets, "equity"))]
    if debt is not None:
        totals.append(_column_sums(_amounts(debt, n, round_.assets, "debt")))
    assets = tuple(
        Asset(
            a.code,
            a.decimals,
            8 if max(t[k] for t in totals) < 2**64 else 16,
            a.debt_allowed,
        )
        for k, a in enumerate(round_.assets)
    )
    return Round(round_.id, assets, round_.capacity)


def _column_sums(values: npt.NDArray[Any]) -> list[int]:
    """Exact column sums of non-negative integers below 2^64, summed as two 32-bit halves."""
    if values.dtype.kind == "i" and values.size and values.min() < 0:
        raise InvalidInput("amounts must not be negative", field="amounts", value=int(values.min()))
    unsigned = values.astype(np.uint64, copy=False)
    high = (unsigned >> np.uint64(32)).sum(axis=0, dtype=np.uint64)
    low = (unsigned & np.uint64(0xFFFFFFFF)).sum(axis=0, dtype=np.uint64)
    return [(int(h) << 32) + int(lo) for h, lo in zip(high, low, strict=True)]
