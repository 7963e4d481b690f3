"""The reference Merkle tree reproduces the published Certificate Transparency test vectors.

The vectors are the RFC 6962 test data shared by Google's certificate-transparency (C++/Python)
and certificate-transparency-go, as kept today in transparency-dev/merkle:
``testonly/constants.go`` (leaves, node hashes, roots) and ``proof/verify_test.go`` (inclusion and
consistency proofs, and the corruptions a verifier must reject). RFC 9162 hashes exactly as
RFC 6962 does, so the values carry over unchanged.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assay.trail import rfc9162
from assay.trail.rfc9162 import (
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
    root,
    verify_consistency,
    verify_inclusion,
)

h = bytes.fromhex

# transparency-dev/merkle testonly/constants.go, LeafInputs().
LEAVES = [
    h(""),
    h("00"),
    h("10"),
    h("2021"),
    h("3031"),
    h("40414243"),
    h("5051525354555657"),
    h("606162636465666768696a6b6c6d6e6f"),
]

# transparency-dev/merkle testonly/constants.go, EmptyRootHash() then RootHashes(): index = size.
ROOTS = [
    h("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
    h("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"),
    h("fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"),
    h("aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77"),
    h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
    h("4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4"),
    h("76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef"),
    h("ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c"),
    h("5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"),
]

# transparency-dev/merkle testonly/constants.go, NodeHashes(): (level, index) -> hash of every
# complete subtree of the 8-leaf tree.
NODES = {
    (0, 0): h("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"),
    (0, 1): h("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
    (0, 2): h("0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7"),
    (0, 3): h("07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7"),
    (0, 4): h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
    (0, 5): h("4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658"),
    (0, 6): h("b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f"),
    (0, 7): h("46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1"),
    (1, 0): h("fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"),
    (1, 1): h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
    (1, 2): h("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
    (1, 3): h("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
    (2, 0): h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
    (2, 1): h("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"),
    (3, 0): h("5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"),
}

# transparency-dev/merkle proof/verify_test.go, inclusionProofs (its leaf numbers are 1-based;
# these indices are 0-based): (index, size, proof).
INCLUSION_PROOFS = [
    # The only leaf of a one-leaf tree: the empty path.
    (0, 1, []),
    # The first leaf of the full 8-leaf tree.
    (0, 8, [NODES[0, 1], NODES[1, 1], NODES[2, 1]]),
    # A leaf in the right half of the 8-leaf tree.
    (5, 8, [NODES[0, 4], NODES[1, 3], NODES[2, 0]]),
    # The last leaf of an odd tree sits one level up: its path is one hash.
    (2, 3, [NODES[1, 0]]),
    # A leaf in the left part of a 5-leaf tree: the lone fifth leaf is the top sibling.
    (1, 5, [NODES[0, 0], NODES[1, 1], NODES[0, 4]]),
]

# transparency-dev/merkle proof/verify_test.go, consistencyProofs: (old_size, new_size, proof).
CONSISTENCY_PROOFS = [
    # Same tree: the empty proof.
    (1, 1, []),
    # From the first leaf to the full tree: the old root is the first leaf.
    (1, 8, [NODES[0, 1], NODES[1, 1], NODES[2, 1]]),
    # From 6 to 8 leaves: 6 is not a power of two, so its right part comes first.
    (6, 8, [NODES[1, 2], NODES[1, 3], NODES[2, 0]]),
    # From 2 to 5 leaves.
    (2, 5, [NODES[1, 1], NODES[0, 4]]),
    # From 6 to 7 leaves: the new leaf is its own subtree.
    (6, 7, [NODES[1, 2], NODES[0, 6], NODES[2, 0]]),
]

# transparency-dev/merkle proof/verify_test.go: a hash in no tree, and the empty tree's hash.
SOME_HASH = h("abacaba000000000000000000000000000000000000000000060061e00123456")
EMPTY_ROOT = ROOTS[0]


def flip(value: bytes, bit: int) -> bytes:
    """``value`` with one bit inverted."""
    changed = bytearray(value)
    changed[bit // 8] ^= 1 << (bit % 8)
    return bytes(changed)


def path_length(index: int, size: int) -> int:
    """How many hashes the inclusion proof of ``index`` in a tree of ``size`` holds."""
    length = 0
    lo, hi = 0, size
    while hi - lo > 1:
        mid = lo + (1 << ((hi - lo - 1).bit_length() - 1))
        lo, hi = (lo, mid) if index < mid else (mid, hi)
        length += 1
    return length


# --- hashing and tree hashes -------------------------------------------------------------------


def test_leaf_hashes_match_the_published_level_zero_nodes():
    assert [leaf_hash(data) for data in LEAVES] == [NODES[0, i] for i in range(8)]


def test_node_hash_prefixes_one_to_the_concatenated_children():
    assert node_hash(NODES[0, 0], NODES[0, 1]) == NODES[1, 0]
    assert node_hash(b"a", b"b") == hashlib.sha256(b"\x01ab").digest()


@pytest.mark.parametrize("size", range(9))  # every prefix of the 8 published leaves, empty too
def test_root_of_each_prefix_matches_the_published_root(size):
    assert root(LEAVES[:size]) == ROOTS[size]


@pytest.mark.parametrize(("level", "index"), sorted(NODES))  # every complete subtree
def test_root_of_each_complete_subtree_matches_the_published_node_hash(level, index):
    assert root(LEAVES[index << level : (index + 1) << level]) == NODES[level, index]


def test_root_of_no_entries_is_the_hash_of_the_empty_string():
    assert root([]) == hashlib.sha256(b"").digest() == EMPTY_ROOT


# --- inclusion proofs ---------------------------------------------------------------------------


@pytest.mark.parametrize(("index", "size", "proof"), INCLUSION_PROOFS)
def test_inclusion_proof_matches_the_published_vector(index, size, proof):
    assert inclusion_proof(LEAVES[:size], index) == proof


@pytest.mark.parametrize(("index", "size", "proof"), INCLUSION_PROOFS)
def test_published_inclusion_proof_verifies(index, size, proof):
    assert verify_inclusion(leaf_hash(LEAVES[index]), index, size, proof, ROOTS[size])


InclusionCase = tuple[bytes, int, int, list[bytes], bytes]

# The corruptions of transparency-dev/merkle proof/verify_test.go corruptInclusionProof.
INCLUSION_CORRUPTIONS: dict[str, Callable[[InclusionCase], InclusionCase]] = {
    "index - 1": lambda c: (c[0], c[1] - 1, c[2], c[3], c[4]),
    "index + 1": lambda c: (c[0], c[1] + 1, c[2], c[3], c[4]),
    "index ^ 2": lambda c: (c[0], c[1] ^ 2, c[2], c[3], c[4]),
    "size * 2": lambda c: (c[0], c[1], c[2] * 2, c[3], c[4]),
    "size // 2": lambda c: (c[0], c[1], c[2] // 2, c[3], c[4]),
    "wrong leaf": lambda c: (b"WrongLeaf", c[1], c[2], c[3], c[4]),
    "empty root": lambda c: (c[0], c[1], c[2], c[3], EMPTY_ROOT),
    "random root": lambda c: (c[0], c[1], c[2], c[3], SOME_HASH),
    "trailing garbage": lambda c: (c[0], c[1], c[2], [*c[3], b""], c[4]),
    "trailing root": lambda c: (c[0], c[1], c[2], [*c[3], c[4]], c[4]),
    "preceding garbage": lambda c: (c[0], c[1], c[2], [b"", *c[3]], c[4]),
    "preceding root": lambda c: (c[0], c[1], c[2], [c[4], *c[3]], c[4]),
    "removed component": lambda c: (c[0], c[1], c[2], c[3][:-1], c[4]),
    "inserted component": lambda c: (c[0], c[1], c[2], [*c[3][:1], SOME_HASH, *c[3][1:]], c[4]),
}


def corrupted_inclusion_cases():
    """Every published inclusion proof under every corruption that changes it."""
    for index, size, proof in INCLUSION_PROOFS:
        case = (leaf_hash(LEAVES[index]), index, size, proof, ROOTS[size])
        for name, corrupt in sorted(INCLUSION_CORRUPTIONS.items()):
            changed = corrupt(case)
            if changed != case:  # removing a component of an empty proof changes nothing
                yield pytest.param(changed, id=f"{index}-of-{size}-{name}")


@pytest.mark.parametrize("case", list(corrupted_inclusion_cases()))
def test_corrupted_published_inclusion_proof_fails(case):
    assert not verify_inclusion(*case)


@pytest.mark.parametrize(
    ("index", "size"),
    [
        (0, 0),  # nothing is in an empty tree
        (1, 0),  # nothing is in an empty tree, at any index
        (2, 1),  # past the end of a one-leaf tree
        (-1, 1),  # a negative index
    ],
)
def test_inclusion_outside_the_tree_fails_whatever_the_hashes(index, size):
    # transparency-dev/merkle proof/verify_test.go TestVerifyInclusion probes.
    for leaf, tree_root in [(SOME_HASH, b""), (b"", EMPTY_ROOT), (SOME_HASH, EMPTY_ROOT)]:
        assert not verify_inclusion(leaf, index, size, [], tree_root)


@pytest.mark.parametrize(
    ("leaf", "tree_root", "verifies"),
    [
        (NODES[0, 0], NODES[0, 0], True),  # a one-leaf tree's root is its leaf hash
        (NODES[0, 0], b"", False),  # an empty root
        (b"", NODES[0, 0], False),  # an empty leaf hash
        (b"", b"", False),  # equal, but not hashes at all
    ],
)
def test_single_leaf_inclusion_needs_the_leaf_hash_as_root(leaf, tree_root, verifies):
    # transparency-dev/merkle proof/verify_test.go TestVerifyInclusionSingleEntry.
    assert verify_inclusion(leaf, 0, 1, [], tree_root) is verifies


def test_inclusion_verification_takes_the_leaf_hash_not_the_entry():
    proof = inclusion_proof(LEAVES, 3)
    assert verify_inclusion(leaf_hash(LEAVES[3]), 3, 8, proof, ROOTS[8])
    assert not verify_inclusion(LEAVES[3], 3, 8, proof, ROOTS[8])


def test_a_size_giving_the_same_path_shape_is_bound_only_by_the_root():
    # Leaf 0 takes the same path in trees of 3 and 4 leaves, so the proof alone cannot tell the
    # sizes apart (RFC 9162 §2.1.3.2): the root, signed with its size, is what binds the size.
    proof = inclusion_proof(LEAVES[:3], 0)
    assert verify_inclusion(NODES[0, 0], 0, 4, proof, ROOTS[3])
    assert not verify_inclusion(NODES[0, 0], 0, 4, proof, ROOTS[4])


@pytest.mark.parametrize(
    ("index", "size", "message"),
    [
        (8, 8, "index 8 is outside 0..7 for a tree of 8 entries"),  # one past the end
        (-1, 8, "index -1 is outside 0..7 for a tree of 8 entries"),  # negative
        (0, 0, "index 0 is outside the tree: a tree of 0 entries has no valid index"),  # empty
    ],
)
def test_inclusion_proof_of_a_missing_index_names_the_index_and_the_range(index, size, message):
    with pytest.raises(ValueError, match=message):
        inclusion_proof(LEAVES[:size], index)


# --- consistency proofs -------------------------------------------------------------------------


@pytest.mark.parametrize(("old_size", "new_size", "proof"), CONSISTENCY_PROOFS)
def test_consistency_proof_matches_the_published_vector(old_size, new_size, proof):
    assert consistency_proof(LEAVES[:new_size], old_size) == proof


@pytest.mark.parametrize(("old_size", "new_size", "proof"), CONSISTENCY_PROOFS)
def test_published_consistency_proof_verifies(old_size, new_size, proof):
    assert verify_consistency(old_size, new_size, ROOTS[old_size], ROOTS[new_size], proof)


ConsistencyCase = tuple[int, int, bytes, bytes, list[bytes]]

# The corruptions of transparency-dev/merkle proof/verify_test.go corruptConsistencyProof.
CONSISTENCY_CORRUPTIONS: dict[str, Callable[[ConsistencyCase], ConsistencyCase]] = {
    "old_size - 1": lambda c: (c[0] - 1, c[1], c[2], c[3], c[4]),
    "old_size + 1": lambda c: (c[0] + 1, c[1], c[2], c[3], c[4]),
    "old_size ^ 2": lambda c: (c[0] ^ 2, c[1], c[2], c[3], c[4]),
    "new_size * 2": lambda c: (c[0], c[1] * 2, c[2], c[3], c[4]),
    "new_size // 2": lambda c: (c[0], c[1] // 2, c[2], c[3], c[4]),
    "wrong old root": lambda c: (c[0], c[1], b"WrongRoot", c[3], c[4]),
    "wrong new root": lambda c: (c[0], c[1], c[2], b"WrongRoot", c[4]),
    "swapped roots": lambda c: (c[0], c[1], c[3], c[2], c[4]),
    "empty proof": lambda c: (c[0], c[1], c[2], c[3], []),
    "trailing garbage": lambda c: (c[0], c[1], c[2], c[3], [*c[4], b""]),
    "trailing old root": lambda c: (c[0], c[1], c[2], c[3], [*c[4], c[2]]),
    "trailing new root": lambda c: (c[0], c[1], c[2], c[3], [*c[4], c[3]]),
    "preceding garbage": lambda c: (c[0], c[1], c[2], c[3], [b"", *c[4]]),
    "preceding old root": lambda c: (c[0], c[1], c[2], c[3], [c[2], *c[4]]),
    "preceding new root": lambda c: (c[0], c[1], c[2], c[3], [c[3], *c[4]]),
    "preceding proof[0]": lambda c: (c[0], c[1], c[2], c[3], [c[4][0], *c[4]]),
    "truncated proof": lambda c: (c[0], c[1], c[2], c[3], c[4][:-1]),
}


@pytest.mark.parametrize("corruption", sorted(CONSISTENCY_CORRUPTIONS))
@pytest.mark.parametrize(
    ("old_size", "new_size", "proof"), [case for case in CONSISTENCY_PROOFS if case[2]]
)
def test_corrupted_published_consistency_proof_fails(old_size, new_size, proof, corruption):
    case = (old_size, new_size, ROOTS[old_size], ROOTS[new_size], proof)
    assert not verify_consistency(*CONSISTENCY_CORRUPTIONS[corruption](case))


@pytest.mark.parametrize(
    ("case", "verifies"),
    [
        # Equal sizes verify iff the roots are equal and the proof is empty.
        ((0, 0, EMPTY_ROOT, EMPTY_ROOT, []), True),
        ((1, 1, ROOTS[1], ROOTS[1], []), True),
        ((1, 1, ROOTS[1], ROOTS[2], []), False),
        ((1, 1, ROOTS[1], ROOTS[1], [EMPTY_ROOT]), False),
        ((0, 0, EMPTY_ROOT, EMPTY_ROOT, [EMPTY_ROOT]), False),
        # The empty tree is a prefix of every tree: the proof is empty...
        ((0, 1, EMPTY_ROOT, ROOTS[1], []), True),
        ((0, 8, EMPTY_ROOT, SOME_HASH, []), True),
        ((0, 1, EMPTY_ROOT, ROOTS[1], [EMPTY_ROOT]), False),
        # ...but the old root must be the empty tree's (transparency-dev/merkle ignores it).
        ((0, 1, ROOTS[1], ROOTS[1], []), False),
        ((0, 0, SOME_HASH, SOME_HASH, []), False),
        # Time travel to the past.
        ((1, 0, ROOTS[1], EMPTY_ROOT, []), False),
        ((2, 1, ROOTS[2], ROOTS[1], []), False),
        # Different sizes need a non-empty proof.
        ((1, 2, ROOTS[1], ROOTS[2], []), False),
        # Negative sizes.
        ((-1, 1, EMPTY_ROOT, ROOTS[1], []), False),
        # Hashes of the wrong length, even when equal.
        ((1, 1, b"don't care", b"don't care", []), False),
    ],
)
def test_consistency_edge_cases(case, verifies):
    # (old_size, new_size, old_root, new_root, proof), adapted from transparency-dev/merkle
    # proof/verify_test.go TestVerifyConsistency.
    assert verify_consistency(*case) is verifies


@pytest.mark.parametrize(
    ("old_size", "new_size", "message"),
    [
        (0, 8, "old_size 0 is outside 1..8 for a tree of 8 entries"),  # from an empty tree
        (9, 8, "old_size 9 is outside 1..8 for a tree of 8 entries"),  # from a bigger tree
        (0, 0, "old_size 0 is outside the tree: a tree of 0 entries has no valid old_size"),
    ],
)
def test_consistency_proof_from_a_bad_size_names_the_size_and_the_range(
    old_size, new_size, message
):
    with pytest.raises(ValueError, match=message):
        consistency_proof(LEAVES[:new_size], old_size)


# --- properties ---------------------------------------------------------------------------------

# Distinct entries: with duplicates, another index holding the same entry may share a proof.
entry_lists = st.lists(st.binary(max_size=6), min_size=1, max_size=70, unique=True)


@settings(max_examples=150, deadline=None)
@given(entries=entry_lists, data=st.data())
def test_every_inclusion_proof_verifies(entries, data):
    index = data.draw(st.integers(0, len(entries) - 1), label="index")
    proof = inclusion_proof(entries, index)
    assert len(proof) == path_length(index, len(entries))
    assert verify_inclusion(leaf_hash(entries[index]), index, len(entries), proof, root(entries))


@settings(max_examples=150, deadline=None)
@given(entries=entry_lists, data=st.data())
def test_every_consistency_proof_verifies(entries, data):
    old_size = data.draw(st.integers(1, len(entries)), label="old_size")
    proof = consistency_proof(entries, old_size)
    assert verify_consistency(
        old_size, len(entries), root(entries[:old_size]), root(entries), proof
    )


@settings(max_examples=150, deadline=None)
@given(entries=entry_lists, data=st.data())
def test_flipping_any_bit_breaks_an_inclusion_proof(entries, data):
    n = len(entries)
    index = data.draw(st.integers(0, n - 1), label="index")
    leaf, proof, tree_root = (
        leaf_hash(entries[index]),
        inclusion_proof(entries, index),
        root(entries),
    )
    bit = data.draw(st.integers(0, 255), label="bit")
    target = data.draw(st.integers(-2, len(proof) - 1), label="target")  # -2 leaf, -1 root
    if target == -2:
        leaf = flip(leaf, bit)
    elif target == -1:
        tree_root = flip(tree_root, bit)
    else:
        proof[target] = flip(proof[target], bit)
    assert not verify_inclusion(leaf, index, n, proof, tree_root)


@settings(max_examples=150, deadline=None)
@given(entries=entry_lists, data=st.data())
def test_flipping_any_bit_breaks_a_consistency_proof(entries, data):
    n = len(entries)
    old_size = data.draw(st.integers(1, n), label="old_size")
    proof = consistency_proof(entries, old_size)
    old_root, new_root = root(entries[:old_size]), root(entries)
    bit = data.draw(st.integers(0, 255), label="bit")
    target = data.draw(st.integers(-2, len(proof) - 1), label="target")  # -2 old, -1 new root
    if target == -2:
        old_root = flip(old_root, bit)
    elif target == -1:
        new_root = flip(new_root, bit)
    else:
        proof[target] = flip(proof[target], bit)
    assert not verify_consistency(old_size, n, old_root, new_root, proof)


@settings(max_examples=150, deadline=None)
@given(entries=entry_lists.filter(lambda e: len(e) > 1), data=st.data())
def test_inclusion_proof_fails_at_any_other_index(entries, data):
    n = len(entries)
    index = data.draw(st.integers(0, n - 1), label="index")
    other = data.draw(st.integers(-1, n).filter(lambda i: i != index), label="other")
    proof = inclusion_proof(entries, index)
    assert not verify_inclusion(leaf_hash(entries[index]), other, n, proof, root(entries))


@settings(max_examples=150, deadline=None)
@given(entries=entry_lists, data=st.data())
def test_inclusion_proof_fails_for_any_size_with_another_path_shape(entries, data):
    # Sizes that give the leaf the same path shape are bound by the root only; see
    # test_a_size_giving_the_same_path_shape_is_bound_only_by_the_root.
    n = len(entries)
    index = data.draw(st.integers(0, n - 1), label="index")
    proof = inclusion_proof(entries, index)
    other = data.draw(
        st.integers(0, 2 * n + 2).filter(
            lambda s: s != n and (s <= index or path_length(index, s) != len(proof))
        ),
        label="other size",
    )
    assert not verify_inclusion(leaf_hash(entries[index]), index, other, proof, root(entries))


def test_module_exports_exactly_its_public_functions():
    public = {
        name
        for name, value in vars(rfc9162).items()
        if callable(value) and value.__module__ == rfc9162.__name__ and not name.startswith("_")
    }
    assert sorted(rfc9162.__all__) == sorted(public)
