#!/usr/bin/env python3
"""Check your Assay proof of reserves offline: one file, Python's standard library only.

Usage::

    python verify_proof.py PROOF.json [--account ID] [--balances JSON] [--salt HEX]
                                      [--root HEX] [--round ID]

``PROOF.json`` is the proof your exchange gave you (format ``assay-por-proof/1``, documented in
docs/formats/reserves-proof.md). The script recomputes your leaf from your own data and salt,
then every node from your leaf up to the root, and checks that:

- every amount is a whole number of minimal units, never negative, within its asset's width,
  and with no more decimals than the asset has; debt appears only where the asset allows it;
- each parent's sums are its children's sums added (and fit the width): they are recomputed,
  and the parent hash binds both children's hashes and both children's sums;
- the recomputed root hash and totals are the proof's root;
- the sides of the path agree with your leaf's position in a tree of the round's capacity.

Give what you know from your own account, and the script checks the proof against it:
``--account`` your account id, ``--balances`` your balances as JSON
(``{"equity": {"BTC": "1.5"}, "debt": {"USDT": "20"}}``, assets left out are zero), ``--salt``
the salt your exchange showed you, ``--root`` the root hash the exchange (or its auditor)
published for the round, ``--round`` the round's id. Without ``--root`` the root is the proof's
own, which shows that your balance is inside *that* root, not that it is the published one: the
script says so.

Exit status: 0 verified, 1 not verified (the reason is printed with its code, see REASONS).

This file deliberately depends on nothing from Assay, so that anyone can read it and run it; the
layout is written out again here and tested against Assay's own implementation. It can also be
imported: ``check(proof_dict, ...)`` returns a summary or raises ``Rejected``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import struct
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

FORMAT = "assay-por-proof/1"
TAG_LEAF = b"assay-por/leaf/1"
TAG_NODE = b"assay-por/node/1"
TAG_ROUND = b"assay-por/rnd/1\x00"
MAX_CAPACITY = 2**32
MAX_DECIMALS = 18
POW10: list[int] = [10**i for i in range(MAX_DECIMALS + 1)]
MAX_ID_BYTES = 128
WIDTHS = (8, 16)

#: Every reason a proof is rejected, by its stable code.
REASONS = {
    "malformed-proof": "the proof is not a well-formed assay-por-proof/1 document",
    "bad-argument": "an argument given on the command line cannot be read",
    "negative-amount": "an amount is negative",
    "amount-overflow": "an amount or a sum does not fit its asset's width",
    "too-many-decimals": "an amount has more decimals than its asset",
    "debt-not-allowed": "debt appears for an asset that allows none",
    "round-mismatch": "the proof is for another round",
    "account-mismatch": "the proof is for another account",
    "balance-mismatch": "the proof's balances are not yours",
    "salt-mismatch": "the proof's salt is not yours",
    "published-root-mismatch": "the proof's root is not the published root",
    "path-mismatch": "the path's sides do not fit the leaf's position",
    "root-mismatch": "the recomputed root hash is not the proof's root",
    "totals-mismatch": "the recomputed totals are not the proof's root totals",
}

_HEX = re.compile(r"[0-9a-f]{64}")
_INTEGER = re.compile(r"0|[1-9][0-9]*")
_DECIMAL = re.compile(r"(0|[1-9][0-9]*)(?:\.([0-9]+))?")
_CODE = re.compile(r"[A-Z0-9][A-Z0-9._-]{0,19}")


class Rejected(Exception):
    """The proof does not verify; ``code`` (a key of REASONS) says why, the message in full."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Asset:
    """An asset of the round as the proof states it."""

    code: str
    decimals: int
    width: int
    debt_allowed: bool

    @property
    def limit(self) -> int:
        """The largest amount the asset's width holds."""
        return (1 << (8 * self.width)) - 1


def _malformed(what: str) -> Rejected:
    return Rejected("malformed-proof", f"the proof is malformed: {what}")


def _object(value: Any, keys: tuple[str, ...], what: str) -> dict[str, Any]:
    if not isinstance(value, dict) or set(value) != set(keys):
        raise _malformed(f"{what} must be an object with exactly the fields {', '.join(keys)}")
    return value


def _int(value: Any, what: str, lo: int, hi: int) -> int:
    if type(value) is not int or not lo <= value <= hi:
        raise _malformed(f"{what} must be a whole number from {lo} to {hi}")
    return value


def _digest(value: Any, what: str) -> bytes:
    if not isinstance(value, str) or not _HEX.fullmatch(value):
        raise _malformed(f"{what} must be 64 lower-case hex digits")
    return bytes.fromhex(value)


def units(value: Any, asset: Asset, what: str) -> int:
    """A sum in minimal units, written as a decimal integer string, range-checked."""
    if not isinstance(value, str) or not _INTEGER.fullmatch(value):
        if isinstance(value, str) and value.startswith("-"):
            raise Rejected("negative-amount", f"{what} is negative ({value})")
        raise _malformed(f"{what} must be a whole number of minimal units as a string")
    # Compared by length first: int() refuses strings of more than 4,300 digits.
    if len(value.lstrip("0")) > len(str(asset.limit)) or int(value) > asset.limit:
        raise Rejected(
            "amount-overflow", f"{what} ({value}) does not fit {asset.code}'s {asset.width} bytes"
        )
    return int(value)


def amount(value: Any, asset: Asset, what: str) -> int:
    """A balance written as a plain decimal (``"1.5"``), in minimal units, range-checked."""
    match = _DECIMAL.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        if isinstance(value, str) and value.startswith("-"):
            raise Rejected("negative-amount", f"{what} is negative ({value})")
        raise _malformed(f'{what} must be a plain decimal number as a string, e.g. "1.5"')
    whole, fraction = match.group(1), match.group(2) or ""
    if len(fraction) > asset.decimals:
        raise Rejected(
            "too-many-decimals",
            f"{what} ({value}) has {len(fraction)} decimals, {asset.code} has {asset.decimals}",
        )
    if len(whole.lstrip("0")) > len(str(asset.limit)):  # before int(): 4,300 digits at most
        raise Rejected(
            "amount-overflow", f"{what} ({value}) does not fit {asset.code}'s {asset.width} bytes"
        )
    number = int(whole) * POW10[asset.decimals] + int(fraction.ljust(asset.decimals, "0") or "0")
    if number > asset.limit:
        raise Rejected(
            "amount-overflow", f"{what} ({value}) does not fit {asset.code}'s {asset.width} bytes"
        )
    return number


def show(number: int, asset: Asset) -> str:
    """Minimal units as a plain decimal (``150000000`` with 8 decimals: ``1.5``)."""
    whole, fraction = divmod(number, POW10[asset.decimals])
    if not fraction:
        return str(whole)
    return f"{whole}.{str(fraction).rjust(asset.decimals, '0').rstrip('0')}"


def _assets(value: Any) -> list[Asset]:
    if not isinstance(value, list) or not value:
        raise _malformed("round.assets must be a non-empty list")
    assets = []
    for k, item in enumerate(value):
        fields = _object(item, ("code", "decimals", "width", "debt_allowed"), f"round.assets[{k}]")
        code = fields["code"]
        if not isinstance(code, str) or not _CODE.fullmatch(code):
            raise _malformed(f"round.assets[{k}].code is not an asset code")
        width = fields["width"]
        if type(width) is not int or width not in WIDTHS:
            raise _malformed(f"round.assets[{k}].width must be 8 or 16")
        debt_allowed = fields["debt_allowed"]
        if type(debt_allowed) is not bool:
            raise _malformed(f"round.assets[{k}].debt_allowed must be true or false")
        decimals = _int(fields["decimals"], f"round.assets[{k}].decimals", 0, MAX_DECIMALS)
        assets.append(Asset(code, decimals, width, debt_allowed))
    if len({a.code for a in assets}) != len(assets):
        raise _malformed("round.assets lists an asset twice")
    return assets


def round_digest(round_id: str, capacity: int, assets: list[Asset]) -> bytes:
    """SHA-256 of the round's canonical encoding (the value every leaf binds)."""
    raw = round_id.encode("utf-8")
    parts = [TAG_ROUND, bytes([len(raw)]), raw, struct.pack(">QH", capacity, len(assets))]
    for a in assets:
        code = a.code.encode("ascii")
        parts.append(bytes([len(code)]) + code + bytes([a.decimals, a.width, a.debt_allowed]))
    return hashlib.sha256(b"".join(parts)).digest()


def encode(assets: list[Asset], equity: list[int], debt: list[int]) -> bytes:
    """Equity then debt, each asset at its width, big-endian."""
    return b"".join(
        [v.to_bytes(a.width, "big") for a, v in zip(assets, equity, strict=True)]
        + [v.to_bytes(a.width, "big") for a, v in zip(assets, debt, strict=True)]
    )


def leaf_hash(digest: bytes, salt: bytes, amounts: bytes, account: bytes) -> bytes:
    """SHA-256(TAG_LEAF || round digest || salt || amounts || account id)."""
    return hashlib.sha256(TAG_LEAF + digest + salt + amounts + account).digest()


def node_hash(left: bytes, right: bytes, left_sums: bytes, right_sums: bytes) -> bytes:
    """SHA-256(TAG_NODE || left hash || right hash || left sums || right sums)."""
    return hashlib.sha256(TAG_NODE + left + right + left_sums + right_sums).digest()


def sides(index: int, capacity: int) -> list[str]:
    """The sides of a leaf's siblings bottom up (levels where it is carried up have none)."""
    out = []
    while capacity > 1:
        if index & 1:
            out.append("left")
        elif index + 1 < capacity:
            out.append("right")
        index >>= 1
        capacity = (capacity + 1) >> 1
    return out


def _vector(value: Any, assets: list[Asset], what: str) -> list[int]:
    if not isinstance(value, list) or len(value) != len(assets):
        raise _malformed(f"{what} must list one amount per asset ({len(assets)})")
    return [units(v, a, f"{what}[{a.code}]") for v, a in zip(value, assets, strict=True)]


def _balances(value: Any, assets: list[Asset], what: str, *, partial: bool) -> list[int]:
    codes = [a.code for a in assets]
    if not isinstance(value, dict) or (set(value) != set(codes) and not partial):
        raise _malformed(f"{what} must map every asset of the round ({', '.join(codes)})")
    unknown = sorted(set(value) - set(codes))
    if unknown:
        raise Rejected("bad-argument", f"{what}: {', '.join(unknown)} is not an asset of the round")
    return [amount(value.get(a.code, "0"), a, f"{what}.{a.code}") for a in assets]


def _no_debt(debt: list[int], assets: list[Asset], what: str) -> None:
    for value, a in zip(debt, assets, strict=True):
        if value and not a.debt_allowed:
            raise Rejected("debt-not-allowed", f"{what} shows debt in {a.code}, which allows none")


def _add(left: list[int], right: list[int], assets: list[Asset], side: str) -> list[int]:
    out = []
    for x, y, a in zip(left, right, assets, strict=True):
        if x + y > a.limit:
            raise Rejected(
                "amount-overflow",
                f"a {side} sum of {a.code} ({x + y}) does not fit its {a.width} bytes",
            )
        out.append(x + y)
    return out


@dataclass(frozen=True)
class Proof:
    """A proof read and range-checked: every amount an int, every hash 32 bytes."""

    round_id: str
    capacity: int
    assets: list[Asset]
    account: str
    salt: bytes
    equity: list[int]
    debt: list[int]
    index: int
    path: list[tuple[str, bytes, list[int], list[int]]]
    root: bytes
    root_equity: list[int]
    root_debt: list[int]


def read(proof: Any) -> Proof:
    """Read the parsed JSON of a proof, checking every field's form and range."""
    top = _object(proof, ("format", "round", "account", "index", "path", "root"), "the proof")
    if top["format"] != FORMAT:
        raise _malformed(f"format is {top['format']!r}, this script reads {FORMAT}")
    rnd = _object(top["round"], ("id", "capacity", "assets"), "round")
    rid = rnd["id"]
    if not isinstance(rid, str) or not rid.isprintable() or not 0 < len(rid.encode()) <= 64:
        raise _malformed("round.id must be printable text of 1 to 64 bytes")
    capacity = _int(rnd["capacity"], "round.capacity", 1, MAX_CAPACITY)
    assets = _assets(rnd["assets"])
    leaf = _object(top["account"], ("id", "salt", "equity", "debt"), "account")
    aid = leaf["id"]
    if not isinstance(aid, str) or not aid.isprintable() or not 0 < len(aid.encode()) <= 128:
        raise _malformed(f"account.id must be printable text of 1 to {MAX_ID_BYTES} bytes")
    debt = _balances(leaf["debt"], assets, "account.debt", partial=False)
    _no_debt(debt, assets, "account.debt")
    if not isinstance(top["path"], list):
        raise _malformed("path must be a list")
    path = []
    for k, item in enumerate(top["path"]):
        node = _object(item, ("side", "hash", "equity", "debt"), f"path[{k}]")
        if node["side"] not in ("left", "right"):
            raise _malformed(f"path[{k}].side must be left or right")
        sib_debt = _vector(node["debt"], assets, f"path[{k}].debt")
        _no_debt(sib_debt, assets, f"path[{k}].debt")
        sib_equity = _vector(node["equity"], assets, f"path[{k}].equity")
        path.append((node["side"], _digest(node["hash"], f"path[{k}].hash"), sib_equity, sib_debt))
    end = _object(top["root"], ("hash", "equity", "debt"), "root")
    root_debt = _vector(end["debt"], assets, "root.debt")
    _no_debt(root_debt, assets, "root.debt")
    return Proof(
        round_id=rid,
        capacity=capacity,
        assets=assets,
        account=aid,
        salt=_digest(leaf["salt"], "account.salt"),
        equity=_balances(leaf["equity"], assets, "account.equity", partial=False),
        debt=debt,
        index=_int(top["index"], "index", 0, capacity - 1),
        path=path,
        root=_digest(end["hash"], "root.hash"),
        root_equity=_vector(end["equity"], assets, "root.equity"),
        root_debt=root_debt,
    )


def _compare(
    proof: Proof,
    *,
    account: str | None,
    balances: Any,
    salt: str | None,
    root: str | None,
    round_id: str | None,
) -> None:
    """What the customer knows, against what the proof says."""
    if round_id is not None and round_id != proof.round_id:
        raise Rejected(
            "round-mismatch", f"the proof is for round {proof.round_id!r}, not {round_id!r}"
        )
    if account is not None and account != proof.account:
        raise Rejected(
            "account-mismatch", f"the proof is for account {proof.account!r}, not {account!r}"
        )
    if salt is not None and salt.strip().lower() != proof.salt.hex():
        raise Rejected("salt-mismatch", "the proof's salt is not the salt you gave")
    if balances is not None:
        if not isinstance(balances, dict) or not set(balances) <= {"equity", "debt"}:
            raise Rejected("bad-argument", 'balances must look like {"equity": {...}, "debt": {}}')
        assets = proof.assets
        for side, theirs in (("equity", proof.equity), ("debt", proof.debt)):
            mine = _balances(balances.get(side, {}), assets, side, partial=True)
            for a, m, t in zip(assets, mine, theirs, strict=True):
                if m != t:
                    raise Rejected(
                        "balance-mismatch",
                        f"the proof commits {a.code} {side} {show(t, a)}, you said {show(m, a)}",
                    )
    if root is not None and root.strip().lower() != proof.root.hex():
        raise Rejected(
            "published-root-mismatch",
            f"the proof's root {proof.root.hex()} is not the published root {root.strip()}",
        )


def recompute(proof: Proof) -> tuple[bytes, list[int], list[int]]:
    """The root hash and totals from the leaf's own data up the path (after a shape check)."""
    expected = sides(proof.index, proof.capacity)
    if [p[0] for p in proof.path] != expected:
        raise Rejected(
            "path-mismatch",
            f"leaf {proof.index} of {proof.capacity} has {len(expected)} siblings on sides "
            f"{', '.join(expected) or '(none)'}; the proof gives {len(proof.path)}",
        )
    assets = proof.assets
    equity, debt = proof.equity, proof.debt
    sums = encode(assets, equity, debt)
    digest = round_digest(proof.round_id, proof.capacity, assets)
    current = leaf_hash(digest, proof.salt, sums, proof.account.encode())
    for side, sibling, sib_equity, sib_debt in proof.path:
        other = encode(assets, sib_equity, sib_debt)
        if side == "left":
            current = node_hash(sibling, current, other, sums)
        else:
            current = node_hash(current, sibling, sums, other)
        equity = _add(equity, sib_equity, assets, "equity")
        debt = _add(debt, sib_debt, assets, "debt")
        sums = encode(assets, equity, debt)
    return current, equity, debt


def check(
    proof: Any,
    *,
    account: str | None = None,
    balances: Any = None,
    salt: str | None = None,
    root: str | None = None,
    round_id: str | None = None,
) -> str:
    """Verify ``proof`` (the parsed JSON); returns a summary, raises Rejected with the reason."""
    parsed = read(proof)
    _compare(parsed, account=account, balances=balances, salt=salt, root=root, round_id=round_id)
    top, equity, debt = recompute(parsed)
    if top != parsed.root:
        raise Rejected(
            "root-mismatch",
            f"recomputed from your leaf, the root hash is {top.hex()}, not the proof's "
            f"{parsed.root.hex()}: a sibling, the leaf data or the salt was altered",
        )
    if equity != parsed.root_equity or debt != parsed.root_debt:
        raise Rejected("totals-mismatch", "the root's totals are not the sums of the tree")
    mine = ", ".join(
        f"{a.code} {show(e, a)}" + (f" (debt {show(d, a)})" if d else "")
        for a, e, d in zip(parsed.assets, parsed.equity, parsed.debt, strict=True)
    )
    return (
        f"account {parsed.account} is in round {parsed.round_id} (root {parsed.root.hex()}, "
        f"{parsed.capacity} leaves): {mine}"
    )


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the exit status."""
    parser = argparse.ArgumentParser(description="Check an Assay proof of reserves offline.")
    parser.add_argument("proof", type=Path, help="the proof file (JSON)")
    parser.add_argument("--account", help="your account id")
    parser.add_argument("--balances", help='your balances: {"equity": {"BTC": "1.5"}, ...}')
    parser.add_argument("--salt", help="your salt, as the exchange showed it (hex)")
    parser.add_argument("--root", help="the root hash the exchange published (hex)")
    parser.add_argument("--round", dest="round_id", help="the round's id")
    args = parser.parse_args(argv)
    try:
        try:
            proof = json.loads(args.proof.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            raise Rejected("malformed-proof", f"cannot read {args.proof}: {exc}") from exc
        try:
            balances = None if args.balances is None else json.loads(args.balances)
        except ValueError as exc:
            raise Rejected("bad-argument", f"--balances is not JSON: {exc}") from exc
        summary = check(
            proof,
            account=args.account,
            balances=balances,
            salt=args.salt,
            root=args.root,
            round_id=args.round_id,
        )
    except Rejected as exc:
        print(f"NOT VERIFIED ({exc.code}): {exc.message}")
        return 1
    print(f"verified: {summary}")
    if args.root is None:
        print(
            "note: the root came from the proof itself; compare it with the root your exchange "
            "published for the round (or pass it with --root)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
