"""Verify an OKX v1 proof (``merkle_proof_file.json``) from the user's leaf up to its root.

OKX published v1 proofs from November 2022 to March 2023: ``{"self": node, "path": [...]}``, the
user's leaf with its nonce, then each sibling up to the root (type 1 left, 2 right, 3 the root,
4 a padding copy). :func:`verify_okx_v1` recomputes the leaf hash and every parent (hash and sums
at the parent's height) and compares the result with the stated root and, when given, the
published one; every check runs and every problem is reported with its place
(docs/formats/okx-proofs.md).

A v1 parent binds its own sum, not its children's, so a lie about a sibling's sum passes here:
:func:`assay.reserves.okx.cross_check` finds it across proofs. Pure: no file, no clock, no
database. It must never trust a hash or a sum it can recompute, and raises nothing but
``InvalidInput`` (for input that is not the v1 form).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from assay.reserves.okx_format import (
    ZERO,
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
    to_decimal,
)
from assay.reserves.okx_proof import (
    OkxReport,
    ShownNode,
    check_stated_root,
    read_fields,
    read_whole_number,
)

LEFT, RIGHT, ROOT, PADDING = 1, 2, 3, 4
_V1_FIELDS = {"auditId", "balances", "type", "hash", "height"}


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
    got = read_fields(node, _V1_FIELDS, {"nonce"}, source=source, where=where)
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
        type=read_whole_number(
            got["type"], source=source, where=f"{where}.type", lowest=1, highest=4
        ),
        nonce=nonce,
        hash=check_hex(got["hash"], source=source, where=f"{where}.hash"),
        height=read_whole_number(
            got["height"], source=source, where=f"{where}.height", lowest=1, highest=256
        ),
    )


def _parse_v1(data: object, source: str) -> tuple[_V1Node, list[_V1Node]]:
    got = read_fields(data, {"self", "path"}, set(), source=source, where="proof")
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
    check_stated_root(
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
