"""The trail benchmark: ours and pymerkle side by side in one run (issue 4's speed targets).

    .venv/bin/python benchmarks/trail/bench.py            # full size (10M-entry stored log)
    .venv/bin/python benchmarks/trail/bench.py --quick    # smoke run, under a minute
    .venv/bin/python benchmarks/trail/bench.py --appends-only --repeat 5   # appends, full size

Measures durable appends with concurrent writers on SQLite, bulk and in-memory appends, inclusion
and consistency proof latency at a large tree size, and checkpoint signing; verifies every proof
it timed; prints one table (ours, pymerkle in-memory, pymerkle SQLite, ratio, target) and writes
the figures as JSON under ``benchmarks/trail/out/`` (git-ignored). Generated databases live in a
temporary folder unless ``--data`` names one to keep (and reuse) the large stored log.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import os
import platform
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import ours
import peer
import pymerkle
from rich.console import Console
from rich.table import Table
from timing import Latency, Throughput, run_writers

OUT = Path(__file__).resolve().parent / "out"
ORIGIN = "bench.example/trail"
APPENDS_TARGET = 50_000
INCLUSION_TARGET_US = 50.0
INCLUSION_TARGET_RATIO = 10.0
# About the size of one of our canonical entries (docs/formats/trail-entry.md), event id varying.
PAYLOAD = (
    b'{"action":"bench.update","actor":"writer@bench.example","after":"sha256:'
    + b"a" * 64
    + b'","at":"2026-11-25T09:00:00.000000Z","before":"sha256:'
    + b"b" * 64
    + b'","event":%d,"object":{"id":"item-%d","type":"licence"},"v":1}'
)

console = Console(highlight=False, width=160)


def payload(i: int) -> bytes:
    """The ``i``-th entry given to pymerkle (and to our in-memory tree)."""
    return PAYLOAD % (i, i)


@dataclass
class Row:
    """One line of the table: a measure, our figure, the peers' figures and the target."""

    measure: str
    unit: str
    ours: float | None
    memory: float | None = None
    sqlite: float | None = None
    higher_is_better: bool = False
    target: str = ""
    met: bool | None = None
    note: str = ""

    def ratio(self) -> str:
        """Ours against the better peer: ``12x faster`` or ``3.1x slower``."""
        peers = [p for p in (self.memory, self.sqlite) if p]
        if not self.ours or not peers:
            return ""
        best = max(peers) if self.higher_is_better else min(peers)
        factor = self.ours / best if self.higher_is_better else best / self.ours
        return f"{factor:.1f}x faster" if factor >= 1 else f"{1 / factor:.1f}x slower"


def options() -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=10_000_000, help="our stored log's size")
    parser.add_argument(
        "--peer-size", type=int, default=None, help="pymerkle in-memory tree size (default: --size)"
    )
    parser.add_argument(
        "--peer-sqlite-size",
        type=int,
        default=1_000_000,
        help="pymerkle SQLite tree size for proofs (its proofs hash leaves read from the database)",
    )
    parser.add_argument("--writers", type=int, default=64, help="concurrent writers")
    parser.add_argument(
        "--processes",
        type=int,
        default=os.cpu_count() or 1,
        help="also run the durable appends with the writers spread over this many processes "
        "(default: one per core, as `assay serve --workers` would)",
    )
    parser.add_argument("--in-flight", type=int, default=16, help="changes per call, batched run")
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each append run")
    parser.add_argument("--bulk", type=int, default=200_000, help="entries in the bulk runs")
    parser.add_argument("--samples", type=int, default=2000, help="proofs timed per kind")
    parser.add_argument("--sign-samples", type=int, default=200, help="checkpoints signed")
    parser.add_argument("--seed", type=int, default=2026, help="random seed for indices")
    parser.add_argument("--data", type=Path, default=None, help="keep/reuse our large log here")
    parser.add_argument("--json", type=Path, default=None, help="where to write the figures")
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run")
    parser.add_argument(
        "--appends-only",
        action="store_true",
        help="only the append lines (durable, hand-off floor, bulk), at full writer count",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="run each durable append measurement this many times (ours and pymerkle "
        "alternating) and report the median",
    )
    args = parser.parse_args()
    if args.quick:
        args.size = min(args.size, 100_000)
        args.peer_sqlite_size = min(args.peer_sqlite_size, 50_000)
        args.seconds = min(args.seconds, 2.0)
        args.bulk = min(args.bulk, 20_000)
        args.samples = min(args.samples, 300)
        args.sign_samples = min(args.sign_samples, 30)
    if args.peer_size is None:
        args.peer_size = args.size
    return args


def step(message: str) -> None:
    """A progress line with the time of day."""
    console.print(f"[dim]{time.strftime('%H:%M:%S')}[/dim] {message}")


def machine() -> dict[str, str]:
    """What the figures were measured on."""
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return {
        "cpu": f"{cpu}, {os.cpu_count()} cores, {memory:.0f} GiB",
        "python": f"CPython {platform.python_version()}",
        "sqlite": f"SQLite {sqlite3.sqlite_version}",
        "pymerkle": f"pymerkle {pymerkle.__version__}",
        "date": dt.date.today().isoformat(),
    }


def handoff_floor(writers: int, seconds: float) -> Throughput:
    """The product's appender with a batch write that does nothing: queueing and waking alone.

    Each writer submits one change (the same one every time: building it is not the hand-off)
    and waits on its ticket; the appender's thread resolves whole batches. This is the most any
    number of synchronous writers can get from one process's group commit under the GIL, before
    a single row is written.
    """
    from assay.trail import appender  # noqa: PLC0415

    class Idle(appender.Appender):
        def _write(self, batch: list[Any], *, alone: bool = False) -> None:  # noqa: ARG002
            for offset, ticket in enumerate(batch):
                ticket._resolve(offset, None)

    idle = Idle(None, lock=appender.AppendLock(None))  # type: ignore[arg-type]
    same = ours.change(0, 0)

    def work(_writer: int, _round: int) -> int:
        idle.append(same)
        return 1

    result = run_writers(writers, seconds, work)
    idle.close()
    return result


def _durable(
    args: argparse.Namespace,
    scratch: Path,
    in_flight: int,
    where: tuple[int, bool],
    notes: list[str],
) -> tuple[float, float]:
    """Median durable appends/s, ours and pymerkle's, over ``--repeat`` alternating runs."""
    w = args.writers
    processes, pinned = where
    shape = f"{w} writers x {in_flight} in {_where(where)}"
    ours_runs: list[float] = []
    peer_runs: list[float] = []
    for run in range(args.repeat):
        name = f"{in_flight}-{processes}{'p' if pinned else ''}-{run}"
        figure, check = ours.durable_appends(
            scratch / f"ours-{name}",
            w,
            args.seconds,
            in_flight,
            processes=processes,
            pinned=pinned,
        )
        ours_runs.append(figure.per_second)
        notes.append(f"ours, {shape}, run {run + 1}: {check}")
        figure, check = peer.durable_appends(
            scratch / f"pm-{name}",
            w,
            args.seconds,
            in_flight,
            payload,
            processes=processes,
            pinned=pinned,
        )
        peer_runs.append(figure.per_second)
        notes.append(f"pymerkle, {shape}, run {run + 1}: {check}")
    if args.repeat > 1:
        notes.append(
            f"runs, {shape} (appends/s): ours "
            + ", ".join(f"{x:,.0f}" for x in ours_runs)
            + "; pymerkle "
            + ", ".join(f"{x:,.0f}" for x in peer_runs)
        )
    return statistics.median(ours_runs), statistics.median(peer_runs)


def _where(spread: tuple[int, bool]) -> str:
    processes, pinned = spread
    if processes == 1:
        return "1 process"
    return f"{processes} processes" + (", each pinned to a CPU" if pinned else "")


def appends(args: argparse.Namespace, scratch: Path, rows: list[Row], notes: list[str]) -> None:
    """Durable (concurrent), bulk and in-memory appends, ours and pymerkle's."""
    w, k = args.writers, args.in_flight
    runs = f", median of {args.repeat}" if args.repeat > 1 else ""
    shapes = [(1, "each waits for its append"), (k, f"{k} per call")]
    spreads = [(1, False)]
    if args.processes > 1:
        spreads += [(args.processes, False), (args.processes, True)]
    for in_flight, what in shapes:
        for spread in spreads:
            where = _where(spread)
            step(f"durable appends, {w} writers in {where}, {what} ({args.seconds:.0f} s each)")
            ours_figure, peer_figure = _durable(args, scratch, in_flight, spread, notes)
            rows.append(
                Row(
                    f"durable appends/s, {w} writers in {where}, {what}{runs}",
                    "/s",
                    ours_figure,
                    sqlite=peer_figure,
                    higher_is_better=True,
                    target=f">= {APPENDS_TARGET:,}/s",
                    met=ours_figure >= APPENDS_TARGET,
                )
            )
    step(f"hand-off floor: {w} threads through the product's appender, no database")
    floor = handoff_floor(w, min(args.seconds, 3.0))
    rows.append(
        Row(
            f"  (floor: {w}-thread hand-off alone, no database)",
            "/s",
            floor.per_second,
            higher_is_better=True,
            note="CPython ceiling",
        )
    )
    step(f"bulk appends, {args.bulk:,} entries, 20,000 per transaction")
    ours_bulk, check = ours.bulk_appends(scratch / "ours-bulk", args.bulk, 20_000)
    notes.append(f"ours, bulk: {check}")
    peer_bulk, check = peer.bulk_appends(scratch / "pm-bulk", args.bulk, 20_000, payload)
    notes.append(f"pymerkle, bulk: {check}")
    rows.append(
        Row(
            "bulk appends/s, 20,000 per transaction",
            "/s",
            ours_bulk.per_second,
            sqlite=peer_bulk.per_second,
            higher_is_better=True,
        )
    )


def memory_tree(args: argparse.Namespace, rows: list[Row], notes: list[str]) -> dict[str, Any]:
    """In-memory appends and pymerkle in-memory proofs; the two trees' roots must agree."""
    n = args.peer_size
    step(f"in-memory appends: {n:,} entries into our compact range and into pymerkle")
    ours_mem, our_root = ours.memory_appends(payload, n)
    tree, peer_mem = peer.build_memory(payload, n)
    if tree.get_root() != our_root:
        raise AssertionError("ours and pymerkle disagree on the root of the same entries")
    notes.append(f"in-memory: both trees of {n:,} entries have root {our_root.hex()[:16]}...")
    rows.append(
        Row(
            f"in-memory appends/s (hash + tree), {n:,} entries",
            "/s",
            ours_mem.per_second,
            memory=peer_mem.per_second,
            higher_is_better=True,
        )
    )
    rng = random.Random(args.seed)  # noqa: S311 - sample indices, not secrets
    step(f"pymerkle in-memory proofs at {n:,}")
    inc = peer.inclusion_proofs(tree, n, ours.sample_indices(rng, n, args.samples))
    con = peer.consistency_proofs(tree, ours.sample_pairs(rng, n, args.samples))
    sign, _ = peer.checkpoint_signing(tree, n, args.sign_samples, ORIGIN)
    notes.append(f"pymerkle in-memory: {inc[2]}; {con[2]}")
    del tree
    gc.collect()
    return {"inclusion": inc, "consistency": con, "sign": sign}


def sqlite_tree(args: argparse.Namespace, scratch: Path, notes: list[str]) -> dict[str, Any]:
    """The SQLite backend of pymerkle: bulk-loaded, then the same proofs."""
    n = args.peer_sqlite_size
    step(f"pymerkle SQLite: loading {n:,} entries, then proofs")
    tree, _ = peer.fill_sqlite(scratch / "pm-proofs", payload, n)
    rng = random.Random(args.seed + 1)  # noqa: S311 - sample indices, not secrets
    inc = peer.inclusion_proofs(tree, n, ours.sample_indices(rng, n, args.samples))
    con = peer.consistency_proofs(tree, ours.sample_pairs(rng, n, args.samples))
    sign, _ = peer.checkpoint_signing(tree, n, args.sign_samples, ORIGIN)
    notes.append(f"pymerkle SQLite: {inc[2]}; {con[2]}")
    tree.close()
    return {"inclusion": inc, "consistency": con, "sign": sign}


def stored_log(args: argparse.Namespace, scratch: Path, notes: list[str]) -> dict[str, Any]:
    """Our large stored log: built (or reused), then proofs and checkpoint signing."""
    directory = args.data or scratch / "ours-large"
    runtime = ours.open_runtime(directory)
    step(f"our stored log: building to {args.size:,} entries in {directory}")
    last = [time.perf_counter()]

    def progress(done: int) -> None:
        if time.perf_counter() - last[0] > 30 or done == args.size:
            last[0] = time.perf_counter()
            step(f"  {done:,} entries")

    built, before = ours.build_log(runtime, args.size, progress)
    if built.operations:
        notes.append(
            f"ours: built {built.operations:,} entries at {built.per_second:,.0f}/s "
            f"({built.seconds:.0f} s) through write_changes, {ours.BUILD_BATCH:,} per transaction"
        )
    else:
        notes.append(f"ours: reused the stored log of {before:,} entries in {directory}")
    size = args.size
    rng = random.Random(args.seed + 2)  # noqa: S311 - sample indices, not secrets
    indices = ours.sample_indices(rng, size, args.samples)
    step(f"our proofs at {size:,}")
    inc = ours.inclusion_proofs(runtime, size, indices)
    con = ours.consistency_proofs(runtime, ours.sample_pairs(rng, size, args.samples))
    bundle = ours.service_inclusion(runtime, size, indices[: max(1, args.samples // 4)])
    notes.append(f"ours at {size:,}: {inc.check}; {con.check}")
    step("our checkpoint signing")
    note, service_sign, check = ours.checkpoint_signing(runtime, args.sign_samples)
    notes.append(f"ours, checkpoints: {check}")
    runtime.db.dispose()
    return {
        "inclusion": inc,
        "consistency": con,
        "bundle": bundle,
        "note": note,
        "sign": service_sign,
    }


def proof_rows(
    args: argparse.Namespace, o: dict[str, Any], m: dict[str, Any], s: dict[str, Any]
) -> list[Row]:
    """The proof and signing lines of the table."""
    sizes = f"ours {args.size:,}, pymerkle {args.peer_size:,} / {args.peer_sqlite_size:,} (SQLite)"
    inc_warm: Latency = o["inclusion"].warm
    peer_best = min(m["inclusion"][1].p50, s["inclusion"][1].p50)
    met = inc_warm.p50 <= INCLUSION_TARGET_US and peer_best / inc_warm.p50 >= INCLUSION_TARGET_RATIO
    rows = [
        Row(
            "inclusion proof p50, warm cache",
            "µs",
            inc_warm.p50,
            m["inclusion"][1].p50,
            s["inclusion"][1].p50,
            target=f"<= {INCLUSION_TARGET_US:.0f} µs and >= {INCLUSION_TARGET_RATIO:.0f}x",
            met=met,
            note=sizes,
        ),
        Row("inclusion proof mean, warm cache", "µs", inc_warm.mean, m["inclusion"][1].mean,
            s["inclusion"][1].mean),
        Row("inclusion proof p50, first touch", "µs", o["inclusion"].cold.p50,
            m["inclusion"][0].p50, s["inclusion"][0].p50),
        Row("inclusion proof mean, first touch", "µs", o["inclusion"].cold.mean,
            m["inclusion"][0].mean, s["inclusion"][0].mean),
        Row("inclusion: whole service call (bundle), p50", "µs", o["bundle"].p50,
            note="ours only: leaf, root, proof, checkpoint, keys"),
        Row("consistency proof p50, warm cache", "µs", o["consistency"].warm.p50,
            m["consistency"][1].p50, s["consistency"][1].p50),
        Row("consistency proof mean, warm cache", "µs", o["consistency"].warm.mean,
            m["consistency"][1].mean, s["consistency"][1].mean),
        Row("consistency proof p50, first touch", "µs", o["consistency"].cold.p50,
            m["consistency"][0].p50, s["consistency"][0].p50),
        Row("checkpoint: sign the note (C2SP, Ed25519), p50", "µs", o["note"].p50,
            m["sign"].p50, s["sign"].p50, note="pymerkle: get_root + raw Ed25519 sign"),
        Row("checkpoint: service.sign_now (checks, sign, store, commit), p50", "µs",
            o["sign"].p50, note="ours only: pymerkle has no checkpoints"),
    ]  # fmt: skip
    return rows


def render(rows: list[Row], info: dict[str, str], args: argparse.Namespace) -> None:
    """Print the side-by-side table."""
    table = Table(title=f"trail benchmark, {info['date']}", title_justify="left")
    for name, justify in [
        ("measure", "left"),
        ("ours", "right"),
        ("pymerkle mem", "right"),
        ("pymerkle SQLite", "right"),
        ("ours vs best peer", "right"),
        ("target", "left"),
        ("met", "center"),
    ]:
        table.add_column(name, justify=justify)  # type: ignore[arg-type]

    def cell(value: float | None, unit: str) -> str:
        if value is None:
            return "-"
        return f"{value:,.0f}{unit}" if unit == "/s" else f"{value:,.1f} {unit}"

    for row in rows:
        met = "" if row.met is None else ("yes" if row.met else "NO")
        table.add_row(
            row.measure + (f"\n[dim]{row.note}[/dim]" if row.note else ""),
            cell(row.ours, row.unit),
            cell(row.memory, row.unit),
            cell(row.sqlite, row.unit),
            row.ratio(),
            row.target,
            met,
        )
    console.print(table)
    console.print(
        f"[dim]{info['cpu']}; {info['python']}; {info['sqlite']}; {info['pymerkle']}; "
        f"{args.writers} writers; {args.samples} proofs per kind[/dim]"
    )


def markdown(rows: list[Row]) -> str:
    """The table as Markdown, for benchmarks/trail/README.md."""

    def cell(value: float | None, unit: str) -> str:
        if value is None:
            return "-"
        return f"{value:,.0f}/s" if unit == "/s" else f"{value:,.1f} µs"

    lines = [
        "| measure | ours | pymerkle in-memory | pymerkle SQLite | ours vs best peer "
        "| target | met |",
        "|---|--:|--:|--:|--:|---|:-:|",
    ]
    for row in rows:
        met = "" if row.met is None else ("yes" if row.met else "**no**")
        measure = row.measure.strip() + (f" ({row.note})" if row.note else "")
        lines.append(
            f"| {measure} | {cell(row.ours, row.unit)} | {cell(row.memory, row.unit)} | "
            f"{cell(row.sqlite, row.unit)} | {row.ratio()} | {row.target} | {met} |"
        )
    return "\n".join(lines)


def main() -> None:
    """Run everything once and print the table."""
    args = options()
    info = machine()
    console.print(f"[bold]trail benchmark[/bold]: {info}")
    rows: list[Row] = []
    notes: list[str] = []
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="assay-trail-bench-") as tmp:
        scratch = Path(tmp)
        probe = ours.open_runtime(scratch / "probe")
        info["ours durability"] = ours.durability(probe)
        probe.db.dispose()
        pm = peer.open_sqlite(scratch / "probe")
        info["pymerkle durability"] = peer.durability(pm)
        pm.close()
        console.print(f"ours: {info['ours durability']}; pymerkle: {info['pymerkle durability']}")
        appends(args, scratch, rows, notes)
        if not args.appends_only:
            memory = memory_tree(args, rows, notes)
            sqlite_figures = sqlite_tree(args, scratch, notes)
            stored = stored_log(args, scratch, notes)
            rows.extend(proof_rows(args, stored, memory, sqlite_figures))
    render(rows, info, args)
    for line in notes:
        console.print(f"[dim]checked: {line}[/dim]")
    elapsed = time.perf_counter() - started
    console.print(f"[dim]total {elapsed:.0f} s[/dim]")
    suffix = ("-quick" if args.quick else "") + ("-appends" if args.appends_only else "")
    target = args.json or OUT / f"results-{info['date']}{suffix}.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    options_used = {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()}
    target.write_text(
        json.dumps(
            {
                "machine": info,
                "options": options_used,
                "rows": [{**asdict(r), "ratio": r.ratio()} for r in rows],
                "checked": notes,
                "seconds": elapsed,
            },
            indent=2,
        )
    )
    target.with_suffix(".md").write_text(markdown(rows) + "\n")
    console.print(f"[dim]figures written to {target} and {target.with_suffix('.md')}[/dim]")


if __name__ == "__main__":
    main()
