"""What every OKX proof format shares: its three assets, amounts in minimal units, its hashes.

OKX publishes its liabilities as a Merkle sum tree over three assets (BTC, ETH, USDT), as v1
proofs, V2 user files and V2 tree files (docs/formats/okx-proofs.md gives the byte-exact rules).
All of them write amounts as decimal strings of at most 8 places, read here as integers of 1e-8
so that sums are exact, and hash leaves and parents by the same rules. A problem found in any of
them is a :class:`Problem`; input that is not the format raises ``InvalidInput``
(:func:`bad_input`).

Pure functions: no file, no clock, no database. It must never guess at an amount or a hash (an
exponent, a 9th decimal place, uppercase hex, a key written twice are refused, not read).
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from assay.errors import InvalidInput

ASSETS = ("BTC", "ETH", "USDT")
"""The assets every OKX proof carries, in the order they are hashed."""

UNIT = 10**8
"""Minimal units per coin: OKX amounts have at most 8 decimal places."""

Sums = tuple[int, int, int]
"""Balances of BTC, ETH, USDT in minimal units (1e-8)."""

ZERO: Sums = (0, 0, 0)

_HEX64 = re.compile(r"[0-9a-f]{64}")
_AMOUNT = re.compile(r"(-?)([0-9]+)(?:\.([0-9]+))?")


@dataclass(frozen=True)
class Problem:
    """One thing that does not verify: a stable ``code``, a sentence, and where it is."""

    code: str
    message: str
    where: str


class Problems:
    """Collects problems up to a cap, counting the rest (a forged 10M-node file must not OOM)."""

    def __init__(self, cap: int | None = None) -> None:
        self.items: list[Problem] = []
        self.omitted = 0
        self.cap = cap

    def add(self, code: str, message: str, where: str) -> None:
        """Record a problem, or count it when the cap is reached."""
        if self.cap is not None and len(self.items) >= self.cap:
            self.omitted += 1
        else:
            self.items.append(Problem(code, message, where))

    def __bool__(self) -> bool:
        return bool(self.items) or self.omitted > 0


def bad_input(source: str, where: str, message: str, value: object = None) -> InvalidInput:
    """The error for unreadable input, naming the file, the line or field, and the fault."""
    return InvalidInput(f"{source}: {where}: {message}", field=where, value=value, source=source)


# --- amounts ---------------------------------------------------------------------------------


def parse_amount(text: object, *, source: str, where: str) -> int:
    """A decimal string (at most 8 places, optional minus) as an integer of 1e-8 units."""
    if not isinstance(text, str):
        raise bad_input(source, where, f"must be a decimal string, not {type(text).__name__}")
    match = _AMOUNT.fullmatch(text)
    if match is None:
        raise bad_input(source, where, f"{text!r} is not a decimal number like '0.0012'", text)
    sign, whole, frac = match.group(1), match.group(2), match.group(3) or ""
    if len(frac) > 8:
        raise bad_input(source, where, f"{text!r} has more than 8 decimal places", text)
    units = int(whole + frac.ljust(8, "0"))
    return -units if sign else units


def format_amount(units: int) -> str:
    """Canonical text of an amount: no exponent, no trailing zeros ("0", "1.5", "-0.00000001")."""
    if units < 0:
        return "-" + format_amount(-units)
    whole, frac = divmod(units, UNIT)
    return f"{whole}.{frac:08d}".rstrip("0") if frac else str(whole)


def to_decimal(sums: Sums) -> dict[str, Decimal]:
    """Sums in minimal units as ``{asset: Decimal}`` (exact)."""
    return {a: Decimal(format_amount(v)) for a, v in zip(ASSETS, sums, strict=True)}


def add(a: Sums, b: Sums) -> Sums:
    """Per-asset sum."""
    return (a[0] + b[0], a[1] + b[1], a[2] + b[2])


def negative_assets(sums: Sums) -> list[str]:
    """The assets with a negative amount."""
    return [a for a, v in zip(ASSETS, sums, strict=True) if v < 0]


def describe(sums: Sums) -> str:
    """Sums as ``BTC 1.5, ETH 0, USDT 2`` for messages."""
    return ", ".join(f"{a} {format_amount(v)}" for a, v in zip(ASSETS, sums, strict=True))


# --- hashes (docs/formats/okx-proofs.md) -----------------------------------------------------


def _sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def balances_json(amounts: tuple[str, str, str]) -> str:
    """The balances object exactly as OKX hashes it: ``{"BTC":"..","ETH":"..","USDT":".."}``."""
    return "{" + ",".join(f'"{a}":"{v}"' for a, v in zip(ASSETS, amounts, strict=True)) + "}"


def salted_hash(nonce: str, amounts: tuple[str, str, str]) -> str:
    """sha256(nonce + balances JSON): a v1 leaf, or a V2 user hash (over the user's total)."""
    return _sha256_hex(nonce + balances_json(amounts))


def v2_leaf_hash(user_hash: str, amounts: tuple[str, str, str]) -> str:
    """sha256(userHash + BTC + ETH + USDT): one of a V2 user's leaves, amounts as written."""
    return _sha256_hex(user_hash + "".join(amounts))


def parent_hash(left: str, right: str, sums: Sums, height: int) -> str:
    """sha256(left + right + BTC + ETH + USDT + height), sums canonical, height the parent's."""
    return _sha256_hex(left + right + "".join(format_amount(v) for v in sums) + str(height))


def check_hex(value: object, *, source: str, where: str) -> str:
    """A 64-digit lowercase hex string (a SHA-256 digest or a nonce), or ``InvalidInput``."""
    if not isinstance(value, str) or not _HEX64.fullmatch(value):
        raise bad_input(source, where, "must be 64 lowercase hex digits", value)
    return value


def strict_json(text: str | bytes, *, source: str, where: str) -> Any:
    """Parse JSON, refusing duplicate keys, NaN and Infinity (a verifier takes no guesses)."""

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        found: dict[str, Any] = {}
        for key, value in items:
            if key in found:
                raise bad_input(source, where, f"key {key!r} appears twice", key)
            found[key] = value
        return found

    def constant(name: str) -> Any:
        raise bad_input(source, where, f"{name} is not a number", name)

    try:
        decoded = text.decode("utf-8") if isinstance(text, bytes) else text
    except UnicodeDecodeError as exc:
        raise bad_input(source, where, "not UTF-8 text") from exc
    try:
        return json.loads(decoded, object_pairs_hook=pairs, parse_constant=constant)
    except json.JSONDecodeError as exc:
        raise bad_input(
            source, where, f"not JSON (line {exc.lineno} column {exc.colno}: {exc.msg})"
        ) from exc


def parse_balances(value: object, *, source: str, where: str) -> tuple[tuple[str, str, str], Sums]:
    """A ``{BTC, ETH, USDT}`` object of decimal strings: its raw texts and its sums."""
    if not isinstance(value, dict) or set(value) != set(ASSETS):
        keys = sorted(value) if isinstance(value, dict) else type(value).__name__
        raise bad_input(source, where, f"must be an object with exactly {list(ASSETS)}, not {keys}")
    texts = (value["BTC"], value["ETH"], value["USDT"])
    sums = tuple(
        parse_amount(t, source=source, where=f"{where}.{a}")
        for a, t in zip(ASSETS, texts, strict=True)
    )
    return texts, (sums[0], sums[1], sums[2])
