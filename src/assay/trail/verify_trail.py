#!/usr/bin/env python3
"""Check an Assay trail proof offline: one file, Python's standard library and `cryptography`.

Usage::

    python verify_trail.py PROOF.json [--key VERIFIER_KEY]... [--origin ORIGIN]

``PROOF.json`` is a bundle written by Assay (``assay trail prove --json``, ``assay trail
consistency --json``, the "Download the proof bundle" link, ``GET /api/v1/trail/proofs/...``);
its format is documented in docs/formats/trail-proof.md. The script checks:

- an inclusion bundle (``assay-trail-inclusion/1``): the entry hashes to the leaf hash, the
  RFC 9162 inclusion proof leads from it to the root, and the signed checkpoint names that root
  for that tree size;
- a consistency bundle (``assay-trail-consistency/1``): the RFC 9162 consistency proof shows the
  old tree is a prefix of the new one, and both checkpoints sign those roots.

Checkpoints are C2SP signed notes with Ed25519 signatures. Pin the log's key with ``--key`` (the
verifier key string Assay publishes: ``assay trail keys``); without it the keys inside the bundle
are used, which proves consistency with itself but not who signed: the script says so.

Exit status: 0 verified, 1 not verified (the reason is printed), 2 unreadable input.

This file deliberately depends on nothing from Assay, so that anyone can read it and run it: the
RFC 9162 verification algorithms and the signed-note parsing are written out again here (and
tested against Assay's own implementation).
"""

from __future__ import annotations

import argparse
import base64
import binascii
import hashlib
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

INCLUSION = "assay-trail-inclusion/1"
CONSISTENCY = "assay-trail-consistency/1"
ED25519 = 0x01
DASH = "\u2014 "


class Unverified(Exception):
    """The proof does not hold; the message says why."""


class Unreadable(Exception):
    """The input is not a bundle this script understands."""


# --- RFC 9162 section 2.1 ------------------------------------------------------------------------


def leaf_hash(data: bytes) -> bytes:
    """SHA-256(0x00 || data)."""
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """SHA-256(0x01 || left || right)."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def verify_inclusion(leaf: bytes, index: int, size: int, proof: list[bytes], root: bytes) -> bool:
    """RFC 9162 2.1.3.2: does ``proof`` lead from leaf hash ``leaf`` at ``index`` to ``root``."""
    if not 0 <= index < size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn & 1 == 0 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: list[bytes]
) -> bool:
    """RFC 9162 2.1.4.2: is the tree of ``old_size`` a prefix of the tree of ``new_size``."""
    if not 0 < old_size <= new_size:
        return False
    if old_size == new_size:
        return not proof and old_root == new_root
    if not proof:
        return False
    path = list(proof)
    if old_size & (old_size - 1) == 0:
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn & 1 == 0 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == old_root and sr == new_root


# --- C2SP signed-note and tlog-checkpoint ------------------------------------------------------


@dataclass(frozen=True)
class Key:
    """An Ed25519 verifier key: ``name+hex key id+base64(0x01 || public key)``."""

    name: str
    key_id: bytes
    public: Ed25519PublicKey

    @classmethod
    def parse(cls, text: str) -> Key:
        """Parse a verifier key string."""
        parts = text.strip().split("+", 2)
        if len(parts) != 3 or not parts[0]:
            raise Unreadable(f"verifier key {text!r} is not name+keyid+key")
        name, hex_id, encoded = parts
        try:
            raw = base64.b64decode(encoded, validate=True)
            key_id = bytes.fromhex(hex_id)
        except (binascii.Error, ValueError) as exc:
            raise Unreadable(f"verifier key {text!r}: {exc}") from exc
        if len(raw) != 33 or raw[0] != ED25519 or len(key_id) != 4:
            raise Unreadable(f"verifier key {text!r} is not an Ed25519 key")
        expected = hashlib.sha256(name.encode() + b"\n" + raw).digest()[:4]
        if expected != key_id:
            raise Unreadable(f"verifier key {text!r}: its key id does not match the key")
        return cls(name, key_id, Ed25519PublicKey.from_public_bytes(raw[1:]))


@dataclass(frozen=True)
class SignedCheckpoint:
    """A checkpoint whose signature by one of the trusted keys was checked."""

    origin: str
    size: int
    root: bytes
    signed_by: str


def open_checkpoint(note: str, keys: list[Key]) -> SignedCheckpoint:
    """Check the note's signature by one of ``keys`` and parse the checkpoint it carries."""
    text, sep, signatures = note.partition("\n\n")
    if not sep or not signatures.endswith("\n"):
        raise Unverified("the checkpoint is not a signed note (no blank line before signatures)")
    body = (text + "\n").encode()
    for line in signatures.splitlines():
        if not line.startswith(DASH):
            raise Unverified(f"checkpoint signature line {line!r} does not start with an em dash")
        name, _, encoded = line[len(DASH) :].rpartition(" ")
        try:
            blob = base64.b64decode(encoded, validate=True)
        except binascii.Error:
            raise Unverified(f"checkpoint signature of {name!r} is not base64") from None
        for key in keys:
            if key.name == name and key.key_id == blob[:4]:
                try:
                    key.public.verify(blob[4:], body)
                except InvalidSignature:
                    raise Unverified(
                        f"the signature by {name} does not match the checkpoint"
                    ) from None
                return _parse_checkpoint(text, name)
    raise Unverified("the checkpoint is not signed by any trusted key")


def _parse_checkpoint(text: str, signer: str) -> SignedCheckpoint:
    lines = text.split("\n")
    if len(lines) < 3:
        raise Unverified("the checkpoint has fewer than three lines")
    origin, size_text, root_text = lines[:3]
    if not size_text.isdigit() or (size_text.startswith("0") and size_text != "0"):
        raise Unverified(f"checkpoint size {size_text!r} is not a decimal number")
    try:
        root = base64.b64decode(root_text, validate=True)
    except binascii.Error:
        raise Unverified(f"checkpoint root {root_text!r} is not base64") from None
    if len(root) != 32:
        raise Unverified("checkpoint root is not 32 bytes")
    return SignedCheckpoint(origin, int(size_text), root, signer)


# --- bundles -------------------------------------------------------------------------------------


def _hex(value: Any, what: str) -> bytes:
    try:
        digest = bytes.fromhex(value)
    except (TypeError, ValueError):
        raise Unreadable(f"{what} is not hex") from None
    if len(digest) != 32:
        raise Unreadable(f"{what} is not a SHA-256 hash")
    return digest


def _signed(
    note: str | None, keys: list[Key], origin: str, size: int, root: bytes, *, what: str
) -> str:
    if note is None:
        raise Unverified(f"no signed checkpoint at size {size} comes with the {what} proof")
    cp = open_checkpoint(note, keys)
    if cp.origin != origin:
        raise Unverified(f"the {what} checkpoint is for log {cp.origin!r}, not {origin!r}")
    if (cp.size, cp.root) != (size, root):
        raise Unverified(
            f"the {what} checkpoint signs size {cp.size}, not the proof's {size} and root"
        )
    return f"signed by {cp.signed_by}"


def check(bundle: dict[str, Any], keys: list[Key], origin: str | None) -> str:
    """Verify ``bundle``; returns a one-line summary, raises Unverified or Unreadable."""
    kind = bundle.get("format")
    log_origin = str(bundle.get("origin", ""))
    if origin is not None and log_origin != origin:
        raise Unverified(f"the bundle is for log {log_origin!r}, not {origin!r}")
    trusted = keys or [Key.parse(k) for k in bundle.get("verifier_keys", [])]
    try:
        proof = [_hex(h, "a proof hash") for h in bundle["proof"]]
        if kind == INCLUSION:
            index, size = int(bundle["leaf_index"]), int(bundle["tree_size"])
            root = _hex(bundle["root"], "root")
            leaf = leaf_hash(str(bundle["entry"]).encode("utf-8"))
            if leaf.hex() != bundle.get("leaf_hash", leaf.hex()):
                raise Unverified("the entry does not hash to the bundle's leaf hash")
            if not verify_inclusion(leaf, index, size, proof, root):
                raise Unverified(f"the inclusion proof of entry {index} does not lead to the root")
            signed = _signed(
                bundle.get("checkpoint"), trusted, log_origin, size, root, what="proof's"
            )
            return f"entry {index} is in {log_origin} at size {size} ({signed})"
        if kind == CONSISTENCY:
            old, new = int(bundle["old_size"]), int(bundle["new_size"])
            old_root, new_root = (
                _hex(bundle["old_root"], "old root"),
                _hex(bundle["new_root"], "new root"),
            )
            if not verify_consistency(old, new, old_root, new_root, proof):
                raise Unverified(f"the log of {old} entries is not a prefix of the log of {new}")
            first = _signed(
                bundle.get("old_checkpoint"), trusted, log_origin, old, old_root, what="old"
            )
            second = _signed(
                bundle.get("new_checkpoint"), trusted, log_origin, new, new_root, what="new"
            )
            return f"{log_origin} grew from {old} to {new} entries ({first}; {second})"
    except (KeyError, TypeError, ValueError) as exc:
        raise Unreadable(f"the bundle lacks or garbles a field: {exc}") from exc
    raise Unreadable(f"unknown bundle format {kind!r} (expected {INCLUSION} or {CONSISTENCY})")


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the exit status."""
    parser = argparse.ArgumentParser(description="Check an Assay trail proof bundle offline.")
    parser.add_argument("bundle", type=Path, help="the proof bundle (JSON)")
    parser.add_argument("--key", action="append", default=[], help="trusted verifier key")
    parser.add_argument("--origin", help="the log origin you expect")
    args = parser.parse_args(argv)
    try:
        bundle = json.loads(args.bundle.read_text(encoding="utf-8"))
        if not isinstance(bundle, dict):
            raise Unreadable("the file is not a JSON object")
        keys = [Key.parse(k) for k in args.key]
        summary = check(bundle, keys, args.origin)
    except (OSError, json.JSONDecodeError, Unreadable) as exc:
        print(f"unreadable: {exc}", file=sys.stderr)
        return 2
    except Unverified as exc:
        print(f"NOT VERIFIED: {exc}")
        return 1
    print(f"verified: {summary}")
    if not args.key:
        print("note: the keys came from the bundle itself; pin the log's key with --key")
    return 0


if __name__ == "__main__":
    sys.exit(main())
