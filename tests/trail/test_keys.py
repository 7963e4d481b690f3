"""The signing key lives in files outside the database: created once, kept private, rotated."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from assay.trail.errors import KeyStoreError
from assay.trail.keys import FileKeyStore

ORIGIN = "log.example/trail"


def test_the_key_is_created_on_first_use_readable_only_by_its_owner(tmp_path: Path) -> None:
    store = FileKeyStore(tmp_path / "keys", ORIGIN)
    signer = store.signer()
    assert signer.name == ORIGIN
    assert stat.S_IMODE(store.signer_path.stat().st_mode) == 0o600
    assert store.verifiers_path.read_text().splitlines() == [signer.verifier_key]


def test_the_same_key_is_found_again_by_a_new_store(tmp_path: Path) -> None:
    first = FileKeyStore(tmp_path, ORIGIN).signer()
    again = FileKeyStore(tmp_path, ORIGIN).signer()
    assert again.signer_key == first.signer_key


def test_rotation_keeps_every_old_verifier(tmp_path: Path) -> None:
    store = FileKeyStore(tmp_path, ORIGIN)
    old = store.signer()
    new = store.rotate()
    assert new.key_id != old.key_id
    reopened = FileKeyStore(tmp_path, ORIGIN)
    assert reopened.signer().key_id == new.key_id
    assert [v.key_id for v in reopened.verifiers()] == [old.key_id, new.key_id]
    assert old.signer_key not in store.signer_path.read_text()


def test_a_key_readable_by_others_is_refused(tmp_path: Path) -> None:
    FileKeyStore(tmp_path, ORIGIN).signer()
    (tmp_path / "signer.key").chmod(0o644)
    with pytest.raises(KeyStoreError, match=r"can be read by other users.*chmod 600"):
        FileKeyStore(tmp_path, ORIGIN).signer()


def test_a_corrupt_key_file_names_the_path(tmp_path: Path) -> None:
    FileKeyStore(tmp_path, ORIGIN).signer()
    (tmp_path / "signer.key").write_text("PRIVATE+KEY+garbage\n")
    with pytest.raises(KeyStoreError, match=r"signer\.key is not a signer key"):
        FileKeyStore(tmp_path, ORIGIN).signer()


def test_a_key_of_another_origin_is_refused(tmp_path: Path) -> None:
    FileKeyStore(tmp_path, "other.example/log").signer()
    with pytest.raises(KeyStoreError, match="ASSAY_TRAIL_ORIGIN"):
        FileKeyStore(tmp_path, ORIGIN).signer()


def test_a_corrupt_verifiers_file_names_the_line(tmp_path: Path) -> None:
    store = FileKeyStore(tmp_path, ORIGIN)
    store.signer()
    with store.verifiers_path.open("a") as handle:
        handle.write("not a key\n")
    with pytest.raises(KeyStoreError, match=r"verifiers\.txt line 2"):
        store.verifiers()
