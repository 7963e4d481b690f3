"""The OKX V2 tree audit: every parent of a ``full-liabilities-merkle-tree.txt`` recomputed.

Since March 2023 ("V2") OKX publishes its whole liabilities tree as one text file, one node per
line (read by :mod:`assay.reserves.okx_lines`; byte-exact rules: docs/formats/okx-proofs.md).
:func:`audit_okx_v2_tree` checks that every parent is what its two stored children recompute to,
that the root and the leaves' totals agree and that nothing is negative, and reports all of it
as a :class:`TreeAudit`. The work is the streaming walk of :mod:`assay.reserves.okx_walk`, which
trusts no stored parent. A file of 16 MB or more is first given to
:mod:`assay.reserves.okx_parallel`, which checks it on every core and returns this module's
report when the file is clean; otherwise the streaming audit runs and its report stands.
:func:`check_root` and :func:`tree_audit` assemble that report for both.

It must never hold the whole file, raise anything but ``InvalidInput``, or touch a database.
"""

from __future__ import annotations

import contextlib
import itertools
import os
from dataclasses import dataclass
from decimal import Decimal

from assay.reserves.okx_format import Problem, Problems, Sums, describe, negative_assets, to_decimal
from assay.reserves.okx_lines import Progress, TreeInput, TreeNode, TreeSource
from assay.reserves.okx_walk import Walk, row_blocks


@dataclass(frozen=True)
class TreeAudit:
    """What :func:`audit_okx_v2_tree` found.

    Attributes:
        ok: every parent recomputes from its children, the root and totals agree, no negatives.
        problems: the first ``max_problems`` discrepancies, each with its line.
        problems_omitted: how many more there were.
        root: the root hash (line 1).
        height: the root's height (leaves are height 1).
        totals: the root's balances per asset, as published.
        leaf_totals: the sum of every leaf line per asset, recomputed.
        leaf_count: leaves, padding excluded (one user may own several).
        node_count: lines read, padding included.
        padding_count: padding copies.
    """

    ok: bool
    problems: list[Problem]
    problems_omitted: int
    root: str
    height: int
    totals: dict[str, Decimal]
    leaf_totals: dict[str, Decimal]
    leaf_count: int
    node_count: int
    padding_count: int


def audit_okx_v2_tree(
    path_or_lines: TreeInput,
    *,
    root: str | None = None,
    progress: Progress | None = None,
    max_problems: int = 1000,
    name: str | None = None,
    workers: int | None = None,
) -> TreeAudit:
    """Recompute every parent of an OKX V2 tree file from its two children; check root and totals.

    A file of 16 MB or more is first checked on every core by :mod:`assay.reserves.okx_parallel`,
    which proves a clean file clean; anything else it finds (a problem, a malformed line, an
    unusual but valid spelling) is left to the streaming audit below, so the report is always
    the streaming audit's.

    Args:
        path_or_lines: the file's path (streamed, read by two cursors) or its lines.
        root: the root hash OKX published elsewhere, to compare with line 1.
        progress: called after each block with (bytes read, file size or None).
        max_problems: problems kept in the report; the rest are only counted.
        name: the file's name in messages (default: the path).
        workers: processes for the parallel check of a large file (None: one per CPU); 0 for
            the streaming audit alone (one core, memory flat whatever the file size).

    Raises:
        InvalidInput: a line that is not ``<hash>,<height>,<balances JSON>``, a file that ends
            before its last level is complete, or lines after it.
    """
    if workers != 0 and isinstance(path_or_lines, str | os.PathLike):
        # Imported here: okx_parallel builds on this module's types and checks.
        from assay.reserves.okx_parallel import fast_audit  # noqa: PLC0415

        found = fast_audit(
            path_or_lines,
            root=root,
            progress=progress,
            max_problems=max_problems,
            workers=workers,
        )
        if found is not None:
            return found
    source = TreeSource(path_or_lines, name)
    top = source.first_line()
    problems = Problems(max_problems)
    check_root(top, root, problems)
    walk = Walk(source.name, problems)
    blocks = row_blocks(source, problems, progress)
    with contextlib.closing(blocks), contextlib.closing(source.lines()) as parents:
        walk.run(top, itertools.chain.from_iterable(blocks), parents)
    return tree_audit(
        top,
        problems,
        leaf_sums=walk.leaf_sums,
        leaf_count=walk.real,
        node_count=walk.child_line,
        padding_count=walk.pads,
    )


def check_root(top: TreeNode, root: str | None, problems: Problems) -> None:
    """What line 1 alone can show: a negative total, a root other than the published one."""
    if negative_assets(top.sums):
        problems.add("negative-balance", f"line 1 (the root) has {describe(top.sums)}", "line 1")
    if root is not None and root != top.hash:
        problems.add(
            "root-mismatch", f"line 1 is root {top.hash}, not the published root {root}", "line 1"
        )


def tree_audit(
    top: TreeNode,
    problems: Problems,
    *,
    leaf_sums: Sums,
    leaf_count: int,
    node_count: int,
    padding_count: int,
) -> TreeAudit:
    """The report, once every parent is checked: the leaves' sums compared with the root's."""
    leaf_sums = leaf_sums if top.height > 1 else top.sums
    if leaf_sums != top.sums:
        problems.add(
            "total-mismatch",
            f"the leaves add up to {describe(leaf_sums)} but the root says {describe(top.sums)}",
            "line 1",
        )
    return TreeAudit(
        ok=not problems,
        problems=problems.items,
        problems_omitted=problems.omitted,
        root=top.hash,
        height=top.height,
        totals=to_decimal(top.sums),
        leaf_totals=to_decimal(leaf_sums),
        leaf_count=leaf_count,
        node_count=node_count,
        padding_count=padding_count,
    )
