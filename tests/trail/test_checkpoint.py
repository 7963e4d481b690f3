"""C2SP tlog-checkpoints: exact text, strict parsing, signatures, origins."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given
from hypothesis import strategies as st

from assay.trail import note
from assay.trail.checkpoint import Checkpoint, open_checkpoint, parse_checkpoint, sign_checkpoint
from assay.trail.errors import MalformedCheckpoint, OriginMismatch, UnknownKey
from assay.trail.keys import MemoryKeyStore

ROOT = bytes(range(32))


def test_a_checkpoint_body_is_origin_size_and_base64_root() -> None:
    body = Checkpoint("example.com/log", 12, ROOT, ("ext one",)).body()
    assert body == ("example.com/log\n12\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\next one\n")
    assert parse_checkpoint(body) == Checkpoint("example.com/log", 12, ROOT, ("ext one",))


@given(
    size=st.integers(min_value=0, max_value=2**63),
    root=st.binary(min_size=32, max_size=32),
    extensions=st.lists(
        st.text(
            alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), min_size=1, max_size=20
        ),
        max_size=3,
    ),
)
def test_checkpoints_round_trip(size: int, root: bytes, extensions: list[str]) -> None:
    checkpoint = Checkpoint("log.example/x", size, root, tuple(extensions))
    assert parse_checkpoint(checkpoint.body()) == checkpoint


R = base64.b64encode(ROOT).decode()


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (f"log\n12\n{R}", "end with a newline"),  # last line unterminated
        ("log\n12\n", "at least 3"),  # no root line
        (f"\n12\n{R}\n", "line 1"),  # empty origin
        (f"log\n012\n{R}\n", "line 2"),  # a leading zero
        (f"log\n-1\n{R}\n", "line 2"),  # a sign
        (f"log\n1e3\n{R}\n", "line 2"),  # not decimal
        ("log\n12\n!!!\n", "line 3"),  # not base64
        (f"log\n12\n{base64.b64encode(ROOT[:31]).decode()}\n", "line 3"),  # 31-byte root
        (f"log\n12\n{R}\n\n", "line 4"),  # an empty extension line
    ],
)
def test_malformed_checkpoints_name_the_line(body: str, message: str) -> None:
    with pytest.raises(MalformedCheckpoint, match=message):
        parse_checkpoint(body)


def test_a_signed_checkpoint_opens_with_the_logs_key_and_origin() -> None:
    keys = MemoryKeyStore("log.example/trail")
    signed = sign_checkpoint(Checkpoint("log.example/trail", 5, ROOT), [keys.signer()])
    assert signed.startswith("log.example/trail\n5\n")
    assert "\n\n— log.example/trail " in signed
    assert open_checkpoint(signed, keys.verifiers(), origin="log.example/trail").size == 5


def test_a_checkpoint_of_another_log_is_refused() -> None:
    keys = MemoryKeyStore("log.example/trail")
    signed = sign_checkpoint(Checkpoint("log.example/trail", 5, ROOT), [keys.signer()])
    with pytest.raises(OriginMismatch, match=r"not 'other\.example/trail'"):
        open_checkpoint(signed, keys.verifiers(), origin="other.example/trail")


def test_checkpoints_signed_before_a_rotation_still_verify() -> None:
    keys = MemoryKeyStore("log.example/trail")
    old = sign_checkpoint(Checkpoint("log.example/trail", 5, ROOT), [keys.signer()])
    keys.rotate()
    new = sign_checkpoint(Checkpoint("log.example/trail", 9, ROOT), [keys.signer()])
    assert open_checkpoint(old, keys.verifiers()).size == 5
    assert open_checkpoint(new, keys.verifiers()).size == 9
    with pytest.raises(UnknownKey):
        open_checkpoint(old, [keys.signer().verifier])


def test_a_checkpoint_signed_by_a_stranger_is_refused() -> None:
    signer_key, _ = note.generate_key("log.example/trail")
    signed = sign_checkpoint(
        Checkpoint("log.example/trail", 5, ROOT), [note.Signer.parse(signer_key)]
    )
    with pytest.raises(UnknownKey):
        open_checkpoint(signed, MemoryKeyStore("log.example/trail").verifiers())
