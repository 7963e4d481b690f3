"""Proofs from stored subtree hashes equal the reference ones, from one small read.

The store is a dict filled from :class:`CompactRange` appends, as the durable log is. Its reader
records every call and refuses any node that is not complete in the tree being asked about, so a
function that peeks past the tree, reads twice, or reads too much fails here.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assay.trail import rfc9162, tlog
from assay.trail.tlog import (
    CompactRange,
    Node,
    prove_consistency,
    prove_inclusion,
    subtree_nodes,
    tree_root,
)
from tests.trail.test_rfc9162 import LEAVES, NODES, ROOTS

MAX_SIZE = 1100
ENTRIES = [b"entry %d" % i for i in range(MAX_SIZE)]

# Edge cases of the layout: empty, one leaf, powers of two and their neighbours, and sizes around
# 1000 whose right edge has many levels.
SIZES = [0, 1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 127, 128, 129]
SIZES += [999, 1000, 1001, 1023, 1024, 1025]


@functools.cache
def store() -> dict[Node, bytes]:
    """Every complete subtree of the first MAX_SIZE entries, as appends report them."""
    nodes: dict[Node, bytes] = {}
    edge = CompactRange()
    for entry in ENTRIES:
        for level, index, node in edge.append(rfc9162.leaf_hash(entry)):
            nodes[level, index] = node
    return nodes


class Reader:
    """A hash reader over :func:`store` for the tree of ``size`` leaves, recording its calls."""

    def __init__(self, size: int, nodes: dict[Node, bytes] | None = None) -> None:
        self.size = size
        self.nodes = store() if nodes is None else nodes
        self.calls: list[list[Node]] = []

    def __call__(self, wanted: Sequence[Node]) -> list[bytes]:
        self.calls.append(list(wanted))
        for level, index in wanted:
            assert (index + 1) << level <= self.size, f"{(level, index)} is past {self.size}"
        return [self.nodes[node] for node in wanted]

    def assert_one_small_read(self, size: int) -> None:
        """One call (or none when nothing was needed) for O(log n) nodes."""
        assert len(self.calls) <= 1
        if self.calls:
            assert self.calls[0], "the reader was called for no nodes"
            assert len(self.calls[0]) <= 2 * (size - 1).bit_length() + 2


def naive_root(size: int) -> bytes:
    return rfc9162.root(ENTRIES[:size])


# --- the layout ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("size", "nodes"),
    [
        (0, []),  # the empty tree has no subtrees
        (1, [(0, 0)]),  # one leaf
        (7, [(2, 0), (1, 2), (0, 6)]),  # 4 + 2 + 1
        (8, [(3, 0)]),  # a power of two is one subtree
        (13, [(3, 0), (2, 2), (0, 12)]),  # 8 + 4 + 1
    ],
)
def test_subtree_nodes_are_the_set_bits_of_the_size_largest_first(size, nodes):
    assert subtree_nodes(size) == nodes


def test_appends_store_exactly_the_published_complete_subtrees():
    # transparency-dev/merkle testonly/constants.go NodeHashes(), via test_rfc9162.NODES.
    stored: dict[Node, bytes] = {}
    edge = CompactRange()
    for size, data in enumerate(LEAVES, start=1):
        completed = edge.append(rfc9162.leaf_hash(data))
        assert [(level, index) for level, index, _ in completed] == [
            (level, index) for level, index in NODES if (index + 1) << level == size
        ]
        for level, index, node in completed:
            assert (level, index) not in stored
            stored[level, index] = node
        assert edge.root() == ROOTS[size]
    assert stored == NODES


@pytest.mark.parametrize(
    ("size", "edge"),
    [
        (0, []),  # empty
        (1, [(0, 0)]),
        (2, [(1, 0)]),
        (3, [(1, 0), (0, 2)]),
        (4, [(2, 0)]),
        (5, [(2, 0), (0, 4)]),
        (6, [(2, 0), (1, 2)]),
        (7, [(2, 0), (1, 2), (0, 6)]),
        (8, [(3, 0)]),
    ],
)
def test_edge_matches_the_published_compact_trees(size, edge):
    # transparency-dev/merkle testonly/constants.go CompactTrees().
    compact = CompactRange()
    for data in LEAVES[:size]:
        compact.append(rfc9162.leaf_hash(data))
    assert compact.size == size
    assert compact.edge == tuple(NODES[node] for node in edge)


# --- tree hashes --------------------------------------------------------------------------------


@pytest.mark.parametrize("size", SIZES)
def test_tree_root_equals_the_reference_root(size):
    read = Reader(size)
    assert tree_root(size, read) == naive_root(size)
    assert len(read.calls) == (1 if size else 0)
    read.assert_one_small_read(size)


@settings(max_examples=60, deadline=None)
@given(size=st.integers(0, MAX_SIZE))
def test_compact_range_root_equals_the_reference_root(size):
    assert CompactRange.from_reader(size, Reader(size)).root() == naive_root(size)


# --- inclusion proofs ---------------------------------------------------------------------------


def indices(size: int) -> list[int]:
    """Every index of a small tree; the ends and the middle of a big one."""
    if size <= 33:
        return list(range(size))
    return sorted({0, 1, size // 2 - 1, size // 2, size - 2, size - 1})


@pytest.mark.parametrize(
    ("size", "index"), [(size, index) for size in SIZES for index in indices(size)]
)
def test_inclusion_proof_equals_the_reference_proof(size, index):
    read = Reader(size)
    proof = prove_inclusion(index, size, read)
    assert proof == rfc9162.inclusion_proof(ENTRIES[:size], index)
    assert len(read.calls) == (1 if size > 1 else 0)
    read.assert_one_small_read(size)


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_every_stored_inclusion_proof_verifies_and_equals_the_reference(data):
    size = data.draw(st.integers(1, MAX_SIZE), label="size")
    index = data.draw(st.integers(0, size - 1), label="index")
    read = Reader(size)
    proof = prove_inclusion(index, size, read)
    assert proof == rfc9162.inclusion_proof(ENTRIES[:size], index)
    leaf = rfc9162.leaf_hash(ENTRIES[index])
    assert rfc9162.verify_inclusion(leaf, index, size, proof, naive_root(size))
    read.assert_one_small_read(size)


@pytest.mark.parametrize(
    ("size", "index", "nodes"),
    [
        # transparency-dev/merkle proof/proof_test.go TestInclusion: the nodes each proof needs.
        (1, 0, []),  # a one-leaf tree needs nothing
        (2, 0, [(0, 1)]),
        (3, 1, [(0, 0), (0, 2)]),
        (7, 0, [(0, 1), (1, 1), (0, 6), (1, 2)]),  # the right edge (4..7) is folded from 2
        (7, 3, [(0, 2), (1, 0), (0, 6), (1, 2)]),
        (7, 6, [(1, 2), (2, 0)]),
        (5, 3, [(0, 2), (1, 0), (0, 4)]),  # a smaller tree inside a bigger store
        (15, 10, [(0, 11), (1, 4), (0, 14), (1, 6), (3, 0)]),  # folding mid-proof
        (31, 24, [(0, 25), (1, 13), (0, 30), (1, 14), (3, 2), (4, 0)]),
        (95, 81, [(0, 80), (1, 41), (2, 21), (0, 94), (1, 46), (2, 22), (4, 4), (6, 0)]),
    ],
)
def test_inclusion_proof_reads_exactly_the_published_nodes(size, index, nodes):
    read = Reader(size)
    prove_inclusion(index, size, read)
    assert [sorted(call) for call in read.calls] == ([sorted(nodes)] if nodes else [])


# --- consistency proofs -------------------------------------------------------------------------


def old_sizes(size: int) -> list[int]:
    """Every older size of a small tree; the ends, the middle and powers of two for a big one."""
    if size <= 33:
        return list(range(1, size + 1))
    powers = {1 << k for k in range(size.bit_length()) if 1 << k <= size}
    return sorted({1, 2, size // 2, size - 1, size} | powers)


@pytest.mark.parametrize(
    ("old_size", "new_size"), [(old, size) for size in SIZES for old in old_sizes(size)]
)
def test_consistency_proof_equals_the_reference_proof(old_size, new_size):
    read = Reader(new_size)
    proof = prove_consistency(old_size, new_size, read)
    assert proof == rfc9162.consistency_proof(ENTRIES[:new_size], old_size)
    assert len(read.calls) == (1 if old_size < new_size else 0)
    read.assert_one_small_read(new_size)


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_every_stored_consistency_proof_verifies_and_equals_the_reference(data):
    new_size = data.draw(st.integers(1, MAX_SIZE), label="new_size")
    old_size = data.draw(st.integers(1, new_size), label="old_size")
    read = Reader(new_size)
    proof = prove_consistency(old_size, new_size, read)
    assert proof == rfc9162.consistency_proof(ENTRIES[:new_size], old_size)
    old_root, new_root = naive_root(old_size), naive_root(new_size)
    assert rfc9162.verify_consistency(old_size, new_size, old_root, new_root, proof)
    read.assert_one_small_read(new_size)


@pytest.mark.parametrize(
    ("old_size", "new_size", "nodes"),
    [
        # transparency-dev/merkle proof/proof_test.go TestConsistency: the nodes each proof needs.
        (1, 2, [(0, 1)]),
        (1, 6, [(0, 1), (1, 1), (1, 2)]),
        (2, 8, [(1, 1), (2, 1)]),
        (3, 7, [(0, 2), (0, 3), (1, 0), (0, 6), (1, 2)]),  # the right edge (4..7) is folded
        (4, 7, [(0, 6), (1, 2)]),  # a power of two: its root is the old root, not sent
        (5, 7, [(0, 4), (0, 5), (0, 6), (2, 0)]),
        (7, 8, [(0, 6), (0, 7), (1, 2), (2, 0)]),
        (4, 4, []),  # equal sizes need nothing
        (10, 15, [(1, 4), (1, 5), (0, 14), (1, 6), (3, 0)]),  # folding mid-proof
        (24, 31, [(3, 2), (0, 30), (1, 14), (2, 6), (4, 0)]),
        (81, 95, [(0, 80), (0, 81), (1, 41), (2, 21), (0, 94), (1, 46), (2, 22), (4, 4), (6, 0)]),
    ],
)
def test_consistency_proof_reads_exactly_the_published_nodes(old_size, new_size, nodes):
    read = Reader(new_size)
    prove_consistency(old_size, new_size, read)
    assert [sorted(call) for call in read.calls] == ([sorted(nodes)] if nodes else [])


# --- the compact range --------------------------------------------------------------------------


@pytest.mark.parametrize("size", SIZES)
def test_compact_range_from_reader_reproduces_the_appended_edge(size):
    appended = CompactRange()
    for entry in ENTRIES[:size]:
        appended.append(rfc9162.leaf_hash(entry))
    read = Reader(size)
    rebuilt = CompactRange.from_reader(size, read)
    assert (rebuilt.size, rebuilt.edge, rebuilt.root()) == (size, appended.edge, appended.root())
    assert read.calls == ([subtree_nodes(size)] if size else [])


@pytest.mark.parametrize("size", [0, 1, 6, 7, 8, 1000])  # empty, odd, even, full, big
def test_appending_to_a_rebuilt_range_completes_the_stored_nodes(size):
    compact = CompactRange.from_reader(size, Reader(size))
    for index in range(size, size + 40):
        for level, node_index, node in compact.append(rfc9162.leaf_hash(ENTRIES[index])):
            assert store()[level, node_index] == node
            assert (node_index + 1) << level == index + 1  # completed by this very append
    assert compact.root() == naive_root(size + 40)


def test_every_complete_subtree_is_reported_once_by_the_append_that_completes_it():
    seen: list[Node] = []
    compact = CompactRange()
    for size, entry in enumerate(ENTRIES[:300], start=1):
        completed = compact.append(rfc9162.leaf_hash(entry))
        assert completed[0][:2] == (0, size - 1)  # the leaf itself first
        seen += [(level, index) for level, index, _ in completed]
    complete = [(lv, i) for lv in range(9) for i in range(300 >> lv)]
    assert sorted(seen) == sorted(complete)


@pytest.mark.parametrize(
    ("size", "count"),
    [(0, 0), (0, 1), (7, 1), (7, 9), (255, 300)],  # nothing, one, one that carries, many, tiles
)
def test_extending_by_a_batch_is_appending_each_leaf_in_turn(size, count):
    one_by_one = CompactRange.from_reader(size, Reader(size))
    batched = one_by_one.copy()
    leaves = [rfc9162.leaf_hash(entry) for entry in ENTRIES[size : size + count]]
    expected = [node for leaf in leaves for node in one_by_one.append(leaf)]
    assert batched.extend(leaves) == expected
    assert (batched.size, batched.edge) == (one_by_one.size, one_by_one.edge)


def test_extending_stops_at_a_leaf_hash_of_the_wrong_length():
    compact = CompactRange()
    with pytest.raises(ValueError, match="32 bytes"):
        compact.extend([rfc9162.leaf_hash(ENTRIES[0]), b"short"])
    assert (compact.size, compact.root()) == (1, naive_root(1))


def test_copy_is_independent_of_the_original():
    original = CompactRange.from_reader(5, Reader(5))
    duplicate = original.copy()
    duplicate.append(rfc9162.leaf_hash(ENTRIES[5]))
    assert (original.size, original.root()) == (5, naive_root(5))
    assert (duplicate.size, duplicate.root()) == (6, naive_root(6))


def test_empty_compact_range_has_the_empty_tree_root():
    assert CompactRange().root() == ROOTS[0]
    assert CompactRange().size == 0


# --- bad input ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "message"),
    [
        # An index past the end.
        (lambda r: prove_inclusion(8, 8, r), "index 8 is outside 0..7 for a tree of 8 entries"),
        # A negative index.
        (lambda r: prove_inclusion(-1, 8, r), r"index -1 is outside 0\.\.7"),
        # Nothing to prove in an empty tree.
        (lambda r: prove_inclusion(0, 0, r), "a tree of 0 entries has no valid index"),
        # A negative size.
        (lambda r: prove_inclusion(0, -1, r), "size -1 is negative"),
        # A consistency proof from the empty tree.
        (lambda r: prove_consistency(0, 8, r), r"old_size 0 is outside 1\.\.8"),
        # A consistency proof from a bigger tree.
        (lambda r: prove_consistency(9, 8, r), r"old_size 9 is outside 1\.\.8"),
        # A negative new size.
        (lambda r: prove_consistency(1, -2, r), "new_size -2 is negative"),
        # The root of a negative size.
        (lambda r: tree_root(-1, r), "size -1 is negative"),
        (lambda _: subtree_nodes(-3), "size -3 is negative"),
        (lambda r: CompactRange.from_reader(-1, r), "size -1 is negative"),
    ],
)
def test_out_of_range_arguments_are_named_in_the_error(call, message):
    read = Reader(8)
    with pytest.raises(ValueError, match=message):
        call(read)
    assert read.calls == []


def test_compact_range_refuses_an_edge_that_does_not_fit_the_size():
    with pytest.raises(ValueError, match="edge has 1 hashes, but a tree of 3 entries is made of 2"):
        CompactRange(3, [ROOTS[2]])


def test_compact_range_refuses_a_leaf_hash_of_the_wrong_length():
    with pytest.raises(ValueError, match="leaf_hash must be 32 bytes, not 5"):
        CompactRange().append(b"entry")


def test_a_reader_that_answers_the_wrong_number_of_hashes_is_an_error():
    def short(nodes: Sequence[Node]) -> list[bytes]:
        return [store()[node] for node in nodes][:-1]

    with pytest.raises(ValueError, match="returned 2 hashes for 3 nodes"):
        tree_root(7, short)


def test_module_exports_every_public_name_it_defines():
    defined = {
        name
        for name, value in vars(tlog).items()
        if not name.startswith("_") and getattr(value, "__module__", None) == tlog.__name__
    }
    assert defined <= set(tlog.__all__)
    assert all(hasattr(tlog, name) for name in tlog.__all__)
