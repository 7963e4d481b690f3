"""Where the trail's signing key lives: files outside the database, or memory in tests.

``FileKeyStore(dir, origin)`` keeps ``signer.key`` (the current private key string, mode 0600,
written atomically) and ``verifiers.txt`` (every verifier key this installation ever used, one a
line, append-only), so checkpoints signed before a rotation still verify. A rotated-out private
key is deleted: nothing should sign with it again, and its verifier is all that old checkpoints
need. The key is created on first use, named after the log's origin.
"""

from __future__ import annotations

import os
import stat
import tempfile
import threading
from pathlib import Path
from typing import Protocol

from assay.errors import AssayError
from assay.trail.errors import KeyStoreError
from assay.trail.note import Signer, Verifier

SIGNER_FILE = "signer.key"
VERIFIERS_FILE = "verifiers.txt"


class KeyStore(Protocol):
    """Keys of one log."""

    @property
    def origin(self) -> str:
        """The log origin, which is also the key name."""
        ...

    def signer(self) -> Signer:
        """The current signing key (created on first use)."""
        ...

    def verifiers(self) -> list[Verifier]:
        """Every key that ever signed for this log, the current one last."""
        ...

    def rotate(self) -> Signer:
        """Switch to a new key; the old one stays among the verifiers."""
        ...


class MemoryKeyStore:
    """Keys held in memory (tests, throw-away logs)."""

    def __init__(self, origin: str) -> None:
        self._origin = origin
        self._signers: list[Signer] = []

    @property
    def origin(self) -> str:
        """The log origin."""
        return self._origin

    def signer(self) -> Signer:
        """The current key."""
        if not self._signers:
            self._signers.append(Signer.generate(self._origin))
        return self._signers[-1]

    def verifiers(self) -> list[Verifier]:
        """Every key used, oldest first."""
        self.signer()
        return [s.verifier for s in self._signers]

    def rotate(self) -> Signer:
        """A new current key."""
        self._signers.append(Signer.generate(self._origin))
        return self._signers[-1]


class FileKeyStore:
    """Keys in a folder: ``signer.key`` (0600) and ``verifiers.txt``."""

    def __init__(self, directory: Path, origin: str) -> None:
        self.directory = directory
        self._origin = origin
        self._lock = threading.Lock()
        self._signer: Signer | None = None

    @property
    def origin(self) -> str:
        """The log origin."""
        return self._origin

    @property
    def signer_path(self) -> Path:
        """The private key file."""
        return self.directory / SIGNER_FILE

    @property
    def verifiers_path(self) -> Path:
        """The verifier keys file."""
        return self.directory / VERIFIERS_FILE

    def signer(self) -> Signer:
        """The current key, read from its file, or created and stored on first use."""
        with self._lock:
            if self._signer is None:
                self._signer = self._load() if self.signer_path.exists() else self._create()
            return self._signer

    def verifiers(self) -> list[Verifier]:
        """Every key in verifiers.txt (the current key is always among them)."""
        current = self.signer()
        found: list[Verifier] = []
        try:
            lines = self.verifiers_path.read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise KeyStoreError(f"cannot read {self.verifiers_path}: {exc}") from exc
        for number, line in enumerate(lines, start=1):
            if line.strip():
                try:
                    found.append(Verifier.parse(line))
                except AssayError as exc:
                    raise KeyStoreError(
                        f"{self.verifiers_path} line {number}: {exc.message}"
                    ) from exc
        if (current.name, current.key_id) not in {(v.name, v.key_id) for v in found}:
            found.append(current.verifier)
        return found

    def rotate(self) -> Signer:
        """Write a new current key and add its verifier; the old private key is deleted."""
        with self._lock:
            self._signer = self._create()
            return self._signer

    def _load(self) -> Signer:
        path = self.signer_path
        mode = path.stat().st_mode
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise KeyStoreError(
                f"{path} can be read by other users (mode {stat.filemode(mode)}); "
                f"run `chmod 600 {path}`",
                field=str(path),
            )
        try:
            signer = Signer.parse(path.read_text(encoding="utf-8").strip())
        except (OSError, UnicodeDecodeError) as exc:
            raise KeyStoreError(f"cannot read {path}: {exc}", field=str(path)) from exc
        except AssayError as exc:
            raise KeyStoreError(
                f"{path} is not a signer key: {exc.message}", field=str(path)
            ) from exc
        if signer.name != self._origin:
            raise KeyStoreError(
                f"{path} holds the key of log {signer.name!r}, but ASSAY_TRAIL_ORIGIN is "
                f"{self._origin!r}",
                field=str(path),
            )
        return signer

    def _create(self) -> Signer:
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        signer = Signer.generate(self._origin)
        handle, temporary = tempfile.mkstemp(dir=self.directory, prefix=".signer-")
        try:
            os.fchmod(handle, 0o600)
            os.write(handle, (signer.signer_key + "\n").encode())
            os.fsync(handle)
        finally:
            os.close(handle)
        with self.verifiers_path.open("a", encoding="utf-8") as verifiers:
            verifiers.write(signer.verifier_key + "\n")
            verifiers.flush()
            os.fsync(verifiers.fileno())
        os.replace(temporary, self.signer_path)
        return signer
