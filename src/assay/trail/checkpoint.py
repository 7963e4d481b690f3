"""C2SP tlog-checkpoint (https://c2sp.org/tlog-checkpoint): a log's size and root, signed.

Body: the origin line, the tree size in decimal, the root hash in standard base64, then optional
extension lines; every line ends in a newline. Signed as a C2SP signed note, by a key whose name
is the origin (as the spec recommends, so a checkpoint names its log twice).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from dataclasses import dataclass

from assay.trail import note
from assay.trail.errors import MalformedCheckpoint, OriginMismatch

HASH_SIZE = 32


@dataclass(frozen=True)
class Checkpoint:
    """A log's origin, size and root hash."""

    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()

    def body(self) -> str:
        """The checkpoint text that gets signed."""
        lines = [
            self.origin,
            str(self.size),
            base64.b64encode(self.root).decode(),
            *self.extensions,
        ]
        return "".join(f"{line}\n" for line in lines)


def parse_checkpoint(body: str) -> Checkpoint:
    """Parse a checkpoint body, naming the line at fault."""
    if not body.endswith("\n"):
        raise MalformedCheckpoint("the checkpoint must end with a newline")
    lines = body[:-1].split("\n")
    if len(lines) < 3:
        raise MalformedCheckpoint(f"the checkpoint has {len(lines)} line(s); at least 3 are needed")
    origin, size_text, root_text, *extensions = lines
    if not origin or origin != origin.strip():
        raise MalformedCheckpoint(f"line 1: origin {origin!r} must be non-empty, no padding")
    if (
        not size_text.isascii()
        or not size_text.isdigit()
        or (size_text.startswith("0") and size_text != "0")
    ):
        raise MalformedCheckpoint(f"line 2: size {size_text!r} is not a decimal number")
    try:
        root = base64.b64decode(root_text, validate=True)
    except binascii.Error:
        raise MalformedCheckpoint(f"line 3: root {root_text!r} is not base64") from None
    if len(root) != HASH_SIZE or base64.b64encode(root).decode() != root_text:
        raise MalformedCheckpoint(f"line 3: root {root_text!r} is not a 32-byte hash in base64")
    for number, line in enumerate(extensions, start=4):
        if not line:
            raise MalformedCheckpoint(f"line {number}: extension lines must not be empty")
    return Checkpoint(origin, int(size_text), root, tuple(extensions))


def sign_checkpoint(checkpoint: Checkpoint, signers: Sequence[note.Signer]) -> str:
    """The signed note of ``checkpoint``."""
    return note.sign(checkpoint.body(), signers)


def open_checkpoint(
    signed: str, verifiers: Sequence[note.Verifier], origin: str | None = None
) -> Checkpoint:
    """Verify a signed checkpoint and parse it; OriginMismatch when it is another log's."""
    opened = note.open_note(signed, verifiers)
    checkpoint = parse_checkpoint(opened.text)
    if origin is not None and checkpoint.origin != origin:
        raise OriginMismatch(
            f"the checkpoint is for log {checkpoint.origin!r}, not {origin!r}",
            field="origin",
            value=checkpoint.origin,
        )
    return checkpoint
