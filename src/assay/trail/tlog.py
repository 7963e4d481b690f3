"""Tree hashes and proofs from stored subtree hashes, and the right edge that grows the tree.

The durable log keeps the hash of every complete, aligned subtree: node ``(level, index)`` is the
Merkle Tree Hash (RFC 9162 §2.1.1) of leaves ``[index * 2**level, (index + 1) * 2**level)``, and
level 0 holds the leaf hashes. This is the layout of C2SP tlog-tiles. From those nodes this module
computes tree hashes and RFC 9162 proofs in O(log n): every hash a proof needs is the hash of a
subtree ``[a, b)``; when ``[a, b)`` lies on the right edge of a tree whose size is not a power of
two it is not stored, and is folded from the stored subtrees that cover it. Each function plans
every node it needs first, then asks the :data:`HashReader` for all of them in one call, so that
storage answers with one batched query. :class:`CompactRange` keeps the right edge of a growing
tree so that appending needs no reads at all.

The output is byte-for-byte that of the reference transcription in ``rfc9162``. This module is
pure: storage is reached only through the reader passed in, and nothing here writes.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable, Iterable, Sequence

from assay.trail import rfc9162

__all__ = [
    "CompactRange",
    "HashReader",
    "Node",
    "prove_consistency",
    "prove_inclusion",
    "subtree_nodes",
    "tree_root",
]

Node = tuple[int, int]
"""A stored subtree: (level, index), covering leaves ``[index << level, (index + 1) << level)``."""

HashReader = Callable[[Sequence[Node]], Sequence[bytes]]
"""Returns the stored hashes of the requested nodes, in the order requested, in one call."""

_HASH_SIZE = 32
_NODE_PREFIX = b"\x01"
_sha256 = hashlib.sha256

_Range = tuple[int, int]


def subtree_nodes(size: int) -> list[Node]:
    """The complete aligned subtrees that make up leaves ``[0, size)``, left to right.

    One per set bit of ``size``, largest first: 13 leaves are ``(3, 0)``, ``(2, 2)``, ``(0, 12)``.

    Raises:
        ValueError: ``size`` is negative.
    """
    _check_size("size", size)
    return _cover(0, size)


def tree_root(size: int, read: HashReader) -> bytes:
    """MTH of the first ``size`` leaves, from the stored subtrees that make them up.

    Reads the O(log n) nodes of :func:`subtree_nodes` in one call (none for an empty tree) and
    combines them right to left.

    Raises:
        ValueError: ``size`` is negative, or the reader answered with the wrong number of hashes.
    """
    nodes = subtree_nodes(size)
    if not nodes:
        return rfc9162.root(())
    return _fold(_read(read, nodes), 0, len(nodes))


def prove_inclusion(index: int, size: int, read: HashReader) -> list[bytes]:
    """The inclusion proof of leaf ``index`` in the tree of ``size`` (RFC 9162 §2.1.3.1).

    The same list as :func:`rfc9162.inclusion_proof`, from one read of at most about
    ``2 * log2(size)`` nodes (none for a tree of one leaf).

    Raises:
        ValueError: ``size`` is negative, ``index`` is outside ``0..size-1``, or the reader
            answered with the wrong number of hashes.
    """
    _check_size("size", size)
    if not 0 <= index < size:
        raise ValueError(_outside("index", index, 0, size - 1, size))
    # PATH(m, D[n]) bottom up. Below level ``inner`` (the highest bit where m and n - 1 differ)
    # every sibling is a complete subtree, (level, (m >> level) ^ 1). The sibling at level
    # inner - 1 is the right part of the tree, [lo, n), folded when it is not complete. Above it,
    # m sits on the right edge: each set bit of m there has a complete left sibling.
    inner = (index ^ (size - 1)).bit_length()
    nodes: list[Node] = [(level, (index >> level) ^ 1) for level in range(inner - 1)]
    folded = 0
    if inner:
        lo = ((index >> (inner - 1)) | 1) << (inner - 1)
        right = _cover(lo, size)
        folded = len(right)
        nodes += right
    nodes += [
        (level, (index >> level) ^ 1)
        for level in range(inner, size.bit_length())
        if index >> level & 1
    ]
    if not nodes:
        return []
    hashes = _read(read, nodes)
    if folded <= 1:
        return list(hashes)
    start = inner - 1
    right_hash = _fold_memo(tuple(hashes[start : start + folded]))
    return [*hashes[:start], right_hash, *hashes[start + folded :]]


def prove_consistency(old_size: int, new_size: int, read: HashReader) -> list[bytes]:
    """The proof that the tree of ``old_size`` is a prefix of ``new_size`` (RFC 9162 §2.1.4.1).

    The same list as :func:`rfc9162.consistency_proof`, from one read of O(log n) nodes (none when
    the sizes are equal, whose proof is empty).

    Raises:
        ValueError: ``new_size`` is negative, ``old_size`` is outside ``1..new_size``, or the
            reader answered with the wrong number of hashes.
    """
    _check_size("new_size", new_size)
    if not 1 <= old_size <= new_size:
        raise ValueError(_outside("old_size", old_size, 1, new_size, new_size))
    ranges: list[_Range] = []
    m, lo, hi, known = old_size, 0, new_size, True
    while True:  # SUBPROOF(m, D[lo:hi], known), with m counted from lo.
        if m == hi - lo:
            if not known:
                ranges.append((lo, hi))
            break
        k = _split(hi - lo)
        if m <= k:
            ranges.append((lo + k, hi))
            hi = lo + k
        else:
            ranges.append((lo, lo + k))
            lo, m, known = lo + k, m - k, False
    ranges.reverse()  # The deepest subproof comes first.
    return _prove(ranges, read)


class CompactRange:
    """The right edge of a growing tree: enough to append leaves and hash the tree, without reads.

    The edge holds the hashes of :func:`subtree_nodes` ``(size)``, left to right (largest first).
    Appending a leaf completes the leaf's node and every parent whose right child it completes;
    :meth:`append` returns all of them so the caller can store them.
    """

    __slots__ = ("_edge", "_size")

    def __init__(self, size: int = 0, edge: Sequence[bytes] = ()) -> None:
        _check_size("size", size)
        if len(edge) != size.bit_count():
            raise ValueError(
                f"edge has {len(edge)} hashes, but a tree of {size} entries is made of "
                f"{size.bit_count()} complete subtrees"
            )
        self._size = size
        self._edge = list(edge)

    @classmethod
    def from_reader(cls, size: int, read: HashReader) -> CompactRange:
        """The edge of the stored tree of ``size`` leaves, rebuilt with one read (none if empty).

        Raises:
            ValueError: ``size`` is negative, or the reader answered with the wrong number of
                hashes.
        """
        nodes = subtree_nodes(size)
        return cls(size, _read(read, nodes) if nodes else ())

    @property
    def size(self) -> int:
        """The number of leaves appended so far."""
        return self._size

    @property
    def edge(self) -> tuple[bytes, ...]:
        """The hashes of the complete subtrees that make up the tree, largest first."""
        return tuple(self._edge)

    def append(self, leaf_hash: bytes) -> list[tuple[int, int, bytes]]:
        """Add a leaf; return every node it completes as ``(level, index, hash)``, leaf first.

        Args:
            leaf_hash: the new entry's leaf hash, ``rfc9162.leaf_hash(data)``.

        Raises:
            ValueError: ``leaf_hash`` is not 32 bytes long.
        """
        if len(leaf_hash) != _HASH_SIZE:
            raise ValueError(f"leaf_hash must be {_HASH_SIZE} bytes, not {len(leaf_hash)}")
        edge = self._edge
        index = self._size
        node = leaf_hash
        level = 0
        completed = [(0, index, node)]
        # Each trailing 1 bit of the old size is a complete left sibling now given its pair.
        while index & 1:
            node = _sha256(_NODE_PREFIX + edge.pop() + node).digest()
            index >>= 1
            level += 1
            completed.append((level, index, node))
        edge.append(node)
        self._size += 1
        return completed

    def extend(self, leaf_hashes: Iterable[bytes]) -> list[tuple[int, int, bytes]]:
        """:meth:`append` each leaf in turn; every node completed, in the order completed.

        One call per batch, for the append path. A leaf hash of the wrong length raises
        ``ValueError`` after the leaves before it were appended.
        """
        edge = self._edge
        size = self._size
        completed: list[tuple[int, int, bytes]] = []
        add = completed.append
        try:
            for leaf_hash in leaf_hashes:
                if len(leaf_hash) != _HASH_SIZE:
                    raise ValueError(f"leaf_hash must be {_HASH_SIZE} bytes, not {len(leaf_hash)}")
                index = size
                node = leaf_hash
                level = 0
                add((0, index, node))
                while index & 1:
                    node = _sha256(_NODE_PREFIX + edge.pop() + node).digest()
                    index >>= 1
                    level += 1
                    add((level, index, node))
                edge.append(node)
                size += 1
        finally:
            self._size = size
        return completed

    def root(self) -> bytes:
        """MTH of the leaves appended so far (SHA-256 of the empty string for none)."""
        if not self._edge:
            return rfc9162.root(())
        return _fold(self._edge, 0, len(self._edge))

    def copy(self) -> CompactRange:
        """An independent copy: appending to one leaves the other unchanged."""
        return CompactRange(self._size, self._edge)

    def __repr__(self) -> str:
        return f"CompactRange(size={self._size}, edge=<{len(self._edge)} hashes>)"


def _check_size(name: str, size: int) -> None:
    if size < 0:
        raise ValueError(f"{name} {size} is negative; a tree has 0 or more entries")


def _outside(name: str, value: int, low: int, high: int, size: int) -> str:
    if high < low:
        return f"{name} {value} is outside the tree: a tree of {size} entries has no valid {name}"
    return f"{name} {value} is outside {low}..{high} for a tree of {size} entries"


def _split(n: int) -> int:
    """The largest power of two smaller than ``n`` (``n >= 2``)."""
    return 1 << ((n - 1).bit_length() - 1)


def _cover(lo: int, hi: int) -> list[Node]:
    """The complete aligned subtrees that make up ``[lo, hi)``, largest first.

    ``lo`` must be a multiple of the smallest power of two not below ``hi - lo``, which holds for
    every subtree the RFC's recursion produces; then each part is aligned.
    """
    nodes: list[Node] = []
    remaining = hi - lo
    while remaining:
        level = remaining.bit_length() - 1
        nodes.append((level, lo >> level))
        lo += 1 << level
        remaining -= 1 << level
    return nodes


def _fold(hashes: Sequence[bytes], start: int, stop: int) -> bytes:
    """MTH of adjacent subtrees ``hashes[start:stop]`` (largest first), combined right to left."""
    node = hashes[stop - 1]
    for i in range(stop - 2, start - 1, -1):
        node = _sha256(_NODE_PREFIX + hashes[i] + node).digest()  # rfc9162.node_hash, inlined
    return node


@functools.lru_cache(maxsize=1024)
def _fold_memo(hashes: tuple[bytes, ...]) -> bytes:
    """:func:`_fold` of the whole tuple, remembered by value.

    Every inclusion proof of a leaf left of the largest complete subtree folds the same right
    edge of the tree; keyed by the hashes themselves, a remembered result is always right.
    """
    return _fold(hashes, 0, len(hashes))


def _read(read: HashReader, nodes: Sequence[Node]) -> Sequence[bytes]:
    hashes = read(nodes)
    if len(hashes) != len(nodes):
        raise ValueError(f"the hash reader returned {len(hashes)} hashes for {len(nodes)} nodes")
    return hashes


def _prove(ranges: Sequence[_Range], read: HashReader) -> list[bytes]:
    """The hashes of subtrees ``ranges``, from one read of the stored nodes that cover them."""
    covers = [_cover(lo, hi) for lo, hi in ranges]
    nodes = [node for cover in covers for node in cover]
    if not nodes:
        return []
    hashes = _read(read, nodes)
    proof: list[bytes] = []
    start = 0
    for cover in covers:
        proof.append(_fold(hashes, start, start + len(cover)))
        start += len(cover)
    return proof
