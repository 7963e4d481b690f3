"""The Merkle tree of RFC 9162 (Certificate Transparency 2.0), §2.1, written as the RFC states it.

This is the reference the rest of the trail is measured against: every function is a direct
transcription of the RFC's recursive definitions (MTH, PATH, PROOF/SUBPROOF) or of its verification
algorithms, over entries held in memory. It favours being obviously right over being fast (a proof
costs O(n) hashes); ``tlog`` computes the same proofs from stored subtree hashes in O(log n).

It must never grow storage, I/O or shortcuts: it is pure (``hashlib`` only), and its output is the
definition of a correct tree hash or proof. Verification never raises: a malformed input is simply
a proof that does not verify.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

__all__ = [
    "consistency_proof",
    "inclusion_proof",
    "leaf_hash",
    "node_hash",
    "root",
    "verify_consistency",
    "verify_inclusion",
]

_HASH_SIZE = 32
_LEAF_PREFIX = b"\x00"
_NODE_PREFIX = b"\x01"


def leaf_hash(data: bytes) -> bytes:
    """The hash of one entry: SHA-256(0x00 || data) (RFC 9162 §2.1.1)."""
    return hashlib.sha256(_LEAF_PREFIX + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """The hash of an interior node: SHA-256(0x01 || left || right) (RFC 9162 §2.1.1)."""
    return hashlib.sha256(_NODE_PREFIX + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two smaller than ``n`` (``n >= 2``): where MTH splits D[n]."""
    return 1 << ((n - 1).bit_length() - 1)


def _mth(hashes: Sequence[bytes], lo: int, hi: int) -> bytes:
    """MTH(D[lo:hi]) for a non-empty range, given the entries' leaf hashes."""
    n = hi - lo
    if n == 1:
        return hashes[lo]
    k = _split(n)
    return node_hash(_mth(hashes, lo, lo + k), _mth(hashes, lo + k, hi))


def root(leaves: Sequence[bytes]) -> bytes:
    """The Merkle Tree Hash MTH(D[n]) of a list of entries (RFC 9162 §2.1.1).

    Args:
        leaves: the entries themselves (not their hashes), in log order.

    Returns:
        The 32-byte tree hash; for no entries, SHA-256 of the empty string.
    """
    if not leaves:
        return hashlib.sha256(b"").digest()
    hashes = [leaf_hash(entry) for entry in leaves]
    return _mth(hashes, 0, len(hashes))


def _path(m: int, hashes: Sequence[bytes], lo: int, hi: int) -> list[bytes]:
    """PATH(m, D[lo:hi]), with ``m`` counted from ``lo``."""
    n = hi - lo
    if n == 1:
        return []
    k = _split(n)
    if m < k:
        return [*_path(m, hashes, lo, lo + k), _mth(hashes, lo + k, hi)]
    return [*_path(m - k, hashes, lo + k, hi), _mth(hashes, lo, lo + k)]


def inclusion_proof(leaves: Sequence[bytes], index: int) -> list[bytes]:
    """The inclusion proof PATH(m, D[n]) of entry ``index`` (RFC 9162 §2.1.3.1).

    Args:
        leaves: the entries of the tree, in log order.
        index: position of the entry to prove, ``0 <= index < len(leaves)``.

    Returns:
        The sibling hashes from the leaf's level up to the root's children.

    Raises:
        ValueError: ``index`` is not the position of an entry.
    """
    n = len(leaves)
    if not 0 <= index < n:
        raise ValueError(_outside("index", index, 0, n - 1, n))
    hashes = [leaf_hash(entry) for entry in leaves]
    return _path(index, hashes, 0, n)


def _subproof(m: int, hashes: Sequence[bytes], lo: int, hi: int, known: bool) -> list[bytes]:
    """SUBPROOF(m, D[lo:hi], b), with ``m`` counted from ``lo`` and ``known`` for b."""
    n = hi - lo
    if m == n:
        return [] if known else [_mth(hashes, lo, hi)]
    k = _split(n)
    if m <= k:
        return [*_subproof(m, hashes, lo, lo + k, known), _mth(hashes, lo + k, hi)]
    return [*_subproof(m - k, hashes, lo + k, hi, False), _mth(hashes, lo, lo + k)]


def consistency_proof(leaves: Sequence[bytes], old_size: int) -> list[bytes]:
    """The consistency proof PROOF(m, D[n]) from the first ``old_size`` entries (RFC 9162 §2.1.4.1).

    Args:
        leaves: the entries of the newer tree, in log order.
        old_size: size m of the older tree, ``1 <= old_size <= len(leaves)``.

    Returns:
        SUBPROOF(m, D[n], true): empty when ``old_size == len(leaves)``.

    Raises:
        ValueError: ``old_size`` is 0 (an empty tree needs no proof) or larger than the tree.
    """
    n = len(leaves)
    if not 1 <= old_size <= n:
        raise ValueError(_outside("old_size", old_size, 1, n, n))
    hashes = [leaf_hash(entry) for entry in leaves]
    return _subproof(old_size, hashes, 0, n, True)


def _outside(name: str, value: int, low: int, high: int, size: int) -> str:
    """The message for an argument outside ``low..high`` in a tree of ``size`` entries."""
    if high < low:
        return f"{name} {value} is outside the tree: a tree of {size} entries has no valid {name}"
    return f"{name} {value} is outside {low}..{high} for a tree of {size} entries"


def _well_formed(*hashes: bytes) -> bool:
    """Whether every value has the length of a SHA-256 hash."""
    return all(len(h) == _HASH_SIZE for h in hashes)


def verify_inclusion(
    leaf: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> bool:
    """Whether ``proof`` shows the leaf at ``index`` in the tree of ``size`` with ``root``.

    The RFC 9162 §2.1.3.2 algorithm, step by step. Before it runs, every hash (leaf, root and
    proof elements) must be 32 bytes long; anything else is a malformed proof and fails.

    Args:
        leaf: the LEAF HASH of the entry, ``leaf_hash(data)`` (32 bytes), as in the RFC's
            algorithm, not the entry data itself.
        index: the entry's claimed position.
        size: the size of the tree that ``root`` is the hash of.
        proof: the inclusion path, lowest sibling first.
        root: the tree hash the proof must lead to.

    Returns:
        True when the proof verifies; False for a wrong proof and for any bad input (index
        outside ``0..size-1``, wrong proof length, hashes of the wrong size). Never raises.
    """
    # Step 1, and the hash lengths.
    if not 0 <= index < size or not _well_formed(leaf, root, *proof):
        return False
    # Steps 2-3.
    fn, sn, r = index, size - 1, leaf
    # Step 4.
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while fn and not fn & 1:  # Only when LSB(fn) was not set: climb past the gap.
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    # Step 5.
    return sn == 0 and r == root


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> bool:
    """Whether ``proof`` shows the tree of ``old_size`` is a prefix of the tree of ``new_size``.

    For ``0 < old_size < new_size``, the RFC 9162 §2.1.4.2 algorithm, step by step (including
    prepending ``old_root`` when ``old_size`` is a power of two, and the final ``sn == 0`` check).
    The RFC states it only for that case; the others are decided here:

    * ``old_size == new_size``: verifies iff the proof is empty and the roots are equal.
    * ``old_size == 0``: the empty tree is a prefix of every tree, so the proof must be empty
      (RFC 9162 §2.1.4.1 defines no proof from an empty tree). ``old_root`` must still be the
      empty tree's hash, SHA-256(""), the only root a tree of no entries can have. (Some
      verifiers, such as transparency-dev/merkle, ignore ``old_root`` here; we do not.)

    Every hash must be 32 bytes long; anything else fails.

    Args:
        old_size: size of the older tree.
        new_size: size of the newer tree.
        old_root: tree hash of the older tree.
        new_root: tree hash of the newer tree.
        proof: the consistency proof, as from :func:`consistency_proof`.

    Returns:
        True when the proof verifies; False for a wrong proof and for any bad input (negative
        sizes, ``old_size > new_size``, wrong proof length, hashes of the wrong size). Never
        raises.
    """
    if not 0 <= old_size <= new_size or not _well_formed(old_root, new_root, *proof):
        return False
    if old_size == 0:
        empty = hashlib.sha256(b"").digest()
        return not proof and old_root == empty and (new_size > 0 or new_root == empty)
    if old_size == new_size:
        return not proof and old_root == new_root
    # Step 1: a proof between different trees is never empty.
    if not proof:
        return False
    # Step 2: a power-of-two old tree is a complete subtree: its root is the path's start.
    path = [old_root, *proof] if old_size & (old_size - 1) == 0 else list(proof)
    # Steps 3-4.
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    # Step 5.
    fr = sr = path[0]
    # Step 6.
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while fn and not fn & 1:  # Only when LSB(fn) was not set: climb past the gap.
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    # Step 7.
    return fr == old_root and sr == new_root and sn == 0
