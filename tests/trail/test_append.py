"""The append path: batches, group commit, the checked state it reuses, several writing processes.

Runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import insert, select, text

from assay.platform.record import Change, write_changes
from assay.platform.roles import system_principal
from assay.platform.runtime import Runtime
from assay.platform.tables import AuditEvent
from assay.trail import appender, rfc9162, service, store, tiles, tlog
from assay.trail.entry import Entry, entry_for
from assay.trail.errors import TrailTampered
from tests.conftest import T0
from tests.trail.conftest import add_changes

REPO = Path(__file__).resolve().parents[2]


def _change(number: int, actor: str = "cli:batch") -> Change:
    return Change(
        at=T0 + dt.timedelta(microseconds=number),
        actor=actor,
        action="test.batch",
        object_type="item",
        object_id=f"item-{number}",
        before=None if number % 3 == 0 else {"n": number, "name": "Zoë"},
        after={"n": number + 1, "tags": ["a", "b"], "ok": number % 2 == 0},
    )


def _size(runtime: Runtime) -> int:
    with runtime.db.uow() as uow:
        return store.head(uow.session).size


def _verify(runtime: Runtime) -> None:
    with runtime.db.uow() as uow:
        report = service.verify(runtime.context(uow, system_principal("auditor")))
    assert report.ok, report.problems


def test_a_batch_of_changes_lands_as_that_many_events_and_leaves_in_order(
    runtime: Runtime,
) -> None:
    before = _size(runtime)
    changes = [_change(n) for n in range(300)]  # more than one multi-row insert's worth
    with runtime.db.uow() as uow:
        events = write_changes(runtime.context(uow), changes)
        uow.commit()
    ids = [e.id for e in events]
    assert ids == list(range(ids[0], ids[0] + 300))  # gap-free, in the order given
    with runtime.db.uow() as uow:
        stored = {e.id: e for e in uow.session.scalars(select(AuditEvent))}
        leaves = store.leaves(uow.session, before, before + 1000)
        head = store.head(uow.session)
        everything = [leaf.entry for leaf in store.leaves(uow.session, 0, head.size)]
    assert [leaf.leaf_index for leaf in leaves] == list(range(before, before + 300))
    assert [leaf.event_id for leaf in leaves] == ids
    for leaf, change in zip(leaves, changes, strict=True):
        event = stored[leaf.event_id]
        assert (event.object_id, event.before, event.after) == (
            change.object_id,
            change.before,
            change.after,
        )
        assert (
            leaf.entry
            == entry_for(
                event=event.id,
                at=event.at,
                actor=event.actor,
                action=event.action,
                object_type=event.object_type,
                object_id=event.object_id,
                before=event.before,
                after=event.after,
            ).to_bytes()
        )
    assert head.size == before + 300
    assert head.root == rfc9162.root(everything)
    _verify(runtime)


def test_audit_rows_are_stored_exactly_as_a_plain_insert_stores_them(runtime: Runtime) -> None:
    changes = [_change(n, actor='cli:Zoë "quoted" \\ \u2028') for n in range(5)]
    columns = ("at", "actor", "action", "object_type", "object_id", "before", "after")
    with runtime.db.uow() as uow:
        ours = [e.id for e in write_changes(runtime.context(uow), changes)]
        plain = uow.session.scalars(
            insert(AuditEvent).returning(AuditEvent.id, sort_by_parameter_order=True),
            [{name: getattr(c, name) for name in columns} for c in changes],
        ).all()
        casts = ", ".join(f'CAST("{name}" AS TEXT)' for name in columns)
        query = text(f"SELECT {casts} FROM audit_events WHERE id = :id")  # noqa: S608

        def stored(event_id: int) -> tuple[object, ...]:
            return tuple(uow.session.execute(query, {"id": event_id}).one())

        assert [stored(i) for i in ours] == [stored(i) for i in plain]


def test_concurrent_calls_each_get_contiguous_leaves_in_their_own_order(runtime: Runtime) -> None:
    start = _size(runtime)
    answers: list[tuple[list[int], list[str]]] = []
    lock = threading.Lock()

    def writer(number: int) -> None:
        for call in range(10):
            ids = [f"w{number}-c{call}-{k}" for k in range(7)]
            changes = [
                Change(
                    at=T0,
                    actor=f"writer:{number}",
                    action="test.many",
                    object_type="item",
                    object_id=object_id,
                    before=None,
                    after={"k": k},
                )
                for k, object_id in enumerate(ids)
            ]
            indexes = appender.appender(runtime).append_many(changes)
            with lock:
                answers.append((indexes, ids))

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    appender.close(runtime)
    with runtime.db.uow() as uow:
        object_ids = {
            leaf.leaf_index: Entry.from_bytes(leaf.entry).object_id
            for leaf in store.leaves(uow.session, start, start + 1000)
        }
    assert sorted(i for indexes, _ in answers for i in indexes) == list(
        range(start, start + 8 * 10 * 7)
    )
    for indexes, ids in answers:
        assert indexes == list(range(indexes[0], indexes[0] + 7))  # one call, one run of leaves
        assert [object_ids[i] for i in indexes] == ids
    _verify(runtime)


def test_a_change_with_a_naive_time_is_refused_in_its_own_call(runtime: Runtime) -> None:
    writer = appender.appender(runtime)
    naive = Change(
        at=dt.datetime(2026, 3, 1, 9, 0),
        actor="cli:test",
        action="test.naive",
        object_type="item",
        object_id="1",
        before=None,
        after=None,
    )
    with pytest.raises(ValueError, match="naive datetime"):  # refused before it is queued
        writer.append(naive)
    index = writer.append(_change(1))  # the appender carries on
    appender.close(runtime)
    assert index == _size(runtime) - 1


def test_a_change_that_cannot_be_stored_fails_only_its_own_writer(runtime: Runtime) -> None:
    writer = appender.appender(runtime)
    writer.append(_change(0))
    outcomes: dict[str, int | BaseException] = {}

    def call(name: str, change: Change) -> None:
        try:
            outcomes[name] = writer.append(change)
        except Exception as exc:  # noqa: BLE001 - the outcome is what is tested
            outcomes[name] = exc

    unstorable = Change(
        at=T0,
        actor="cli:test",
        action="test.bad",
        object_type="item",
        object_id="bad",
        before=None,
        after={"value": object()},  # not JSON
    )
    calls = [("first", _change(1)), ("bad", unstorable), ("last", _change(2))]
    threads = [threading.Thread(target=call, args=pair) for pair in calls]
    with runtime.db.engine.connect() as blocker:  # hold the writers' lock: the calls queue up
        if runtime.db.backend == "sqlite":
            blocker.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            blocker.execute(text("SELECT size FROM trail_state FOR UPDATE"))
        for thread in threads:
            thread.start()
            time.sleep(0.1)
        blocker.rollback()
    for thread in threads:
        thread.join()
    appender.close(runtime)
    assert isinstance(outcomes["bad"], Exception)
    assert "not JSON serializable" in str(outcomes["bad"])
    assert isinstance(outcomes["first"], int)
    assert isinstance(outcomes["last"], int)
    with runtime.db.uow() as uow:
        stored = set(uow.session.scalars(select(AuditEvent.object_id)))
    assert {"item-1", "item-2"} <= stored
    assert "bad" not in stored
    _verify(runtime)


def test_after_a_rolled_back_append_the_next_builds_on_what_was_committed(
    runtime: Runtime,
) -> None:
    before = _size(runtime)
    with runtime.db.uow() as uow:
        write_changes(runtime.context(uow), [_change(n) for n in range(40)])
        uow.rollback()  # the log's checked state in memory now describes 40 leaves never stored
    add_changes(runtime, 2)
    assert _size(runtime) == before + 2
    _verify(runtime)


def _flip_hash(runtime: Runtime, level: int, index: int) -> None:
    """Flip a bit of the stored hash of tree node (level, index)."""
    tile, row, position = tiles.locate(level, index)
    with runtime.db.uow() as uow:
        stored = uow.session.get(store.TrailTile, (tile.level, tile.index))
        assert stored is not None
        offset = (tiles.row_offsets(stored.width)[row] + position) * tiles.HASH_SIZE
        data = bytearray(stored.data)
        data[offset] ^= 1
        stored.data = bytes(data)
        uow.commit()


def test_a_changed_hash_under_the_checkpoint_is_refused_even_off_the_heads_edge(
    runtime: Runtime,
) -> None:
    runtime.settings.trail_checkpoint_every = 10**6
    with runtime.db.uow() as uow:
        ctx = runtime.context(uow, system_principal("operator"))
        signed = service.sign_now(ctx).size
    assert signed < tiles.WIDTH
    # Past the first tile: the head's edge is in tile 0/1, the checkpoint's nodes in tile 0/0.
    with runtime.db.uow() as uow:
        write_changes(runtime.context(uow), [_change(n) for n in range(tiles.WIDTH)])
        uow.commit()
    _flip_hash(runtime, *tlog.subtree_nodes(signed)[0])  # a node the checkpoint's root is made of
    with pytest.raises(TrailTampered, match=r"but checkpoint \d+ signed"):
        add_changes(runtime, 1)


def test_a_head_changed_behind_the_appenders_back_is_refused(runtime: Runtime) -> None:
    add_changes(runtime, 3)  # the appender's checked state is warm
    with runtime.db.engine.begin() as connection:
        connection.execute(text("UPDATE trail_state SET root = :root"), {"root": bytes(32)})
    with pytest.raises(TrailTampered, match="but the head says"):
        add_changes(runtime, 1)


def _writer(runtime: Runtime, run_id: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSAY_")}
    env |= {
        "ASSAY_DATABASE_URL": runtime.settings.effective_database_url,
        "ASSAY_DATA_DIR": str(runtime.settings.data_dir),
        "ASSAY_TRAIL_CHECKPOINT_EVERY": "40",
        "PYTHONPATH": str(REPO),
    }
    return subprocess.Popen(
        [sys.executable, "-m", "tests.trail.writer", run_id, "8"],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
        cwd=REPO,
    )


def test_two_processes_appending_at_once_make_one_verifiable_log(runtime: Runtime) -> None:
    service.keystore(runtime.settings).signer()  # one key, not one per process
    start = _size(runtime)
    processes = [_writer(runtime, name) for name in ("a", "b")]
    acknowledged: dict[str, list[tuple[int, str]]] = {"a": [], "b": []}

    def read(name: str, process: subprocess.Popen[str]) -> None:
        assert process.stdout is not None
        for line in process.stdout:
            index, object_id = line.split()
            acknowledged[name].append((int(index), object_id))

    readers = [
        threading.Thread(target=read, args=(name, p))
        for name, p in zip(acknowledged, processes, strict=True)
    ]
    for reader in readers:
        reader.start()
    deadline = time.monotonic() + 60
    while min(len(a) for a in acknowledged.values()) < 300 and time.monotonic() < deadline:
        time.sleep(0.05)
    for process in processes:
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
    for reader in readers:
        reader.join()
    for process in processes:
        assert process.stdout is not None
        process.stdout.close()
    assert all(acknowledged.values()), "a writer acknowledged nothing"
    both = [pair for pairs in acknowledged.values() for pair in pairs]
    assert len({index for index, _ in both}) == len(both)  # no leaf given to two changes
    with runtime.db.uow() as uow:
        leaves = {
            leaf.leaf_index: (leaf.event_id, Entry.from_bytes(leaf.entry).object_id)
            for leaf in store.leaves(uow.session, start, 10**9)
        }
        events = sorted(
            uow.session.scalars(select(AuditEvent.id).where(AuditEvent.action == "crash.write"))
        )
    assert sorted(leaves) == list(range(start, start + len(leaves)))  # no gap in the log
    assert sorted(event for event, _ in leaves.values()) == events  # every event, once
    if runtime.db.backend == "sqlite":  # (a PostgreSQL sequence skips the ids of killed work)
        assert events == list(range(events[0], events[0] + len(events)))
    for index, object_id in both:
        assert leaves[index][1] == object_id
    _verify(runtime)
