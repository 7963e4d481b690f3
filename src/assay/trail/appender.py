"""Group commit: many concurrent writers share one transaction, and one fsync, per batch.

``Appender.append(change)`` blocks until the change is durable: recorded as an audit event and
appended to the log in a committed transaction. One background thread takes everything that has
queued since its last commit (up to ``max_batch`` changes), writes it all in one transaction,
and wakes every writer in it. With many writers this turns one fsync per entry into one per batch.

The hand-off is a queue and a bare lock per call, the cheapest wake CPython has. The thread
never sleeps: it blocks on the queue when it is empty and drains it whole. (Each change's audit
row and entry are built by the thread itself: measured, that beats building them in the 64
writers' threads, where the same work costs more and contends for the GIL.)

Several processes (``assay serve --workers N``) each have their own appender on the same log,
and only one can write at a time: SQLite has one write lock, and the log's head is locked in
every append on either database. So a batch is taken in two steps. First, with no lock, the
thread does all the work that does not depend on the log's position (``prepare_changes``: the
audit rows' values, each entry's bytes but for its event id), about half of it. Then it takes
the log for what remains: ids, leaf hashes, tree, inserts, commit. On SQLite a file lock beside
the database (``<database>-trail.lock``) queues the processes' appenders: the kernel hands it
straight to the next one, where SQLite's own busy handler would sleep and poll. While one
process holds it, the others keep adding what queues to their next batches and preparing it,
so that each turn writes more. This is fastest with each worker pinned to a core of its own
(``ASSAY_PIN_WORKERS``): the process holding the log is then not slowed by the others' threads.

A batch that fails before its commit is written again one call at a time, so that a change that
cannot be stored fails its own writer only.
"""

from __future__ import annotations

import fcntl
import os
import queue
import threading
from collections.abc import Sequence
from pathlib import Path

from sqlalchemy import Connection, Dialect

from assay.errors import AssayError
from assay.platform.db import UnitOfWork
from assay.platform.record import Change, PreparedChanges, prepare_changes, write_changes
from assay.platform.runtime import Runtime
from assay.trail import log

EXTENSION = "trail.appender"
_STARTING = threading.Lock()


class Ticket:
    """Changes queued together, appended in order in one transaction."""

    __slots__ = ("_done", "changes", "error", "first")

    def __init__(self, changes: Sequence[Change]) -> None:
        self.changes = changes
        self.first = -1
        self.error: BaseException | None = None
        self._done = threading.Lock()
        self._done.acquire()  # released once, by the appender, when the outcome is known

    def result(self, timeout: float | None = None) -> list[int]:
        """The changes' leaf indexes once durable; raises what the batch raised.

        Raises:
            TimeoutError: not durable within ``timeout`` seconds.
        """
        if not self._done.acquire(timeout=-1 if timeout is None else timeout):
            raise TimeoutError(f"the trail append did not complete within {timeout} s")
        self._done.release()  # so that asking again answers at once
        if self.error is not None:
            raise self.error
        return list(range(self.first, self.first + len(self.changes)))

    def _resolve(self, first: int, error: BaseException | None) -> None:
        self.first, self.error = first, error
        self._done.release()


class AppendLock:
    """The appenders' queue across processes: a file lock beside a SQLite database.

    On other databases (and SQLite in memory) it does nothing: PostgreSQL's row lock on the
    log's head already wakes the next appender as soon as the holder commits.
    """

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._fd: int | None = None

    @classmethod
    def beside(cls, database: str | None, backend: str) -> AppendLock:
        """The lock for a database file (``<database>-trail.lock``), or none."""
        if backend != "sqlite" or not database or database == ":memory:":
            return cls(None)
        return cls(Path(database).with_name(Path(database).name + "-trail.lock"))

    def try_acquire(self) -> bool:
        """Take the lock if nobody holds it; whether it was taken (always, with no file)."""
        if self.path is None:
            return True
        if self._fd is None:
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def acquire(self) -> bool:
        """Take the lock, waiting for whoever holds it; whether anyone did."""
        if self.try_acquire():
            return False
        assert self._fd is not None  # noqa: S101 - try_acquire opened it
        fcntl.flock(self._fd, fcntl.LOCK_EX)
        return True

    def release(self) -> None:
        """Let the next appender in (nothing if not held)."""
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)

    def close(self) -> None:
        """Release and close the lock file (it is opened again when next needed)."""
        if self._fd is not None:
            os.close(self._fd)  # closing the last descriptor releases the lock too
            self._fd = None


class Appender:
    """The group-commit writer of one runtime."""

    def __init__(
        self, runtime: Runtime, *, max_batch: int = 20_000, lock: AppendLock | None = None
    ) -> None:
        self.runtime = runtime
        self.max_batch = max_batch
        self._queue: queue.SimpleQueue[Ticket | None] = queue.SimpleQueue()
        self._closing = threading.Lock()
        self._closed = False
        self._stopping = False  # the thread has seen close()'s end marker
        self._uow: UnitOfWork | None = None  # the thread's, kept from batch to batch
        self._connection: Connection | None = None  # the unit of work's, kept likewise
        self._lock = lock or AppendLock.beside(runtime.db.engine.url.database, runtime.db.backend)
        self._thread = threading.Thread(target=self._run, name="trail-appender", daemon=True)
        self._thread.start()

    def submit(self, changes: Sequence[Change]) -> Ticket:
        """Queue ``changes`` (appended together, in order); the ticket tells when durable.

        Raises:
            ValueError: a change's time is naive (it must be UTC).
        """
        for change in changes:
            if change.at.tzinfo is None:
                raise ValueError(f"naive datetime {change.at!r} given where UTC time is required")
        ticket = Ticket(changes)
        with self._closing:
            if self._closed:
                raise AssayError("the trail appender is closed")
            self._queue.put(ticket)
        return ticket

    def append(self, change: Change, timeout: float | None = 60) -> int:
        """Append ``change`` and wait until it is durable; returns its leaf index."""
        return self.submit((change,)).result(timeout)[0]

    def append_many(self, changes: Sequence[Change], timeout: float | None = 60) -> list[int]:
        """Append several changes, in order, in one transaction (shared with other writers')."""
        if not changes:
            return []
        return self.submit(changes).result(timeout)

    def close(self) -> None:
        """Finish what is queued and stop the thread."""
        with self._closing:
            if not self._closed:
                self._closed = True
                self._queue.put(None)
        self._thread.join()

    def _run(self) -> None:
        try:
            self._serve()
        finally:
            self._let_go()

    def _let_go(self) -> None:
        """Roll back what is not committed, give the connection back, close the lock file."""
        if self._uow is not None:
            self._uow.__exit__(None, None, None)
            self._uow = None
        if self._connection is not None:
            self._connection.close()
            self._connection = None
        self._lock.close()

    def _serve(self) -> None:
        while not self._stopping:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            self._drain(batch, len(first.changes))
            self._write(batch)

    def _drain(self, batch: list[Ticket], count: int) -> None:
        """Add to ``batch`` every ticket queued now, up to ``max_batch`` changes in all."""
        while count < self.max_batch:
            try:
                ticket = self._queue.get_nowait()
            except queue.Empty:
                return
            if ticket is None:  # close(): nothing is queued after this
                self._stopping = True
                return
            batch.append(ticket)
            count += len(ticket.changes)

    def _write(self, batch: list[Ticket], *, alone: bool = False) -> None:
        """Write ``batch`` in one transaction and wake its writers.

        ``batch`` grows with what queues while another process holds the log (unless
        ``alone``: write just ``batch``).
        """
        committing = False
        try:
            if self._uow is None:
                self._connection = self._connection or self.runtime.db.connect()
                self._uow = self.runtime.db.uow(self._connection).__enter__()
            uow = self._uow
            ready = prepare_changes(self._dialect, self.runtime.record_hooks, self._changes(batch))
            if alone:
                self._lock.acquire()
            else:
                self._take_lock(batch, ready)
            write_changes(self.runtime.context(uow), ready)
            first = log.size(uow.session) - len(ready)
            committing = True
            uow.commit()
            self._lock.release()
        except Exception as exc:  # noqa: BLE001 - every writer of the batch must hear of it
            self._let_go()  # rolled back, lock let go; the next batch has a fresh connection
            if committing or len(batch) == 1:  # a failed commit may have happened: no retry
                for ticket in batch:
                    ticket._resolve(-1, exc)
            else:  # nothing was stored: find whose change it was
                for ticket in batch:
                    self._write([ticket], alone=True)
            return
        for ticket in batch:
            ticket._resolve(first, None)
            first += len(ticket.changes)

    def _take_lock(self, batch: list[Ticket], ready: PreparedChanges) -> None:
        """Take the log's lock; while another process holds it, prepare what queues meanwhile.

        What queues is added to ``batch`` and prepared into ``ready``, so that the wait is spent
        on the work the lock is not needed for, and the next holder's turn is a longer one.
        """
        if self._lock.try_acquire():
            return
        while True:
            done = len(batch)
            self._drain(batch, len(ready))
            if len(batch) == done:  # nothing new to prepare: wait
                self._lock.acquire()
                return
            more = self._changes(batch[done:])
            ready.extend(prepare_changes(self._dialect, self.runtime.record_hooks, more))
            if self._lock.try_acquire():
                return

    @property
    def _dialect(self) -> Dialect:
        return self.runtime.db.engine.dialect

    @staticmethod
    def _changes(tickets: Sequence[Ticket]) -> list[Change]:
        return [change for ticket in tickets for change in ticket.changes]


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
