"""Durability: kill -9 a writer in the middle of a heavy append load, many times.

Every acknowledged entry is still there afterwards and the whole log verifies; on SQLite and
PostgreSQL.
"""

from __future__ import annotations

from sqlalchemy import select

from assay.platform.roles import system_principal
from assay.platform.runtime import Runtime
from assay.trail import service, store
from assay.trail.entry import Entry
from tests.trail.conftest import WriterProcess

ROUNDS = 6


def _kill_during_load(runtime: Runtime, run_id: str) -> list[tuple[int, str]]:
    writer = WriterProcess(runtime, run_id, 16)
    try:
        writer.wait_for(150, seconds=30)  # well into the load
    finally:
        acknowledged = writer.kill()
    assert acknowledged, "the writer acknowledged nothing before it was killed"
    return acknowledged


def test_every_acknowledged_append_survives_kill_9(runtime: Runtime) -> None:
    acknowledged: list[tuple[int, str]] = []
    for round_number in range(ROUNDS):
        acknowledged += _kill_during_load(runtime, f"r{round_number}")
    with runtime.db.uow() as uow:
        leaves = {
            leaf.leaf_index: Entry.from_bytes(leaf.entry).object_id
            for leaf in uow.session.scalars(select(store.TrailLeaf))
        }
        for index, object_id in acknowledged:
            assert leaves.get(index) == object_id, f"acknowledged leaf {index} was lost"
        report = service.verify(runtime.context(uow, system_principal("auditor")))
    assert report.ok, report.problems
    assert report.checkpoints_checked >= 1
