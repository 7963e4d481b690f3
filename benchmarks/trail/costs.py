"""Where one durable append's time goes: the append path taken apart, per entry, one thread.

    .venv/bin/python benchmarks/trail/costs.py               # batches of 1,024 (as the appender)
    .venv/bin/python benchmarks/trail/costs.py --batch 64    # one writer per change, 64 writers

Each part of ``assay.platform.record.write_changes`` (with the trail's record hook) is timed on
its own, on ready-made inputs of one batch, in this thread's CPU time with the garbage collector
paused; then the whole path (``write_changes`` and the commit, on a fresh SQLite database as
``bench.py`` makes one) with the collector running as usual, and the fixed cost of a batch (one
change). The parts call some of the path's private functions: this is a diagnostic, not an API.
Figures are the best and the median of ``--repeat`` runs; they move with the machine's load, so
compare parts with each other, not with another day's figures.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import ours

from assay.platform.db import insert_rows
from assay.platform.record import RecordedEvent, _sqlite_row, prepare_changes, write_changes
from assay.trail import log, tlog
from assay.trail.entry import _digest_json, entry_of, timestamp

AUDIT_COLUMNS = ("id", "at", "actor", "action", "object_type", "object_id", "before", "after")
LEAF_COLUMNS = ("leaf_index", "event_id", "entry")


def per_entry(
    runs: int, count: int, call: Callable[[Any], object], setup: Callable[[], Any] = lambda: None
) -> tuple[float, float]:
    """(best, median) thread CPU µs per entry of ``call(setup())``, the collector paused."""
    samples = []
    for _ in range(runs):
        argument = setup()
        gc.disable()
        start = time.thread_time()
        call(argument)
        samples.append(time.thread_time() - start)
        gc.enable()
    return min(samples) / count * 1e6, statistics.median(samples) / count * 1e6


Line = tuple[str, tuple[float, float]]


def pure_parts(n: int, runs: int) -> list[Line]:
    """The Python parts of one batch, each on ready-made inputs."""
    changes = [ours.change(i % 64, i) for i in range(n)]
    events = [RecordedEvent(*change, i + 1) for i, change in enumerate(changes)]
    entries = [entry_of(event) for event in events]
    leaves = [hashlib.sha256(b"\x00" + data).digest() for data in entries]

    def caller(_: object) -> object:
        return [ours.change(0, i) for i in range(n)]

    def audit(_: object) -> object:
        return [_sqlite_row(change) for change in changes]

    def recorded(_: object) -> object:
        return [RecordedEvent(*change, i) for i, change in enumerate(changes)]

    def digests(_: object) -> object:
        return [(_digest_json(e.before), _digest_json(e.after)) for e in events]

    def tree(_: object) -> object:
        return log._place(tlog.CompactRange().extend(leaves), {})

    parts: list[tuple[str, Callable[[Any], object]]] = [
        ("the caller's Change (bench: time, two states)", caller),
        ("audit row values (timestamp text, 2 x json.dumps)", audit),
        ("RecordedEvent for the hooks", recorded),
        ("entry bytes, whole", lambda _: [entry_of(e) for e in events]),
        ("  of which 2 state digests (canonical JSON, SHA-256)", digests),
        ("  of which the timestamp", lambda _: [timestamp(e.at) for e in events]),
        ("leaf hash", lambda _: [hashlib.sha256(b"\x00" + data).digest() for data in entries]),
        ("tree nodes and tile placement", tree),
    ]
    return [(name, per_entry(runs, n, call)) for name, call in parts]


def sqlite_parts(directory: Path, n: int, runs: int) -> list[Line]:
    """The two inserts of a batch and its commit, on prepared rows."""
    changes = [ours.change(i % 64, i) for i in range(n)]
    entries = [entry_of(RecordedEvent(*change, i + 1)) for i, change in enumerate(changes)]
    runtime = ours.open_runtime(directory)
    raw = runtime.db.engine.raw_connection()
    connection: Any = raw.driver_connection
    next_id = [1_000_000]

    def rows() -> list[list[Any]]:
        first = next_id[0]
        next_id[0] += n
        made = [_sqlite_row(change) for change in changes]
        for event_id, row in enumerate(made, first):
            row[0] = event_id
        return made

    def insert(audit: list[list[Any]]) -> None:
        cursor = connection.cursor()
        insert_rows(cursor, "audit_events", AUDIT_COLUMNS, audit)
        leaf_rows = [(row[0], row[0], entries[i]) for i, row in enumerate(audit)]
        insert_rows(cursor, "trail_leaves", LEAF_COLUMNS, leaf_rows)
        cursor.close()

    lines = [
        ("SQLite inserts: audit row (2 indexes) and leaf", per_entry(runs, n, insert, rows)),
        (
            "SQLite commit (WAL, synchronous=FULL), its share",
            per_entry(runs, n, lambda _: connection.commit(), lambda: insert(rows())),
        ),
    ]
    raw.close()
    runtime.db.dispose()
    return lines


def whole_path(directory: Path, n: int, runs: int) -> tuple[list[Line], tuple[float, float]]:
    """``write_changes`` and the commit, per entry (collector paused, then running as usual).

    Also the CPU µs of a batch of one change: the fixed cost every batch pays.
    """
    runtime = ours.open_runtime(directory)
    done = [0]

    def batch(size: int) -> float:
        changes = [ours.change(0, done[0] + i) for i in range(size)]
        done[0] += size
        start = time.thread_time()
        with runtime.db.uow() as uow:
            write_changes(runtime.context(uow), changes)
            uow.commit()
        return time.thread_time() - start

    def runs_of(size: int, *, collect: bool) -> tuple[float, float]:
        samples = []
        for _ in range(runs):
            if not collect:
                gc.disable()
            samples.append(batch(size) / size * 1e6)
            gc.enable()
        return min(samples), statistics.median(samples)

    def split(size: int) -> tuple[float, float]:
        """The appender's two steps: prepare (no lock), then write and commit (the log held)."""
        changes = [ours.change(0, done[0] + i) for i in range(size)]
        done[0] += size
        gc.disable()
        start = time.thread_time()
        ready = prepare_changes(runtime.db.engine.dialect, runtime.record_hooks, changes)
        prepared = time.thread_time()
        with runtime.db.uow() as uow:
            write_changes(runtime.context(uow), ready)
            uow.commit()
        end = time.thread_time()
        gc.enable()
        return (prepared - start) / size * 1e6, (end - prepared) / size * 1e6

    batch(n)  # the signing key, the checked state, the statement cache
    lines = [
        ("whole path: write_changes + commit, collector paused", runs_of(n, collect=False)),
        ("whole path: write_changes + commit, collector running", runs_of(n, collect=True)),
    ]
    steps = [split(n) for _ in range(runs)]
    for position, name in enumerate(
        (
            "prepare_changes (the appender, no lock held)",
            "  then write_changes + commit (the log held)",
        )
    ):
        values = [step[position] for step in steps]
        lines.append((name, (min(values), statistics.median(values))))
    single = [batch(1) * 1e6 for _ in range(runs * 4)]
    runtime.db.dispose()
    return lines, (min(single), statistics.median(single))


def main() -> None:
    """Time every part and print one line each."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batch", type=int, default=1024, help="changes per transaction")
    parser.add_argument("--repeat", type=int, default=15, help="runs of each part")
    args = parser.parse_args()
    n, runs = args.batch, args.repeat
    lines = pure_parts(n, runs)
    with tempfile.TemporaryDirectory(prefix="assay-trail-costs-") as tmp:
        lines += sqlite_parts(Path(tmp) / "sql", n, runs)
        whole, fixed = whole_path(Path(tmp) / "path", n, runs)
    load = Path("/proc/loadavg").read_text().split()[0]
    print(f"per entry, batches of {n:,} (thread CPU µs, best / median of {runs}); load {load}")
    for name, (best, median) in [*lines, *whole]:
        print(f"  {name:58s} {best:6.2f} / {median:6.2f}")
    name = "a batch of one change (the fixed cost of a batch), µs"
    print(f"  {name:58s} {fixed[0]:6.0f} / {fixed[1]:6.0f}")


if __name__ == "__main__":
    main()
