"""Helpers for trail tests: record changes through the platform, read the log back."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from assay.platform.context import Context
from assay.platform.record import ObjectRef, record
from assay.platform.roles import system_principal
from assay.platform.runtime import Runtime


def add_changes(runtime: Runtime, count: int, prefix: str = "test") -> list[int]:
    """Record ``count`` changes (one transaction each, as services do); returns event ids."""
    ids = []
    for number in range(count):
        with runtime.db.uow() as uow:
            ctx = runtime.context(uow, system_principal("tester"))
            event = record(
                ctx,
                f"{prefix}.change",
                ObjectRef("thing", number),
                before={"n": number},
                after={"n": number + 1, "note": "Zoë"},
            )
            uow.commit()
            ids.append(event.id)
    return ids


@pytest.fixture
def ctx(runtime: Runtime) -> Iterator[Context]:
    """An operator context (admin)."""
    with runtime.db.uow() as uow:
        yield runtime.context(uow, system_principal("operator"))


REPO = Path(__file__).resolve().parents[2]


class WriterProcess:
    """A process appending through its own appender (``tests/trail/writer.py``) until killed.

    ``acknowledged`` grows with every (leaf index, object id) the process printed, which it
    does only once the append was committed.
    """

    def __init__(
        self, runtime: Runtime, run_id: str, threads: int, checkpoint_every: int = 50
    ) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("ASSAY_")}
        env |= {
            "ASSAY_DATABASE_URL": runtime.settings.effective_database_url,
            "ASSAY_DATA_DIR": str(runtime.settings.data_dir),
            "ASSAY_TRAIL_CHECKPOINT_EVERY": str(checkpoint_every),
            "PYTHONPATH": str(REPO),
        }
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.trail.writer", run_id, str(threads)],
            stdout=subprocess.PIPE,
            text=True,
            env=env,
            cwd=REPO,
        )
        self.acknowledged: list[tuple[int, str]] = []
        self._reader = threading.Thread(target=self._read)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            index, object_id = line.split()
            self.acknowledged.append((int(index), object_id))

    def wait_for(self, count: int, seconds: float = 60) -> None:
        """Return once ``count`` appends are acknowledged; fail after ``seconds``."""
        deadline = time.monotonic() + seconds
        while len(self.acknowledged) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(self.acknowledged) >= count, (
            f"the writer acknowledged {len(self.acknowledged)} appends in {seconds} s, not {count}"
        )

    def kill(self) -> list[tuple[int, str]]:
        """SIGKILL the process (if still running); every append it acknowledged."""
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait()
        self._reader.join()
        assert self.process.stdout is not None
        self.process.stdout.close()
        return self.acknowledged
