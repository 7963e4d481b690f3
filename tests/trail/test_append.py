"""The append path: batches, group commit, the checked state it reuses, several writing processes.

Runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import pytest
from sqlalchemy import insert, select, text

from assay.platform.context import Context
from assay.platform.record import Change, PreparedChanges, prepare_changes, write_changes
from assay.platform.roles import system_principal
from assay.platform.runtime import Runtime
from assay.platform.tables import AuditEvent
from assay.trail import appender, log, rfc9162, service, store, tiles, tlog
from assay.trail.appender import AppendLock
from assay.trail.entry import Entry, entry_for
from assay.trail.errors import TrailTampered
from tests.conftest import T0
from tests.trail.conftest import WriterProcess, add_changes

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


def _prepared(runtime: Runtime, changes: list[Change]) -> PreparedChanges:
    return prepare_changes(runtime.db.engine.dialect, runtime.record_hooks, changes)


@pytest.mark.parametrize("prepared", [False, True], ids=["as-given", "prepared"])
def test_a_batch_of_changes_lands_as_that_many_events_and_leaves_in_order(
    runtime: Runtime, prepared: bool
) -> None:
    before = _size(runtime)
    changes = [_change(n) for n in range(300)]  # more than one multi-row insert's worth
    with runtime.db.uow() as uow:
        given = _prepared(runtime, changes) if prepared else changes
        events = write_changes(runtime.context(uow), given)
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


@pytest.mark.parametrize("prepared", [False, True], ids=["as-given", "prepared"])
def test_audit_rows_are_stored_exactly_as_a_plain_insert_stores_them(
    runtime: Runtime, prepared: bool
) -> None:
    changes = [_change(n, actor='cli:Zoë "quoted" \\ \u2028') for n in range(5)]
    columns = ("at", "actor", "action", "object_type", "object_id", "before", "after")
    with runtime.db.uow() as uow:
        given = _prepared(runtime, changes) if prepared else changes
        ours = [e.id for e in write_changes(runtime.context(uow), given)]
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


def test_changes_prepared_for_other_hooks_are_still_appended_in_full(runtime: Runtime) -> None:
    start = _size(runtime)
    changes = [_change(n) for n in range(3)]
    for_none = prepare_changes(runtime.db.engine.dialect, (), changes)  # no hook prepared
    with runtime.db.uow() as uow:
        write_changes(runtime.context(uow), for_none)  # the trail's hook does its own work
        uow.commit()
    assert _size(runtime) == start + 3
    _verify(runtime)


def test_prepared_changes_join_only_those_prepared_alike(runtime: Runtime) -> None:
    first = _prepared(runtime, [_change(0)])
    first.extend(_prepared(runtime, [_change(1), _change(2)]))
    assert [c.object_id for c in first.changes] == ["item-0", "item-1", "item-2"]
    assert all(len(ready) == 3 for ready in first.ready if ready is not None)
    other = prepare_changes(runtime.db.engine.dialect, (), [_change(3)])
    with pytest.raises(ValueError, match="other hooks"):
        first.extend(other)
    assert len(first) == 3  # nothing half-joined


def test_a_hook_that_prepares_a_list_of_another_length_is_named(runtime: Runtime) -> None:
    class Short:
        def prepare(self, changes: Sequence[Change]) -> list[object]:
            return [None] * (len(changes) - 1)

        def __call__(self, *_: object) -> None:
            raise AssertionError("never called")

    with pytest.raises(ValueError, match=r"record hook .*Short.* prepared 1 of 2"):
        prepare_changes(runtime.db.engine.dialect, (Short(),), [_change(0), _change(1)])


def test_entries_prepared_for_other_events_are_refused_and_nothing_stored(
    runtime: Runtime,
) -> None:
    add_changes(runtime, 2)
    start = _size(runtime)
    with runtime.db.uow() as uow:
        unhooked = Context(uow, runtime.clock, runtime.settings)  # the events alone, no leaves
        events = write_changes(unhooked, [_change(5)])
        with pytest.raises(ValueError, match="0 prepared entries for 1 events"):
            log.append(uow.session, events, [])
    assert _size(runtime) == start
    _verify(runtime)


def test_the_file_lock_lets_one_holder_in_at_a_time(tmp_path: Path) -> None:
    database = str(tmp_path / "assay.db")
    first, second = AppendLock.beside(database, "sqlite"), AppendLock.beside(database, "sqlite")
    assert first.path == tmp_path / "assay.db-trail.lock"
    try:
        assert first.try_acquire()
        assert not second.try_acquire()  # another descriptor: as another process would be
        first.release()
        assert second.try_acquire()
        assert not first.try_acquire()
    finally:
        first.close()
        second.close()
    for url_database, backend in (
        (database, "postgresql"),
        (":memory:", "sqlite"),
        (None, "sqlite"),
    ):
        nothing = AppendLock.beside(url_database, backend)
        assert nothing.path is None
        assert nothing.try_acquire()
        assert not nothing.acquire()


def test_an_appender_waits_while_another_holds_the_log_then_writes_everything(
    runtime: Runtime,
) -> None:
    add_changes(runtime, 1)
    start = _size(runtime)
    other = AppendLock.beside(runtime.db.engine.url.database, runtime.db.backend)
    writer = appender.appender(runtime)
    with runtime.db.uow() as holder:
        log.lock(holder.session)  # another process's append, in progress
        assert other.try_acquire()
        tickets = [writer.submit([_change(n)]) for n in range(20)]
        with pytest.raises(TimeoutError):
            tickets[-1].result(timeout=0.5)
        assert _size(runtime) == start
        holder.commit()
        other.release()
    other.close()
    indexes = [ticket.result(timeout=30)[0] for ticket in tickets]
    assert sorted(indexes) == list(range(start, start + 20))
    appender.close(runtime)
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


def test_two_processes_appending_at_once_make_one_verifiable_log(runtime: Runtime) -> None:
    """Two processes' appenders take turns; one killed mid-write does not stop the other."""
    service.keystore(runtime.settings).signer()  # one key, not one per process
    start = _size(runtime)
    first, second = (WriterProcess(runtime, name, 8, checkpoint_every=40) for name in "ab")
    try:
        first.wait_for(300)
        second.wait_for(300)
    finally:
        acknowledged = {"a": first.kill()}
    try:
        second.wait_for(len(second.acknowledged) + 300)  # the dead one held no lock
    finally:
        acknowledged["b"] = second.kill()
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
    if runtime.db.backend == "sqlite":  # the appenders queued on the file lock beside it
        database = Path(runtime.db.engine.url.database or "")
        assert database.with_name(database.name + "-trail.lock").is_file()
