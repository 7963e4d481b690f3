"""C2SP signed notes, checked against the Go reference implementation's published example."""

from __future__ import annotations

import pytest

from assay.trail import note
from assay.trail.errors import BadSignature, MalformedNote, UnknownKey

# golang.org/x/mod/sumdb/note (package documentation and note_test.go): the PeterNeumann key
# pair and the note it signs. Ed25519 is deterministic, so our signature must be byte-identical.
GO_VERIFIER = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_SIGNER = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
GO_TEXT = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)
GO_NOTE = (
    GO_TEXT
    + "\n— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotp"
    "RZb6KE6RyyBwJnAM=\n"
)


def test_we_sign_the_go_example_byte_for_byte() -> None:
    signer = note.Signer.parse(GO_SIGNER)
    assert signer.key_id == 0xC74F20A3
    assert signer.verifier_key == GO_VERIFIER
    assert signer.signer_key == GO_SIGNER
    assert note.sign(GO_TEXT, [signer]) == GO_NOTE


def test_we_open_the_go_example() -> None:
    opened = note.open_note(GO_NOTE, [note.Verifier.parse(GO_VERIFIER)])
    assert opened.text == GO_TEXT
    assert opened.verified == [("PeterNeumann", 0xC74F20A3)]
    assert opened.unverified == []


def test_generated_keys_round_trip() -> None:
    signer_key, verifier_key = note.generate_key("log.example/trail")
    signed = note.sign("hello\n", [note.Signer.parse(signer_key)])
    assert note.open_note(signed, [note.Verifier.parse(verifier_key)]).text == "hello\n"


def test_a_changed_text_no_longer_verifies() -> None:
    tampered = GO_NOTE.replace("cryptography", "cryptographY")
    with pytest.raises(BadSignature, match="PeterNeumann"):
        note.open_note(tampered, [note.Verifier.parse(GO_VERIFIER)])


def test_a_changed_signature_no_longer_verifies() -> None:
    tampered = GO_NOTE.replace("x08go/ZJ", "x08go/ZK")
    with pytest.raises(BadSignature):
        note.open_note(tampered, [note.Verifier.parse(GO_VERIFIER)])


def test_a_note_signed_only_by_unknown_keys_is_refused() -> None:
    _, other = note.generate_key("someone.example")
    with pytest.raises(UnknownKey, match="PeterNeumann"):
        note.open_note(GO_NOTE, [note.Verifier.parse(other)])


def test_signatures_by_unknown_keys_are_reported_but_do_not_fail() -> None:
    stranger, _ = note.generate_key("witness.example")
    signed = note.sign(GO_TEXT, [note.Signer.parse(GO_SIGNER), note.Signer.parse(stranger)])
    opened = note.open_note(signed, [note.Verifier.parse(GO_VERIFIER)])
    assert [name for name, _ in opened.unverified] == ["witness.example"]


@pytest.mark.parametrize(
    "malformed",
    [
        GO_TEXT,  # no signature block
        GO_TEXT + "\n",  # a blank line but no signature
        GO_NOTE.replace("— ", "-- "),  # the signature line must start with an em dash
        GO_NOTE.replace("x08go", "!!!!!"),  # not base64
        GO_NOTE[:-1],  # the signature line lacks its newline
        "bad\x01control\n\n" + GO_NOTE.split("\n\n")[1],  # a control character in the text
        GO_TEXT + "\n" + "— PeterNeumann AAAA\n",  # a signature too short to hold a key id
        GO_TEXT + "\n" + "— PeterNeumann x08go/ZJ extra\n" * 101,  # more than 100 signatures
    ],
)
def test_malformed_notes_are_refused(malformed: str) -> None:
    with pytest.raises((MalformedNote, BadSignature)):
        note.open_note(malformed, [note.Verifier.parse(GO_VERIFIER)])


@pytest.mark.parametrize(
    "key",
    [
        "PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  # wrong key id
        "PeterNeumann+c74f20a3+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  # unknown algorithm
        "PeterNeumann+c74f20a3",  # no key
        "Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  # space in name
    ],
)
def test_malformed_verifier_keys_are_refused(key: str) -> None:
    with pytest.raises(MalformedNote):
        note.Verifier.parse(key)


def test_a_text_without_final_newline_cannot_be_signed() -> None:
    with pytest.raises(MalformedNote, match="end with a newline"):
        note.sign("no newline", [note.Signer.parse(GO_SIGNER)])
