"""Verify an OKX V2 user file (``user_info_file.json``) against the published tree file.

Since March 2023 ("V2") a user's balance is split over several leaves of one tree file; the user
file holds ``hash``, ``nodes`` (the leaves), ``nonce`` and ``totalBalances``.
:func:`verify_okx_v2_user` recomputes the user hash and each leaf hash, checks that the leaves
add up to ``totalBalances``, finds each leaf in the tree file with the same balances
(:mod:`assay.reserves.okx_layout`) and climbs it to the root, comparing every stored parent on
the way. Every check runs and every problem is reported with its place
(docs/formats/okx-proofs.md).

It must never hold a tree file given by path whole (it is read twice, the paths streamed), trust
a hash or a sum it can recompute, or raise anything but ``InvalidInput``.
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
    v2_leaf_hash,
)
from assay.reserves.okx_layout import TreeLayout, read_tree_lines, scan_tree
from assay.reserves.okx_lines import TreeInput, TreeNode, TreeSource
from assay.reserves.okx_proof import OkxReport, ShownNode, check_stated_root, read_fields

V2_FIELDS = {"hash", "nodes", "nonce", "totalBalances"}
"""The top-level fields of a V2 user file (:func:`assay.reserves.okx.okx_kind` tells it by them)."""


@dataclass(frozen=True)
class _UserLeaf:
    where: str
    amounts: tuple[str, str, str]
    sums: Sums
    hash: str


def _parse_v2_user(data: object, source: str) -> tuple[dict[str, Any], list[_UserLeaf]]:
    got = read_fields(data, V2_FIELDS, set(), source=source, where="user file")
    check_hex(got["hash"], source=source, where="hash")
    check_hex(got["nonce"], source=source, where="nonce")
    raw_nodes = got["nodes"]
    if not isinstance(raw_nodes, list) or not raw_nodes:
        raise bad_input(source, "nodes", "must be a non-empty list of leaves")
    leaves = []
    for index, raw in enumerate(raw_nodes):
        where = f"nodes[{index}]"
        node = read_fields(raw, {"balances", "hash"}, set(), source=source, where=where)
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
    check_stated_root(
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
