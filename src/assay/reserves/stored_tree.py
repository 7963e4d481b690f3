"""A built round read back from its folder: any node or proof path from memory-mapped arrays.

:class:`StoredTree` is a :class:`~assay.reserves.sumtree.SumTree` over the arrays
:mod:`assay.reserves.round_build` wrote under ``tree/``: the levels kept are read as stored, the
block of at most 32 leaves below a path recomputed from the account arrays and the round secret,
so a proof costs O(log n). :func:`open_tree` opens a round folder's. An array that is missing or
not of its shape is ``RoundDamaged``.

It never writes to the folder and never touches the database.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from assay.errors import InvalidInput, NotFound
from assay.reserves import layout
from assay.reserves.layout import Salter
from assay.reserves.round_folder import TREE, RoundManifest, read_manifest, read_secret
from assay.reserves.rounds import RoundDamaged
from assay.reserves.sumtree import Node, Sibling, SumTree
from assay.reserves.sumtree import Path as TreePath


def _load(path: Path, shape: tuple[int, ...], kind: str) -> npt.NDArray[Any]:
    try:
        array: npt.NDArray[Any] = np.load(path, mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise RoundDamaged(f"{path}: unreadable: {exc}", field=path.name) from exc
    if array.dtype.kind != kind or array.shape[: len(shape)] != shape:
        raise RoundDamaged(
            f"{path}: shape {array.shape} of {array.dtype}, expected {shape} ({kind})",
            field=path.name,
        )
    return array


class StoredTree(SumTree):
    """A built round read back from its folder: any node or path from memory-mapped arrays.

    Levels from ``stored_from_level`` up are read as stored; a path recomputes the block of
    leaves below (at most 32) from the account arrays and the secret, as ``SumTree`` does.
    """

    def __init__(self, folder: Path, manifest: RoundManifest, secret: bytes) -> None:
        self.round = manifest.layout_round()
        self._salter = Salter(secret)
        self._keep = manifest.stored_from_level
        self._height = manifest.height
        capacity, n, count = manifest.capacity, manifest.accounts, len(manifest.assets)
        self._mask = (1 << max(1, (capacity - 1).bit_length())) - 1
        base = folder / TREE
        self._keys = _load(base / "keys.npy", (capacity,), "u")
        self._ids = _load(base / "accounts.npy", (n,), "S")
        self._equity = _load(base / "equity.npy", (n, count), "u")
        self._debt = _load(base / "debt.npy", (n, count), "u")
        width = 32 + 2 * sum(a.width for a in self.round.assets)
        self._levels = {
            level: _load(base / f"level-{level:02d}.npy", (-(-capacity >> level), width), "u")
            for level in range(self._keep, self._height + 1)
        }
        self.root = self.node(self._height, 0)

    @property
    def accounts(self) -> int:
        """How many real accounts the round holds."""
        return int(self._ids.shape[0])

    @property
    def height(self) -> int:
        """The root's level."""
        return self._height

    def position(self, account_id: str) -> int:
        """Where ``account_id``'s leaf is; NotFound if it is not in the round."""
        raw = layout.account_id_bytes(account_id)
        key = int.from_bytes(self._salter(raw)[:8], "big") & ~self._mask
        lo = int(np.searchsorted(self._keys, np.uint64(key), side="left"))
        hi = int(np.searchsorted(self._keys, np.uint64(key | self._mask), side="right"))
        for position in range(lo, hi):
            leaf = int(self._keys[position]) & self._mask
            if leaf < self.accounts and bytes(self._ids[leaf]) == raw:
                return position
        raise NotFound(
            f"account {account_id!r} is not in round {self.round.id}",
            field="account_id",
            value=account_id,
        )

    def leaf_salt(self, position: int) -> bytes:
        """The salt of the leaf at ``position``."""
        leaf = int(self._keys[position]) & self._mask
        if leaf < self.accounts:
            return self._salter(bytes(self._ids[leaf]))
        return self._salter.pad(leaf - self.accounts)

    def node(self, level: int, index: int) -> Node:
        """Node ``index`` of ``level`` (0: leaves)."""
        if not 0 <= level <= self._height or not 0 <= index < -(-self.round.capacity >> level):
            raise InvalidInput(
                f"there is no node {index} at level {level}", field="node", value=[level, index]
            )
        if level >= self._keep:
            return self._decode(bytes(self._levels[level][index]))
        shift = self._keep - level
        return self._leaf_levels(index >> shift)[level][index - ((index >> shift) << shift)]

    def path(self, account_id: str) -> TreePath:
        """The data of ``account_id``'s proof: its leaf, its siblings bottom up, the root."""
        position = self.position(account_id)
        block = self._leaf_levels(position >> self._keep) if self._keep else []
        siblings, index = [], position
        for level, side in enumerate(layout.path_sides(position, self.round.capacity)):
            if side is not None:
                other = index ^ 1
                if level < self._keep:
                    node = block[level][other - ((position >> self._keep) << (self._keep - level))]
                else:
                    node = self._decode(bytes(self._levels[level][other]))
                siblings.append(Sibling(side, node))
            index >>= 1
        own = self.node(0, position)
        return TreePath(
            account_id=account_id,
            position=position,
            salt=self.leaf_salt(position),
            equity=own.equity,
            debt=own.debt,
            siblings=tuple(siblings),
            root=self.root,
        )

    def _decode(self, row: bytes) -> Node:
        values, at = [], 32
        for _side in ("equity", "debt"):
            for a in self.round.assets:
                values.append(int.from_bytes(row[at : at + a.width], "big"))
                at += a.width
        k = len(self.round.assets)
        return Node(row[:32], tuple(values[:k]), tuple(values[k:]))

    def _leaf_levels(self, block: int) -> list[list[Node]]:
        """Levels 0 to keep - 1 of the block of 2^keep leaves ``block``, recomputed."""
        rnd, n = self.round, self.accounts
        zeros = (0,) * len(rnd.assets)
        lo = block << self._keep
        hi = min(rnd.capacity, lo + (1 << self._keep))
        nodes = []
        for position in range(lo, hi):
            leaf = int(self._keys[position]) & self._mask
            if leaf < n:
                raw = bytes(self._ids[leaf])
                equity = tuple(int(v) for v in self._equity[leaf])
                debt = tuple(int(v) for v in self._debt[leaf])
                amounts = layout.encode_amounts(rnd.assets, equity, debt)
                digest = layout.leaf_hash(rnd.digest, self._salter(raw), amounts, raw)
                nodes.append(Node(digest, equity, debt))
            else:
                salt = self._salter.pad(leaf - n)
                nodes.append(Node(layout.pad_hash(rnd.digest, salt), zeros, zeros))
        levels = [nodes]
        for _ in range(1, self._keep):
            below, nodes = nodes, []
            for i in range(0, len(below) - 1, 2):
                left, right = below[i], below[i + 1]
                digest = layout.node_hash(
                    left.hash,
                    right.hash,
                    layout.encode_amounts(rnd.assets, left.equity, left.debt),
                    layout.encode_amounts(rnd.assets, right.equity, right.debt),
                )
                equity = tuple(x + y for x, y in zip(left.equity, right.equity, strict=True))
                debt = tuple(x + y for x, y in zip(left.debt, right.debt, strict=True))
                nodes.append(Node(digest, equity, debt))
            if len(below) & 1:
                nodes.append(below[-1])
            levels.append(nodes)
        return levels


def open_tree(folder: Path) -> StoredTree:
    """The stored tree of the round folder ``folder``."""
    return StoredTree(folder, read_manifest(folder), read_secret(folder))
