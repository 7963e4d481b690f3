"""Password hashing with Argon2id (argon2-cffi's recommended parameters, RFC 9106)."""

from __future__ import annotations

import functools

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from assay.errors import InvalidInput

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 1024

_hasher = PasswordHasher()


@functools.cache
def _dummy_hash() -> str:
    # A hash of nothing anyone knows, verified against when the user does not exist, so that an
    # unknown email costs the same time as a wrong password and does not reveal who has an account.
    return _hasher.hash("assay: no such user")


def check_strength(password: str) -> None:
    """Reject passwords too short or too long to be worth hashing."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(
            f"password has {len(password)} characters; at least {MIN_PASSWORD_LENGTH} are needed",
            field="password",
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        raise InvalidInput(
            f"password has {len(password)} characters; at most {MAX_PASSWORD_LENGTH} are accepted",
            field="password",
        )


def hash_password(password: str) -> str:
    """The Argon2id hash of ``password`` (salt and parameters included)."""
    return _hasher.hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    """Whether ``password`` matches ``stored_hash``; ``None`` means no such user (still slow)."""
    try:
        return _hasher.verify(stored_hash or _dummy_hash(), password) and stored_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    """Whether the hash was made with weaker parameters than today's."""
    return _hasher.check_needs_rehash(stored_hash)
