"""The access benchmark: our decision engine and cedarpy side by side on one request set, one run.

    .venv/bin/python benchmarks/access/bench.py                  # 100,000 requests, 1M batch rows
    .venv/bin/python benchmarks/access/bench.py --quick          # smoke run, well under a minute
    .venv/bin/python benchmarks/access/bench.py --requests 20000 --rows 500000

Both engines answer the demo group's policy: the catalogue under ``src/assay/regulation/data`` and
the demo register ``src/assay/access/demo_data/licences.yaml``; the Cedar policy set and entities
are generated from the same data (``cedar_policy.py``). The run checks that both give the same
``allowed`` on every request (Cedar says only Allow or Deny), then measures per-decision latency
(ours warm and cold, cedarpy with its parsed policy set and entities reused), batch throughput
(our ``decide_batch`` on numpy columns, cedarpy's ``is_authorized_batch``) and a plain Python loop
over ``decide``; prints one table with both columns, their ratio and the targets, and writes the
figures as JSON under ``benchmarks/access/out/`` (git-ignored). Exit status 1 when the engines
disagree on any request.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import os
import platform
import random
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any, TypeVar

sys.path.insert(0, str(Path(__file__).resolve().parent))

import cedarpy
import numpy as np
import numpy.typing as npt
from cedar_policy import cedar_entities, cedar_policies, cedar_request, demo_register
from rich.console import Console
from rich.table import Table

from assay.access.decision import Request
from assay.access.engine import Engine
from assay.regulation.loader import load_catalogue
from assay.regulation.model import CLIENTS, PRODUCTS, Catalogue

OUT = Path(__file__).resolve().parent / "out"
TARGET_P50_US = 10.0
TARGET_RATIO = 50.0
TARGET_BATCH_PER_S = 1_000_000
FIRST_DAY, LAST_DAY = dt.date(2024, 1, 1), dt.date(2027, 12, 31)
#: Share of requests drawn from the jurisdictions the data names (the rest: any jurisdiction).
FOCUS_SHARE = 0.7

console = Console(highlight=False, width=150)
T = TypeVar("T")


@dataclass
class Latency:
    """Per-call latencies of one run, in microseconds."""

    calls: int
    p50: float
    p99: float
    mean: float

    @classmethod
    def of(cls, nanos: Sequence[int]) -> Latency:
        """Summarise per-call times in nanoseconds."""
        micros = np.asarray(nanos, dtype=np.float64) / 1000.0
        return cls(
            calls=len(micros),
            p50=float(np.percentile(micros, 50)),
            p99=float(np.percentile(micros, 99)),
            mean=float(micros.mean()),
        )


def options() -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=100_000, help="requests in the set")
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows of our batch run")
    parser.add_argument("--seed", type=int, default=20261125, help="seed of the request set")
    parser.add_argument("--repeat", type=int, default=5, help="runs of each throughput test")
    parser.add_argument("--quick", action="store_true", help="10,000 requests, 200,000 rows")
    args = parser.parse_args()
    if args.quick:
        args.requests = min(args.requests, 10_000)
        args.rows = min(args.rows, 200_000)
        args.repeat = min(args.repeat, 3)
    return args


# --- the request set ---------------------------------------------------------------------------


def focus(catalogue: Catalogue, homes: Sequence[str], passports: Sequence[str]) -> list[str]:
    """The jurisdictions the data names, whose requests the set weights up.

    Licence homes and passports, every code a regime's territory, passport area or rule names
    (sanctioned places included), the places that license per subdivision, and subdivisions of
    anything named (AE, AE-DU, AE-DU-DIFC...).
    """
    named = {*homes, *passports}
    for regime in catalogue.regimes.values():
        areas = [regime.territory, *(r.where for r in regime.rules if r.where is not None)]
        areas += [t.passport.area for t in regime.licence_types if t.passport is not None]
        for area in areas:
            named |= {*area.codes, *area.exclude}
    named |= {j.code for j in catalogue.jurisdictions.values() if j.subdivisions_required}
    while True:  # subdivisions of anything named, down to zones inside them
        below = {j.code for j in catalogue.jurisdictions.values() if j.parent in named} - named
        if not below:
            break
        named |= below
    return sorted(c for c in named if c in catalogue.jurisdictions)


def request_set(catalogue: Catalogue, named: Sequence[str], count: int, seed: int) -> list[Request]:
    """``count`` seeded random requests: every jurisdiction, client, product; days 2024-2027."""
    rng = random.Random(seed)  # noqa: S311 - a reproducible sample, not a secret
    everywhere = sorted(catalogue.jurisdictions)
    first, span = FIRST_DAY.toordinal(), (LAST_DAY - FIRST_DAY).days
    return [
        Request(
            rng.choice(named if rng.random() < FOCUS_SHARE else everywhere),
            rng.choice(CLIENTS),
            rng.choice(PRODUCTS),
            dt.date.fromordinal(first + rng.randint(0, span)),
        )
        for _ in range(count)
    ]


Columns = tuple[
    npt.NDArray[np.str_], npt.NDArray[np.str_], npt.NDArray[np.str_], npt.NDArray[np.datetime64]
]


def columns_of(requests: Sequence[Request]) -> Columns:
    """Requests as the numpy columns ``decide_batch`` takes, row for row."""
    return (
        np.array([r.jurisdiction for r in requests]),
        np.array([r.client for r in requests]),
        np.array([r.product for r in requests]),
        np.array([r.as_of for r in requests], dtype="datetime64[D]"),
    )


def sample(count: int, rows: int, seed: int) -> npt.NDArray[np.intp]:
    """``rows`` seeded row numbers drawn from a set of ``count``."""
    return np.random.default_rng(seed).integers(0, count, rows).astype(np.intp)


# --- timing ------------------------------------------------------------------------------------


def time_each(items: Sequence[T], call: Callable[[T], object]) -> list[int]:
    """Nanoseconds of each call, timed on its own (garbage collector paused)."""
    clock = time.perf_counter_ns
    nanos = [0] * len(items)
    gc.collect()
    gc.disable()
    try:
        for i, item in enumerate(items):
            start = clock()
            call(item)
            nanos[i] = clock() - start
    finally:
        gc.enable()
    return nanos


def best_rate(count: int, run: Callable[[], object], repeat: int) -> tuple[float, list[float]]:
    """Items per second of the fastest of ``repeat`` runs (GC paused), and each run's seconds."""
    seconds = []
    for _ in range(repeat):
        gc.collect()
        gc.disable()
        try:
            start = time.perf_counter()
            run()
            seconds.append(time.perf_counter() - start)
        finally:
            gc.enable()
    return count / min(seconds), seconds


# --- the run -----------------------------------------------------------------------------------


def machine() -> str:
    """CPU model, cores, Python, numpy and cedarpy versions."""
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"{model}, {os.cpu_count()} cores; Python {platform.python_version()}, "
        f"numpy {np.__version__}, cedarpy {version('cedarpy')}"
    )


def main() -> int:  # noqa: PLR0915 - one run, read top to bottom
    """Run the benchmark, print the table, return the exit status."""
    args = options()
    console.print(f"[bold]access engine vs cedarpy[/bold] - {machine()}")
    catalogue = load_catalogue()
    register = demo_register(catalogue)

    start = time.perf_counter()
    policy_text = cedar_policies(catalogue, register)
    entities_json = json.dumps(cedar_entities(catalogue, register))
    generate_s = time.perf_counter() - start
    start = time.perf_counter()
    policies = cedarpy.PolicySet.from_str(policy_text)
    entities = cedarpy.Entities.from_json_str(entities_json)
    cedar_parse_s = time.perf_counter() - start
    start = time.perf_counter()
    engine = Engine(catalogue, register)
    engine_build_s = time.perf_counter() - start
    console.print(
        f"catalogue {catalogue.version}, register v{register.version} "
        f"({len(register.licences)} licences); engine: {len(engine.breaks)} change days, built in "
        f"{engine_build_s * 1e3:.1f} ms; Cedar: {len(policies)} policies and {len(entities)} "
        f"entities, generated in {generate_s * 1e3:.0f} ms, parsed in {cedar_parse_s * 1e3:.0f} ms"
    )

    named = focus(
        catalogue,
        [lic.home for lic in register.licences],
        [p.jurisdiction for lic in register.licences for p in lic.passports],
    )
    requests = request_set(catalogue, named, args.requests, args.seed)
    cedar_requests = [cedar_request(r) for r in requests]
    console.print(
        f"request set: {len(requests):,} requests (seed {args.seed}), "
        f"{FOCUS_SHARE:.0%} from {len(named)} jurisdictions the data names, the rest from all "
        f"{len(catalogue.jurisdictions)}; {len(CLIENTS)} clients, {len(PRODUCTS)} products, "
        f"days {FIRST_DAY}..{LAST_DAY}"
    )

    # Ours, cold: a fresh engine meets each cell for the first time (the reference evaluator runs).
    first_touch: list[bool] = []
    seen: set[object] = set()
    for r in requests:
        cell = engine.cell(r)
        first_touch.append(cell not in seen)
        seen.add(cell)
    nanos = time_each(requests, engine.decide)
    cold = Latency.of([n for n, first in zip(nanos, first_touch, strict=True) if first])
    # Ours, warm: every cell computed.
    ours = Latency.of(time_each(requests, engine.decide))
    our_allowed = [engine.decide(r).allowed for r in requests]

    # cedarpy, one call per decision, parsed policy set and entities reused.
    cedar_answers: list[bool] = []

    def cedar_one(req: dict[str, Any]) -> None:
        cedar_answers.append(cedarpy.is_authorized(req, policies, entities).allowed)

    cedar = Latency.of(time_each(cedar_requests, cedar_one))

    # cedarpy's batch API over the whole set.
    batches: list[list[cedarpy.AuthzResult]] = []
    cedar_batch_rate, cedar_batch_runs = best_rate(
        len(cedar_requests),
        lambda: batches.append(cedarpy.is_authorized_batch(cedar_requests, policies, entities)),
        max(1, args.repeat // 2),
    )
    cedar_batch_answers = [result.allowed for result in batches[-1]]
    cedar_errors = sum(1 for result in batches[-1] if result.diagnostics.errors)

    # Ours, decide_batch: first call on a fresh engine (computes every cell), then warm.
    set_j, set_c, set_p, set_d = columns_of(requests)
    pick = sample(len(requests), args.rows, args.seed)
    j, c, p, d = set_j[pick], set_c[pick], set_p[pick], set_d[pick]
    fresh = Engine(catalogue, register)
    start = time.perf_counter()
    fresh.decide_batch(j, c, p, d)
    batch_cold_rate = args.rows / (time.perf_counter() - start)
    batch_rate, batch_runs = best_rate(
        args.rows, lambda: engine.decide_batch(j, c, p, d), args.repeat
    )
    # decide_batch on the request set itself, for the agreement check.
    verdicts, index = engine.decide_batch(set_j, set_c, set_p, set_d)
    batch_allowed = [verdicts[i].allowed for i in index.tolist()]

    # Ours, a plain Python loop over decide (warm): the set in order, as many as the batch's rows.
    loop_requests = (requests * (args.rows // len(requests) + 1))[: args.rows]

    def loop() -> None:
        decide = engine.decide
        for r in loop_requests:
            decide(r)

    loop_rate, loop_runs = best_rate(args.rows, loop, max(1, args.repeat // 2))

    # Agreement.
    disagree = [
        i
        for i, ok in enumerate(our_allowed)
        if ok != cedar_answers[i] or ok != cedar_batch_answers[i] or ok != batch_allowed[i]
    ]
    allowed_count = sum(our_allowed)
    console.print(
        f"agreement: {len(requests):,} requests, {allowed_count:,} allowed and "
        f"{len(requests) - allowed_count:,} refused by decide; disagreements with cedarpy "
        f"(one call / batch) or with decide_batch: [bold]{len(disagree)}[/bold]; Cedar "
        f"evaluation errors: {cedar_errors}"
    )
    for i in disagree[:5]:
        r = requests[i]
        reasons = ", ".join(x.code for x in engine.decide(r).verdict.reasons) or "-"
        console.print(
            f"  {r.jurisdiction} {r.client} {r.product} {r.as_of}: decide {our_allowed[i]} "
            f"({reasons}), cedarpy {cedar_answers[i]} / batch {cedar_batch_answers[i]}, "
            f"decide_batch {batch_allowed[i]}"
        )

    ratio_p50 = cedar.p50 / ours.p50
    table = Table(title="access decisions: Assay engine vs cedarpy (same policy, same requests)")
    for name, justify in [
        ("measure", "left"),
        ("Assay engine", "right"),
        (f"cedarpy {version('cedarpy')}", "right"),
        ("ours faster by", "right"),
        ("target", "left"),
        ("met", "left"),
    ]:
        table.add_column(name, justify=justify)  # type: ignore[arg-type]

    def met(ok: bool) -> str:
        return "[green]yes[/green]" if ok else "[red]NO[/red]"

    table.add_row(
        "one decision, p50, µs (ours warm)",
        f"{ours.p50:.2f}",
        f"{cedar.p50:.1f}",
        f"{ratio_p50:.0f}x",
        f"<= {TARGET_P50_US:.0f} µs; >= {TARGET_RATIO:.0f}x",
        met(ours.p50 <= TARGET_P50_US and ratio_p50 >= TARGET_RATIO),
    )
    table.add_row(
        "one decision, p99, µs (ours warm)",
        f"{ours.p99:.2f}",
        f"{cedar.p99:.1f}",
        f"{cedar.p99 / ours.p99:.0f}x",
        "",
        "",
    )
    table.add_row(
        f"one decision, cold: first touch of a cell, p50 / p99, µs ({cold.calls:,} cells)",
        f"{cold.p50:.1f} / {cold.p99:.1f}",
        f"{cedar.p50:.1f} / {cedar.p99:.1f} (no cache)",
        f"{cedar.p50 / cold.p50:.1f}x",
        "(reported, no target)",
        "",
    )
    table.add_row(
        f"batch, decisions/s (ours: decide_batch, {args.rows:,} rows; cedarpy: "
        f"is_authorized_batch, {len(cedar_requests):,})",
        f"{batch_rate:,.0f}",
        f"{cedar_batch_rate:,.0f}",
        f"{batch_rate / cedar_batch_rate:,.0f}x",
        f">= {TARGET_BATCH_PER_S:,}/s",
        met(batch_rate >= TARGET_BATCH_PER_S),
    )
    table.add_row(
        "batch, first call on a fresh engine (computes every cell), decisions/s",
        f"{batch_cold_rate:,.0f}",
        "",
        "",
        "(reported, no target)",
        "",
    )
    table.add_row(
        f"Python loop over decide, decisions/s (ours, {args.rows:,}); cedarpy one call each",
        f"{loop_rate:,.0f}",
        f"{1e6 / cedar.mean:,.0f}",
        f"{loop_rate / (1e6 / cedar.mean):,.0f}x",
        "(reported, no target)",
        "",
    )
    table.add_row(
        "answers agree (allowed) on every request",
        f"{len(requests):,} requests",
        f"{len(disagree)} disagree",
        "",
        "0 disagreements",
        met(not disagree),
    )
    console.print(table)
    console.print(
        "Times are taken from Python with the garbage collector paused; one process, one "
        "thread; p99 moves with whatever else the machine runs. cedarpy is called through its "
        "public API with a parsed PolicySet and Entities handle; building the request dicts is "
        "not timed, nor is building our Request objects."
    )

    OUT.mkdir(exist_ok=True)
    figures = {
        "date": dt.date.today().isoformat(),
        "machine": machine(),
        "requests": len(requests),
        "rows": args.rows,
        "seed": args.seed,
        "cedar_policies": len(policies),
        "cedar_entities": len(entities),
        "engine_change_days": len(engine.breaks),
        "ours_warm_us": asdict(ours),
        "ours_cold_us": asdict(cold),
        "cedar_us": asdict(cedar),
        "ratio_p50": ratio_p50,
        "ours_batch_per_s": batch_rate,
        "ours_batch_runs_s": batch_runs,
        "ours_batch_cold_per_s": batch_cold_rate,
        "ours_loop_per_s": loop_rate,
        "ours_loop_runs_s": loop_runs,
        "cedar_batch_per_s": cedar_batch_rate,
        "cedar_batch_runs_s": cedar_batch_runs,
        "allowed": allowed_count,
        "disagreements": len(disagree),
        "cedar_errors": cedar_errors,
    }
    path = OUT / f"access-{'quick' if args.quick else 'full'}.json"
    path.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    console.print(f"figures written to {path}")
    return 1 if disagree or cedar_errors else 0


if __name__ == "__main__":
    sys.exit(main())
