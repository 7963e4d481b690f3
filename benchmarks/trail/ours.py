"""Our trail, measured through the product's own code paths, each result checked for correctness.

Durable appends go through ``assay.trail.appender`` (the group-commit writer every recorded change
takes) on a SQLite file configured by ``assay.platform.db`` (WAL, ``synchronous=FULL``). Proofs are
``tlog.prove_inclusion`` / ``tlog.prove_consistency`` over ``log.StoreReader`` with the process's
tile cache, exactly as ``service.inclusion`` computes them; the whole service call is timed too.
Every proof timed is verified afterwards with ``rfc9162.verify_*``.
"""

from __future__ import annotations

import datetime as dt
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, cast

from sqlalchemy import func, select, text
from timing import Latency, Throughput, run_writer_processes, run_writers, time_each, timed

from assay.platform import migrate
from assay.platform.affinity import pin_to_free_cpu
from assay.platform.record import Change, write_changes
from assay.platform.roles import system_principal
from assay.platform.runtime import Runtime, build_runtime
from assay.platform.tables import AuditEvent
from assay.settings import Settings
from assay.trail import appender, log, rfc9162, service, store, tlog
from assay.trail.checkpoint import Checkpoint, open_checkpoint, sign_checkpoint
from assay.trail.store import TrailLeaf

BUILD_BATCH = 100_000
EPOCH = dt.datetime(2026, 11, 25, tzinfo=dt.UTC)


def open_runtime(directory: Path) -> Runtime:
    """A runtime on ``directory/assay.db`` (created and migrated if new), as `assay` builds one."""
    directory.mkdir(parents=True, exist_ok=True)
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        env="development",
        data_dir=directory,
        database_url=f"sqlite:///{(directory / 'assay.db').as_posix()}",
    )
    runtime = build_runtime(settings)
    migrate.upgrade(runtime.db, runtime.capabilities)
    return runtime


def durability(runtime: Runtime) -> str:
    """The journal mode and synchronous level the product's engine sets on its connections."""
    with runtime.db.engine.connect() as connection:
        journal = connection.execute(text("PRAGMA journal_mode")).scalar()
        level = connection.execute(text("PRAGMA synchronous")).scalar()
    names = {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}
    return f"journal_mode={journal}, synchronous={names.get(int(level or 0), level)}"


def change(writer: int, number: int) -> Change:
    """A realistic recorded change: who, what, which object, small before/after states."""
    return Change(
        at=dt.datetime.now(dt.UTC),
        actor=f"writer-{writer}@bench.example",
        action="bench.update",
        object_type="licence",
        object_id=f"{writer}-{number}",
        before={"status": "draft", "n": number},
        after={"status": "active", "n": number + 1},
    )


def _check_log(runtime: Runtime, acknowledged: Sequence[int], before: int) -> str:
    """Every acknowledged leaf is in the log exactly once, and the whole log verifies."""
    with runtime.db.uow() as uow:
        ctx = runtime.context(uow, system_principal("bench"))
        size = store.head(uow.session).size
        if sorted(acknowledged) != list(range(before, size)):
            raise AssertionError(
                f"acknowledged leaves do not match the log: {len(acknowledged)} acknowledged, "
                f"log grew from {before} to {size}"
            )
        report = service.verify(ctx)
    if not report.ok:
        raise AssertionError(f"the log does not verify: {report.problems[:3]}")
    return f"{len(acknowledged)} acknowledged = log growth; verify_log ok over {report.size}"


def _appending(
    writer_of: appender.Appender, in_flight: int, first_writer: int, acknowledged: list[int]
) -> Callable[[int, int], int]:
    """A writer thread's work: append one change and wait, or ``in_flight`` in one call."""

    def work(writer: int, round_: int) -> int:
        number = first_writer + writer
        if in_flight == 1:
            acknowledged.append(writer_of.append(change(number, round_)))
            return 1
        batch = [change(number, round_ * in_flight + k) for k in range(in_flight)]
        acknowledged.extend(writer_of.append_many(batch))
        return in_flight

    return work


def durable_appends(
    directory: Path,
    writers: int,
    seconds: float,
    in_flight: int,
    *,
    processes: int = 1,
    pinned: bool = False,
) -> tuple[Throughput, str]:
    """Durable appends/s through the group-commit appender, ``writers`` threads at once.

    With ``in_flight == 1`` each writer appends one change and waits until it is durable before
    the next (a request that records one change); otherwise each call appends ``in_flight``
    changes and waits for all of them. With ``processes > 1`` the writers are spread over that
    many processes, each with its own runtime and appender on the same database, as
    ``assay serve --workers`` runs; ``pinned``: each pins itself to a CPU of its own first, as
    ``ASSAY_PIN_WORKERS`` makes every worker do.
    """
    runtime = open_runtime(directory)
    appender.appender(runtime).append(change(-1, 0))  # creates the signing key, warms the engine
    with runtime.db.uow() as uow:
        before = store.head(uow.session).size
    acknowledged: list[int] = []
    if processes == 1:
        work = _appending(appender.appender(runtime), in_flight, 0, acknowledged)
        result = run_writers(writers, seconds, work)
    else:
        appender.close(runtime)
        runtime.db.dispose()  # nothing open across the fork

        def setup(first_writer: int) -> tuple[Callable[[int, int], int], Callable[[], object]]:
            mine = open_runtime(directory)
            writer_of = appender.appender(mine)
            warm = writer_of.append(change(-2 - first_writer, 0))  # untimed, like the parent's
            done: list[int] = [warm]

            def finish() -> list[int]:
                appender.close(mine)
                mine.db.dispose()
                return done

            return _appending(writer_of, in_flight, first_writer, done), finish

        pin = partial(pin_to_free_cpu, directory / "run") if pinned else None
        result, answers = run_writer_processes(processes, writers, seconds, setup, pin=pin)
        acknowledged = [i for answer in answers for i in cast("list[int]", answer)]
    appender.close(runtime)
    check = _check_log(runtime, acknowledged, before)
    runtime.db.dispose()
    return result, check


def bulk_appends(directory: Path, total: int, batch: int) -> tuple[Throughput, str]:
    """Appends/s when each transaction records ``batch`` changes (``write_changes``, one commit)."""
    runtime = open_runtime(directory)
    with runtime.db.uow() as uow:
        before = store.head(uow.session).size

    def run() -> int:
        done = 0
        while done < total:
            changes = [change(0, done + k) for k in range(min(batch, total - done))]
            with runtime.db.uow() as uow:
                write_changes(runtime.context(uow), changes)
                uow.commit()
            done += len(changes)
        return done

    result = timed(run)
    check = _check_log(runtime, range(before, before + total), before)
    runtime.db.dispose()
    return result, check


def memory_appends(payloads: Callable[[int], bytes], count: int) -> tuple[Throughput, bytes]:
    """Leaf hash plus ``tlog.CompactRange.append`` per entry: the in-memory tree update."""
    edge = tlog.CompactRange()
    leaf_hash = rfc9162.leaf_hash

    def run() -> int:
        for i in range(count):
            edge.append(leaf_hash(payloads(i)))
        return count

    return timed(run), edge.root()


# --- the large stored log -------------------------------------------------------------------


def _changes(start: int, count: int) -> list[Change]:
    return [
        Change(
            at=EPOCH + dt.timedelta(microseconds=i),
            actor="bulk-loader@bench.example",
            action="bench.load",
            object_type="item",
            object_id=str(i),
            before=None,
            after={"n": i},
        )
        for i in range(start, start + count)
    ]


def build_log(
    runtime: Runtime, size: int, progress: Callable[[int], None]
) -> tuple[Throughput, int]:
    """Grow the stored log to ``size`` leaves in transactions of ``BUILD_BATCH`` recorded changes.

    Each transaction is one ``write_changes`` call, the product's own path: audit events, then
    the record hooks, so the trail's ``log.append`` computes every entry, leaf hash and tile and
    signs a checkpoint per transaction, as in production. Returns the build rate and the size
    the log had before (a reused log is not rebuilt).
    """
    with runtime.db.uow() as uow:
        before = store.head(uow.session).size
        events = uow.session.scalar(select(func.count()).select_from(AuditEvent)) or 0
    if before >= size:
        return Throughput(0, 0.0), before
    if events != before:
        raise RuntimeError(f"{runtime.db.url} holds other events; use an empty --data folder")

    def run() -> int:
        done = before
        while done < size:
            changes = _changes(done, min(BUILD_BATCH, size - done))
            with runtime.db.uow() as uow:
                write_changes(runtime.context(uow), changes)
                uow.commit()
            done += len(changes)
            progress(done)
        return done - before

    return timed(run), before


@dataclass
class Proofs:
    """Latencies of one kind of proof: first touch (cold tile cache) and again (warm)."""

    cold: Latency
    warm: Latency
    check: str


def inclusion_proofs(runtime: Runtime, size: int, indices: Sequence[int]) -> Proofs:
    """``tlog.prove_inclusion`` from the stored tiles, as ``service.inclusion`` computes it."""
    cache = service.tile_cache(runtime.settings)
    cache.clear()
    with runtime.db.uow() as uow:
        reader = log.StoreReader(uow.session, cache)
        cold, _ = time_each(indices, lambda i: tlog.prove_inclusion(i, size, reader))
        warm, proofs = time_each(indices, lambda i: tlog.prove_inclusion(i, size, reader))
        root = tlog.tree_root(size, reader)
        if store.head(uow.session).size == size and root != store.head(uow.session).root:
            raise AssertionError("the stored tiles do not give the head's root")
        for index, proof in zip(indices, proofs, strict=True):
            leaf = uow.session.get(TrailLeaf, index)
            assert leaf is not None
            if not rfc9162.verify_inclusion(
                rfc9162.leaf_hash(leaf.entry), index, size, proof, root
            ):
                raise AssertionError(f"our inclusion proof of leaf {index} does not verify")
    return Proofs(cold, warm, f"{len(proofs)} proofs verified by rfc9162.verify_inclusion")


def consistency_proofs(runtime: Runtime, pairs: Sequence[tuple[int, int]]) -> Proofs:
    """``tlog.prove_consistency`` from the stored tiles, as ``service.consistency`` computes it."""
    cache = service.tile_cache(runtime.settings)
    cache.clear()
    with runtime.db.uow() as uow:
        reader = log.StoreReader(uow.session, cache)

        def prove(pair: tuple[int, int]) -> list[bytes]:
            return tlog.prove_consistency(pair[0], pair[1], reader)

        cold, _ = time_each(pairs, prove)
        warm, proofs = time_each(pairs, prove)
        for (old, new), proof in zip(pairs, proofs, strict=True):
            old_root, new_root = tlog.tree_root(old, reader), tlog.tree_root(new, reader)
            if not rfc9162.verify_consistency(old, new, old_root, new_root, proof):
                raise AssertionError(f"our consistency proof {old} -> {new} does not verify")
    return Proofs(cold, warm, f"{len(proofs)} proofs verified by rfc9162.verify_consistency")


def service_inclusion(runtime: Runtime, size: int, indices: Sequence[int]) -> Latency:
    """The whole ``service.inclusion`` call (the API's and CLI's), one unit of work per call."""
    principal = system_principal("bench")

    def call(index: int) -> Any:
        with runtime.db.uow() as uow:
            return service.inclusion(runtime.context(uow, principal), index, size)

    latency, bundles = time_each(indices, call)
    for bundle in bundles:
        proof = [bytes.fromhex(h) for h in bundle.proof]
        leaf = rfc9162.leaf_hash(bundle.entry.encode())
        if not rfc9162.verify_inclusion(
            leaf, bundle.leaf_index, bundle.tree_size, proof, bytes.fromhex(bundle.root)
        ):
            raise AssertionError(f"service bundle for leaf {bundle.leaf_index} does not verify")
    return latency


def checkpoint_signing(runtime: Runtime, samples: int) -> tuple[Latency, Latency, str]:
    """Signing a checkpoint: the C2SP note alone, and ``service.sign_now`` on the stored log.

    Before each ``sign_now`` one change is appended (untimed) so there is something new to sign;
    the service call locks the head, checks the stored tree against the head and the previous
    checkpoint, signs, stores the note and commits.
    """
    settings = runtime.settings
    keys = service.keystore(settings)
    signer = keys.signer()
    with runtime.db.uow() as uow:
        head = store.head(uow.session)
        body = Checkpoint(settings.trail_origin, head.size, head.root)
    note, notes = time_each(range(samples), lambda _: sign_checkpoint(body, [signer]))
    writer = appender.appender(runtime)
    principal = system_principal("bench")
    latencies = Latency()
    signed = []
    for number in range(samples):
        writer.append(change(0, number))
        with runtime.db.uow() as uow:
            ctx = runtime.context(uow, principal)
            start = time.perf_counter_ns()
            public = service.sign_now(ctx)
            latencies.micros.append((time.perf_counter_ns() - start) / 1000)
            signed.append((public, store.head(uow.session).root))
    appender.close(runtime)
    verifiers = keys.verifiers()
    for public, root in signed:
        opened = open_checkpoint(public.note, verifiers, settings.trail_origin)
        if opened.root != root or opened.size != public.size:
            raise AssertionError(f"checkpoint {public.id} does not sign the head")
    for text_ in notes[:10]:
        open_checkpoint(text_, verifiers, settings.trail_origin)
    return note, latencies, f"{len(signed) + min(10, len(notes))} notes opened and checked"


def sample_indices(rng: random.Random, size: int, count: int) -> list[int]:
    """``count`` uniformly random leaf indices of a tree of ``size``."""
    return [rng.randrange(size) for _ in range(count)]


def sample_pairs(rng: random.Random, size: int, count: int) -> list[tuple[int, int]]:
    """``count`` random (old, new) sizes with ``1 <= old < new <= size``."""
    pairs = []
    for _ in range(count):
        old = rng.randrange(1, size)
        pairs.append((old, rng.randrange(old + 1, size + 1)))
    return pairs
