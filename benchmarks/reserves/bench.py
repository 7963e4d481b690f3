"""The reserves benchmark: sum tree, OKX V2 tree audit, customer proofs, in one run.

    .venv/bin/python benchmarks/reserves/bench.py            # 1M and 10M accounts; ~10 minutes
    .venv/bin/python benchmarks/reserves/bench.py --quick    # 1M build, 200k OKX tree; < 1 minute
    .venv/bin/python benchmarks/reserves/bench.py --sizes 1000000,4000000 --pow2 --keep

Each heavy step runs in a child process whose whole process tree (forked workers, Dask
workers, the OKX Go validator) is sampled for its memory (PSS, shared pages counted once):

1. **Sum tree** (``assay.reserves.sumtree.build``): N accounts x 10 assets, seeded realistic
   balances (``accounts.py``), capacity N (``--pow2``: the next power of two). The build alone
   is timed; the peak memory is the whole child's (its inputs included). It hashes through
   the native helper when it is built (``make install``), through hashlib with
   ``ASSAY_NATIVE=0``; the row says which. The peers are not code here: their published
   figures (10M accounts) are printed beside, marked so.
2. **OKX V2 tree audit**: ``okx_gen.py`` writes a valid tree file of N accounts from the
   format's rules; ``audit_okx_v2_tree`` audits it (every parent recomputed) on all cores, then
   the streaming audit alone (one core), then OKX's Go validator (``merklevalidator``, which
   sums the leaves and finds one user's leaf but recomputes no parent) when it was built
   (``build_okx_validator.sh``; otherwise its published 43-46 s is printed).
3. **Customer proofs**: 1,000 proofs of the largest tree built in step 1, checked with the
   standard-library verifier ``verify_proof.py``: ``check(json.loads(text))`` timed per proof
   (p50, p99), and the script run as a process (``python verify_proof.py proof.json``).
4. **Distributed build** (``assay.reserves.distributed``, when present): a local Dask cluster
   of two worker processes, N from 1M doubling up to ``--distributed-max``, roots compared with
   the single-machine build where both ran.

Figures go to ``benchmarks/reserves/out/reserves-{quick,full}.json`` (git-ignored), generated
files to ``benchmarks/reserves/out/`` (deleted unless ``--keep``).
"""

# ruff: noqa: E402 - see the sys.path lines below the standard library's imports
from __future__ import annotations

import argparse
import datetime as dt
import functools
import gc
import importlib.util
import json
import os
import platform
import random
import shutil
import sys
import time
from pathlib import Path
from types import ModuleType
from typing import Any

# This folder last on the path (so the imports below come after it, E402): its own modules are
# found, and ``distributed.py`` (the scaling benchmark beside this one) does not hide Dask's
# ``distributed``, here or in Dask's workers.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.append(str(Path(__file__).resolve().parent))

import accounts
import measure
import numpy as np
import okx_gen
from rich.console import Console
from rich.table import Table

from assay.reserves import layout, native, sumtree
from assay.reserves.okx_parallel import fast_audit
from assay.reserves.okx_tree import audit_okx_v2_tree
from assay.reserves.proof import build_proof

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
OUT = HERE / "out"
VERIFIER = ROOT / "src" / "assay" / "reserves" / "verify_proof.py"
GO_VALIDATOR = OUT / "okx-gopath" / "bin" / "merklevalidator"
SECRET = bytes(range(32))
SEED = 20261125

TARGET_BUILD_S, TARGET_BUILD_GB = 8.0, 3.0
TARGET_AUDIT_S = 20.0
TARGET_VERIFY_MS = 1.0
#: Published figures (docs: /work/shared/reference/proof-of-reserves.md), 10M accounts.
PEER_BUILD = [
    ("Python sum tree, both child sums hashed, hashlib", 17.0, 4.3),
    ("same, SHA-256 through OpenSSL's low-level functions from C", 9.7, 3.0),
]
PEER_GO_S = "43-46 s, 16 MB"
PEER_PY_AUDIT = "81 s, 6.0 GB"
PEER_SUMMA_VERIFY = "4 ms (Summa v1, 2^20 users)"

Row = tuple[str, str, str, str, str]
console = Console(highlight=False, width=160)


# --- children: one heavy step each, run by measure.run ------------------------------------------


def child_build(args: argparse.Namespace) -> None:
    """Build the sum tree of ``args.accounts``; write ``args.proofs`` proofs to ``args.dir``."""
    measure.mark("inputs")
    start = time.perf_counter()
    ids, equity = accounts.generate(args.accounts, args.seed)
    capacity = layout.capacity_for(args.accounts) if args.pow2 else args.accounts
    round_ = accounts.round_for(args.accounts, capacity)
    inputs_s = time.perf_counter() - start
    gc.collect()
    measure.mark("build")
    start = time.perf_counter()
    tree = sumtree.build(round_, SECRET, ids, equity)
    build_s = time.perf_counter() - start
    measure.mark("proofs")
    proofs = 0
    if args.proofs:
        folder = Path(args.dir)
        folder.mkdir(parents=True, exist_ok=True)
        pick = random.Random(args.seed).sample(range(args.accounts), args.proofs)  # noqa: S311
        start = time.perf_counter()
        for k, i in enumerate(pick):
            proof = build_proof(tree, str(ids[i]))
            (folder / f"proof-{k:04d}.json").write_text(proof.model_dump_json())
            proofs += 1
        proof_s = (time.perf_counter() - start) / max(1, proofs)
    measure.report(
        {
            "accounts": args.accounts,
            "capacity": capacity,
            "inputs_s": inputs_s,
            "build_s": build_s,
            "hasher": "hashlib" if native.hasher() is None else "native",
            "root": tree.root.hash.hex(),
            "proofs": proofs,
            "proof_ms": proof_s * 1e3 if proofs else None,
        }
    )


def child_audit(args: argparse.Namespace) -> None:
    """Audit a tree file: ``fast`` (every core), ``fast1`` (one process) or ``stream``."""
    measure.mark("audit")
    start = time.perf_counter()
    if args.mode == "stream":
        audit = audit_okx_v2_tree(args.tree, workers=0)
    else:
        found = fast_audit(args.tree, workers=1 if args.mode == "fast1" else None, min_bytes=0)
        if found is None:
            raise SystemExit("the fast audit stepped aside on a generated (clean) tree")
        audit = found
    seconds = time.perf_counter() - start
    measure.report(
        {
            "seconds": seconds,
            "ok": audit.ok,
            "root": audit.root,
            "leaf_count": audit.leaf_count,
            "node_count": audit.node_count,
        }
    )


def _load_partition(index: int, size: int, seed: int) -> Any:
    """A Dask worker makes its own partition (same accounts as the single-machine build)."""
    from assay.reserves.distributed import Accounts  # noqa: PLC0415 - optional, in a worker

    ids, equity = accounts.partition(index, size, seed)
    return Accounts(ids, equity)


def child_distributed(args: argparse.Namespace) -> None:
    """Build the tree of ``args.accounts`` on a local Dask cluster of two worker processes."""
    import cloudpickle  # noqa: PLC0415 - Dask's, optional
    import distributed as dask  # noqa: PLC0415 - optional and heavy

    from assay.reserves import distributed  # noqa: PLC0415 - optional

    cloudpickle.register_pickle_by_value(accounts)  # the workers need not find this folder
    measure.mark("cluster")
    with (
        dask.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",
            memory_limit=0,
        ) as cluster,
        dask.Client(cluster) as client,
    ):
        round_ = accounts.round_for(args.accounts)
        parts = [
            functools.partial(_load_partition, i, args.accounts, args.seed)
            for i in range(-(-args.accounts // accounts.PARTITION))
        ]
        measure.mark("build")
        start = time.perf_counter()
        tree = distributed.build(client, round_, SECRET, parts)
        seconds = time.perf_counter() - start
        measure.report(
            {"accounts": args.accounts, "build_s": seconds, "root": tree.root.hash.hex()}
        )


# --- the run -----------------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    """CPU model, cores, memory, Python and numpy versions, load average."""
    model = platform.machine()
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    memory = int(Path("/proc/meminfo").read_text().split()[1]) * 1024
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "memory_gb": round(memory / 1e9, 1),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "load": os.getloadavg(),
    }


def options() -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run under a minute")
    parser.add_argument("--sizes", help="accounts per size, comma-separated (default 1M,10M)")
    parser.add_argument("--okx-sizes", help="OKX tree accounts (default: --sizes)")
    parser.add_argument("--pow2", action="store_true", help="capacity: next power of two")
    parser.add_argument("--proofs", type=int, default=1000, help="proofs to verify")
    parser.add_argument("--keep", action="store_true", help="keep generated files")
    parser.add_argument("--no-stream", action="store_true", help="skip the streaming audit")
    parser.add_argument("--distributed-max", type=int, help="largest distributed build")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument(
        "--steps", default="build,okx,proofs,distributed", help="which steps to run (all)"
    )
    parser.add_argument("--child", choices=sorted(CHILDREN), help=argparse.SUPPRESS)
    parser.add_argument("--accounts", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--dir", help=argparse.SUPPRESS)
    parser.add_argument("--tree", help=argparse.SUPPRESS)
    parser.add_argument("--mode", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return args
    if args.sizes:
        args.sizes = [int(s) for s in args.sizes.split(",")]
    else:
        args.sizes = [1_000_000] if args.quick else [1_000_000, 10_000_000]
    args.okx_sizes = (
        [int(s) for s in args.okx_sizes.split(",")]
        if args.okx_sizes
        else ([200_000] if args.quick else args.sizes)
    )
    if args.distributed_max is None:
        args.distributed_max = 1_000_000 if args.quick else 8_000_000
    return args


def child_args(step: str, **values: Any) -> list[str]:
    """The command line of a child step."""
    line = [sys.executable, str(Path(__file__).resolve()), "--child", step]
    for key, value in values.items():
        if value is True:
            line.append(f"--{key}")
        elif value is not None and value is not False:
            line += [f"--{key}", str(value)]
    return line


def gb(n: int) -> str:
    """Bytes as GB with two decimals."""
    return f"{n / 1e9:.2f} GB"


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (nearest rank) of ``values``."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


def met(ok: bool) -> str:
    """A target's verdict, coloured."""
    return "[green]yes[/green]" if ok else "[red]NO[/red]"


def step_builds(args: argparse.Namespace, work: Path, rows: list[Row]) -> list[dict[str, Any]]:
    """1. The sum tree at each size; proofs of the largest."""
    builds = []
    largest = max(args.sizes)
    for n in args.sizes:
        run = measure.run(
            child_args(
                "build",
                accounts=n,
                pow2=args.pow2,
                seed=args.seed,
                proofs=args.proofs if n == largest else 0,
                dir=work / f"proofs-{n}",
            )
        )
        r = run.result
        peak = run.phases.get("build", 0)  # the inputs, held during the build, included
        inputs = run.phases.get("inputs", 0)
        builds.append({**r, "peak_bytes": peak, "inputs_bytes": inputs})
        console.print(
            f"sum tree {n:,} accounts x 10 assets (capacity {r['capacity']:,}): inputs "
            f"{r['inputs_s']:.1f} s, build {r['build_s']:.2f} s ({r['hasher']}), peak {gb(peak)} "
            f"(inputs alone {gb(inputs)}); root {r['root'][:16]}..."
        )
        ten = n == 10_000_000
        peers = "; ".join(f"{s:.1f} s, {g:.1f} GB" for _, s, g in PEER_BUILD)
        rows.append(
            (
                f"sum tree build, {n:,} accounts x 10 assets ({r['hasher']})",
                f"{r['build_s']:.2f} s, {gb(peak)}",
                f"published, 10M: {peers} (hashlib; C via OpenSSL)" if ten else "-",
                f"<= {TARGET_BUILD_S:.0f} s, {TARGET_BUILD_GB:.0f} GB (10M)" if ten else "",
                met(r["build_s"] <= TARGET_BUILD_S and peak <= TARGET_BUILD_GB * 1e9)
                if ten
                else "",
            )
        )
    return builds


def step_okx(args: argparse.Namespace, work: Path, rows: list[Row]) -> list[dict[str, Any]]:
    """2. OKX V2 tree files written, then audited three ways, and by OKX's Go validator."""
    audits = []
    for n in args.okx_sizes:
        path, user = work / f"okx-{n}.txt", work / f"okx-{n}-user.json"
        start = time.perf_counter()
        tree = okx_gen.generate(path, n, seed=args.seed)
        user.write_text(json.dumps(okx_gen.user_file(n // 2, n, args.seed)))
        console.print(
            f"OKX V2 tree {n:,} accounts: {tree.lines:,} lines, {tree.size / 1e9:.2f} GB, "
            f"written in {time.perf_counter() - start:.1f} s; root {tree.root[:16]}..."
        )
        entry: dict[str, Any] = {"accounts": n, "lines": tree.lines, "bytes": tree.size}
        for mode in ["fast", "fast1"] + ([] if args.no_stream else ["stream"]):
            r = (run := measure.run(child_args("audit", tree=path, mode=mode))).result
            good = r["ok"] and r["root"] == tree.root and r["node_count"] == tree.lines
            entry[mode] = {"seconds": r["seconds"], "peak_bytes": run.peak, "ok": good}
            console.print(
                f"  audit {mode}: {r['seconds']:.2f} s, peak {gb(run.peak)}, "
                f"{'clean' if good else 'NOT CLEAN'}"
            )
        if GO_VALIDATOR.exists():
            run = measure.run(
                [str(GO_VALIDATOR), "--merkle_file", str(path), "--user_info_file", str(user)],
                json_lines=False,
            )
            passed = "validation passed" in run.output
            entry["go"] = {"seconds": run.seconds, "peak_bytes": run.peak, "passed": passed}
            console.print(
                f"  OKX Go validator: {run.seconds:.2f} s, peak {gb(run.peak)}, "
                f"{'passed' if passed else 'FAILED'}"
            )
        audits.append(entry)
        okx_rows(entry, rows)
        if not args.keep:
            path.unlink()
            user.unlink()
    return audits


def okx_rows(entry: dict[str, Any], rows: list[Row]) -> None:
    """The table rows of one OKX tree size."""
    n, ten = entry["accounts"], entry["accounts"] == 10_000_000
    go, fast = entry.get("go"), entry["fast"]
    rows.append(
        (
            f"OKX V2 tree audit, {n:,} accounts ({entry['lines']:,} lines, "
            f"{entry['bytes'] / 1e9:.2f} GB), every parent, all cores",
            f"{fast['seconds']:.2f} s, {gb(fast['peak_bytes'])}",
            f"{go['seconds']:.1f} s, {gb(go['peak_bytes'])} (OKX Go validator, this run; "
            "recomputes no parent)"
            if go
            else f"published, 10M: {PEER_GO_S} (OKX Go validator, not built here)",
            f"<= {TARGET_AUDIT_S:.0f} s (10M)" if ten else "",
            met(fast["seconds"] <= TARGET_AUDIT_S and fast["ok"]) if ten else "",
        )
    )
    one = entry["fast1"]
    rows.append(
        ("  same, one process", f"{one['seconds']:.2f} s, {gb(one['peak_bytes'])}", "", "", "")
    )
    if "stream" in entry:
        stream = entry["stream"]
        rows.append(
            (
                "  same, the streaming audit (one core, flat memory)",
                f"{stream['seconds']:.2f} s, {gb(stream['peak_bytes'])}",
                f"published, 10M: {PEER_PY_AUDIT} (pure Python, whole tree held)" if ten else "",
                "",
                "",
            )
        )


def load_verifier() -> ModuleType:
    """``verify_proof.py`` imported from its file, as a customer would run it."""
    spec = importlib.util.spec_from_file_location("verify_proof", VERIFIER)
    if spec is None or spec.loader is None:
        raise RuntimeError(f"cannot load {VERIFIER}")
    verifier = importlib.util.module_from_spec(spec)
    sys.modules["verify_proof"] = verifier
    spec.loader.exec_module(verifier)
    return verifier


def step_proofs(
    args: argparse.Namespace, work: Path, builds: list[dict[str, Any]], rows: list[Row]
) -> dict[str, Any] | None:
    """3. The proofs of the largest tree, checked by the standard-library verifier."""
    largest = max(args.sizes)
    folder = work / f"proofs-{largest}"
    texts = [f.read_text() for f in sorted(folder.glob("proof-*.json"))]
    if not texts:
        return None
    verifier = load_verifier()
    clock = time.perf_counter_ns
    nanos = []
    gc.collect()
    gc.disable()
    try:
        for text in texts:
            start = clock()
            verifier.check(json.loads(text))
            nanos.append(clock() - start)
    finally:
        gc.enable()
    ms = [x / 1e6 for x in nanos]
    runs = []
    for f in sorted(folder.glob("proof-*.json"))[:20]:
        run = measure.run([sys.executable, str(VERIFIER), str(f)], json_lines=False)
        if not run.output.startswith("verified"):
            raise RuntimeError(run.output)
        runs.append(run.seconds * 1e3)
    p = {
        "tree_accounts": largest,
        "proofs": len(texts),
        "bytes": sum(len(t) for t in texts) // len(texts),
        "p50_ms": percentile(ms, 50),
        "p99_ms": percentile(ms, 99),
        "max_ms": max(ms),
        "process_p50_ms": percentile(runs, 50),
        "build_proof_ms": builds[-1]["proof_ms"],
    }
    console.print(
        f"proofs of the {largest:,}-account tree: {p['proofs']:,} of {p['bytes']:,} bytes; "
        f"check(json.loads) p50 {p['p50_ms']:.3f} ms, p99 {p['p99_ms']:.3f} ms; "
        f"python verify_proof.py p50 {p['process_p50_ms']:.0f} ms (20 runs); "
        f"build_proof {p['build_proof_ms']:.2f} ms each"
    )
    rows.append(
        (
            f"customer proof, stdlib verifier, check(json.loads), {largest:,}-account tree, "
            "p50 / p99",
            f"{p['p50_ms']:.3f} / {p['p99_ms']:.3f} ms",
            f"published: {PEER_SUMMA_VERIFY}",
            f"<= {TARGET_VERIFY_MS:.0f} ms",
            met(p["p50_ms"] <= TARGET_VERIFY_MS) + " (p50)",
        )
    )
    rows.append(
        (
            "  same, `python verify_proof.py proof.json` (a new process), p50",
            f"{p['process_p50_ms']:.0f} ms",
            "",
            "",
            "",
        )
    )
    return p


def step_distributed(
    args: argparse.Namespace, builds: list[dict[str, Any]], rows: list[Row]
) -> list[dict[str, Any]]:
    """4. The distributed engine, 1M accounts doubling to ``--distributed-max``."""
    if importlib.util.find_spec("assay.reserves.distributed") is None:
        rows.append(("distributed build", "TODO: no distributed engine yet", "", "100M", ""))
        return []
    roots = {b["accounts"]: b["root"] for b in builds if b["capacity"] == b["accounts"]}
    scaling = []
    n = 1_000_000
    while n <= args.distributed_max:
        run = measure.run(child_args("distributed", accounts=n, seed=args.seed))
        r, same = run.result, roots.get(n)
        scaling.append(
            {**r, "peak_bytes": run.peak, "same_root": None if same is None else same == r["root"]}
        )
        console.print(
            f"distributed build {n:,} accounts (2 Dask workers): {r['build_s']:.2f} s, "
            f"{n / r['build_s'] / 1e3:,.0f} k accounts/s, peak {gb(run.peak)}"
            + ("" if same is None else f", root {'=' if same == r['root'] else '!='} sumtree")
        )
        n *= 2
    if scaling:
        first, last = scaling[0], scaling[-1]
        rows.append(
            (
                f"distributed build (2 Dask workers), {first['accounts']:,} -> "
                f"{last['accounts']:,} accounts",
                f"{first['build_s']:.1f} s -> {last['build_s']:.1f} s, {gb(last['peak_bytes'])}",
                "",
                "100M or the largest that fits",
                "see README",
            )
        )
    return scaling


CHILDREN = {"build": child_build, "audit": child_audit, "distributed": child_distributed}


def main() -> int:
    """Run every step, print one table, write the figures; exit 1 if an audit fails."""
    args = options()
    if args.child:
        CHILDREN[args.child](args)
        return 0
    info = machine()
    console.print(
        f"[bold]reserves[/bold] - {info['cpu']}, {info['cores']} cores, {info['memory_gb']} GB; "
        f"Python {info['python']}, numpy {info['numpy']}; load average "
        f"{'/'.join(f'{x:.1f}' for x in info['load'])}"
    )
    OUT.mkdir(exist_ok=True)
    work = OUT / ("quick" if args.quick else "full")
    work.mkdir(exist_ok=True)
    rows: list[Row] = []
    figures: dict[str, Any] = {"date": dt.date.today().isoformat(), "machine": info}
    steps = set(args.steps.split(","))
    figures["build"] = step_builds(args, work, rows) if "build" in steps else []
    figures["okx"] = step_okx(args, work, rows) if "okx" in steps else []
    if "proofs" in steps and figures["build"]:
        figures["proofs"] = step_proofs(args, work, figures["build"], rows)
    if "distributed" in steps:
        figures["distributed"] = step_distributed(args, figures["build"], rows)
    figures["load_after"] = os.getloadavg()

    table = Table(title=f"reserves, {figures['date']} (this run's figures unless marked)")
    for name, justify in [("measure", "left"), ("Assay", "right")] + [
        (c, "left") for c in ("peer", "target", "met")
    ]:
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for row in rows:
        table.add_row(*row)
    console.print(table)
    console.print(
        f"load average after: {'/'.join(f'{x:.1f}' for x in figures['load_after'])}. "
        "Published figures are not this run's (their programs are not here)."
    )
    name = "quick" if args.quick else "full"
    if steps != {"build", "okx", "proofs", "distributed"}:
        name += "-" + "-".join(sorted(steps))
    path = OUT / f"reserves-{name}.json"
    path.write_text(json.dumps(figures, indent=2) + "\n")
    console.print(f"figures written to {path}")
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    clean = all(e[m]["ok"] for e in figures["okx"] for m in ("fast", "fast1", "stream") if m in e)
    return 0 if clean else 1


if __name__ == "__main__":
    sys.exit(main())
