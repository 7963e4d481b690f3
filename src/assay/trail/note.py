"""C2SP signed notes (https://c2sp.org/signed-note) with Ed25519 keys, as Go's sumdb/note.

A note is UTF-8 text ending in a newline, a blank line, then one line per signature:
``— <key name> <base64(4-byte key id || signature)>``. A key id is the first four bytes of
SHA-256(name || 0x0A || 0x01 || public key). Keys travel as strings:
``<name>+<hex id>+<base64(0x01 || public key)>`` to verify, and
``PRIVATE+KEY+<name>+<hex id>+<base64(0x01 || seed)>`` to sign. This module never touches files
or the database; ``keys.py`` keeps the keys.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from assay.trail.errors import BadSignature, MalformedNote, UnknownKey

ED25519 = 0x01
DASH = "\u2014 "
MAX_SIGNATURES = 100
PRIVATE_PREFIX = "PRIVATE+KEY+"


def _check_name(name: str) -> str:
    if not name or any(c in name for c in "+ \t\n") or not name.isprintable():
        raise MalformedNote(
            f"key name {name!r} must be non-empty printable text without spaces or '+'",
            field="name",
            value=name,
        )
    return name


def key_id(name: str, public: bytes) -> int:
    """The 32-bit key id of an Ed25519 public key under ``name``."""
    digest = hashlib.sha256(name.encode() + b"\n" + bytes([ED25519]) + public).digest()
    return int.from_bytes(digest[:4], "big")


def _decode(text: str, what: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except binascii.Error:
        raise MalformedNote(f"{what} {text!r} is not base64", value=text) from None


def _public_bytes(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


@dataclass(frozen=True)
class Verifier:
    """A key that checks signatures."""

    name: str
    key_id: int
    public: Ed25519PublicKey

    @classmethod
    def parse(cls, text: str) -> Verifier:
        """Read a verifier key string."""
        parts = text.strip().split("+", 2)
        if len(parts) != 3:
            raise MalformedNote(f"verifier key {text!r} is not <name>+<id>+<key>", value=text)
        name, hex_id, encoded = parts
        raw = _decode(encoded, "verifier key")
        if len(raw) != 33 or raw[0] != ED25519:
            raise MalformedNote(f"verifier key {text!r} is not an Ed25519 key", value=text)
        if len(hex_id) != 8 or int(hex_id, 16) != key_id(_check_name(name), raw[1:]):
            raise MalformedNote(f"verifier key {text!r}: the id does not match the key", value=text)
        return cls(name, int(hex_id, 16), Ed25519PublicKey.from_public_bytes(raw[1:]))

    @property
    def verifier_key(self) -> str:
        """This key as a verifier key string."""
        raw = bytes([ED25519]) + _public_bytes(self.public)
        return f"{self.name}+{self.key_id:08x}+{base64.b64encode(raw).decode()}"

    def verify(self, message: bytes, signature: bytes) -> bool:
        """Whether ``signature`` signs ``message`` under this key."""
        try:
            self.public.verify(signature, message)
        except InvalidSignature:
            return False
        return True


@dataclass(frozen=True)
class Signer:
    """A key that signs."""

    name: str
    key_id: int
    private: Ed25519PrivateKey

    @classmethod
    def parse(cls, text: str) -> Signer:
        """Read a signer (private) key string."""
        if not text.startswith(PRIVATE_PREFIX):
            raise MalformedNote("a signer key starts with PRIVATE+KEY+")
        parts = text.strip()[len(PRIVATE_PREFIX) :].split("+", 2)
        if len(parts) != 3:
            raise MalformedNote("signer key is not PRIVATE+KEY+<name>+<id>+<key>")
        name, hex_id, encoded = parts
        raw = _decode(encoded, "signer key")
        if len(raw) != 33 or raw[0] != ED25519:
            raise MalformedNote("signer key is not an Ed25519 key")
        private = Ed25519PrivateKey.from_private_bytes(raw[1:])
        expected = key_id(_check_name(name), _public_bytes(private.public_key()))
        if len(hex_id) != 8 or int(hex_id, 16) != expected:
            raise MalformedNote("signer key: the id does not match the key")
        return cls(name, expected, private)

    @classmethod
    def generate(cls, name: str) -> Signer:
        """A new random key."""
        private = Ed25519PrivateKey.generate()
        return cls(_check_name(name), key_id(name, _public_bytes(private.public_key())), private)

    @property
    def signer_key(self) -> str:
        """This key as a signer key string (a secret)."""
        seed = self.private.private_bytes_raw()
        raw = base64.b64encode(bytes([ED25519]) + seed).decode()
        return f"{PRIVATE_PREFIX}{self.name}+{self.key_id:08x}+{raw}"

    @property
    def verifier(self) -> Verifier:
        """The matching verifier."""
        return Verifier(self.name, self.key_id, self.private.public_key())

    @property
    def verifier_key(self) -> str:
        """The matching verifier key string."""
        return self.verifier.verifier_key

    def sign(self, message: bytes) -> bytes:
        """The Ed25519 signature of ``message``."""
        return self.private.sign(message)


def generate_key(name: str) -> tuple[str, str]:
    """A new key pair: (signer key string, verifier key string)."""
    signer = Signer.generate(name)
    return signer.signer_key, signer.verifier_key


def _check_text(text: str) -> None:
    if not text.endswith("\n"):
        raise MalformedNote("the note text must end with a newline")
    if "\n\n" in text:
        raise MalformedNote("the note text must not contain a blank line")
    if any(ord(c) < 0x20 and c != "\n" for c in text):
        raise MalformedNote("the note text must not contain control characters")


def sign(text: str, signers: Sequence[Signer]) -> str:
    """The signed note: ``text``, a blank line, and one signature line per signer, in order."""
    _check_text(text)
    if not signers:
        raise MalformedNote("a note needs at least one signer")
    lines = []
    for signer in signers:
        blob = signer.key_id.to_bytes(4, "big") + signer.sign(text.encode())
        lines.append(f"{DASH}{signer.name} {base64.b64encode(blob).decode()}\n")
    return text + "\n" + "".join(lines)


@dataclass(frozen=True)
class Opened:
    """A note whose signatures were checked."""

    text: str
    verified: list[tuple[str, int]]
    unverified: list[tuple[str, int]]


def open_note(note: str, verifiers: Sequence[Verifier]) -> Opened:
    """Check ``note``'s signatures against ``verifiers``.

    Raises:
        MalformedNote: the framing is wrong.
        BadSignature: a signature by a known key does not verify.
        UnknownKey: no signature is by a known key.
    """
    split = note.rfind("\n\n")
    if split < 0 or not note.endswith("\n"):
        raise MalformedNote("a signed note is text, a blank line, then signature lines")
    text, block = note[: split + 1], note[split + 2 :]
    _check_text(text)
    lines = block.splitlines()
    if not lines:
        raise MalformedNote("the note has no signature")
    if len(lines) > MAX_SIGNATURES:
        raise MalformedNote(f"the note has {len(lines)} signatures, more than {MAX_SIGNATURES}")
    known = {(v.name, v.key_id): v for v in verifiers}
    verified: list[tuple[str, int]] = []
    unverified: list[tuple[str, int]] = []
    for number, line in enumerate(lines, start=1):
        if not line.startswith(DASH):
            raise MalformedNote(f"signature line {number} does not start with an em dash")
        name, space, encoded = line[len(DASH) :].partition(" ")
        if not space or not name or " " in encoded:
            raise MalformedNote(f"signature line {number} is not '— <name> <signature>'")
        blob = _decode(encoded, f"signature line {number}")
        if len(blob) < 5:
            raise MalformedNote(f"signature line {number} is too short")
        signer = (name, int.from_bytes(blob[:4], "big"))
        verifier = known.get(signer)
        if verifier is None:
            unverified.append(signer)
        elif verifier.verify(text.encode(), blob[4:]):
            verified.append(signer)
        else:
            raise BadSignature(f"the signature by {name} ({signer[1]:08x}) does not verify")
    if not verified:
        names = ", ".join(f"{n} ({i:08x})" for n, i in unverified)
        raise UnknownKey(f"the note is signed only by unknown keys: {names}")
    return Opened(text=text, verified=verified, unverified=unverified)
