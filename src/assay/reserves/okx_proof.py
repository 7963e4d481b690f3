"""What verifying one OKX proof reports, and what the v1 and V2 user verifiers share.

:class:`OkxReport` is the frozen result of :func:`assay.reserves.okx_v1.verify_okx_v1` and
:func:`assay.reserves.okx_v2_user.verify_okx_v2_user`; its :class:`ShownNode` list is what
:func:`assay.reserves.okx.cross_check` compares across proofs. Both verifiers read their JSON
through :func:`read_fields` and :func:`read_whole_number` (a missing or unknown field, a number
out of range, raises ``InvalidInput``) and end their climb with :func:`check_stated_root`.

Pure: no file, no clock, no database. It must never take a stated root or total for true: both
are compared with what the climb recomputed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

from assay.reserves.okx_format import Problem, Problems, Sums, bad_input, describe

OkxKind = Literal["okx-v1", "okx-v2-user"]


@dataclass(frozen=True)
class ShownNode:
    """A node a proof shows (or implies, for a recomputed parent), kept for :func:`cross_check`."""

    hash: str
    height: int
    sums: Sums
    where: str


@dataclass(frozen=True)
class OkxReport:
    """What verifying one OKX proof found.

    Attributes:
        ok: no problem at all.
        kind: ``okx-v1`` or ``okx-v2-user``.
        source: the file (or label) the proof came from.
        problems: every problem, each with a stable code and its place.
        root: the root hash the proof states.
        totals: the root's balances per asset, as the proof states them.
        height: the root's height (leaves are height 1).
        user_balances: the user's balances (v1: the leaf; V2: ``totalBalances``).
        leaf_count: leaves in the tree (V2 only: the tree file tells).
        nodes: every node shown or recomputed, padding excluded, for :func:`cross_check`.
    """

    ok: bool
    kind: OkxKind
    source: str
    problems: list[Problem]
    root: str
    totals: dict[str, Decimal]
    height: int
    user_balances: dict[str, Decimal]
    leaf_count: int | None
    nodes: tuple[ShownNode, ...]


def read_fields(
    node: object, required: set[str], optional: set[str], *, source: str, where: str
) -> dict[str, Any]:
    """The fields of a JSON object: every required one, no unknown one; else ``InvalidInput``."""
    if not isinstance(node, Mapping):
        raise bad_input(source, where, f"must be an object, not {type(node).__name__}")
    missing, unknown = required - set(node), set(node) - required - optional
    if missing:
        raise bad_input(source, where, f"missing {sorted(missing)}")
    if unknown:
        raise bad_input(
            source, where, f"unknown {sorted(unknown)}; expected {sorted(required | optional)}"
        )
    return dict(node)


def read_whole_number(value: object, *, source: str, where: str, lowest: int, highest: int) -> int:
    """A JSON whole number from ``lowest`` to ``highest`` (not a bool, not a float)."""
    if type(value) is not int or not lowest <= value <= highest:
        raise bad_input(source, where, f"must be a whole number from {lowest} to {highest}", value)
    return value


def check_stated_root(
    stated_root: tuple[str, Sums],
    climbed: tuple[str, Sums],
    *,
    where: str,
    published: str | None,
    problems: Problems,
) -> None:
    """Compare the climb's result with the stated root node, and that with the published root."""
    (stated, stated_sums), (computed, sums) = stated_root, climbed
    if computed != stated:
        problems.add(
            "root-mismatch", f"the path leads to root {computed}, the proof states {stated}", where
        )
    if sums != stated_sums:
        problems.add(
            "total-mismatch",
            f"the path adds up to {describe(sums)} at the root, the proof states "
            f"{describe(stated_sums)}",
            where,
        )
    if published is not None and published != stated:
        problems.add(
            "root-mismatch",
            f"the proof's root {stated} is not the published root {published}",
            where,
        )
