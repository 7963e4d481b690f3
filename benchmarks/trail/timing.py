"""Timing helpers shared by the trail benchmark: latency samples, throughput runs, one result type.

Everything here is plain measurement: a clock around a call, threads started together, a summary.
Nothing here knows about Merkle trees, our product or pymerkle.
"""

from __future__ import annotations

import multiprocessing
import statistics
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


@dataclass
class Latency:
    """Per-call latencies in microseconds, and what the calls returned (kept for verification)."""

    micros: list[float] = field(default_factory=list)

    @property
    def p50(self) -> float:
        """Median latency, µs."""
        return statistics.median(self.micros)

    @property
    def mean(self) -> float:
        """Mean latency, µs."""
        return statistics.fmean(self.micros)

    @property
    def p99(self) -> float:
        """99th percentile latency, µs."""
        ordered = sorted(self.micros)
        return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


def time_each(inputs: Iterable[T], call: Callable[[T], R]) -> tuple[Latency, list[R]]:
    """Call ``call`` once per input, timing each call on its own; returns latencies and results."""
    clock = time.perf_counter_ns
    latency = Latency()
    results: list[R] = []
    for item in inputs:
        start = clock()
        result = call(item)
        latency.micros.append((clock() - start) / 1000)
        results.append(result)
    return latency, results


@dataclass
class Throughput:
    """How many operations completed in how long."""

    operations: int
    seconds: float

    @property
    def per_second(self) -> float:
        """Operations per second."""
        return self.operations / self.seconds if self.seconds else 0.0


def run_writers(writers: int, seconds: float, work: Callable[[int, int], int]) -> Throughput:
    """Run ``writers`` threads together for about ``seconds``; each calls ``work(writer, round)``.

    ``work`` returns how many operations it completed (acknowledged) in that call. Threads start
    together on a barrier and stop at the first call that ends after the deadline; the clock
    stops when the last thread has finished, so every counted operation completed inside it.
    """
    barrier = threading.Barrier(writers + 1)
    counts = [0] * writers
    errors: list[BaseException] = []
    deadline = [0.0]

    def loop(writer: int) -> None:
        barrier.wait()
        done = 0
        round_ = 0
        try:
            while time.perf_counter() < deadline[0]:
                done += work(writer, round_)
                round_ += 1
        except BaseException as exc:  # noqa: BLE001 - reported after the run
            errors.append(exc)
        counts[writer] = done

    threads = [threading.Thread(target=loop, args=(w,), daemon=True) for w in range(writers)]
    for thread in threads:
        thread.start()
    start = time.perf_counter()
    deadline[0] = start + seconds
    barrier.wait()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - start
    if errors:
        raise RuntimeError(f"{len(errors)} writer(s) failed; first: {errors[0]!r}") from errors[0]
    return Throughput(sum(counts), elapsed)


def timed(call: Callable[[], int]) -> Throughput:
    """Run ``call`` once; it returns how many operations it did."""
    start = time.perf_counter()
    operations = call()
    return Throughput(operations, time.perf_counter() - start)


#: What a writer process sets up, given the number of its first writer: the ``work`` its
#: threads call, and a ``finish`` whose (picklable) result goes back to the parent at the end.
Setup = Callable[[int], tuple[Callable[[int, int], int], Callable[[], object]]]


def run_writer_processes(
    processes: int,
    writers: int,
    seconds: float,
    setup: Setup,
    *,
    pin: Callable[[], object] | None = None,
) -> tuple[Throughput, list[object]]:
    """``run_writers`` with the ``writers`` threads spread evenly over ``processes`` processes.

    Each process is forked, calls ``pin()`` if given (to pin itself to a CPU), then
    ``setup(first_writer)`` (untimed: it opens its own connections there), waits until every
    process is ready, runs its threads for about ``seconds`` and sends back its count and
    ``finish()``. The figure is every acknowledged operation over the longest process's run,
    so that each counted operation completed inside it. Returns it and each process's
    ``finish()`` result, in process order.

    Raises:
        ValueError: the writers do not divide evenly among the processes.
    """
    if writers % processes:
        raise ValueError(f"{writers} writers do not divide among {processes} processes")
    threads = writers // processes
    context = multiprocessing.get_context("fork")
    ready = context.Barrier(processes)
    results = context.Queue()

    def child(number: int) -> None:
        try:
            if pin is not None:
                pin()
            work, finish = setup(number * threads)
            ready.wait()
            run = run_writers(threads, seconds, work)
            results.put((number, run.operations, run.seconds, finish(), None))
        except BaseException as exc:  # noqa: BLE001 - reported by the parent
            ready.abort()
            results.put((number, 0, 0.0, None, f"{type(exc).__name__}: {exc}"))

    workers = [context.Process(target=child, args=(n,)) for n in range(processes)]
    for worker in workers:
        worker.start()
    answers = sorted(results.get(timeout=seconds + 600) for _ in workers)
    for worker in workers:
        worker.join()
    failed = [f"process {n}: {error}" for n, _, _, _, error in answers if error]
    if failed:
        raise RuntimeError("; ".join(failed))
    operations = sum(answer[1] for answer in answers)
    longest = max(answer[2] for answer in answers)
    return Throughput(operations, longest), [answer[3] for answer in answers]
