"""The sum tree of a round built on a Dask cluster, bit for bit the tree ``sumtree.build`` makes.

For rounds whose accounts do not fit one machine. The accounts come in partitions (arrays, or
loaders that a worker calls, e.g. one liabilities file each) and stay on the workers: the driver
only ever holds counts, the first salt of each segment and the top of the tree (the blocks' roots
and up, 1/16,384 of the nodes by default). The passes are ``sumtree.build``'s, the shuffle done
by ranges of the salt space:

1. salts: per partition, a worker checks the accounts and computes their salts; padding salts
   are made by number, 2^20 per task. Each task cuts its leaves into ``buckets`` contiguous
   ranges of salts (by their first 64 bits: salts are uniform, so the buckets are about equal)
   and tells the driver how many fall in each.
2. sort: bucket ``r`` gathers its pieces and sorts them by the whole salt
   (``sumtree.order_by_salt``). The ranges are contiguous, so it holds leaf positions
   ``start_r`` onwards, ``start_r`` being the number of leaves in the buckets before it.
3. levels: positions are cut into aligned blocks of ``2^block`` leaves, as in ``sumtree``. A
   bucket's *segment* is the blocks that start in its run, completed with the first leaves of
   the bucket(s) after it (the only data neighbours exchange); a worker hashes its leaves and
   reduces each block to its root. The driver pairs the few levels above.

The segments stay on the workers, as futures the result holds, for proofs: ``DistributedTree``
answers what ``SumTree`` answers (it is one, for ``proof.build_proof``), routing an account to
its segment by its salt. A segment holds no secret: padding salts are kept, not re-derived.

Every ``InvalidInput`` is the one ``sumtree.build`` raises for the same accounts taken in
partition order (field, value, reason and message): each task reports its first problem with
its place in ``sumtree``'s order of checks, and the driver raises the earliest.

It never reads a clock or draws randomness. The secret goes to the workers (they compute the
salts), scattered under a random key: a cluster spanning machines must run over TLS.
"""

from __future__ import annotations

import bisect
import functools
import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path as FilePath
from typing import Any, NamedTuple, NoReturn

import numpy as np
import numpy.typing as npt
from distributed import Client, Future

from assay.errors import InvalidInput, NotFound
from assay.reserves import layout, liabilities, sumtree
from assay.reserves.layout import Round, Salter
from assay.reserves.sumtree import Node, Path, Sibling, SumTree, _amounts, _Limbs, _pair

__all__ = ["Accounts", "DistributedTree", "Partition", "build", "liabilities_file"]

#: Padding salts made per task (``Salter.pad_block`` makes them 2^16 at a time).
PAD_TASK = 1 << 20
#: The default bucket count gives each about this many leaves (and two per worker thread).
BUCKET_LEAVES = 1 << 20
_PAD_BLOCK = 1 << 16

U64 = npt.NDArray[np.uint64]
Bytes2D = npt.NDArray[np.uint8]
#: Account ids in UTF-8, fixed width: no valid id holds a NUL, so numpy cuts none short.
IdBytes = npt.NDArray[np.bytes_]
#: A problem's place in sumtree.build's order of checks: (stage, span, kind, first account).
Rank = tuple[int, int, int, int]
Refusal = tuple[Rank, InvalidInput]


class Accounts(NamedTuple):
    """One partition's accounts, in the form ``sumtree.build`` takes them."""

    ids: sumtree.AccountIds
    equity: Any
    debt: Any = None


#: A partition: its accounts, or a function that a worker calls to load them (picklable).
Partition = Accounts | Callable[[], Accounts]


def liabilities_file(path: FilePath, assets: Sequence[liabilities.AssetSpec]) -> Partition:
    """A partition that a worker reads from a liabilities file (the path must be readable there)."""
    return functools.partial(_read_file, FilePath(path), tuple(assets))


def _read_file(path: FilePath, assets: tuple[liabilities.AssetSpec, ...]) -> Accounts:
    data = liabilities.read_liabilities(path, assets)
    return Accounts(data.account_ids, data.equity, data.debt)


@dataclass(frozen=True)
class _Context:
    """What the salting tasks share (scattered once)."""

    round: Round
    secret: bytes
    bounds: U64  # the first 64 bits of each bucket's lowest salt


def _keys(salts: Bytes2D) -> U64:
    """The salts' first 8 bytes as integers (big-endian)."""
    return salts[:, :8].copy().view(">u8")[:, 0].astype(np.uint64)


@dataclass
class _Leaves:
    """Leaves on their way to a segment; the amounts and ids are the accounts' only."""

    numbers: npt.NDArray[np.int64]  # accounts 0 to n - 1 in partition order, padding k at n + k
    salts: Bytes2D
    real: npt.NDArray[np.bool_]
    equity: U64
    debt: U64 | None  # None: nobody among them owes anything
    ids: IdBytes

    def __len__(self) -> int:
        return int(self.numbers.shape[0])

    @staticmethod
    def join(parts: Sequence[_Leaves], assets: int) -> _Leaves:
        if len(parts) == 1:
            return parts[0]
        owing = any(p.debt is not None for p in parts)
        return _Leaves(
            np.concatenate([np.empty(0, np.int64), *(p.numbers for p in parts)]),
            np.concatenate([np.empty((0, 32), np.uint8), *(p.salts for p in parts)]),
            np.concatenate([np.empty(0, np.bool_), *(p.real for p in parts)]),
            np.concatenate([np.empty((0, assets), np.uint64), *(p.equity for p in parts)]),
            np.concatenate([np.zeros_like(p.equity) if p.debt is None else p.debt for p in parts])
            if owing
            else None,
            np.concatenate([np.empty(0, np.bytes_), *(p.ids for p in parts)]),
        )

    def take(self, index: npt.NDArray[np.intp]) -> _Leaves:
        """The leaves ``index``, in that order."""
        real = self.real[index]
        pick = (np.cumsum(self.real) - 1)[index[real]]
        debt = None if self.debt is None else self.debt[pick]
        return _Leaves(
            self.numbers[index], self.salts[index], real, self.equity[pick], debt, self.ids[pick]
        )

    def slice(self, lo: int, hi: int) -> _Leaves:
        """Leaves ``lo`` to ``hi`` (views, no copy)."""
        a = int(np.count_nonzero(self.real[:lo]))
        b = a + int(np.count_nonzero(self.real[lo:hi]))
        debt = None if self.debt is None else self.debt[a:b]
        return _Leaves(
            self.numbers[lo:hi],
            self.salts[lo:hi],
            self.real[lo:hi],
            self.equity[a:b],
            debt,
            self.ids[a:b],
        )


@dataclass
class _Salted:
    """A salting task's leaves cut by bucket, or the first problem it found."""

    pieces: list[_Leaves]
    counts: list[int]
    refusal: Refusal | None = None


def _refused(rank: Rank, exc: InvalidInput, buckets: int) -> _Salted:
    return _Salted([], [0] * buckets, (rank, exc))


def _check_rows(
    rnd: Round, equity: npt.NDArray[Any], debt: npt.NDArray[Any] | None, lo: int
) -> tuple[int, InvalidInput] | None:
    """``sumtree``'s checks of accounts ``lo`` onwards: (kind, error) of the first problem."""
    for kind, (side, values) in enumerate((("equity", equity), ("debt", debt))):
        if values is not None and values.dtype.kind == "i" and (values < 0).any():
            row, col = (int(x[0]) for x in np.nonzero(values < 0))
            code = rnd.assets[col].code
            return kind, InvalidInput(
                f"{side}[{lo + row}].{code}: {int(values[row, col])} is negative; owed "
                "amounts are equity, owing amounts debt, both non-negative",
                field=f"{side}[{lo + row}].{code}",
                value=int(values[row, col]),
                reason="negative-amount",
            )
    no_debt = np.array([k for k, a in enumerate(rnd.assets) if not a.debt_allowed], np.intp)
    if debt is not None and no_debt.size and debt[:, no_debt].any():
        row, col = (int(x[0]) for x in np.nonzero(debt[:, no_debt]))
        code = rnd.assets[int(no_debt[col])].code
        return 2, InvalidInput(
            f"debt[{lo + row}].{code}: {code} allows no debt",
            field=f"debt[{lo + row}].{code}",
            value=int(debt[row, no_debt[col]]),
        )
    return None


def _salts(salter: Salter, ids: list[str], first: int) -> bytes | InvalidInput:
    """The salts of ``ids`` (joined), or the error naming the first bad id."""
    inner, outer = salter.states()
    icopy, ocopy = inner.copy, outer.copy
    salts: list[bytes] = []
    try:
        for account in ids:
            raw = account.encode()
            if not 0 < len(raw) <= layout.MAX_ACCOUNT_ID_BYTES or not account.isprintable():
                raise ValueError(account)
            h = icopy()
            h.update(raw)
            o = ocopy()
            o.update(h.digest())
            salts.append(o.digest())
    except (AttributeError, ValueError):
        i = len(salts)
        try:
            layout.account_id_bytes(ids[i], field=f"account_ids[{first + i}]")
        except InvalidInput as exc:
            return exc
        raise  # pragma: no cover - account_id_bytes refused the id
    return b"".join(salts)


def _salt_accounts(ctx: _Context, chunk: Accounts, first: int) -> _Salted:
    """Pass 1 for one partition, whose first account is number ``first`` of the round."""
    rnd, buckets = ctx.round, len(ctx.bounds)
    count = len(chunk.ids)
    try:
        equity = _amounts(chunk.equity, count, rnd.assets, "equity", first=first)
    except InvalidInput as exc:
        return _refused((0, 0, 0, first), exc, buckets)
    debt = None
    if chunk.debt is not None:
        try:
            debt = _amounts(chunk.debt, count, rnd.assets, "debt", first=first)
        except InvalidInput as exc:
            return _refused((1, 0, 0, first), exc, buckets)
    ids = chunk.ids.tolist() if isinstance(chunk.ids, np.ndarray) else list(chunk.ids)
    salter = Salter(ctx.secret)
    salts = bytearray()
    lo = 0
    while lo < count:  # in sumtree's spans of CHUNK accounts, each checked before it is salted
        span = (first + lo) // sumtree.CHUNK
        hi = min(count, (span + 1) * sumtree.CHUNK - first)
        problem = _check_rows(rnd, equity[lo:hi], None if debt is None else debt[lo:hi], first + lo)
        if problem is not None:
            return _refused((2, span, problem[0], first), problem[1], buckets)
        done = _salts(salter, ids[lo:hi], first + lo)
        if isinstance(done, InvalidInput):
            return _refused((2, span, 3, first), done, buckets)
        salts += done
        lo = hi
    leaves = _Leaves(
        np.arange(first, first + count, dtype=np.int64),
        np.frombuffer(bytes(salts), np.uint8).reshape(count, 32),
        np.ones(count, np.bool_),
        equity.astype(np.uint64, copy=False),
        None if debt is None else debt.astype(np.uint64, copy=False),
        np.array([account.encode() for account in ids], dtype=np.bytes_),
    )
    return _cut(ctx, leaves)


def _salt_pads(ctx: _Context, accounts: int, first: int, count: int) -> _Salted:
    """Pass 1 for padding leaves ``first`` to ``first + count`` (``first`` a multiple of 2^16)."""
    salter = Salter(ctx.secret)
    stop = first + count
    blocks = range(first // _PAD_BLOCK, -(-stop // _PAD_BLOCK))
    salts = b"".join(salter.pad_block(b, min(_PAD_BLOCK, stop - b * _PAD_BLOCK)) for b in blocks)
    leaves = _Leaves(
        np.arange(accounts + first, accounts + stop, dtype=np.int64),
        np.frombuffer(salts, dtype=np.uint8).reshape(count, 32),
        np.zeros(count, np.bool_),
        np.empty((0, len(ctx.round.assets)), np.uint64),
        None,
        np.empty(0, np.bytes_),
    )
    return _cut(ctx, leaves)


def _cut(ctx: _Context, leaves: _Leaves) -> _Salted:
    """Leaves cut into the buckets of their salts, each piece in leaf-number order."""
    buckets = np.searchsorted(ctx.bounds, _keys(leaves.salts), side="right") - 1
    counts = np.bincount(buckets, minlength=len(ctx.bounds))
    ordered = leaves.take(np.argsort(buckets, kind="stable"))
    edges = [0, *np.cumsum(counts).tolist()]
    pieces = [ordered.slice(edges[r], edges[r + 1]) for r in range(len(counts))]
    return _Salted(pieces, counts.tolist())


def _summary(salted: _Salted) -> tuple[Refusal | None, list[int]]:
    return salted.refusal, salted.counts


def _piece(salted: _Salted, bucket: int) -> _Leaves:
    return salted.pieces[bucket]


@dataclass
class _Sorted:
    """A bucket's leaves in the order of their salts, and its first repeated salt if any."""

    leaves: _Leaves
    repeat: tuple[bytes, int, int, str] | None


def _sort(assets: int, *pieces: _Leaves) -> _Sorted:
    """Pass 2 for one bucket; ``pieces`` in leaf-number order (ties then go as in sumtree)."""
    leaves = _Leaves.join(pieces, assets)
    keys = _keys(leaves.salts)
    bits = max(1, (len(leaves) - 1).bit_length())
    same = sumtree.order_by_salt(keys, bits, lambda i: leaves.salts[i].tobytes())
    repeat = None
    if same is not None:
        a, b = same
        account = leaves.ids[int(np.count_nonzero(leaves.real[:a]))].decode()
        first, second = sorted((int(leaves.numbers[a]), int(leaves.numbers[b])))
        repeat = (leaves.salts[a].tobytes(), first, second, account)
    order = (keys & np.uint64((1 << bits) - 1)).astype(np.intp)
    return _Sorted(leaves.take(order), repeat)


def _repeat(bucket: _Sorted) -> tuple[bytes, int, int, str] | None:
    return bucket.repeat


def _slice(bucket: _Sorted, lo: int, hi: int) -> _Leaves:
    return bucket.leaves.slice(lo, hi)


class _Segment:
    """Leaves ``first`` onwards (whole aligned blocks) and their levels ``keep`` to ``block``.

    It lives on a worker. Levels below ``keep`` are recomputed for a proof from the leaves'
    salts, ids and amounts, as ``SumTree`` does; there is no secret here.
    """

    def __init__(self, rnd: Round, first: int, leaves: _Leaves, keep: int, block: int) -> None:
        self.round = rnd
        self.first = first
        self.size = len(leaves)
        self.keep = keep
        self.block = block
        self.limbs = _Limbs(rnd.assets)
        # Copies: the parts may be views that would keep a whole sorted bucket alive.
        self.keys = _keys(leaves.salts)
        self.salts = leaves.salts.copy()
        self.real = leaves.real.copy()
        self.equity = leaves.equity.copy()
        self.debt = None if leaves.debt is None else leaves.debt.copy()
        self.ids = leaves.ids.copy()
        self.hashes: dict[int, Bytes2D] = {}
        self.sums: dict[int, U64] = {}
        self.refusal: tuple[int, InvalidInput] | None = None
        self._reduce()

    def _reduce(self) -> None:
        """Pass 3: each block's leaves hashed and paired up to its root, as ``sumtree`` does."""
        for level in range(self.keep, self.block + 1):
            size = -(-self.size >> level)
            self.hashes[level] = np.empty((size, 32), np.uint8)
            self.sums[level] = np.empty((size, self.limbs.count), np.uint64)
        span = 1 << self.block
        for lo in range(0, self.size, span):
            hi = min(self.size, lo + span)
            sums = self.gathered(lo, hi)
            hashes = self._leaf_hashes(lo, hi, sums)
            try:
                for level in range(self.block + 1):
                    if level:
                        hashes, sums = _pair(hashes, sums, self.limbs)
                    if level >= self.keep:
                        at = lo >> level
                        self.hashes[level][at : at + hashes.shape[0]] = hashes
                        self.sums[level][at : at + hashes.shape[0]] = sums
            except InvalidInput as exc:
                self.refusal = ((self.first + lo) >> self.block, exc)
                return

    def gathered(self, lo: int, hi: int) -> U64:
        """Limbs of leaves ``lo`` to ``hi`` (zeros for padding)."""
        real = self.real[lo:hi]
        a = int(np.count_nonzero(self.real[:lo]))
        b = a + int(np.count_nonzero(real))
        rows = self.limbs.leaves(self.equity[a:b], None if self.debt is None else self.debt[a:b])
        out = np.zeros((hi - lo, self.limbs.count), dtype=np.uint64)
        out[real] = rows
        return out

    def _leaf_hashes(self, lo: int, hi: int, sums: U64) -> Bytes2D:
        """Leaves ``lo`` to ``hi`` hashed as ``layout.leaf_hash`` and ``pad_hash`` (their limbs)."""
        amounts = sums.astype(">u8").tobytes()
        width = 8 * self.limbs.count
        salts = self.salts[lo:hi].tobytes()
        real = self.real[lo:hi].tolist()
        a = int(np.count_nonzero(self.real[:lo]))
        ids = iter(self.ids[a : a + sum(real)].tolist())
        leaf, pad = layout.TAG_LEAF + self.round.digest, layout.TAG_PAD + self.round.digest
        sha = hashlib.sha256
        out = []
        for i, account in enumerate(real):
            salt = salts[32 * i : 32 * i + 32]
            if account:
                row = amounts[width * i : width * (i + 1)]
                out.append(sha(leaf + salt + row + next(ids)).digest())
            else:
                out.append(sha(pad + salt).digest())
        return np.frombuffer(b"".join(out), dtype=np.uint8).reshape(hi - lo, 32)

    def find(self, salt: bytes, account_id: str) -> int | None:
        """The local index of ``account_id``'s leaf, whose salt is ``salt``; None if absent."""
        key = np.uint64(int.from_bytes(salt[:8], "big"))
        lo = int(np.searchsorted(self.keys, key, side="left"))
        hi = int(np.searchsorted(self.keys, key, side="right"))
        for i in range(lo, hi):
            if self.real[i] and self.salts[i].tobytes() == salt:
                slot = int(np.count_nonzero(self.real[:i]))
                return i if self.ids[slot] == account_id.encode() else None
        return None

    def _levels(self, lo: int, hi: int, count: int) -> list[tuple[Bytes2D, U64]]:
        """Levels 0 to ``count - 1`` over leaves ``lo`` to ``hi``."""
        sums = self.gathered(lo, hi)
        hashes = self._leaf_hashes(lo, hi, sums)
        levels = [(hashes, sums)]
        for _ in range(1, count):
            hashes, sums = _pair(hashes, sums, self.limbs)
            levels.append((hashes, sums))
        return levels

    def bottom(self, sub: int) -> list[tuple[Bytes2D, U64]]:
        """Levels 0 to keep - 1 of the ``sub``-th run of 2^keep leaves, recomputed."""
        return self._levels(sub << self.keep, min(self.size, (sub + 1) << self.keep), self.keep)

    def levels(self) -> list[tuple[Bytes2D, U64]]:
        """Levels 0 to block - 1 of the whole segment (small rounds only)."""
        return self._levels(0, self.size, self.block)

    def node(self, level: int, index: int) -> Node:
        """Node ``index`` (of the whole tree) at ``level``, below ``block``."""
        local = index - (self.first >> level)
        if level >= self.keep:
            return self.limbs.node(self.hashes[level][local].tobytes(), self.sums[level][local])
        sub = local >> (self.keep - level)
        hashes, sums = self.bottom(sub)[level]
        at = local - (sub << (self.keep - level))
        return self.limbs.node(hashes[at].tobytes(), sums[at])

    def path(self, salt: bytes, account_id: str) -> tuple[int, U64, list[Sibling]] | None:
        """Position, own limbs and the siblings below ``block`` of ``account_id``'s leaf."""
        i = self.find(salt, account_id)
        if i is None:
            return None
        position = self.first + i
        bottom = self.bottom(i >> self.keep) if self.keep else []
        siblings = []
        index = position
        sides = layout.path_sides(position, self.round.capacity)[: self.block]
        for level, side in enumerate(sides):
            if side is not None:
                other = index ^ 1
                if level < self.keep:
                    hashes, sums = bottom[level]
                    at = other - ((position >> self.keep) << (self.keep - level))
                    node = self.limbs.node(hashes[at].tobytes(), sums[at])
                else:
                    node = self.node(level, other)
                siblings.append(Sibling(side, node))
            index >>= 1
        return position, self.gathered(i, i + 1)[0], siblings


def _segment(rnd: Round, first: int, keep: int, block: int, *parts: _Leaves) -> _Segment:
    return _Segment(rnd, first, _Leaves.join(parts, len(rnd.assets)), keep, block)


def _segment_top(segment: _Segment) -> tuple[bytes, tuple[int, InvalidInput] | None, Bytes2D, U64]:
    """What the driver needs of a segment: first salt, first problem, its blocks' roots."""
    level = segment.block
    return segment.salts[0].tobytes(), segment.refusal, segment.hashes[level], segment.sums[level]


def _segment_paths(
    segment: _Segment, wanted: list[tuple[bytes, str]]
) -> list[tuple[int, U64, list[Sibling]] | None]:
    return [segment.path(salt, account_id) for salt, account_id in wanted]


def _segment_node(segment: _Segment, level: int, index: int) -> Node:
    return segment.node(level, index)


def _segment_levels(segment: _Segment) -> list[tuple[Bytes2D, U64]]:
    return segment.levels()


def _segment_salt(segment: _Segment, position: int) -> bytes:
    salt: bytes = segment.salts[position - segment.first].tobytes()
    return salt


def _load(client: Client, partitions: Sequence[Partition]) -> list[Future[Accounts]]:
    """The partitions as futures on the workers: arrays scattered, loaders called there."""
    arrays = [p for p in partitions if isinstance(p, Accounts)]
    scattered = iter(client.scatter(arrays, hash=False) if arrays else [])
    return [
        next(scattered) if isinstance(p, Accounts) else client.submit(_call, p, pure=False)
        for p in partitions
    ]


def _call(loader: Callable[[], Accounts]) -> Accounts:
    loaded = loader()
    return loaded if isinstance(loaded, Accounts) else Accounts(*loaded)


def _size(chunk: Accounts) -> int:
    return len(chunk.ids)


def _bounds(buckets: int) -> U64:
    """The lowest 64-bit salt prefix of each of ``buckets`` equal ranges."""
    return np.array([-(-(r << 64) // buckets) for r in range(buckets)], dtype=np.uint64)


def build(
    client: Client,
    round_: Round,
    secret: bytes,
    partitions: Sequence[Partition],
    *,
    buckets: int | None = None,
    block_levels: int = sumtree.BLOCK_LEVELS,
) -> DistributedTree:
    """The sum tree of ``round_`` over the partitions' accounts, built on ``client``'s cluster.

    The same tree as ``sumtree.build`` over the partitions' accounts taken in order (root,
    every node, every proof), whatever the partitioning, ``buckets`` and ``block_levels``.

    Args:
        client: a Dask client (``distributed.Client``) whose workers can import Assay.
        round_: the round (id, assets with decimals and widths, capacity).
        secret: the round secret; it goes to the workers, never into a kept segment.
        partitions: ``Accounts`` (scattered from here) or loaders that workers call, e.g.
            ``liabilities_file(path, assets)``; ids unique across all of them.
        buckets: salt ranges, one sorting task and one segment each; None: about 2^20 leaves
            each, and at least two per worker thread.
        block_levels: a segment's blocks are subtrees of 2^block_levels leaves.

    Raises:
        InvalidInput: as ``sumtree.build``, for the first problem in its order of checks.
    """
    salter = Salter(secret)
    capacity = round_.capacity
    top = (capacity - 1).bit_length()
    keep = min(sumtree.KEEP, top)
    block = min(max(1, block_levels, keep), top)
    count = buckets or max(2 * sum(client.nthreads().values()), -(-capacity // BUCKET_LEAVES))
    context = client.scatter(
        _Context(round_, secret, _bounds(max(1, count))), broadcast=True, hash=False
    )
    n, holders, counts = _salt(client, context, _load(client, partitions), capacity)
    assets = len(round_.assets)
    ordered = [
        client.submit(_sort, assets, *[_piece_of(client, h, r) for h in holders[r]], pure=False)
        for r in range(len(counts))
    ]
    del holders
    segments, positions = _segments(client, ordered, counts, round_, (keep, block))
    asked = [client.submit(_repeat, o, pure=False) for o in ordered]
    repeats = [r for r in client.gather(asked) if r is not None]
    if repeats:
        _, a, b, account = min(repeats)
        raise InvalidInput(
            f"account id {account!r} appears more than once (accounts {a} and {b})",
            field="account_ids",
            value=account,
            reason="duplicate-account",
        )
    tops = client.gather([client.submit(_segment_top, s, pure=False) for s in segments])
    problems = [t[1] for t in tops if t[1] is not None]
    if problems:
        raise min(problems, key=lambda p: p[0])[1]
    limbs = _Limbs(round_.assets)
    hashes = {block: np.concatenate([t[2] for t in tops])}
    sums = {block: np.concatenate([t[3] for t in tops])}
    for level in range(block + 1, top + 1):
        hashes[level], sums[level] = _pair(hashes[level - 1], sums[level - 1], limbs)
    return DistributedTree(
        client,
        round_,
        salter,
        accounts=n,
        segments=segments,
        positions=positions,
        salts=[t[0] for t in tops],
        hashes=hashes,
        sums=sums,
    )


def _salt(
    client: Client, context: Future[_Context], chunks: list[Future[Accounts]], capacity: int
) -> tuple[int, list[list[Future[_Salted]]], list[int]]:
    """Pass 1: the account count, per bucket the tasks holding leaves of it, and their count.

    A task returns nothing here but its counts and its first problem (raised here). Futures are
    dropped, not cancelled, when a build stops: nothing is running any more then.
    """
    sizes = client.gather([client.submit(_size, c, pure=False) for c in chunks])
    n = sum(sizes)
    if n > capacity:
        raise InvalidInput(
            f"the round's capacity {capacity} is below its {n} accounts",
            field="round.capacity",
            value=capacity,
        )
    firsts = np.cumsum([0, *sizes]).tolist()
    salted = [
        client.submit(_salt_accounts, context, c, f, pure=False)
        for c, f in zip(chunks, firsts, strict=False)
    ]
    salted += [
        client.submit(_salt_pads, context, n, k, min(PAD_TASK, capacity - n - k), pure=False)
        for k in range(0, capacity - n, PAD_TASK)
    ]
    summaries = client.gather([client.submit(_summary, s, pure=False) for s in salted])
    refusals = [s[0] for s in summaries if s[0] is not None]
    if refusals:
        raise min(refusals, key=lambda r: r[0])[1]
    counts = [sum(column) for column in zip(*(s[1] for s in summaries), strict=True)]
    holders = [
        [h for h, s in zip(salted, summaries, strict=True) if s[1][r]] for r in range(len(counts))
    ]
    return n, holders, counts


def _piece_of(client: Client, salted: Future[_Salted], bucket: int) -> Future[_Leaves]:
    return client.submit(_piece, salted, bucket, pure=False)


def _segments(
    client: Client,
    ordered: list[Future[_Sorted]],
    counts: list[int],
    rnd: Round,
    levels: tuple[int, int],
) -> tuple[list[Future[_Segment]], list[int]]:
    """One segment per bucket in whose run a block starts, with the next buckets' heads."""
    keep, block = levels
    span = 1 << block
    starts = np.cumsum([0, *counts]).tolist()
    segments, positions = [], []
    for r in range(len(counts)):
        lo = -(-starts[r] // span) * span
        hi = min(rnd.capacity, -(-starts[r + 1] // span) * span)
        if lo >= hi:
            continue
        parts = []
        for q in range(r, len(counts)):
            a, b = max(lo, starts[q]), min(hi, starts[q + 1])
            if a < b:
                # Ahead of the segments: a neighbour's head must not wait for its own segment.
                at = (a - starts[q], b - starts[q])
                parts.append(client.submit(_slice, ordered[q], *at, priority=1, pure=False))
            if starts[q + 1] >= hi:
                break
        segments.append(client.submit(_segment, rnd, lo, keep, block, *parts, pure=False))
        positions.append(lo)
    return segments, positions


class DistributedTree(SumTree):
    """A round built by ``build``: what ``SumTree`` answers, with its leaves on the cluster.

    The levels from the blocks' roots up are held here; everything below stays in the segments
    on the workers, each asked in one task. It lives as long as ``client`` and its workers.
    """

    def __init__(
        self,
        client: Client,
        round_: Round,
        salter: Salter,
        *,
        accounts: int,
        segments: list[Future[_Segment]],
        positions: list[int],
        salts: list[bytes],
        hashes: dict[int, Bytes2D],
        sums: dict[int, U64],
    ) -> None:
        self.round = round_
        self._client = client
        self._salter = salter
        self._accounts = accounts
        self._segments = segments
        self._positions = positions
        self._salts = salts
        self._hashes = hashes
        self._sums = sums
        self._base = min(hashes)
        self._top = max(hashes)
        self._limbs = _Limbs(round_.assets)
        self.root = self._limbs.node(hashes[self._top][0].tobytes(), sums[self._top][0])

    @property
    def accounts(self) -> int:
        """How many real accounts the tree holds (the rest of its capacity is padding)."""
        return self._accounts

    @property
    def height(self) -> int:
        """The root's level (leaves are level 0)."""
        return self._top

    def _ask(self, fn: Callable[..., Any], segment: int, *args: Any) -> Any:
        return self._client.submit(fn, self._segments[segment], *args, pure=False).result()

    def position(self, account_id: str) -> int:
        """Where ``account_id``'s leaf is; NotFound if it is not in the round."""
        return self.path(account_id).position

    def node(self, level: int, index: int) -> Node:
        """Node ``index`` of ``level`` (0: leaves, ``height``: the root)."""
        size = -(-self.round.capacity >> level)
        if not 0 <= level <= self._top or not 0 <= index < size:
            raise InvalidInput(
                f"there is no node {index} at level {level}", field="node", value=[level, index]
            )
        if level >= self._base:
            return self._limbs.node(self._hashes[level][index].tobytes(), self._sums[level][index])
        segment = bisect.bisect_right(self._positions, index << level) - 1
        node: Node = self._ask(_segment_node, segment, level, index)
        return node

    def levels(self) -> list[list[Node]]:
        """Every node, level by level from the leaves up (for small rounds: test vectors)."""
        if self.round.capacity > 1 << 16:
            raise InvalidInput(
                "listing every node is for rounds of at most 65,536 leaves",
                field="capacity",
                value=self.round.capacity,
            )
        futures = [self._client.submit(_segment_levels, s, pure=False) for s in self._segments]
        parts = self._client.gather(futures)
        out = []
        for level in range(self._top + 1):
            if level < self._base:
                hashes = np.concatenate([p[level][0] for p in parts])
                sums = np.concatenate([p[level][1] for p in parts])
            else:
                hashes, sums = self._hashes[level], self._sums[level]
            out.append(
                [self._limbs.node(h.tobytes(), s) for h, s in zip(hashes, sums, strict=True)]
            )
        return out

    def leaf_salt(self, position: int) -> bytes:
        """The salt of the leaf at ``position`` (an account's or a padding leaf's)."""
        segment = bisect.bisect_right(self._positions, position) - 1
        salt: bytes = self._ask(_segment_salt, segment, position)
        return salt

    def path(self, account_id: str) -> Path:
        """The data of ``account_id``'s proof: its leaf, its siblings bottom up, the root."""
        return self.paths([account_id])[0]

    def paths(self, account_ids: Sequence[str]) -> list[Path]:
        """The paths of ``account_ids``, in one task per segment holding some of them.

        Proofs one by one cost a round trip to the cluster each; this is the way to make many.
        """
        salts = [self._salter(layout.account_id_bytes(a)) for a in account_ids]
        wanted: dict[int, list[int]] = {}
        for k, salt in enumerate(salts):
            wanted.setdefault(bisect.bisect_right(self._salts, salt) - 1, []).append(k)
        if -1 in wanted:  # below the first salt of all
            self._missing(account_ids[wanted[-1][0]])
        asked = [
            self._client.submit(
                _segment_paths,
                self._segments[segment],
                [(salts[k], account_ids[k]) for k in ks],
                pure=False,
            )
            for segment, ks in wanted.items()
        ]
        out: list[Path | None] = [None] * len(account_ids)
        for ks, found in zip(wanted.values(), self._client.gather(asked), strict=True):
            for k, lower in zip(ks, found, strict=True):
                if lower is None:
                    self._missing(account_ids[k])
                out[k] = self._complete(account_ids[k], salts[k], *lower)
        return [p for p in out if p is not None]

    def _missing(self, account_id: str) -> NoReturn:
        raise NotFound(
            f"account {account_id!r} is not in round {self.round.id}",
            field="account_id",
            value=account_id,
        )

    def _complete(
        self, account_id: str, salt: bytes, position: int, row: U64, siblings: list[Sibling]
    ) -> Path:
        """A path from what the segment found, with the siblings from ``block`` up."""
        index = position >> self._base
        sides = layout.path_sides(position, self.round.capacity)
        for level, side in enumerate(sides[self._base :], start=self._base):
            if side is not None:
                other = index ^ 1
                node = self._limbs.node(
                    self._hashes[level][other].tobytes(), self._sums[level][other]
                )
                siblings.append(Sibling(side, node))
            index >>= 1
        own = self._limbs.node(b"", row)
        return Path(
            account_id=account_id,
            position=position,
            salt=salt,
            equity=own.equity,
            debt=own.debt,
            siblings=tuple(siblings),
            root=self.root,
        )
