"""The customer proof, ``assay-por-proof/1``: built from a tree, read from JSON, verified.

A proof is what one customer downloads (docs/formats/reserves-proof.md): the round (id,
capacity, assets with decimals and widths), their own leaf data (id, salt, equity and debt as
decimal strings), the siblings on the way up (side, hash, per-asset sums in minimal units) and
the root (hash and totals).

``verify`` makes the same checks as the standalone ``verify_proof.py``, with Assay's own layout
functions, so that the two implementations check each other in the tests; it fails with the
same reason codes (``verify_proof.REASONS``), as an InvalidInput whose ``details["reason"]`` is
the code and whose ``field`` names the proof field at fault. It never reads a file or a clock.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from assay.errors import InvalidInput
from assay.reserves import layout
from assay.reserves.layout import Asset, Round
from assay.reserves.sumtree import SumTree

__all__ = [
    "FORMAT",
    "CustomerProof",
    "ProofAccount",
    "ProofAsset",
    "ProofNode",
    "ProofRound",
    "ProofSibling",
    "Verified",
    "build_proof",
    "parse_proof",
    "verify",
]

FORMAT = "assay-por-proof/1"
_HEX = re.compile(r"[0-9a-f]{64}")
_INTEGER = re.compile(r"0|[1-9][0-9]*")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class ProofAsset(_Model):
    """An asset of the round: code, decimals, width in bytes, whether debt is allowed."""

    code: str
    decimals: int
    width: int
    debt_allowed: bool


class ProofRound(_Model):
    """The round the proof belongs to; every leaf binds its digest."""

    id: str
    capacity: int
    assets: list[ProofAsset]


class ProofAccount(_Model):
    """The customer's own leaf: account id, salt (hex), balances as decimal strings per asset."""

    id: str
    salt: str
    equity: dict[str, str]
    debt: dict[str, str]


class ProofSibling(_Model):
    """A sibling on the way up: its side, hash (hex) and sums (minimal units, per asset)."""

    side: Literal["left", "right"]
    hash: str
    equity: list[str]
    debt: list[str]


class ProofNode(_Model):
    """The root: hash (hex) and totals (minimal units, per asset)."""

    hash: str
    equity: list[str]
    debt: list[str]


class CustomerProof(_Model):
    """One customer's proof of inclusion in a round, format ``assay-por-proof/1``."""

    format: Literal["assay-por-proof/1"] = "assay-por-proof/1"
    round: ProofRound
    account: ProofAccount
    index: int
    path: list[ProofSibling]
    root: ProofNode


@dataclass(frozen=True)
class Verified:
    """What a verified proof shows."""

    round_id: str
    account_id: str
    index: int
    capacity: int
    root: str
    equity: dict[str, str]
    debt: dict[str, str]


def build_proof(tree: SumTree, account_id: str) -> CustomerProof:
    """The proof of ``account_id``'s leaf in ``tree`` (NotFound if the account is not in it)."""
    path = tree.path(account_id)
    assets = tree.round.assets
    return CustomerProof(
        round=ProofRound(
            id=tree.round.id,
            capacity=tree.round.capacity,
            assets=[
                ProofAsset(
                    code=a.code, decimals=a.decimals, width=a.width, debt_allowed=a.debt_allowed
                )
                for a in assets
            ],
        ),
        account=ProofAccount(
            id=account_id,
            salt=path.salt.hex(),
            equity={
                a.code: layout.format_units(v, a) for a, v in zip(assets, path.equity, strict=True)
            },
            debt={
                a.code: layout.format_units(v, a) for a, v in zip(assets, path.debt, strict=True)
            },
        ),
        index=path.position,
        path=[
            ProofSibling(
                side=s.side,
                hash=s.node.hash.hex(),
                equity=[str(v) for v in s.node.equity],
                debt=[str(v) for v in s.node.debt],
            )
            for s in path.siblings
        ],
        root=ProofNode(
            hash=path.root.hash.hex(),
            equity=[str(v) for v in path.root.equity],
            debt=[str(v) for v in path.root.debt],
        ),
    )


def parse_proof(data: str | bytes) -> CustomerProof:
    """A proof from its JSON; InvalidInput (reason ``malformed-proof``) naming the bad field."""
    try:
        return CustomerProof.model_validate_json(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        loc = ".".join(str(p) for p in error["loc"]) or "proof"
        raise _reject("malformed-proof", f"{loc}: {error['msg']}", loc) from exc


def _reject(reason: str, message: str, field: str, value: Any = None) -> InvalidInput:
    return InvalidInput(
        f"proof rejected ({reason}): {message}", field=field, value=value, reason=reason
    )


def _round(proof: CustomerProof) -> Round:
    try:
        assets = tuple(
            Asset(a.code, a.decimals, a.width, a.debt_allowed) for a in proof.round.assets
        )
        return Round(proof.round.id, assets, proof.round.capacity)
    except InvalidInput as exc:
        raise _reject("malformed-proof", exc.message, f"round.{exc.field}", exc.value) from exc


def _balances(values: Mapping[str, str], rnd: Round, field: str, *, partial: bool) -> list[int]:
    codes = [a.code for a in rnd.assets]
    unknown = sorted(set(values) - set(codes))
    if unknown:
        raise _reject(
            "malformed-proof" if not partial else "bad-argument",
            f"{field}: {', '.join(unknown)} is not an asset of round {rnd.id}",
            field,
            unknown,
        )
    if not partial and set(values) != set(codes):
        raise _reject("malformed-proof", f"{field} must list every asset of the round", field)
    out = []
    for a in rnd.assets:
        where = f"{field}.{a.code}"
        try:
            units = layout.to_units(values.get(a.code, "0"), a, field=where)
        except InvalidInput as exc:
            reason = exc.details.get("reason", "malformed-proof")
            reason = "malformed-proof" if reason == "malformed-amount" else reason
            raise _reject(reason, exc.message, where, exc.value) from exc
        if units > a.limit:
            raise _reject("amount-overflow", f"{where} does not fit {a.width} bytes", where, units)
        out.append(units)
    return out


def _sums(values: list[str], rnd: Round, field: str) -> list[int]:
    if len(values) != len(rnd.assets):
        raise _reject("malformed-proof", f"{field} must have one amount per asset", field)
    out = []
    for a, text in zip(rnd.assets, values, strict=True):
        where = f"{field}.{a.code}"
        if not _INTEGER.fullmatch(text):
            reason = "negative-amount" if text.startswith("-") else "malformed-proof"
            raise _reject(reason, f"{where}: {text!r} is not a whole number of units", where, text)
        # By length first: int() refuses strings of more than 4,300 digits.
        if len(text.lstrip("0")) > len(str(a.limit)) or int(text) > a.limit:
            raise _reject("amount-overflow", f"{where} does not fit {a.width} bytes", where, text)
        out.append(int(text))
    return out


def _no_debt(debt: list[int], rnd: Round, field: str) -> None:
    for a, value in zip(rnd.assets, debt, strict=True):
        if value and not a.debt_allowed:
            raise _reject("debt-not-allowed", f"{field}: {a.code} allows no debt", field, value)


def _digest(text: str, field: str) -> bytes:
    if not _HEX.fullmatch(text):
        raise _reject("malformed-proof", f"{field} must be 64 lower-case hex digits", field, text)
    return bytes.fromhex(text)


def _add(left: list[int], right: list[int], rnd: Round, side: str) -> list[int]:
    out = [x + y for x, y in zip(left, right, strict=True)]
    for a, value in zip(rnd.assets, out, strict=True):
        if value > a.limit:
            raise _reject(
                "amount-overflow", f"a {side} sum of {a.code} passes {a.width} bytes", side, value
            )
    return out


@dataclass(frozen=True)
class _Read:
    """A proof's fields as values, each checked for form and range."""

    round: Round
    account: bytes
    salt: bytes
    equity: list[int]
    debt: list[int]
    path: list[tuple[layout.Side, bytes, list[int], list[int]]]
    root: bytes
    root_equity: list[int]
    root_debt: list[int]


def _read(proof: CustomerProof) -> _Read:
    rnd = _round(proof)
    try:
        account = layout.account_id_bytes(proof.account.id, field="account.id")
    except InvalidInput as exc:
        raise _reject("malformed-proof", exc.message, "account.id", exc.value) from exc
    debt = _balances(proof.account.debt, rnd, "account.debt", partial=False)
    _no_debt(debt, rnd, "account.debt")
    if not 0 <= proof.index < rnd.capacity:
        raise _reject("malformed-proof", "index is outside the capacity", "index", proof.index)
    path = []
    for k, s in enumerate(proof.path):
        sib_debt = _sums(s.debt, rnd, f"path[{k}].debt")
        _no_debt(sib_debt, rnd, f"path[{k}].debt")
        sib_equity = _sums(s.equity, rnd, f"path[{k}].equity")
        path.append((s.side, _digest(s.hash, f"path[{k}].hash"), sib_equity, sib_debt))
    root_debt = _sums(proof.root.debt, rnd, "root.debt")
    _no_debt(root_debt, rnd, "root.debt")
    return _Read(
        round=rnd,
        account=account,
        salt=_digest(proof.account.salt, "account.salt"),
        equity=_balances(proof.account.equity, rnd, "account.equity", partial=False),
        debt=debt,
        path=path,
        root=_digest(proof.root.hash, "root.hash"),
        root_equity=_sums(proof.root.equity, rnd, "root.equity"),
        root_debt=root_debt,
    )


def _compare(
    proof: CustomerProof,
    read: _Read,
    *,
    account_id: str | None,
    balances: Mapping[str, Mapping[str, str]] | None,
    salt: str | None,
    root: str | None,
    round_id: str | None,
) -> None:
    rnd = read.round
    if round_id is not None and round_id != rnd.id:
        raise _reject("round-mismatch", f"the proof is for round {rnd.id!r}", "round.id", rnd.id)
    if account_id is not None and account_id != proof.account.id:
        raise _reject(
            "account-mismatch", "the proof is for another account", "account.id", proof.account.id
        )
    if salt is not None and salt.strip().lower() != proof.account.salt:
        raise _reject("salt-mismatch", "the proof's salt is not the salt given", "account.salt")
    if balances is not None:
        if not set(balances) <= {"equity", "debt"}:
            raise _reject(
                "bad-argument", 'balances must look like {"equity": {...}, "debt": {}}', "balances"
            )
        for side, theirs in (("equity", read.equity), ("debt", read.debt)):
            mine = _balances(balances.get(side, {}), rnd, side, partial=True)
            if mine != theirs:
                raise _reject(
                    "balance-mismatch", f"the proof commits other {side}", f"account.{side}"
                )
    if root is not None and root.strip().lower() != proof.root.hash:
        raise _reject(
            "published-root-mismatch", "the proof's root is not the published root", "root.hash"
        )


def _recompute(index: int, read: _Read) -> tuple[bytes, list[int], list[int]]:
    rnd = read.round
    expected = [s for s in layout.path_sides(index, rnd.capacity) if s is not None]
    if [p[0] for p in read.path] != expected:
        raise _reject("path-mismatch", "the sides do not fit the leaf's position", "path")
    equity, debt = read.equity, read.debt
    sums = layout.encode_amounts(rnd.assets, equity, debt)
    current = layout.leaf_hash(rnd.digest, read.salt, sums, read.account)
    for side, sibling, sib_equity, sib_debt in read.path:
        other = layout.encode_amounts(rnd.assets, sib_equity, sib_debt)
        if side == "left":
            current = layout.node_hash(sibling, current, other, sums)
        else:
            current = layout.node_hash(current, sibling, sums, other)
        equity = _add(equity, sib_equity, rnd, "equity")
        debt = _add(debt, sib_debt, rnd, "debt")
        sums = layout.encode_amounts(rnd.assets, equity, debt)
    return current, equity, debt


def verify(
    proof: CustomerProof,
    *,
    account_id: str | None = None,
    balances: Mapping[str, Mapping[str, str]] | None = None,
    salt: str | None = None,
    root: str | None = None,
    round_id: str | None = None,
) -> Verified:
    """Check ``proof`` as ``verify_proof.py`` does; InvalidInput with the reason if it fails.

    Args:
        proof: the proof.
        account_id: the customer's account id, if they give it.
        balances: the customer's balances, ``{"equity": {code: decimal}, "debt": {...}}``.
        salt: the salt the customer was shown (hex).
        root: the root hash published for the round (hex).
        round_id: the round the customer expects.
    """
    read = _read(proof)
    _compare(
        proof,
        read,
        account_id=account_id,
        balances=balances,
        salt=salt,
        root=root,
        round_id=round_id,
    )
    top, equity, debt = _recompute(proof.index, read)
    if top != read.root:
        raise _reject(
            "root-mismatch", "the recomputed root hash is not the proof's root", "root.hash"
        )
    if equity != read.root_equity or debt != read.root_debt:
        raise _reject("totals-mismatch", "the root's totals are not the tree's sums", "root")
    return Verified(
        round_id=read.round.id,
        account_id=proof.account.id,
        index=proof.index,
        capacity=read.round.capacity,
        root=proof.root.hash,
        equity=dict(proof.account.equity),
        debt=dict(proof.account.debt),
    )
