"""Pinning worker processes to CPUs, one each, so that they do not share a core.

A CPython process runs its Python on one core at a time. With several workers sharing a SQLite
trail (``assay serve --workers N``), each worker's appender holds the log for its turn while the
others prepare theirs; left to the scheduler, every process's threads move between the cores
and the one holding the log is slowed by the others (measured in ``benchmarks/trail``: pinned,
two workers appended 1.3x to 1.5x faster). ``ASSAY_PIN_WORKERS=true`` makes each worker pin
itself, at start, to the allowed CPU the fewest live workers have claimed.

Claims are empty files ``cpu-<cpu>.pid-<pid>`` in a folder of the data directory, chosen under a
file lock; the claims of processes that have ended are removed by the next worker to choose.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path


def pin_to_free_cpu(directory: Path) -> int | None:
    """Pin this whole process to the allowed CPU with the fewest live claims; that CPU.

    None where the system cannot pin processes (not Linux).
    """
    if not hasattr(os, "sched_setaffinity"):
        return None
    allowed = sorted(os.sched_getaffinity(0))
    directory.mkdir(parents=True, exist_ok=True)
    me = os.getpid()
    with (directory / "cpus.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        claims = dict.fromkeys(allowed, 0)
        for claim in directory.glob("cpu-*.pid-*"):
            cpu, pid = _parse(claim.name)
            if pid is None or pid == me or not _alive(pid):
                claim.unlink(missing_ok=True)
            elif cpu in claims:
                claims[cpu] += 1
        chosen = min(allowed, key=lambda cpu: (claims[cpu], cpu))
        (directory / f"cpu-{chosen}.pid-{me}").touch()
    for thread in os.listdir("/proc/self/task"):  # every thread, not just this one
        try:
            os.sched_setaffinity(int(thread), {chosen})
        except ProcessLookupError:  # the thread ended meanwhile
            continue
    return chosen


def _parse(name: str) -> tuple[int, int | None]:
    """(cpu, pid) of a claim's file name; pid None when it is not one."""
    cpu, _, pid = name.removeprefix("cpu-").partition(".pid-")
    if not (cpu.isdigit() and pid.isdigit()):
        return -1, None
    return int(cpu), int(pid)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's: alive
        return True
    return True
