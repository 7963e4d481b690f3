"""Group commit: many concurrent writers share one transaction, and one fsync, per batch.

``Appender.append(change)`` blocks until the change is durable: recorded as an audit event and
appended to the log in a committed transaction. One background thread takes whatever has queued
since the last batch (up to ``max_batch``), writes it all in one transaction, and wakes every
writer in it. With many writers this turns one fsync per entry into one per batch.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from concurrent.futures import Future

from assay.errors import AssayError
from assay.platform.record import Change, write_changes
from assay.platform.runtime import Runtime
from assay.trail import store

EXTENSION = "trail.appender"
_STARTING = threading.Lock()


class Appender:
    """The group-commit writer of one runtime."""

    def __init__(self, runtime: Runtime, *, max_batch: int = 20_000) -> None:
        self.runtime = runtime
        self.max_batch = max_batch
        self._pending: list[tuple[Change, Future[int]]] = []
        self._wake = threading.Condition()
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="trail-appender", daemon=True)
        self._thread.start()

    def submit(self, change: Change) -> Future[int]:
        """Queue ``change``; the future resolves to its leaf index once durable."""
        done: Future[int] = Future()
        with self._wake:
            if self._closed:
                raise AssayError("the trail appender is closed")
            self._pending.append((change, done))
            self._wake.notify()
        return done

    def append(self, change: Change, timeout: float | None = 60) -> int:
        """Append ``change`` and wait until it is durable; returns its leaf index."""
        return self.submit(change).result(timeout)

    def append_many(self, changes: Sequence[Change], timeout: float | None = 60) -> list[int]:
        """Append several changes (they may share a batch with other writers')."""
        futures = [self.submit(c) for c in changes]
        return [f.result(timeout) for f in futures]

    def close(self) -> None:
        """Finish what is queued and stop the thread."""
        with self._wake:
            self._closed = True
            self._wake.notify()
        self._thread.join()

    def _run(self) -> None:
        while True:
            with self._wake:
                while not self._pending and not self._closed:
                    self._wake.wait()
                if not self._pending and self._closed:
                    return
                batch = self._pending[: self.max_batch]
                del self._pending[: self.max_batch]
            self._write(batch)

    def _write(self, batch: list[tuple[Change, Future[int]]]) -> None:
        try:
            with self.runtime.db.uow() as uow:
                ctx = self.runtime.context(uow)
                write_changes(ctx, [change for change, _ in batch])
                end = store.head(uow.session).size
                uow.commit()
        except Exception as exc:  # noqa: BLE001 - every writer of the batch must hear of it
            for _, done in batch:
                done.set_exception(exc)
            return
        for offset, (_, done) in enumerate(batch):
            done.set_result(end - len(batch) + offset)


def appender(runtime: Runtime) -> Appender:
    """The runtime's appender, started on first use."""
    with _STARTING:
        found = runtime.extensions.get(EXTENSION)
        if found is None:
            found = runtime.extensions[EXTENSION] = Appender(runtime)
    assert isinstance(found, Appender)  # noqa: S101 - only this module stores it
    return found


def close(runtime: Runtime) -> None:
    """Stop the runtime's appender, if it was started."""
    found = runtime.extensions.pop(EXTENSION, None)
    if isinstance(found, Appender):
        found.close()
