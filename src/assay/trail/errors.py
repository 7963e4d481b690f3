"""The trail's errors, each joining the AssayError tree with its own stable code.

::

InvalidInput
├── MalformedNote          note-malformed         422  exit 2
├── MalformedCheckpoint    checkpoint-malformed   422  exit 2
├── UnknownKey             unknown-key            422  exit 2
├── BadSignature           signature-invalid      422  exit 2
└── OriginMismatch         origin-mismatch        422  exit 2
ConfigurationError
└── KeyStoreError          key-store-error        500  exit 8
Conflict
└── TrailTampered          trail-tampered         409  exit 10
"""

from __future__ import annotations

from assay.errors import ConfigurationError, Conflict, ExitCode, InvalidInput


class MalformedNote(InvalidInput):
    """A signed note that does not follow the C2SP signed-note framing."""

    code = "note-malformed"
    title = "Malformed signed note"


class MalformedCheckpoint(InvalidInput):
    """A checkpoint body that does not follow C2SP tlog-checkpoint."""

    code = "checkpoint-malformed"
    title = "Malformed checkpoint"


class UnknownKey(InvalidInput):
    """No signature on the note is by a key we know."""

    code = "unknown-key"
    title = "Signed by an unknown key"


class BadSignature(InvalidInput):
    """A signature by a known key does not verify."""

    code = "signature-invalid"
    title = "Invalid signature"


class OriginMismatch(InvalidInput):
    """A checkpoint of another log."""

    code = "origin-mismatch"
    title = "Checkpoint of another log"


class KeyStoreError(ConfigurationError):
    """The signing key files are unreadable, corrupt or too widely readable."""

    code = "key-store-error"
    title = "Trail key store error"


class TrailTampered(Conflict):
    """The stored log no longer agrees with itself or with its signed checkpoints."""

    code = "trail-tampered"
    title = "Trail does not verify"
    exit_code = ExitCode.VERIFICATION_FAILED
