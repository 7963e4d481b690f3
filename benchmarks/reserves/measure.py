"""Wall time and peak memory of a whole process tree, for the reserves benchmark.

Memory is the proportional set size (PSS, ``/proc/<pid>/smaps_rollup``) summed over a process
and all its descendants, sampled every 50 ms: pages shared between forked workers (the sum
tree's shared arrays, the interpreter) count once in all, not once per worker as RSS would.
A child reports its phases by printing JSON lines (``{"mark": "build"}`` when a phase starts,
``{"result": {...}}`` at the end); the peak is kept per phase.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

INTERVAL = 0.05


def _children() -> dict[int, list[int]]:
    """Every process's children, from /proc/<pid>/stat."""
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
        except OSError:
            continue
        parent = int(stat[stat.rindex(")") + 2 :].split()[1])
        children.setdefault(parent, []).append(int(entry.name))
    return children


def _pss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def tree_pss(pid: int) -> int:
    """PSS of ``pid`` and all its descendants, in bytes."""
    children = _children()
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        total += _pss_kb(p)
        todo.extend(children.get(p, ()))
    return total * 1024


@dataclass
class Run:
    """A finished child: its result, wall time, and peak PSS in all and per phase."""

    result: dict[str, Any]
    seconds: float
    peak: int
    phases: dict[str, int] = field(default_factory=dict)
    output: str = ""


class _Sampler(threading.Thread):
    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.phase = "start"
        self.peaks: dict[str, int] = {}
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            pss = tree_pss(self.pid)
            self.peaks[self.phase] = max(self.peaks.get(self.phase, 0), pss)
            self.done.wait(INTERVAL)


def run(args: list[str], *, cwd: Path | None = None, json_lines: bool = True) -> Run:
    """Run a command, sample its process tree's PSS; parse its JSON lines if ``json_lines``."""
    start = time.perf_counter()
    child = subprocess.Popen(  # noqa: S603 - our own interpreter and scripts
        args, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    sampler = _Sampler(child.pid)
    sampler.start()
    result: dict[str, Any] = {}
    lines = []
    assert child.stdout is not None
    for line in child.stdout:
        lines.append(line)
        if json_lines and line.startswith("{"):
            message = json.loads(line)
            if "mark" in message:
                sampler.phase = message["mark"]
            if "result" in message:
                result = message["result"]
    child.wait()
    seconds = time.perf_counter() - start
    sampler.done.set()
    sampler.join()
    output = "".join(lines)
    if child.returncode:
        sys.stderr.write(output)
        raise RuntimeError(f"{args[:3]} exited with status {child.returncode}")
    return Run(result, seconds, max(sampler.peaks.values(), default=0), sampler.peaks, output)


def mark(phase: str) -> None:
    """In a child: a phase starts (the parent keeps its peak memory apart)."""
    print(json.dumps({"mark": phase}), flush=True)


def report(result: dict[str, Any]) -> None:
    """In a child: the figures, for the parent."""
    print(json.dumps({"result": result}), flush=True)
