"""Verify OKX's proofs of liabilities: the one entry to v1 proofs, V2 user files and tree files.

OKX is the most widely published proof-of-reserves format, so Assay reads it as it is
(docs/formats/okx-proofs.md documents this module's functions):

- :func:`verify_okx_v1` (:mod:`assay.reserves.okx_v1`): a v1 proof (``merkle_proof_file.json``,
  ``{"self": node, "path": [...]}``) from the user's leaf up to the root;
- :func:`verify_okx_v2_user` (:mod:`assay.reserves.okx_v2_user`): a V2 user file
  (``user_info_file.json``) against the published tree file, every one of the user's leaves
  found and climbed to the root;
- :func:`cross_check` (here): several proofs of one round compared node by node. A v1 or V2
  parent hash binds the parent's sum but not its children's, so one proof cannot show that the
  exchange told two users different sums for the same node (the "sum-of-max" attack); two
  proofs can;
- :func:`audit_okx_v2_tree` (from :mod:`assay.reserves.okx_tree`): the whole tree file recomputed.

This module also reads a proof file (:func:`load_json`), tells the two proof formats apart
(:func:`okx_kind`) and lists every problem code (:data:`PROBLEM_CODES`); the verifiers are
imported here so that ``assay.reserves.okx`` stays the one documented entry.

Every check runs and every problem is reported with its place; ``ok`` is true only when there is
none. Input that cannot be read as the format (not JSON, a missing or unknown field, bad hex, an
amount with more than 8 decimals) raises :class:`~assay.errors.InvalidInput` instead. Byte-exact
rules and problem codes: docs/formats/okx-proofs.md. Pure functions: no clock, no network, no
database; nothing here trusts a hash or a sum it can recompute.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assay.reserves.okx_format import Sums, bad_input, describe, strict_json
from assay.reserves.okx_proof import OkxKind, OkxReport
from assay.reserves.okx_tree import audit_okx_v2_tree
from assay.reserves.okx_v1 import verify_okx_v1
from assay.reserves.okx_v2_user import V2_FIELDS, verify_okx_v2_user

__all__ = [
    "PROBLEM_CODES",
    "Finding",
    "audit_okx_v2_tree",
    "cross_check",
    "load_json",
    "okx_kind",
    "verify_okx_v1",
    "verify_okx_v2_user",
]

PROBLEM_CODES = (
    "negative-balance",
    "hash-mismatch",
    "sum-mismatch",
    "root-mismatch",
    "total-mismatch",
    "leaf-not-in-tree",
    "height-mismatch",
    "padding-mismatch",
    "type-mismatch",
    "audit-id-mismatch",
    "sum-of-max",
    "different-rounds",
)
"""Every code a problem or finding can carry (stable: clients branch on them)."""


@dataclass(frozen=True)
class Finding:
    """A contradiction between proofs.

    ``sum-of-max``: one node hash shown with several sums (``node`` is the hash);
    ``different-rounds``: several roots (``node`` is None). ``sources`` names the proofs.
    """

    code: str
    message: str
    node: str | None
    sources: tuple[str, ...]


# --- reading ---------------------------------------------------------------------------------


def load_json(path: str | Path) -> Any:
    """Read a proof file as strict JSON (no duplicate keys, no NaN), or ``InvalidInput``."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise bad_input(str(path), "file", f"cannot be read ({exc.strerror})") from exc
    return strict_json(data, source=str(path), where="file")


def okx_kind(data: object) -> OkxKind | None:
    """Which OKX proof ``data`` looks like, by its top-level keys; ``None`` when neither."""
    if isinstance(data, Mapping):
        if set(data) == {"self", "path"}:
            return "okx-v1"
        if set(data) == V2_FIELDS:
            return "okx-v2-user"
    return None


# --- several proofs --------------------------------------------------------------------------


def cross_check(reports_or_proofs: Iterable[OkxReport | Mapping[str, Any]]) -> list[Finding]:
    """Compare proofs of one round: one node hash with two sums is sum-of-max evidence.

    Dicts are verified as v1 proofs first (labelled ``proof 1``, ``proof 2``...). Proofs whose
    roots differ are reported once as ``different-rounds``; nodes are compared across all of them
    regardless, since a hash shown with two different sums is a contradiction in any round.

    Raises:
        InvalidInput: a dict that is not a v1 proof.
    """
    reports = [
        item if isinstance(item, OkxReport) else verify_okx_v1(item, source=f"proof {i + 1}")
        for i, item in enumerate(reports_or_proofs)
    ]
    names = [r.source for r in reports]
    if len(set(names)) != len(names):
        names = [f"#{i + 1} {name}" for i, name in enumerate(names)]
    findings: list[Finding] = []
    roots: dict[str, list[str]] = {}
    for name, report in zip(names, reports, strict=True):
        roots.setdefault(report.root, []).append(name)
    if len(roots) > 1:
        listed = "; ".join(f"{root}: {', '.join(by)}" for root, by in roots.items())
        findings.append(
            Finding(
                "different-rounds",
                f"the proofs lead to {len(roots)} different roots, so they are not of one "
                f"round: {listed}",
                None,
                tuple(names),
            )
        )
    seen: dict[str, dict[Sums, list[tuple[str, str]]]] = {}
    for name, report in zip(names, reports, strict=True):
        for node in report.nodes:
            seen.setdefault(node.hash, {}).setdefault(node.sums, []).append((name, node.where))
    for digest, by_sums in seen.items():
        if len(by_sums) > 1:
            shown = "; ".join(
                f"{describe(sums)} in " + ", ".join(f"{name} {where}" for name, where in places)
                for sums, places in by_sums.items()
            )
            sources = dict.fromkeys(name for places in by_sums.values() for name, _ in places)
            findings.append(
                Finding(
                    "sum-of-max",
                    f"node {digest} is shown with {len(by_sums)} different balances: {shown}. "
                    "The exchange told different users different sums for one node, which lets "
                    "a parent publish less than its children hold",
                    digest,
                    tuple(sources),
                )
            )
    return findings
