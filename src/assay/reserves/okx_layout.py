"""Where a user's leaves and their paths lie in an OKX V2 tree file, found in two passes.

A tree file's shape follows from the root's height and the padding rule alone: level ``h - 1``
has twice as many lines as level ``h`` has real (non-padding) lines, and a level opens with a
padding copy when its first two hashes are equal. :func:`scan_tree` works the levels out (a
:class:`TreeLayout`) and finds the leaves a user file names; :func:`read_tree_lines` then fetches
the lines of their paths, from which the user check
(:func:`assay.reserves.okx.verify_okx_v2_user`) climbs.

It checks nothing but the file's shape (hashes and sums are the user check's), never holds the
file whole, and raises nothing but ``InvalidInput``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Collection
from dataclasses import dataclass

from assay.reserves.okx_format import bad_input
from assay.reserves.okx_lines import TreeNode, TreeSource, parse_tree_line


@dataclass(frozen=True)
class Level:
    """One level of a tree file: its height, first line, number of lines, and padding."""

    height: int
    first_line: int
    size: int
    padded: bool


@dataclass(frozen=True)
class TreeLayout:
    """Where each level of a tree file lies, worked out from the root's height and the padding."""

    root: TreeNode
    levels: dict[int, Level]

    @property
    def leaf_count(self) -> int:
        """Leaves, padding excluded."""
        leaves = self.levels[1]
        return leaves.size - leaves.padded

    def line(self, height: int, index: int) -> int:
        """The line of the node at ``index`` (0 = right end) of the level at ``height``."""
        return self.levels[height].first_line + index

    def path(self, index: int) -> list[tuple[int, int, int, bool]]:
        """For the leaf at ``index``, per level: (height, sibling line, parent line, is left)."""
        steps = []
        for height in range(1, self.root.height):
            is_left = index % 2 == 1
            sibling = index - 1 if is_left else index + 1
            parent = self.levels[height + 1].padded + index // 2
            steps.append(
                (height, self.line(height, sibling), self.line(height + 1, parent), is_left)
            )
            index = parent
        return steps


def scan_tree(
    source: TreeSource, wanted: Collection[str]
) -> tuple[TreeLayout, dict[str, list[int]]]:
    """First pass: the levels, and the leaf indexes whose hash is in ``wanted`` (by hash)."""
    root = source.first_line()
    targets = {w.encode() for w in wanted}
    found: dict[str, list[int]] = {}
    levels = {root.height: Level(root.height, 1, 1, padded=False)}
    line, height, size, first = 1, root.height - 1, 2, b""
    start, real = 2, 1
    with contextlib.closing(source.lines()) as lines:
        next(lines)
        for raw in lines:
            if height < 1:
                if not raw.strip(b"\r\n"):
                    continue  # empty lines at the end, as the auditor allows
                raise bad_input(
                    source.name, f"line {line + 1}", f"the tree ends at line {line}; more follow"
                )
            line += 1
            index = line - start
            if index == 0:
                first = raw[:64]
            elif index == 1:
                real = size - (raw[:64] == first)
            if height == 1 and raw[:64] in targets:
                found.setdefault(raw[:64].decode(), []).append(index)
            if index == size - 1:
                levels[height] = Level(height, start, size, padded=real != size)
                height, start, size = height - 1, line + 1, 2 * real
    if height >= 1:
        raise bad_input(
            source.name,
            f"line {line + 1}",
            f"the file ends inside height {height}, which should have {size} nodes "
            "(the tree is truncated, or the root's height is wrong)",
        )
    if root.height == 1 and root.hash in wanted:
        found[root.hash] = [0]
    if levels[1].padded:  # index 0 is then a copy of index 1, not a leaf of its own
        found = {h: [i for i in at if i] for h, at in found.items()}
    return TreeLayout(root, levels), found


def read_tree_lines(source: TreeSource, wanted: Collection[int]) -> dict[int, TreeNode]:
    """Second pass: the lines whose numbers are in ``wanted``, parsed."""
    numbers = set(wanted)
    got: dict[int, TreeNode] = {}
    with contextlib.closing(source.lines()) as lines:
        for line, raw in enumerate(lines, start=1):
            if line in numbers:
                got[line] = parse_tree_line(raw, source=source.name, line=line)
                if len(got) == len(numbers):
                    break
    return got
