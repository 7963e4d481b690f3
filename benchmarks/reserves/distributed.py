"""Scaling of the distributed sum tree (``assay.reserves.distributed``) on a local Dask cluster.

    .venv/bin/python benchmarks/reserves/distributed.py                # 1M doubling to --max
    .venv/bin/python benchmarks/reserves/distributed.py --quick        # 250k and 500k, ~1 min
    .venv/bin/python benchmarks/reserves/distributed.py --sizes 1000000,8000000 --compare-max 0

For each size N, a child process starts a ``LocalCluster`` of two worker processes (one thread
each; memory limit ``--worker-gb`` per worker, no spilling, no pausing: a worker past 95% of it
is restarted and the build fails, instead of the kernel killing whatever is biggest) and builds
the tree of N accounts x 10 assets (8 bytes each) at the default capacity (the next power of
two). The accounts are made on the workers by a seeded loader, 2^20 per partition, so none
passes through the driver. Where N <= ``--compare-max``, a second child builds the same accounts
with ``sumtree.build`` on one machine (all cores) and the roots are compared.

Each child's whole process tree (driver and scheduler, nannies, workers; the sum tree's forked
workers) is sampled every 50 ms for its memory: PSS from ``/proc/<pid>/smaps_rollup``, pages
shared between processes counted once. "driver" is the peak of the child process alone (the
scheduler runs in it). Builds alone are timed (not the cluster's start, nor the single-machine
child's generation of its inputs). Figures also go to ``benchmarks/reserves/out/distributed.json``.
"""

from __future__ import annotations

import argparse
import functools
import json
import logging
import os
import resource
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
# This script is named like the Dask package it drives: its folder (first on the import path when
# it runs, and so in the workers it spawns) must not hide that package.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]

import dask  # noqa: E402
import numpy as np  # noqa: E402
from distributed import Client, LocalCluster  # noqa: E402

from assay.reserves import distributed, sumtree  # noqa: E402
from assay.reserves.distributed import Accounts  # noqa: E402
from assay.reserves.layout import Asset, Round, capacity_for  # noqa: E402

OUT = HERE / "out"
SECRET = bytes(range(32))
PARTITION = 1 << 20
ASSETS = ("BTC", "ETH", "USDT", "USDC", "SOL", "XRP", "DOGE", "ADA", "TRX", "BNB")


def partition(index: int, accounts: int, seed: int) -> Accounts:
    """Partition ``index`` of a round of ``accounts``: ids ``user-0000000001``..., 10 amounts.

    Called on a worker (pickled by value from this script).
    """
    first = index * PARTITION
    count = max(0, min(PARTITION, accounts - first))
    rng = np.random.default_rng([seed, index])
    ids = np.char.add("user-", np.char.zfill(np.arange(first, first + count).astype("U10"), 10))
    equity = rng.integers(0, 2**40, (count, len(ASSETS)), dtype=np.uint64)
    equity[rng.random((count, len(ASSETS))) < 0.7] = 0  # most accounts hold few assets
    return Accounts(ids, equity)


def round_for(accounts: int) -> Round:
    """The benchmark's round: ten assets of 8 bytes, capacity the next power of two."""
    assets = tuple(Asset(code, 8, 8) for code in ASSETS)
    return Round("bench", assets, capacity_for(accounts))


def _pss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def _tree(pid: int) -> list[int]:
    """``pid`` and its descendants."""
    parents: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                stat = Path(entry.path, "stat").read_text()
            except OSError:
                continue
            parents.setdefault(int(stat[stat.rindex(")") + 2 :].split()[1]), []).append(
                int(entry.name)
            )
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(parents.get(p, ()))
    return out


def measured(args: list[str]) -> tuple[dict[str, Any], float, float]:
    """Run a child; its JSON result, the peak PSS of its process tree and of itself (GB)."""
    child = subprocess.Popen(args, stdout=subprocess.PIPE, text=True)  # noqa: S603
    peaks = [0, 0]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            pids = _tree(child.pid)
            peaks[0] = max(peaks[0], sum(_pss_kb(p) for p in pids))
            peaks[1] = max(peaks[1], _pss_kb(child.pid))
            done.wait(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, _ = child.communicate()
    done.set()
    sampler.join()
    result = json.loads(out.strip().splitlines()[-1]) if child.returncode == 0 else {}
    result["status"] = child.returncode
    return result, peaks[0] / 2**20, peaks[1] / 2**20


def child_distributed(accounts: int, seed: int, worker_gb: float) -> dict[str, Any]:
    """Build on a local cluster of two workers; time the build, one proof and 1,000 proofs."""
    memory = {"target": False, "spill": False, "pause": False, "terminate": 0.95}
    with (
        dask.config.set({f"distributed.worker.memory.{k}": v for k, v in memory.items()}),
        LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            memory_limit=f"{worker_gb}GiB",
            silence_logs=logging.CRITICAL,
        ) as cluster,
        Client(cluster) as client,
    ):
        parts = [
            functools.partial(partition, i, accounts, seed)
            for i in range(-(-accounts // PARTITION))
        ]
        start = time.perf_counter()
        tree = distributed.build(client, round_for(accounts), SECRET, parts)
        seconds = time.perf_counter() - start
        start = time.perf_counter()
        for i in range(20):
            tree.path(f"user-{(i * 7919) % accounts:010d}")
        one = (time.perf_counter() - start) / 20
        start = time.perf_counter()
        tree.paths([f"user-{(i * 104729) % accounts:010d}" for i in range(1000)])
        many = time.perf_counter() - start
        root = tree.root.hash.hex()
    return {"build_s": seconds, "path_ms": one * 1000, "paths_1000_s": many, "root": root}


def child_single(accounts: int, seed: int) -> dict[str, Any]:
    """The same accounts built by ``sumtree.build`` on this machine."""
    parts = [partition(i, accounts, seed) for i in range(-(-accounts // PARTITION))]
    ids = np.concatenate([p.ids for p in parts])
    equity = np.concatenate([p.equity for p in parts])
    del parts
    start = time.perf_counter()
    tree = sumtree.build(round_for(accounts), SECRET, ids, equity)
    return {"build_s": time.perf_counter() - start, "root": tree.root.hash.hex()}


def main() -> None:
    """Run the sizes in children (or be one), print and write the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", help="comma-separated account counts (default: 1M doubling)")
    parser.add_argument("--max", type=int, default=32_000_000, help="largest default size")
    parser.add_argument("--compare-max", type=int, default=16_000_000, help="sumtree up to")
    parser.add_argument("--worker-gb", type=float, default=9.0, help="memory limit per worker")
    parser.add_argument("--seed", type=int, default=20261125)
    parser.add_argument("--quick", action="store_true", help="250k and 500k accounts")
    parser.add_argument("--child", choices=["distributed", "single"], help=argparse.SUPPRESS)
    parser.add_argument("--accounts", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        if args.child == "distributed":
            result = child_distributed(args.accounts, args.seed, args.worker_gb)
        else:
            result = child_single(args.accounts, args.seed)
        result["max_rss_gb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
        print(json.dumps(result), flush=True)
        return
    if args.sizes:
        sizes = [int(s) for s in args.sizes.split(",")]
    elif args.quick:
        sizes = [250_000, 500_000]
    else:
        sizes = [1_000_000 << k for k in range(8) if 1_000_000 << k <= args.max]
    rows = []
    print(f"load average at start: {os.getloadavg()}", flush=True)
    for n in sizes:
        base = [sys.executable, __file__, "--accounts", str(n), "--seed", str(args.seed)]
        spread, peak, driver = measured(
            [*base, "--child", "distributed", "--worker-gb", str(args.worker_gb)]
        )
        row: dict[str, Any] = {"accounts": n, "capacity": round_for(n).capacity}
        row |= {"distributed": spread, "distributed_peak_gb": peak, "driver_peak_gb": driver}
        if n <= args.compare_max and spread["status"] == 0:
            single, single_peak, _ = measured([*base, "--child", "single"])
            row |= {"single": single, "single_peak_gb": single_peak}
            row["roots_equal"] = single.get("root") == spread["root"]
        rows.append(row)
        print(json.dumps(row), flush=True)
        if spread["status"]:
            break
    OUT.mkdir(exist_ok=True)
    (OUT / "distributed.json").write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")
    print(table(rows))


def table(rows: list[dict[str, Any]]) -> str:
    """The figures as a Markdown table."""
    lines = [
        "| accounts | capacity | distributed (2 workers) | peak, all processes | driver peak "
        "| sumtree.build | its peak | same root | one proof | 1,000 proofs |",
        "|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|",
    ]
    for r in rows:
        d, s = r["distributed"], r.get("single", {})
        if d["status"]:
            lines.append(f"| {r['accounts']:,} | {r['capacity']:,} | failed ({d['status']}) |")
            continue
        single = f"{s['build_s']:.1f} s | {r['single_peak_gb']:.1f} GB" if s else "- | -"
        same = {True: "yes", False: "NO"}.get(r.get("roots_equal"), "-")
        lines.append(
            f"| {r['accounts']:,} | {r['capacity']:,} | {d['build_s']:.1f} s "
            f"| {r['distributed_peak_gb']:.1f} GB | {r['driver_peak_gb']:.2f} GB | {single} "
            f"| {same} | {d['path_ms']:.0f} ms | {d['paths_1000_s']:.2f} s |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
