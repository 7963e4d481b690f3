"""Seeded random accounts for the sum-tree benchmarks: ten assets, realistic balances.

Most accounts hold nothing of most assets; a holding is log-normal (a few are very large). The
accounts come in partitions of ``PARTITION`` (each from its own seeded generator), so that the
single-machine build and the distributed one see exactly the same accounts, and a Dask worker
can make its own partition instead of receiving it.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from assay.reserves.layout import Asset, Round

PARTITION = 1 << 20
#: code, decimals, share of accounts holding none, median holding (coins), spread (log-normal)
ASSETS = (
    ("BTC", 8, 0.70, 0.01, 2.5),
    ("ETH", 9, 0.75, 0.2, 2.5),
    ("USDT", 6, 0.35, 200.0, 2.5),
    ("USDC", 6, 0.70, 300.0, 2.5),
    ("SOL", 9, 0.80, 5.0, 2.5),
    ("XRP", 6, 0.80, 500.0, 2.5),
    ("DOGE", 8, 0.85, 1000.0, 2.5),
    ("ADA", 6, 0.85, 300.0, 2.5),
    ("TRX", 6, 0.85, 1000.0, 2.5),
    ("BNB", 8, 0.85, 0.5, 2.5),
)
#: No single holding above this many minimal units (keeps every sum far below 2^64).
CAP = 10**15


def round_for(accounts: int, capacity: int | None = None, round_id: str = "bench") -> Round:
    """The benchmark's round: ten assets of 8 bytes (their sums stay below 2^64)."""
    assets = tuple(Asset(code, decimals, 8) for code, decimals, *_ in ASSETS)
    return Round(round_id, assets, capacity or accounts)


def partition(
    index: int, accounts: int, seed: int
) -> tuple[npt.NDArray[np.str_], npt.NDArray[np.uint64]]:
    """Partition ``index`` of a round of ``accounts``: its ids and (rows x 10) equity."""
    first = index * PARTITION
    count = max(0, min(PARTITION, accounts - first))
    rng = np.random.default_rng([seed, index])
    ids = (np.arange(first, first + count, dtype=np.int64) + 10**9).astype("U10")
    equity = np.zeros((count, len(ASSETS)), dtype=np.uint64)
    for k, (_, decimals, empty, median, spread) in enumerate(ASSETS):
        units = np.round(rng.lognormal(np.log(median), spread, count) * 10**decimals)
        units = np.minimum(units, CAP).astype(np.uint64)
        units[rng.random(count) < empty] = 0
        equity[:, k] = units
    return ids, equity


def generate(accounts: int, seed: int) -> tuple[npt.NDArray[np.str_], npt.NDArray[np.uint64]]:
    """All the accounts of a round, partitions in order (filled in place: no second copy)."""
    ids = np.empty(accounts, dtype="U10")
    equity = np.empty((accounts, len(ASSETS)), dtype=np.uint64)
    for i in range(-(-accounts // PARTITION)):
        part_ids, part_equity = partition(i, accounts, seed)
        ids[i * PARTITION : i * PARTITION + part_ids.size] = part_ids
        equity[i * PARTITION : i * PARTITION + part_ids.size] = part_equity
    return ids, equity
