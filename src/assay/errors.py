"""The AssayError tree: every failure a user can meet, with a stable code, HTTP status, exit code.

::

    AssayError                      error                    500  exit 1
    ├── InvalidInput                invalid-input            422  exit 2
    │   ├── MalformedRequest        malformed-request        400  exit 2
    │   └── MethodNotAllowed        method-not-allowed       405  exit 2
    ├── NotFound                    not-found                404  exit 3
    ├── Conflict                    conflict                 409  exit 4
    ├── AuthenticationRequired      authentication-required  401  exit 5
    │   ├── InvalidCredentials      invalid-credentials      401  exit 5
    │   └── InvalidToken            invalid-token            401  exit 5
    ├── PermissionDenied            permission-denied        403  exit 6
    │   └── CsrfRejected            csrf-rejected            403  exit 6
    ├── RateLimited                 rate-limited             429  exit 7
    ├── ConfigurationError          configuration-error      500  exit 8
    └── DatabaseUnavailable         database-unavailable     503  exit 9
        └── SchemaOutOfDate         schema-out-of-date       503  exit 9

Business code raises these and nothing else; the web layer (``platform/web/problems.py``) turns
them into RFC 9457 problem documents or error pages, the CLI (``cli.py``) into a message and an
exit code.
Third-party errors are translated where they enter, with ``raise ... from exc``. Codes never change
once published: clients branch on them.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from typing import Any, ClassVar


class ExitCode(enum.IntEnum):
    """Exit codes of the ``assay`` command (documented in docs/cli.md)."""

    OK = 0
    ERROR = 1
    INVALID_INPUT = 2
    NOT_FOUND = 3
    CONFLICT = 4
    AUTHENTICATION = 5
    PERMISSION_DENIED = 6
    RATE_LIMITED = 7
    CONFIGURATION = 8
    DATABASE_UNAVAILABLE = 9
    VERIFICATION_FAILED = 10
    REFUSED = 11


class AssayError(Exception):
    """Base of every error Assay reports to a user.

    Attributes:
        code: stable machine-readable code.
        title: short human summary of the kind of error.
        status: HTTP status code.
        exit_code: CLI exit code.
        message: what went wrong, naming the field and the bad value.
        field: the input field at fault, when there is one.
        value: the rejected value, when it is safe to show.
        details: further machine-readable facts (accepted values, retry delay...).
    """

    code: ClassVar[str] = "error"
    title: ClassVar[str] = "Something went wrong"
    status: int = 500
    exit_code: ClassVar[ExitCode] = ExitCode.ERROR

    def __init__(
        self, message: str, *, field: str | None = None, value: Any = None, **details: Any
    ) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.value = value
        self.details = details


class InvalidInput(AssayError):
    """A value was rejected; the message names the field, the value and what is accepted."""

    code = "invalid-input"
    title = "Invalid input"
    status = 422
    exit_code = ExitCode.INVALID_INPUT

    @classmethod
    def not_one_of(cls, field: str, value: object, accepted: Iterable[str]) -> InvalidInput:
        """Build the error for a value outside a closed set, listing the accepted values."""
        choices = sorted(accepted)
        return cls(
            f"{field} {value!r} is not accepted; use one of: {', '.join(choices)}",
            field=field,
            value=value,
            accepted=choices,
        )


class MalformedRequest(InvalidInput):
    """The request could not be parsed at all (for example JSON that is not JSON)."""

    code = "malformed-request"
    title = "Malformed request"
    status = 400


class MethodNotAllowed(InvalidInput):
    """The path exists but does not take this HTTP method."""

    code = "method-not-allowed"
    title = "Method not allowed"
    status = 405


class NotFound(AssayError):
    """The named object does not exist."""

    code = "not-found"
    title = "Not found"
    status = 404
    exit_code = ExitCode.NOT_FOUND


class Conflict(AssayError):
    """The change clashes with what is stored (a duplicate, a stale state)."""

    code = "conflict"
    title = "Conflict"
    status = 409
    exit_code = ExitCode.CONFLICT


class AuthenticationRequired(AssayError):
    """The caller is not signed in, or did not present a usable credential."""

    code = "authentication-required"
    title = "Authentication required"
    status = 401
    exit_code = ExitCode.AUTHENTICATION


class InvalidCredentials(AuthenticationRequired):
    """Email and password do not match an active user."""

    code = "invalid-credentials"
    title = "Wrong email or password"


class InvalidToken(AuthenticationRequired):
    """An API token is unknown, expired or revoked."""

    code = "invalid-token"
    title = "Invalid API token"


class PermissionDenied(AssayError):
    """The caller is known but their role does not allow this."""

    code = "permission-denied"
    title = "Permission denied"
    status = 403
    exit_code = ExitCode.PERMISSION_DENIED


class CsrfRejected(PermissionDenied):
    """A form arrived without the CSRF token issued with it."""

    code = "csrf-rejected"
    title = "Form expired or forged"


class RateLimited(AssayError):
    """Too many attempts; ``details['retry_after']`` says how many seconds to wait."""

    code = "rate-limited"
    title = "Too many attempts"
    status = 429
    exit_code = ExitCode.RATE_LIMITED


class ConfigurationError(AssayError):
    """The installation's settings are unsafe or inconsistent."""

    code = "configuration-error"
    title = "Configuration error"
    status = 500
    exit_code = ExitCode.CONFIGURATION


class DatabaseUnavailable(AssayError):
    """The database cannot be reached or opened."""

    code = "database-unavailable"
    title = "Database unavailable"
    status = 503
    exit_code = ExitCode.DATABASE_UNAVAILABLE


class SchemaOutOfDate(DatabaseUnavailable):
    """The database schema is older than this version of Assay."""

    code = "schema-out-of-date"
    title = "Database schema out of date"


def error_classes() -> list[type[AssayError]]:
    """Every error class of the tree, base first (used by the docs test)."""
    found: list[type[AssayError]] = []
    pending: list[type[AssayError]] = [AssayError]
    while pending:
        cls = pending.pop(0)
        found.append(cls)
        pending.extend(cls.__subclasses__())
    return found
