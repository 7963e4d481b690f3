"""Durability: kill -9 a writer in the middle of a heavy append load, many times.

Every acknowledged entry is still there afterwards and the whole log verifies; on SQLite and
PostgreSQL.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from sqlalchemy import select

from assay.platform.roles import system_principal
from assay.platform.runtime import Runtime
from assay.trail import service, store
from assay.trail.entry import Entry

ROUNDS = 6
REPO = Path(__file__).resolve().parents[2]


def _kill_during_load(runtime: Runtime, run_id: str) -> list[tuple[int, str]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSAY_")}
    env |= {
        "ASSAY_DATABASE_URL": runtime.settings.effective_database_url,
        "ASSAY_DATA_DIR": str(runtime.settings.data_dir),
        "ASSAY_TRAIL_CHECKPOINT_EVERY": "50",
        "PYTHONPATH": str(REPO),
    }
    writer = subprocess.Popen(
        [sys.executable, "-m", "tests.trail.writer", run_id, "16"],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
        cwd=REPO,
    )
    acknowledged: list[tuple[int, str]] = []

    def read() -> None:
        assert writer.stdout is not None
        for line in writer.stdout:
            index, object_id = line.split()
            acknowledged.append((int(index), object_id))

    reader = threading.Thread(target=read)
    reader.start()
    deadline = time.monotonic() + 30
    while len(acknowledged) < 150 and time.monotonic() < deadline:  # well into the load
        time.sleep(0.05)
    os.kill(writer.pid, signal.SIGKILL)
    writer.wait()
    reader.join()
    assert writer.stdout is not None
    writer.stdout.close()
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
