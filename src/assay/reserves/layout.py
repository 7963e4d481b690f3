"""The byte layout of a proof-of-reserves round: what is hashed, in which order, with which tags.

This module is the definition (docs/formats/reserves-tree.md, with test vectors); ``sumtree``
computes the same bytes in bulk, and ``verify_proof.py`` writes them out again with the standard
library only. Everything here works on one value at a time and is plain Python (``hashlib``,
``hmac``): no numpy, no I/O, no clock, no randomness that is not passed in.

The lessons it follows (docs/formats/reserves-tree.md gives the sources):

- an inner node binds both children's hashes *and* both children's per-asset sums, so a sibling
  sum shown in a proof cannot differ from the one committed (the "sum of max" break);
- every amount is a fixed-width big-endian unsigned integer in the asset's minimal unit, equity
  and debt apart, so nothing is negative and nothing silently wraps;
- leaves, inner nodes, padding and the round each have their own 16-byte tag, hashes are full
  SHA-256;
- every leaf binds the round (through the round digest), a salt derived per account from a round
  secret, the amounts and the account id;
- padding leaves are derived from the same secret and cannot be told from real leaves without it;
  leaves are placed in the order of their salts, a shuffle that the auditor can reproduce.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Literal

from assay.errors import InvalidInput

__all__ = [
    "HASH_SIZE",
    "MAX_ACCOUNT_ID_BYTES",
    "MAX_CAPACITY",
    "MIN_SECRET_BYTES",
    "PAD_LABEL",
    "TAG_LEAF",
    "TAG_NODE",
    "TAG_PAD",
    "TAG_ROUND",
    "Asset",
    "Round",
    "Salter",
    "account_id_bytes",
    "capacity_for",
    "check_secret",
    "encode_amounts",
    "format_units",
    "leaf_hash",
    "node_hash",
    "pad_hash",
    "pad_salt",
    "path_sides",
    "to_units",
]


def _tag(name: str) -> bytes:
    """A domain tag: the ASCII name, zero-padded to 16 bytes."""
    return name.encode("ascii").ljust(16, b"\x00")


TAG_LEAF = _tag("assay-por/leaf/1")
TAG_NODE = _tag("assay-por/node/1")
TAG_PAD = _tag("assay-por/pad/1")
TAG_ROUND = _tag("assay-por/rnd/1")
#: The HMAC message prefix of padding salts; its first byte (NUL) starts no valid account id.
PAD_LABEL = b"\x00assay-por/pad/1"
HASH_SIZE = 32
MIN_SECRET_BYTES = 32
MAX_ACCOUNT_ID_BYTES = 128
MAX_CAPACITY = 2**32
WIDTHS = (8, 16)
MAX_DECIMALS = 18
_POW10: list[int] = [10**i for i in range(MAX_DECIMALS + 1)]
_ASSET_CODE = re.compile(r"[A-Z0-9][A-Z0-9._-]{0,19}")
_DECIMAL = re.compile(r"(0|[1-9][0-9]*)(?:\.([0-9]+))?", re.ASCII)

Side = Literal["left", "right"]


@dataclass(frozen=True)
class Asset:
    """An asset of a round, fixed for the round.

    Attributes:
        code: ticker, upper-case letters, digits and ``._-`` (up to 20), e.g. ``BTC``.
        decimals: how many decimals one minimal unit has (0 to 18).
        width: bytes of every amount of this asset in leaves and nodes: 8 (sums below 2^64
            minimal units) or 16 (below 2^128).
        debt_allowed: whether accounts may owe this asset (their debt is committed apart).
    """

    code: str
    decimals: int
    width: int = 16
    debt_allowed: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.code, str) or not _ASSET_CODE.fullmatch(self.code):
            raise InvalidInput(
                f"asset {self.code!r} is not an asset code (upper-case letters, digits and "
                "'._-', up to 20, e.g. BTC)",
                field="assets.code",
                value=self.code,
            )
        if type(self.decimals) is not int or not 0 <= self.decimals <= MAX_DECIMALS:
            raise InvalidInput(
                f"asset {self.code}: decimals {self.decimals!r} must be 0 to {MAX_DECIMALS}",
                field="assets.decimals",
                value=self.decimals,
            )
        if type(self.width) is not int or self.width not in WIDTHS:
            raise InvalidInput.not_one_of("assets.width", self.width, [str(w) for w in WIDTHS])
        if type(self.debt_allowed) is not bool:
            raise InvalidInput(
                f"asset {self.code}: debt_allowed must be true or false",
                field="assets.debt_allowed",
                value=self.debt_allowed,
            )

    @property
    def limit(self) -> int:
        """The largest amount (or sum) this asset's width holds, in minimal units."""
        return (1 << (8 * self.width)) - 1


@dataclass(frozen=True)
class Round:
    """What is fixed for one round and published with its root.

    Attributes:
        id: the round's name, printable, up to 64 bytes of UTF-8 (e.g. ``2026-11-25``).
        assets: the assets, in the order of every amount vector.
        capacity: the number of leaves (accounts plus padding), 1 to 2^32.
    """

    id: str
    assets: tuple[Asset, ...]
    capacity: int

    def __post_init__(self) -> None:
        raw = self.id.encode("utf-8") if isinstance(self.id, str) else b""
        if not 0 < len(raw) <= 64 or not self.id.isprintable():
            raise InvalidInput(
                f"round id {self.id!r} must be 1 to 64 bytes of printable text",
                field="round.id",
                value=self.id,
            )
        object.__setattr__(self, "assets", tuple(self.assets))
        if not self.assets or not all(isinstance(a, Asset) for a in self.assets):
            raise InvalidInput("a round needs one or more assets", field="round.assets")
        codes = [a.code for a in self.assets]
        for code in codes:
            if codes.count(code) > 1:
                raise InvalidInput(
                    f"asset {code} is listed twice", field="round.assets", value=code
                )
        if type(self.capacity) is not int or not 1 <= self.capacity <= MAX_CAPACITY:
            raise InvalidInput(
                f"capacity {self.capacity!r} must be 1 to {MAX_CAPACITY}",
                field="round.capacity",
                value=self.capacity,
            )

    @cached_property
    def digest(self) -> bytes:
        """SHA-256 of the round's canonical encoding; every leaf and padding leaf binds it."""
        raw = self.id.encode("utf-8")
        parts = [TAG_ROUND, bytes([len(raw)]), raw]
        parts.append(struct.pack(">QH", self.capacity, len(self.assets)))
        for a in self.assets:
            code = a.code.encode("ascii")
            parts.append(bytes([len(code)]) + code)
            parts.append(bytes([a.decimals, a.width, int(a.debt_allowed)]))
        return hashlib.sha256(b"".join(parts)).digest()

    def asset(self, code: str) -> Asset:
        """The asset ``code`` of this round; InvalidInput listing the round's assets if unknown."""
        for a in self.assets:
            if a.code == code:
                return a
        raise InvalidInput.not_one_of("asset", code, [a.code for a in self.assets])


def capacity_for(accounts: int) -> int:
    """The default capacity: the smallest power of two holding ``accounts`` (at least 1).

    A published capacity tells only that the round has at most that many accounts; a round may
    set its own (any number from its account count up), e.g. to hide growth between rounds.
    """
    return 1 << max(0, accounts - 1).bit_length()


def check_secret(secret: bytes) -> bytes:
    """``secret`` if it can serve as a round secret (at least 32 bytes)."""
    if not isinstance(secret, bytes) or len(secret) < MIN_SECRET_BYTES:
        raise InvalidInput(
            f"the round secret must be at least {MIN_SECRET_BYTES} random bytes",
            field="secret",
            value=f"{len(secret) if isinstance(secret, bytes) else type(secret).__name__}",
        )
    return secret


def account_id_bytes(account_id: str, *, field: str = "account_id") -> bytes:
    """The UTF-8 of a valid account id: 1 to 128 bytes, printable (no control characters)."""
    try:
        raw = account_id.encode("utf-8") if isinstance(account_id, str) else b""
    except UnicodeEncodeError:  # a lone surrogate
        raw = b""
    if not 0 < len(raw) <= MAX_ACCOUNT_ID_BYTES or not account_id.isprintable():
        raise InvalidInput(
            f"account id {account_id!r} must be 1 to {MAX_ACCOUNT_ID_BYTES} bytes of printable "
            "text",
            field=field,
            value=account_id,
        )
    return raw


class Salter:
    """Salts of one round: HMAC-SHA256(round secret, account id), and the padding salts.

    The HMAC's inner and outer key blocks are hashed once (RFC 2104 section 4 suggests it), so a
    salt costs two compressions. Padding salt ``k`` is HMAC-SHA256(secret, PAD_LABEL ||
    u32(k div 65536) || u32(k mod 65536 + 1)), which is PBKDF2-HMAC-SHA256 with one iteration
    (RFC 8018 section 5.2): ``pad_block`` computes 65,536 of them in one call.
    """

    def __init__(self, secret: bytes) -> None:
        key = check_secret(secret)
        if len(key) > 64:
            key = hashlib.sha256(key).digest()
        key = key.ljust(64, b"\x00")
        self._secret = secret
        self._inner = hashlib.sha256(bytes(b ^ 0x36 for b in key))
        self._outer = hashlib.sha256(bytes(b ^ 0x5C for b in key))

    def __call__(self, account_id: bytes) -> bytes:
        """The salt of the account whose id is ``account_id`` (UTF-8)."""
        inner = self._inner.copy()
        inner.update(account_id)
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.digest()

    def states(self) -> tuple[Any, Any]:
        """The hash states after the inner and the outer key block (copy them, never update)."""
        return self._inner, self._outer

    def many(self, account_ids: Sequence[bytes]) -> list[bytes]:
        """The salts of ``account_ids``, in order (the loop the tree builder runs)."""
        icopy, ocopy = self._inner.copy, self._outer.copy
        out = []
        for raw in account_ids:
            inner = icopy()
            inner.update(raw)
            outer = ocopy()
            outer.update(inner.digest())
            out.append(outer.digest())
        return out

    def pad(self, k: int) -> bytes:
        """Padding salt ``k``."""
        return pad_salt(self._secret, k)

    def pad_block(self, block: int, count: int) -> bytes:
        """Padding salts ``block*65536`` onwards, ``count`` (at most 65,536) of them, joined."""
        label = PAD_LABEL + struct.pack(">I", block)
        return hashlib.pbkdf2_hmac("sha256", self._secret, label, 1, HASH_SIZE * count)


def pad_salt(secret: bytes, k: int) -> bytes:
    """Padding salt ``k`` of the round whose secret is ``secret``."""
    message = PAD_LABEL + struct.pack(">II", k >> 16, (k & 0xFFFF) + 1)
    return hmac.digest(secret, message, "sha256")


def encode_amounts(
    assets: Sequence[Asset], equity: Sequence[int], debt: Sequence[int], *, field: str = "amounts"
) -> bytes:
    """Equity then debt, each asset at its width, big-endian; InvalidInput if out of range."""
    parts = []
    for side, values in (("equity", equity), ("debt", debt)):
        if len(values) != len(assets):
            raise InvalidInput(
                f"{field}: {len(values)} {side} amounts for {len(assets)} assets",
                field=f"{field}.{side}",
                value=len(values),
            )
        for asset, value in zip(assets, values, strict=True):
            where = f"{field}.{side}.{asset.code}"
            if type(value) is not int or value < 0:
                raise InvalidInput(
                    f"{where}: {value!r} is not a non-negative whole number of minimal units",
                    field=where,
                    value=value,
                    reason="negative-amount",
                )
            if value > asset.limit:
                raise InvalidInput(
                    f"{where}: {value} does not fit the asset's {asset.width} bytes",
                    field=where,
                    value=value,
                    reason="amount-overflow",
                )
            if side == "debt" and value and not asset.debt_allowed:
                raise InvalidInput(
                    f"{where}: {asset.code} allows no debt", field=where, value=value
                )
            parts.append(value.to_bytes(asset.width, "big"))
    return b"".join(parts)


def leaf_hash(round_digest: bytes, salt: bytes, amounts: bytes, account_id: bytes) -> bytes:
    """SHA-256(TAG_LEAF || round digest || salt || amounts || account id)."""
    return hashlib.sha256(TAG_LEAF + round_digest + salt + amounts + account_id).digest()


def pad_hash(round_digest: bytes, salt: bytes) -> bytes:
    """SHA-256(TAG_PAD || round digest || padding salt): a leaf with nothing owed."""
    return hashlib.sha256(TAG_PAD + round_digest + salt).digest()


def node_hash(left: bytes, right: bytes, left_sums: bytes, right_sums: bytes) -> bytes:
    """SHA-256(TAG_NODE || left hash || right hash || left sums || right sums)."""
    return hashlib.sha256(TAG_NODE + left + right + left_sums + right_sums).digest()


def path_sides(index: int, capacity: int) -> list[Side | None]:
    """For leaf ``index``, bottom up: where its sibling is at each level, None if carried up.

    The tree is the shape of RFC 9162 section 2.1.1: a level's nodes are paired in order and an
    odd last node is carried up unchanged.
    """
    sides: list[Side | None] = []
    while capacity > 1:
        if index & 1:
            sides.append("left")
        elif index + 1 < capacity:
            sides.append("right")
        else:
            sides.append(None)
        index >>= 1
        capacity = (capacity + 1) >> 1
    return sides


def to_units(text: str, asset: Asset, *, field: str, signed: bool = False) -> int:
    """A plain decimal string (e.g. ``"1.5"``) in ``asset``'s minimal units.

    Refused, each with its own ``reason``: anything but digits with one optional point
    (``malformed-amount``), a minus sign unless ``signed`` (``negative-amount``), more decimals
    than the asset has (``too-many-decimals``), more whole digits than its width can hold
    (``amount-overflow``).
    """
    if not isinstance(text, str):
        raise InvalidInput(
            f"{field}: {text!r} is not a decimal string",
            field=field,
            value=text,
            reason="malformed-amount",
        )
    negative = text.startswith("-")
    if negative and not signed:
        raise InvalidInput(
            f"{field}: {text!r} is negative; amounts are never negative (debt is its own field)",
            field=field,
            value=text,
            reason="negative-amount",
        )
    match = _DECIMAL.fullmatch(text[1:] if negative else text)
    if match is None:
        raise InvalidInput(
            f"{field}: {text!r} is not a plain decimal number (e.g. 1.5)",
            field=field,
            value=text,
            reason="malformed-amount",
        )
    whole, fraction = match.group(1), match.group(2) or ""
    if len(fraction) > asset.decimals:
        raise InvalidInput(
            f"{field}: {text!r} has {len(fraction)} decimals, {asset.code} has {asset.decimals}",
            field=field,
            value=text,
            reason="too-many-decimals",
        )
    if len(whole.lstrip("0")) > len(str(asset.limit)):  # before int(): 4,300 digits at most
        raise InvalidInput(
            f"{field}: {text[:40]!r}... has {len(whole)} whole digits, beyond {asset.code}'s "
            f"{asset.width} bytes",
            field=field,
            value=text[:40],
            reason="amount-overflow",
        )
    units = int(whole) * _POW10[asset.decimals] + int(fraction.ljust(asset.decimals, "0") or "0")
    return -units if negative else units


def format_units(units: int, asset: Asset) -> str:
    """Minimal units as a plain decimal string without trailing zeros (``150000000`` -> ``1.5``)."""
    whole, fraction = divmod(units, _POW10[asset.decimals])
    if not fraction:
        return str(whole)
    return f"{whole}.{str(fraction).rjust(asset.decimals, '0').rstrip('0')}"
