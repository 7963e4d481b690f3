"""The one Settings object: every knob Assay has, read from ``ASSAY_*`` variables and ``.env``.

Settings are built by the composition roots (``create_app``, the CLI) and passed down; nothing reads
the environment anywhere else. This module must never open a database or a file at import.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from assay.errors import ConfigurationError

#: The value shipped for development; refused outside development mode.
DEVELOPMENT_SECRET_KEY = "assay-development-secret-key-do-not-use-in-production"  # noqa: S105
MIN_SECRET_KEY_LENGTH = 32


class Settings(BaseSettings):
    """Configuration of one Assay installation (see the table in the README)."""

    model_config = SettingsConfigDict(
        env_prefix="ASSAY_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    env: Literal["development", "production"] = Field(
        default="production",
        description="development relaxes the secret-key and secure-cookie checks; never use it in "
        "production.",
    )
    secret_key: SecretStr | None = Field(
        default=None,
        description="Signs CSRF tokens and flash cookies. Required (32+ characters) in production.",
    )
    data_dir: Path = Field(
        default=Path(".assay"), description="Folder for the SQLite database and keys."
    )
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL; default sqlite:///<data_dir>/assay.db. PostgreSQL: "
        "postgresql+psycopg://user@host:5432/db.",
    )
    host: str = Field(default="127.0.0.1", description="Address `assay serve` listens on.")
    port: int = Field(default=8000, ge=1, le=65535, description="Port `assay serve` listens on.")
    session_hours: float = Field(
        default=12, gt=0, description="Lifetime of a signed-in browser session."
    )
    session_idle_minutes: float = Field(
        default=120, gt=0, description="A session unused this long is signed out."
    )
    cookie_secure: bool | None = Field(
        default=None,
        description="Send cookies over HTTPS only; default true outside development.",
    )
    signin_max_failures: int = Field(
        default=5, ge=1, description="Failed sign-ins for one account before it is locked."
    )
    signin_lockout_minutes: float = Field(
        default=15, gt=0, description="How long a locked account (or address) must wait."
    )
    token_default_days: int = Field(
        default=90, ge=1, le=3650, description="Expiry of a new API token unless one is given."
    )
    trail_origin: str = Field(
        default="assay.local/trail",
        pattern=r"^[^\s+]+$",
        description="The trail's log origin (checkpoint first line and signing key name); make "
        "it unique, e.g. trail.exchange.example/assay.",
    )
    trail_key_dir: Path | None = Field(
        default=None,
        description="Folder of the trail's signing keys; default <data_dir>/trail. Keep it out of "
        "database backups.",
    )
    trail_checkpoint_every: int = Field(
        default=1000, ge=1, description="Sign a checkpoint after this many new trail entries."
    )
    trail_checkpoint_seconds: float = Field(
        default=60, gt=0, description="`assay serve` signs a checkpoint this often if it grew."
    )
    pin_workers: bool = Field(
        default=False,
        description="Pin each `assay serve` worker process to a CPU of its own (Linux).",
    )

    @property
    def development(self) -> bool:
        """Whether this installation runs in development mode."""
        return self.env == "development"

    @property
    def effective_database_url(self) -> str:
        """The database URL, defaulting to a SQLite file in the data folder."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'assay.db').as_posix()}"

    @property
    def effective_trail_key_dir(self) -> Path:
        """Where the trail's signing keys live."""
        return self.trail_key_dir or self.data_dir / "trail"

    @property
    def secure_cookies(self) -> bool:
        """Whether cookies carry the Secure attribute."""
        return (not self.development) if self.cookie_secure is None else self.cookie_secure

    def secret(self) -> bytes:
        """The secret key, after :meth:`check` (development falls back to a fixed key)."""
        value = self.secret_key.get_secret_value() if self.secret_key else DEVELOPMENT_SECRET_KEY
        return value.encode()

    def check(self) -> None:
        """Refuse to run with settings that would be unsafe in this mode.

        Raises:
            ConfigurationError: outside development, when the secret key is missing, is the
                development default, or is too short.
        """
        if self.development:
            return
        key = self.secret_key.get_secret_value() if self.secret_key else ""
        hint = (
            "set ASSAY_SECRET_KEY to a random value of at least "
            f"{MIN_SECRET_KEY_LENGTH} characters (for example the output of "
            "`python -c 'import secrets; print(secrets.token_urlsafe(48))'`), "
            "or ASSAY_ENV=development on a machine of your own"
        )
        if not key:
            raise ConfigurationError(
                f"ASSAY_SECRET_KEY is not set and ASSAY_ENV is {self.env!r}: {hint}",
                field="ASSAY_SECRET_KEY",
            )
        if key == DEVELOPMENT_SECRET_KEY:
            raise ConfigurationError(
                f"ASSAY_SECRET_KEY is the published development default: {hint}",
                field="ASSAY_SECRET_KEY",
            )
        if len(key) < MIN_SECRET_KEY_LENGTH:
            raise ConfigurationError(
                f"ASSAY_SECRET_KEY has {len(key)} characters, fewer than {MIN_SECRET_KEY_LENGTH}: "
                f"{hint}",
                field="ASSAY_SECRET_KEY",
            )
