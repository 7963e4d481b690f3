"""Pinning worker processes to CPUs of their own (``ASSAY_PIN_WORKERS``), in child processes.

The test process itself is never pinned: it would slow the rest of the suite.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
ALLOWED = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []

pytestmark = pytest.mark.skipif(not ALLOWED, reason="pinning needs Linux's sched_setaffinity")

# A worker: pins itself, starts a thread, reports its CPU and both threads' affinities, waits.
WORKER = """
import os, sys, threading
from pathlib import Path
from assay.platform.affinity import pin_to_free_cpu
started = threading.Event()
threading.Thread(target=started.wait, daemon=True).start()  # a thread from before the pin
cpu = pin_to_free_cpu(Path(sys.argv[1]))
threads = sorted({frozenset(os.sched_getaffinity(int(t))) for t in os.listdir("/proc/self/task")},
                 key=sorted)
print(cpu, [sorted(t) for t in threads], flush=True)
sys.stdin.read()  # alive until the parent closes our input
"""


def _worker(directory: Path) -> tuple[subprocess.Popen[str], int, list[list[int]]]:
    process = subprocess.Popen(
        [sys.executable, "-c", WORKER, str(directory)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO / "src")},
    )
    assert process.stdout is not None
    cpu, threads = process.stdout.readline().split(" ", 1)
    return process, int(cpu), eval(threads)  # noqa: S307 - our own child's repr of a list


def _stop(process: subprocess.Popen[str]) -> None:
    assert process.stdin is not None
    assert process.stdout is not None
    process.stdin.close()
    process.wait(timeout=30)
    process.stdout.close()


def test_a_worker_pins_all_its_threads_to_the_cpu_it_claims(tmp_path: Path) -> None:
    process, cpu, threads = _worker(tmp_path)
    try:
        assert cpu in ALLOWED
        assert threads == [[cpu]]  # the thread started before the pin too
        assert (tmp_path / f"cpu-{cpu}.pid-{process.pid}").exists()
    finally:
        _stop(process)


def test_live_workers_get_different_cpus_and_ended_ones_give_theirs_back(tmp_path: Path) -> None:
    if len(ALLOWED) < 2:
        pytest.skip("one CPU allowed: nothing to spread over")
    first, first_cpu, _ = _worker(tmp_path)
    try:
        second, second_cpu, _ = _worker(tmp_path)
        assert second_cpu != first_cpu
        _stop(second)
        third, third_cpu, _ = _worker(tmp_path)  # the second's CPU is free again
        try:
            assert third_cpu == second_cpu
            assert not (tmp_path / f"cpu-{second_cpu}.pid-{second.pid}").exists()
        finally:
            _stop(third)
    finally:
        _stop(first)


def test_claims_that_are_not_claims_are_cleared_not_counted(tmp_path: Path) -> None:
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    (tmp_path / f"cpu-{ALLOWED[0]}.pid-{gone.pid}").touch()  # a worker that has ended
    (tmp_path / "cpu-x.pid-y").touch()  # not a claim at all
    process, cpu, _ = _worker(tmp_path)
    try:
        assert cpu == ALLOWED[0]  # the ended worker's claim did not count
        assert sorted(p.name for p in tmp_path.glob("cpu-*")) == [f"cpu-{cpu}.pid-{process.pid}"]
    finally:
        _stop(process)


def test_the_app_factory_pins_the_worker_only_when_asked(tmp_path: Path) -> None:
    probe = (
        "import os; from assay.app import app_from_env; app_from_env(); "
        "print(sorted(os.sched_getaffinity(0)))"
    )
    base = {
        **os.environ,
        "PYTHONPATH": str(REPO / "src"),
        "ASSAY_ENV": "development",
        "ASSAY_DATA_DIR": str(tmp_path),
    }
    for pin, expected in (("false", ALLOWED), ("true", None)):
        out = subprocess.run(
            [sys.executable, "-c", probe],
            env={**base, "ASSAY_PIN_WORKERS": pin},
            capture_output=True,
            text=True,
            check=True,
            cwd=REPO,
        ).stdout
        cpus = eval(out.strip().splitlines()[-1])  # noqa: S307 - our own child's output
        if expected is None:
            assert len(cpus) == 1
            assert list((tmp_path / "run").glob(f"cpu-{cpus[0]}.pid-*"))
        else:
            assert cpus == expected
