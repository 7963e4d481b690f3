"""Write a valid OKX V2 liabilities tree file (``full-liabilities-merkle-tree.txt``) of N accounts.

    .venv/bin/python benchmarks/reserves/okx_gen.py out.txt --accounts 1000000
    .venv/bin/python benchmarks/reserves/okx_gen.py out.txt --accounts 1000 --user-file user.json

Written from the format's rules (docs/formats/okx-proofs.md), not with Assay's OKX module, so
that the auditor checks an independent writer:

- each account has a random 32-byte nonce (64 hex digits) and balances in BTC, ETH and USDT
  (random, realistic: most accounts hold nothing of an asset, a few hold a lot), at most
  8 decimals, written canonically (``"0"``, ``"0.0000487"``, ``"19398.33550812"``);
- its user hash is ``sha256(nonce + '{"BTC":"<b>","ETH":"<e>","USDT":"<u>"}')`` and its one
  leaf ``sha256(userHash + b + e + u)`` (OKX may split a user over several leaves; one leaf per
  account keeps "N accounts" and "N leaves" the same figure, as in the published 10M / 2.4 GB);
- a parent is ``sha256(leftHash + rightHash + B + E + U + height)`` with the parent's own sums
  (canonical) and height (leaves are height 1);
- a level with an odd number of nodes (other than the root) is closed by a padding copy of its
  right end (same hash, zero balances);
- one line per node, ``<hash>,<height>,<balances JSON>``, the root first, then each level from
  its right end to its left (so a padding copy comes first in its level).

Chunks of 2^16 accounts are hashed up to their subtree root by forked worker processes; the
levels above are done here. Each chunk's accounts come from its own seeded generator, so a file
is the same whatever the number of workers, and :func:`user_file` can rebuild any account's
``user_info_file.json`` (what OKX's own validator takes) without the tree.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import multiprocessing
import os
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

ASSETS = ("BTC", "ETH", "USDT")
UNIT = 10**8
#: Accounts per chunk (a power of two, so that every chunk but the last fills its subtree).
CHUNK_LEVELS = 16
CHUNK = 1 << CHUNK_LEVELS
#: Per asset: share of accounts holding none, then the median and spread (log-normal) of a
#: holding, in coins, and the largest holding.
PROFILE = {
    "BTC": (0.75, 0.005, 2.5, 5_000),
    "ETH": (0.80, 0.1, 2.5, 50_000),
    "USDT": (0.35, 50.0, 2.5, 50_000_000),
}

Node = tuple[bytes, int, int, int]  # hex hash, then BTC, ETH, USDT in 1e-8 units


def amount(units: int) -> bytes:
    """Canonical OKX text of an amount in 1e-8 units: no trailing zeros, no exponent."""
    if not units:
        return b"0"
    whole, frac = divmod(units, UNIT)
    return b"%d.%s" % (whole, (b"%08d" % frac).rstrip(b"0")) if frac else b"%d" % whole


def balances_json(b: bytes, e: bytes, u: bytes) -> bytes:
    """The balances object as OKX writes and hashes it."""
    return b'{"BTC":"%s","ETH":"%s","USDT":"%s"}' % (b, e, u)


def accounts(chunk: int, count: int, seed: int) -> tuple[list[bytes], np.ndarray]:
    """Nonces (hex) and balances (count x 3, int64, 1e-8 units) of chunk ``chunk``'s accounts."""
    rng = np.random.default_rng([seed, chunk])
    raw = rng.bytes(32 * count).hex().encode()
    nonces = [raw[64 * i : 64 * i + 64] for i in range(count)]
    columns = []
    for code in ASSETS:
        empty, median, spread, cap = PROFILE[code]
        coins = np.minimum(rng.lognormal(np.log(median), spread, count), cap)
        units = np.round(coins * UNIT).astype(np.int64)
        units[rng.random(count) < empty] = 0
        columns.append(units)
    return nonces, np.stack(columns, axis=1)


def user_hash(nonce: bytes, texts: tuple[bytes, bytes, bytes]) -> bytes:
    """A user's salted hash: sha256(nonce + balances JSON), hex."""
    return hashlib.sha256(nonce + balances_json(*texts)).hexdigest().encode()


def leaf_hash(user: bytes, texts: tuple[bytes, bytes, bytes]) -> bytes:
    """One of a user's leaves: sha256(userHash + BTC + ETH + USDT), hex."""
    return hashlib.sha256(user + b"".join(texts)).hexdigest().encode()


def level_up(nodes: list[Node], height: int) -> tuple[list[Node], list[Node]]:
    """The level as written (padding copy appended if odd) and the level above (``height + 1``)."""
    if len(nodes) % 2:
        nodes = [*nodes, (nodes[-1][0], 0, 0, 0)]
    sha, above = hashlib.sha256, b"%d" % (height + 1)
    parents: list[Node] = []
    for k in range(0, len(nodes), 2):
        (lh, lb, le, lu), (rh, rb, re_, ru) = nodes[k], nodes[k + 1]
        b, e, u = lb + rb, le + re_, lu + ru
        digest = sha(lh + rh + amount(b) + amount(e) + amount(u) + above).hexdigest().encode()
        parents.append((digest, b, e, u))
    return nodes, parents


def lines(nodes: list[Node], height: int) -> bytes:
    """A level's lines, right to left."""
    h = b"%d" % height
    return b"".join(
        b"%s,%s,%s\n" % (digest, h, balances_json(amount(b), amount(e), amount(u)))
        for digest, b, e, u in reversed(nodes)
    )


@dataclass(frozen=True)
class _Task:
    seed: int
    accounts: int


_TASK: _Task | None = None


def _chunk(chunk: int) -> tuple[list[bytes], Node]:
    """Chunk ``chunk``: its lines per height (1 up to CHUNK_LEVELS) and its subtree root."""
    assert _TASK is not None  # set before the pool forks
    first = chunk * CHUNK
    count = min(CHUNK, _TASK.accounts - first)
    nonces, units = accounts(chunk, count, _TASK.seed)
    nodes: list[Node] = []
    for nonce, (b, e, u) in zip(nonces, units.tolist(), strict=True):
        texts = (amount(b), amount(e), amount(u))
        nodes.append((leaf_hash(user_hash(nonce, texts), texts), b, e, u))
    single = _TASK.accounts <= CHUNK  # then the root is inside this chunk
    out = []
    height = 1
    while height <= CHUNK_LEVELS and not (single and len(nodes) == 1):
        written, nodes = level_up(nodes, height)
        out.append(lines(written, height))
        height += 1
    return out, nodes[0]


@dataclass(frozen=True)
class Tree:
    """What was written: root hash, height, lines, leaves, padding copies, totals in 1e-8."""

    root: str
    height: int
    lines: int
    leaves: int
    padding: int
    totals: tuple[int, int, int]
    size: int


def generate(path: Path, count: int, *, seed: int = 1, workers: int | None = None) -> Tree:
    """Write the tree file of ``count`` accounts to ``path``; return its figures."""
    global _TASK  # noqa: PLW0603 - what forked workers inherit
    if count < 1:
        raise ValueError("a tree needs at least one account")
    chunks = -(-count // CHUNK)
    workers = workers or min(len(os.sched_getaffinity(0)), chunks)
    parts = [path.with_name(f"{path.name}.h{h}.part") for h in range(1, CHUNK_LEVELS + 1)]
    _TASK = _Task(seed, count)
    try:
        roots = _write_chunks(parts, chunks, workers)
        height = 1 + CHUNK_LEVELS if chunks > 1 else 1 + sum(1 for p in parts if p.stat().st_size)
        top_lines: list[bytes] = []
        nodes, level = roots, height
        while len(nodes) > 1:
            written, nodes = level_up(nodes, level)
            top_lines.append(lines(written, level))
            level += 1
        top_lines.append(lines(nodes, level))
        with path.open("wb") as out:
            for text in reversed(top_lines):
                out.write(text)
            for part in reversed(parts):
                with part.open("rb") as handle:
                    shutil.copyfileobj(handle, out, 1 << 24)
    finally:
        _TASK = None
        for part in parts:
            part.unlink(missing_ok=True)
    root, b, e, u = nodes[0]
    line_count, padding, expected = shape(count)
    if expected != level:  # pragma: no cover - the two counts of one shape
        raise AssertionError(f"wrote a tree of height {level}, expected {expected}")
    return Tree(root.decode(), level, line_count, count, padding, (b, e, u), path.stat().st_size)


def _write_chunks(parts: list[Path], chunks: int, workers: int) -> list[Node]:
    """Every chunk's lines appended to its height's part file, right to left; their roots."""
    order = range(chunks - 1, -1, -1)  # right to left: the last chunk's lines first
    roots: list[Node] = []
    handles = [p.open("wb") for p in parts]
    try:
        if workers > 1:
            with multiprocessing.get_context("fork").Pool(workers) as pool:
                results = pool.imap(_chunk, order, chunksize=1)
                for texts, top in results:
                    for handle, text in zip(handles, texts, strict=False):
                        handle.write(text)
                    roots.append(top)
        else:
            for texts, top in map(_chunk, order):
                for handle, text in zip(handles, texts, strict=False):
                    handle.write(text)
                roots.append(top)
    finally:
        for handle in handles:
            handle.close()
    roots.reverse()  # left to right
    return roots


def shape(count: int) -> tuple[int, int, int]:
    """Lines, padding copies and root height of the tree of ``count`` leaves."""
    total = pads = 0
    height, size = 1, count
    while size > 1:
        pad = size % 2
        total += size + pad
        pads += pad
        size = (size + pad) // 2
        height += 1
    return total + 1, pads, height


def user_file(account: int, count: int, seed: int = 1) -> dict[str, Any]:
    """The ``user_info_file.json`` of account ``account`` (0-based) of a generated tree."""
    chunk, at = divmod(account, CHUNK)
    nonces, units = accounts(chunk, min(CHUNK, count - chunk * CHUNK), seed)
    b, e, u = units[at].tolist()
    texts = (amount(b), amount(e), amount(u))
    user = user_hash(nonces[at], texts)
    shown = dict(zip(ASSETS, (t.decode() for t in texts), strict=True))
    return {
        "hash": user.decode(),
        "nodes": [{"balances": shown, "hash": leaf_hash(user, texts).decode()}],
        "nonce": nonces[at].decode(),
        "totalBalances": shown,
    }


def main() -> int:
    """Command line: write a tree file (and a user file), print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("path", type=Path, help="the tree file to write")
    parser.add_argument("--accounts", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workers", type=int, default=None, help="processes (default: CPUs)")
    parser.add_argument("--user-file", type=Path, help="also write this account's user file")
    parser.add_argument("--user-account", type=int, default=0, help="0-based account number")
    args = parser.parse_args()
    start = time.perf_counter()
    tree = generate(args.path, args.accounts, seed=args.seed, workers=args.workers)
    print(
        f"{args.path}: {tree.lines:,} lines, {tree.size / 1e9:.2f} GB, {tree.leaves:,} leaves, "
        f"{tree.padding} padding copies, height {tree.height}, root {tree.root}, "
        f"written in {time.perf_counter() - start:.1f} s"
    )
    if args.user_file:
        data = user_file(args.user_account, args.accounts, args.seed)
        args.user_file.write_text(json.dumps(data, separators=(",", ":")) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
