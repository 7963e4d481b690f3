"""Tampering with the database file itself, byte by byte (SQLite).

Every byte of a stored entry, and of the recorded change behind it, is flipped in turn, and
verification catches each one.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.engine import make_url

from assay.platform.db import Database
from assay.platform.roles import system_principal
from assay.platform.runtime import Runtime
from assay.trail import service, store
from assay.trail.verify import verify_log
from tests.trail.conftest import add_changes

# The bytes of PostgreSQL's files are not ours to edit; its tampering is tested through SQL.
pytestmark = pytest.mark.parametrize("backend", ["sqlite"])


@pytest.fixture
def sqlite_file(runtime: Runtime) -> Path:
    add_changes(runtime, 8)
    with runtime.db.uow() as uow:
        service.sign_now(runtime.context(uow, system_principal("op")))
    runtime.db.dispose()
    path = Path(make_url(runtime.settings.effective_database_url).database or "")
    with closing(sqlite3.connect(path)) as connection:  # fold the WAL into the main file
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return path


def _verifies(runtime: Runtime, path: Path) -> bool:
    db = Database(f"sqlite:///{path}")
    try:
        with db.uow() as uow:
            keys = service.keystore(runtime.settings).verifiers()
            return verify_log(uow.session, keys, runtime.settings.trail_origin).ok
    finally:
        db.dispose()


def _flip_each_byte(runtime: Runtime, path: Path, needle: bytes) -> int:
    original = path.read_bytes()
    offset = original.find(needle)
    assert offset >= 0, f"{needle[:40]!r} is not in the file"
    assert original.find(needle, offset + 1) == -1, "the bytes appear twice"
    try:
        for position in range(offset, offset + len(needle)):
            changed = bytearray(original)
            changed[position] ^= 0x01
            path.write_bytes(changed)
            assert not _verifies(runtime, path), f"flipping byte {position - offset} went unseen"
    finally:
        path.write_bytes(original)
    assert _verifies(runtime, path)
    return len(needle)


def test_every_byte_of_a_stored_entry_is_protected(runtime: Runtime, sqlite_file: Path) -> None:
    db = Database(f"sqlite:///{sqlite_file}")
    with db.uow() as uow:
        entry = uow.session.scalars(
            select(store.TrailLeaf.entry).where(store.TrailLeaf.leaf_index == 15)
        ).one()
    db.dispose()
    assert _flip_each_byte(runtime, sqlite_file, entry) > 200


def test_every_byte_of_a_recorded_change_is_protected(runtime: Runtime, sqlite_file: Path) -> None:
    stored_after = b'{"n": 6, "note": "Zo\\u00eb"}'  # the state after change 5, as stored
    assert _flip_each_byte(runtime, sqlite_file, stored_after) == len(stored_after)
