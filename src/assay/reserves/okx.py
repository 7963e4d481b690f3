"""Verify OKX's proofs of liabilities: v1 proofs, V2 user files, and several proofs side by side.

OKX is the most widely published proof-of-reserves format, so Assay reads it as it is:

- :func:`verify_okx_v1`: a v1 proof (``merkle_proof_file.json``, ``{"self": node, "path": [...]}``)
  from the user's leaf up to the root;
- :func:`verify_okx_v2_user`: a V2 user file (``user_info_file.json``) against the published
  tree file, every one of the user's leaves found and climbed to the root;
- :func:`cross_check`: several proofs of one round compared node by node. A v1 or V2 parent hash
  binds the parent's sum but not its children's, so one proof cannot show that the exchange told
  two users different sums for the same node (the "sum-of-max" attack); two proofs can;
- :func:`audit_okx_v2_tree` (from :mod:`assay.reserves.okx_tree`): the whole tree file recomputed.

Every check runs and every problem is reported with its place; ``ok`` is true only when there is
none. Input that cannot be read as the format (not JSON, a missing or unknown field, bad hex, an
amount with more than 8 decimals) raises :class:`~assay.errors.InvalidInput` instead. Byte-exact
rules and problem codes: docs/formats/okx-proofs.md. Pure functions: no clock, no network, no
database; nothing here trusts a hash or a sum it can recompute.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from assay.reserves.okx_format import (
    ZERO,
    Problem,
    Problems,
    Sums,
    add,
    bad_input,
    check_hex,
    describe,
    negative_assets,
    parent_hash,
    parse_balances,
    salted_hash,
    strict_json,
    to_decimal,
    v2_leaf_hash,
)
from assay.reserves.okx_layout import TreeLayout, read_tree_lines, scan_tree
from assay.reserves.okx_lines import TreeInput, TreeNode, TreeSource
from assay.reserves.okx_tree import TreeAudit, audit_okx_v2_tree

__all__ = [
    "PROBLEM_CODES",
    "Finding",
    "OkxReport",
    "Problem",
    "ShownNode",
    "TreeAudit",
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

OkxKind = Literal["okx-v1", "okx-v2-user"]
LEFT, RIGHT, ROOT, PADDING = 1, 2, 3, 4
_V1_FIELDS = {"auditId", "balances", "type", "hash", "height"}
_V2_FIELDS = {"hash", "nodes", "nonce", "totalBalances"}


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
        if set(data) == _V2_FIELDS:
            return "okx-v2-user"
    return None


def _fields(
    node: object, required: set[str], optional: set[str], *, source: str, where: str
) -> dict[str, Any]:
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


def _int(value: object, *, source: str, where: str, lowest: int, highest: int) -> int:
    if type(value) is not int or not lowest <= value <= highest:
        raise bad_input(source, where, f"must be a whole number from {lowest} to {highest}", value)
    return value


# --- v1 ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _V1Node:
    where: str
    audit_id: str
    amounts: tuple[str, str, str]
    sums: Sums
    type: int
    nonce: str | None
    hash: str
    height: int


def _v1_node(node: object, *, source: str, where: str) -> _V1Node:
    got = _fields(node, _V1_FIELDS, {"nonce"}, source=source, where=where)
    audit_id = got["auditId"]
    if not isinstance(audit_id, str) or not audit_id:
        raise bad_input(source, f"{where}.auditId", "must be a non-empty string", audit_id)
    amounts, sums = parse_balances(got["balances"], source=source, where=f"{where}.balances")
    nonce = got.get("nonce")
    if nonce is not None:
        nonce = check_hex(nonce, source=source, where=f"{where}.nonce")
    return _V1Node(
        where=where,
        audit_id=audit_id,
        amounts=amounts,
        sums=sums,
        type=_int(got["type"], source=source, where=f"{where}.type", lowest=1, highest=4),
        nonce=nonce,
        hash=check_hex(got["hash"], source=source, where=f"{where}.hash"),
        height=_int(got["height"], source=source, where=f"{where}.height", lowest=1, highest=256),
    )


def _parse_v1(data: object, source: str) -> tuple[_V1Node, list[_V1Node]]:
    got = _fields(data, {"self", "path"}, set(), source=source, where="proof")
    leaf = _v1_node(got["self"], source=source, where="self")
    if leaf.nonce is None:
        raise bad_input(source, "self.nonce", "missing: the user's leaf needs its nonce")
    if leaf.type not in (LEFT, RIGHT):
        raise bad_input(source, "self.type", "must be 1 (left) or 2 (right)", leaf.type)
    raw_path = got["path"]
    if not isinstance(raw_path, list) or not raw_path:
        raise bad_input(source, "path", "must be a non-empty list of nodes")
    path = [_v1_node(n, source=source, where=f"path[{i}]") for i, n in enumerate(raw_path)]
    for node in path[:-1]:
        if node.type == ROOT:
            raise bad_input(source, f"{node.where}.type", "3 (root) is allowed only last", 3)
    if path[-1].type != ROOT:
        raise bad_input(source, f"{path[-1].where}.type", "the last node must be the root (3)")
    for node in path:
        if node.nonce is not None and node.height != 1:
            raise bad_input(source, f"{node.where}.nonce", "only a leaf (height 1) has a nonce")
    return leaf, path


def verify_okx_v1(
    data: Mapping[str, Any], *, source: str = "<okx v1 proof>", root: str | None = None
) -> OkxReport:
    """Verify an OKX v1 proof from the user's leaf to its root, reporting every problem.

    The leaf hash is recomputed from nonce and balances; each sibling (type 1 left, 2 right,
    4 padding copy on the right) is combined with the running node into its parent (hash and
    sums at the parent's height), and the result compared with the root node (type 3) and with
    ``root`` when given. Negative balances anywhere are problems. A v1 parent does not bind its
    children's sums, so a lie about a sibling's sum passes here: :func:`cross_check` finds it.

    Raises:
        InvalidInput: the proof is not in the v1 form (field named).
    """
    leaf, path = _parse_v1(data, source)
    problems = Problems()
    nodes = [leaf, *path]
    for node in nodes:
        if node.audit_id != leaf.audit_id:
            problems.add(
                "audit-id-mismatch",
                f"{node.where} has auditId {node.audit_id}, the leaf {leaf.audit_id}",
                node.where,
            )
        if negative_assets(node.sums):
            problems.add("negative-balance", f"{node.where} has {describe(node.sums)}", node.where)
    for node in nodes:
        if node.nonce is not None:
            digest = salted_hash(node.nonce, node.amounts)
            if digest != node.hash:
                problems.add(
                    "hash-mismatch",
                    f"{node.where}: nonce and balances hash to {digest}, not {node.hash}",
                    node.where,
                )
    if path[0].type != ROOT and (leaf.type == LEFT) == (path[0].type == LEFT):
        problems.add(
            "type-mismatch",
            f"self is type {leaf.type} and its sibling path[0] type {path[0].type}: "
            "one must be left (1) and the other right (2, or 4 for padding)",
            "path[0]",
        )
    if leaf.height != 1:
        problems.add("height-mismatch", f"self says height {leaf.height}; a leaf is 1", "self")
    shown = [ShownNode(leaf.hash, 1, leaf.sums, "self")]
    current, sums = leaf.hash, leaf.sums
    for index, node in enumerate(path):
        height = index + 1
        if node.height != height:
            problems.add(
                "height-mismatch",
                f"{node.where} says height {node.height}; its place in the path is {height}",
                node.where,
            )
        if node.type == ROOT:
            break
        _check_v1_padding(node, current, problems)
        if node.type != PADDING:
            shown.append(ShownNode(node.hash, height, node.sums, node.where))
        left, right = (node.hash, current) if node.type == LEFT else (current, node.hash)
        sums = add(sums, node.sums)
        current = parent_hash(left, right, sums, height + 1)
        shown.append(ShownNode(current, height + 1, sums, f"parent at height {height + 1}"))
    top = path[-1]
    _check_root(
        (top.hash, top.sums), (current, sums), where=top.where, published=root, problems=problems
    )
    shown.append(ShownNode(top.hash, top.height, top.sums, top.where))
    return OkxReport(
        ok=not problems,
        kind="okx-v1",
        source=source,
        problems=problems.items,
        root=top.hash,
        totals=to_decimal(top.sums),
        height=len(path),
        user_balances=to_decimal(leaf.sums),
        leaf_count=None,
        nodes=tuple(shown),
    )


def _check_v1_padding(node: _V1Node, current: str, problems: Problems) -> None:
    is_copy = node.hash == current
    if node.type == PADDING and (not is_copy or node.sums != ZERO):
        problems.add(
            "padding-mismatch",
            f"{node.where} is padding (type 4) but is not a zero-balance copy of the node "
            f"beside it ({current}): it holds {node.hash} with {describe(node.sums)}",
            node.where,
        )
    elif node.type != PADDING and is_copy:
        problems.add(
            "padding-mismatch",
            f"{node.where} copies the node beside it but is type {node.type}, not 4 (padding)",
            node.where,
        )


def _check_root(
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


# --- V2 user file ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _UserLeaf:
    where: str
    amounts: tuple[str, str, str]
    sums: Sums
    hash: str


def _parse_v2_user(data: object, source: str) -> tuple[dict[str, Any], list[_UserLeaf]]:
    got = _fields(data, _V2_FIELDS, set(), source=source, where="user file")
    check_hex(got["hash"], source=source, where="hash")
    check_hex(got["nonce"], source=source, where="nonce")
    raw_nodes = got["nodes"]
    if not isinstance(raw_nodes, list) or not raw_nodes:
        raise bad_input(source, "nodes", "must be a non-empty list of leaves")
    leaves = []
    for index, raw in enumerate(raw_nodes):
        where = f"nodes[{index}]"
        node = _fields(raw, {"balances", "hash"}, set(), source=source, where=where)
        amounts, sums = parse_balances(node["balances"], source=source, where=f"{where}.balances")
        digest = check_hex(node["hash"], source=source, where=f"{where}.hash")
        leaves.append(_UserLeaf(where, amounts, sums, digest))
    return got, leaves


def verify_okx_v2_user(
    user_info: Mapping[str, Any],
    tree_lines_or_path: TreeInput,
    *,
    source: str = "<okx user file>",
    tree_name: str | None = None,
    root: str | None = None,
) -> OkxReport:
    """Verify an OKX V2 user file against the tree file, reporting every problem.

    The user hash must be sha256(nonce + totalBalances JSON); each of the user's leaves must hash
    to sha256(userHash + BTC + ETH + USDT), add up to ``totalBalances``, appear in the tree file
    with the same balances, and climb from there to the file's root (each parent recomputed from
    the stored sibling and compared with the stored parent). The tree file is read twice (find
    the leaves, then fetch their paths), never held whole when given as a path.

    Raises:
        InvalidInput: the user file or a line the check needs is not in the format.
    """
    got, leaves = _parse_v2_user(user_info, source)
    problems = Problems()
    total_amounts, total = parse_balances(
        got["totalBalances"], source=source, where="totalBalances"
    )
    user_hash = salted_hash(got["nonce"], total_amounts)
    if user_hash != got["hash"]:
        problems.add(
            "hash-mismatch",
            f"nonce and totalBalances hash to {user_hash}, not {got['hash']}",
            "hash",
        )
    if negative_assets(total):
        problems.add("negative-balance", f"totalBalances has {describe(total)}", "totalBalances")
    leaf_sum = ZERO
    for leaf in leaves:
        leaf_sum = add(leaf_sum, leaf.sums)
        digest = v2_leaf_hash(got["hash"], leaf.amounts)
        if digest != leaf.hash:
            problems.add(
                "hash-mismatch",
                f"{leaf.where}: the user hash and balances hash to {digest}, not {leaf.hash}",
                leaf.where,
            )
        if negative_assets(leaf.sums):
            problems.add("negative-balance", f"{leaf.where} has {describe(leaf.sums)}", leaf.where)
    if leaf_sum != total:
        problems.add(
            "total-mismatch",
            f"the leaves add up to {describe(leaf_sum)}, totalBalances says {describe(total)}",
            "totalBalances",
        )
    tree = TreeSource(tree_lines_or_path, tree_name)
    layout, found = scan_tree(tree, {leaf.hash for leaf in leaves})
    placed: list[tuple[_UserLeaf, int]] = []
    for leaf in leaves:
        spots = found.get(leaf.hash, [])
        if not spots:
            problems.add(
                "leaf-not-in-tree",
                f"{leaf.where} ({leaf.hash}) is not a leaf of {tree.name}",
                leaf.where,
            )
        else:
            placed.append((leaf, spots.pop(0)))
    needed = {1}
    for _, index in placed:
        needed.add(layout.line(1, index))
        for _, sibling, parent, _ in layout.path(index):
            needed.update((sibling, parent))
    lines = read_tree_lines(tree, needed)
    shown: list[ShownNode] = []
    for leaf, index in placed:
        _climb(
            leaf, index, layout=layout, lines=lines, published=root, problems=problems, shown=shown
        )
    top = layout.root
    shown.append(ShownNode(top.hash, top.height, top.sums, "line 1"))
    return OkxReport(
        ok=not problems,
        kind="okx-v2-user",
        source=source,
        problems=problems.items,
        root=top.hash,
        totals=to_decimal(top.sums),
        height=top.height,
        user_balances=to_decimal(total),
        leaf_count=layout.leaf_count,
        nodes=tuple(shown),
    )


def _climb(
    leaf: _UserLeaf,
    index: int,
    *,
    layout: TreeLayout,
    lines: dict[int, TreeNode],
    published: str | None,
    problems: Problems,
    shown: list[ShownNode],
) -> None:
    """One user leaf from its tree line to the root, as in v1, comparing every stored parent."""
    stored = lines[layout.line(1, index)]
    where = f"line {stored.line}"
    _check_line(stored, 1, problems)
    if stored.sums != leaf.sums:
        problems.add(
            "sum-mismatch",
            f"{where} shows {leaf.where} ({leaf.hash}) with {describe(stored.sums)}, the user "
            f"file with {describe(leaf.sums)}",
            where,
        )
    shown.append(ShownNode(leaf.hash, 1, leaf.sums, f"{leaf.where} ({where})"))
    current, sums = leaf.hash, leaf.sums
    for height, sibling_line, parent_line, is_left in layout.path(index):
        sibling, parent = lines[sibling_line], lines[parent_line]
        _check_line(sibling, height, problems)
        padding = sibling_line == layout.line(height, 0) and layout.levels[height].padded
        if padding:
            if sibling.hash != current or sibling.sums != ZERO:
                problems.add(
                    "padding-mismatch",
                    f"line {sibling.line} is padding but not a zero-balance copy of {current}",
                    f"line {sibling.line}",
                )
        else:
            shown.append(ShownNode(sibling.hash, height, sibling.sums, f"line {sibling.line}"))
        left, right = (current, sibling.hash) if is_left else (sibling.hash, current)
        sums = add(sums, sibling.sums)
        current = parent_hash(left, right, sums, height + 1)
        shown.append(ShownNode(current, height + 1, sums, f"line {parent.line} (recomputed)"))
        if parent.line == 1:
            break
        _check_line(parent, height + 1, problems)
        if parent.hash != current:
            problems.add(
                "hash-mismatch",
                f"line {parent.line} stores {parent.hash}; {leaf.where}'s path recomputes "
                f"{current}",
                f"line {parent.line}",
            )
        if parent.sums != sums:
            problems.add(
                "sum-mismatch",
                f"line {parent.line} stores {describe(parent.sums)}; {leaf.where}'s path adds up "
                f"to {describe(sums)}",
                f"line {parent.line}",
            )
    top = layout.root
    _check_root(
        (top.hash, top.sums),
        (current, sums),
        where="line 1",
        published=published,
        problems=problems,
    )


def _check_line(node: TreeNode, height: int, problems: Problems) -> None:
    where = f"line {node.line}"
    if node.height != height:
        problems.add(
            "height-mismatch", f"{where} says height {node.height}; its place is {height}", where
        )
    if negative_assets(node.sums):
        problems.add("negative-balance", f"{where} has {describe(node.sums)}", where)


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
