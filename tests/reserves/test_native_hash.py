"""The native SHA-256 helper: hashlib's and hmac's bytes exactly, and the same sum tree.

Native-only tests skip, saying why, when the helper is not in use (not built, or
``ASSAY_NATIVE=0``); ``make install`` builds it. The comparisons with the fallback build the tree
twice, once with ``ASSAY_NATIVE=0`` (hashlib, forked workers) and once with the helper (threads).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assay.errors import InvalidInput
from assay.reserves import layout, native, sumtree
from assay.reserves.layout import Asset, Round

VECTORS = Path(__file__).parent / "vectors"
DETERMINISTIC = settings(max_examples=80, deadline=None, derandomize=True, database=None)
SECRET = bytes(range(32))


@pytest.fixture(scope="module")
def hasher() -> native.Hasher:
    loaded = native.hasher()
    if loaded is None:
        pytest.skip(f"the native SHA-256 helper is not in use: {native.unavailable()}")
    return loaded


def _joined(messages: list[bytes]) -> tuple[bytes, np.ndarray]:
    offsets = np.zeros(len(messages) + 1, dtype=np.int64)
    np.cumsum([len(m) for m in messages], out=offsets[1:])
    return b"".join(messages), offsets


def _rows(digests: np.ndarray) -> list[bytes]:
    return [row.tobytes() for row in digests]


# --- the primitives against hashlib and hmac -----------------------------------------------

_MESSAGES = st.lists(st.binary(max_size=300), max_size=40)


@DETERMINISTIC
@given(_MESSAGES)
def test_sha256_of_messages_by_offsets_is_hashlib_s(hasher, messages) -> None:
    data, offsets = _joined(messages)
    assert _rows(hasher.sha256(data, offsets)) == [hashlib.sha256(m).digest() for m in messages]


def test_sha256_of_empty_and_long_messages_is_hashlib_s(hasher) -> None:
    messages = [b"", b"a" * 55, b"b" * 56, b"c" * 64, bytes(range(256)) * 4096, b""]
    data, offsets = _joined(messages)
    assert _rows(hasher.sha256(data, offsets)) == [hashlib.sha256(m).digest() for m in messages]
    assert hasher.sha256(b"", np.zeros(1, dtype=np.int64)).shape == (0, 32)


@DETERMINISTIC
@given(
    st.binary(max_size=200),  # keys: empty, short, a block exactly, longer than a block
    _MESSAGES,
)
def test_hmac_sha256_of_messages_is_hmac_s(hasher, key, messages) -> None:
    data, offsets = _joined(messages)
    expected = [hmac.digest(key, m, "sha256") for m in messages]
    assert _rows(hasher.hmac_sha256(key, data, offsets)) == expected


@pytest.mark.parametrize("size", [0, 1, 32, 63, 64, 65, 128])  # around the 64-byte key block
def test_hmac_keys_of_every_length_class_give_hmac_s_salts(hasher, size) -> None:
    key = bytes(range(7, 7 + size))
    messages = [b"", b"alice", b"x" * 100]
    data, offsets = _joined(messages)
    expected = [hmac.digest(key, m, "sha256") for m in messages]
    assert _rows(hasher.hmac_sha256(key, data, offsets)) == expected


@DETERMINISTIC
@given(st.integers(0, 20), st.integers(1, 131), st.data())
def test_sha256_of_records_at_a_stride_is_hashlib_s(hasher, n, stride, data) -> None:
    length = data.draw(st.integers(0, stride))
    rows = np.frombuffer(data.draw(st.binary(min_size=n * stride, max_size=n * stride)), np.uint8)
    records = rows.reshape(n, stride)
    expected = [hashlib.sha256(r[:length].tobytes()).digest() for r in records]
    assert _rows(hasher.sha256_strided(records, length)) == expected


@DETERMINISTIC
@given(st.integers(0, 12), st.integers(0, 6), st.data())
def test_leaves_are_layout_s_leaf_and_padding_hashes(hasher, n, k, data) -> None:
    digest = data.draw(st.binary(min_size=32, max_size=32))
    salts = np.frombuffer(data.draw(st.binary(min_size=32 * n, max_size=32 * n)), np.uint8)
    salts = salts.reshape(n, 32)
    limbs = np.array(
        [[data.draw(st.integers(0, 2**64 - 1)) for _ in range(k)] for _ in range(n)],
        dtype=np.uint64,
    ).reshape(n, k)
    ids = data.draw(st.lists(st.binary(min_size=1, max_size=130), min_size=n, max_size=n))
    joined, offsets = _joined(ids)
    leaves = hasher.leaves(layout.TAG_LEAF + digest, salts, limbs, joined, offsets)
    pads = hasher.leaves(layout.TAG_PAD + digest, salts)
    for i in range(n):
        amounts = limbs[i].astype(">u8").tobytes()
        assert leaves[i].tobytes() == layout.leaf_hash(digest, salts[i].tobytes(), amounts, ids[i])
        assert pads[i].tobytes() == layout.pad_hash(digest, salts[i].tobytes())


_ASSETS = st.lists(st.tuples(st.sampled_from([8, 16]), st.booleans()), min_size=1, max_size=4).map(
    lambda spec: tuple(Asset(f"A{i}", 6, w, d) for i, (w, d) in enumerate(spec))
)


@DETERMINISTIC
@given(_ASSETS, st.integers(0, 9), st.data())
def test_nodes_are_layout_s_node_hashes_and_carry_like_the_numpy_sums(
    hasher, assets, pairs, data
) -> None:
    limbs = sumtree._Limbs(assets)
    hashes = np.frombuffer(data.draw(st.binary(min_size=64 * pairs, max_size=64 * pairs)), np.uint8)
    hashes = hashes.reshape(2 * pairs, 32)
    # Values near 2^63 so that low limbs carry into high ones and 8-byte sums sometimes pass 2^64.
    values = st.one_of(st.integers(0, 2**64 - 1), st.integers(2**63 - 5, 2**63 + 5))
    rows = [[data.draw(values) for _ in range(limbs.count)] for _ in range(2 * pairs)]
    sums = np.array(rows, dtype=np.uint64).reshape(2 * pairs, limbs.count)
    try:
        expected = limbs.add(sums[0::2], sums[1::2])
    except InvalidInput:
        with pytest.raises(OverflowError):
            hasher.nodes(layout.TAG_NODE, hashes, sums, limbs.chained)
        return
    up, up_sums = hasher.nodes(layout.TAG_NODE, hashes, sums, limbs.chained)
    assert (up_sums == expected).all()
    for i in range(pairs):
        left, right = sums[2 * i].astype(">u8").tobytes(), sums[2 * i + 1].astype(">u8").tobytes()
        node = layout.node_hash(hashes[2 * i].tobytes(), hashes[2 * i + 1].tobytes(), left, right)
        assert up[i].tobytes() == node


def test_results_can_be_written_into_a_given_array(hasher) -> None:
    out = np.zeros((4, 32), dtype=np.uint8)
    data, offsets = _joined([b"a", b"b"])
    hasher.sha256(data, offsets, out=out[1:3])
    assert _rows(out) == [bytes(32), *(hashlib.sha256(m).digest() for m in (b"a", b"b")), bytes(32)]


# --- bad buffers are refused before C sees them ---------------------------------------------

_OFFSETS = np.array([0, 2, 5], dtype=np.int64)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        # offsets that run past the data
        (lambda h: h.sha256(b"abcd", _OFFSETS), "at most the data's 4 bytes"),
        # offsets that go backwards
        (lambda h: h.sha256(b"abcde", np.array([0, 3, 2], np.int64)), "not in order"),
        # a negative first offset
        (lambda h: h.sha256(b"abcde", np.array([-1, 2], np.int64)), "from 0 or more"),
        # no offsets at all
        (lambda h: h.sha256(b"", np.zeros(0, np.int64)), "at least one"),
        # offsets of another type
        (lambda h: h.sha256(b"abcde", _OFFSETS.astype(np.int32)), "offsets must be"),
        # offsets as a list
        (lambda h: h.sha256(b"abcde", [0, 2, 5]), "offsets must be a numpy array"),
        # a key that is not bytes
        (lambda h: h.hmac_sha256("key", b"abcde", _OFFSETS), "key must be bytes"),
        # a record length beyond the stride
        (lambda h: h.sha256_strided(np.zeros((2, 8), np.uint8), 9), "length must be 0 to"),
        # records of the wrong type
        (lambda h: h.sha256_strided(np.zeros((2, 8), np.uint16), 4), "records must be"),
        # salts of 31 bytes
        (lambda h: h.leaves(b"p", np.zeros((2, 31), np.uint8)), "salts must be (n, 32)"),
        # fewer rows of limbs than salts
        (
            lambda h: h.leaves(b"p", np.zeros((2, 32), np.uint8), np.zeros((1, 2), np.uint64)),
            "one row per salt",
        ),
        # ids without offsets
        (lambda h: h.leaves(b"p", np.zeros((2, 32), np.uint8), None, b"ab"), "go together"),
        # offsets for three ids given two salts
        (
            lambda h: h.leaves(
                b"p", np.zeros((2, 32), np.uint8), None, b"abc", np.arange(4, dtype=np.int64)
            ),
            "must hold 3 boundaries",
        ),
        # an odd number of children
        (
            lambda h: h.nodes(b"t", np.zeros((3, 32), np.uint8), np.zeros((3, 1), np.uint64), [0]),
            "pairs of rows",
        ),
        # a carry flag per limb missing
        (
            lambda h: h.nodes(
                b"t",
                np.zeros((2, 32), np.uint8),
                np.zeros((2, 2), np.uint64),
                np.zeros(1, np.uint8),
            ),
            "one flag per limb (2)",
        ),
        # an output array of the wrong shape
        (lambda h: h.sha256(b"abcde", _OFFSETS, out=np.zeros((3, 32), np.uint8)), "(2, 32)"),
        # a read-only output array
        (
            lambda h: h.sha256(b"abcde", _OFFSETS, out=np.frombuffer(bytes(64), np.uint8)),
            "writable C-contiguous",
        ),
    ],
)
def test_bad_buffers_are_refused_with_a_message_naming_them(hasher, call, message) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        call(hasher)


def test_a_missing_or_broken_library_is_reported_not_loaded(tmp_path: Path) -> None:
    assert "is not built" in str(native.load(tmp_path / "missing.so"))
    broken = tmp_path / "broken.so"
    broken.write_bytes(b"not a shared library")
    assert "cannot be loaded" in str(native.load(broken))


def test_assay_native_0_selects_the_fallback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(native.ENV, "0")
    assert native.hasher() is None
    assert native.unavailable() == "ASSAY_NATIVE=0 asks for hashlib"


# --- the sum tree with and without the helper ----------------------------------------------


def _both(monkeypatch: pytest.MonkeyPatch, *args: Any, **kwargs: Any) -> tuple[Any, Any]:
    """The tree built by the helper, then by hashlib (ASSAY_NATIVE=0)."""
    fast = sumtree.build(*args, **kwargs)
    with monkeypatch.context() as patched:
        patched.setenv(native.ENV, "0")
        slow = sumtree.build(*args, **kwargs)
    return fast, slow


def _same(fast: sumtree.SumTree, slow: sumtree.SumTree, ids: list[str]) -> None:
    assert fast.root == slow.root
    assert fast.height == slow.height
    for level in range(fast.height + 1):
        size = -(-fast.round.capacity >> level)
        for index in sorted({0, size // 3, size // 2, size - 1}):
            assert fast.node(level, index) == slow.node(level, index)
    for account in ids:
        assert fast.path(account) == slow.path(account)


_MIXED = (Asset("BTC", 8, 8), Asset("USDT", 6, 16, debt_allowed=True), Asset("ETH", 9, 8))


@pytest.mark.parametrize(
    "case",  # accounts, capacity, kind of ids, workers
    [
        (1, 1, "numpy", 1),  # a single leaf is the root
        (5, 8, "list", 1),  # padding below a power of two
        (777, 1000, "numpy", 2),  # padding, an odd level, two threads against two processes
        (3000, 3000, "variable", 2),  # ids of varying lengths in a numpy array
        (2000, 70_000, "unicode", 2),  # non-ASCII ids; two blocks of padding salts
        (4096, 4096, "list-unicode", 1),  # a list of str, some not ASCII
    ],
)
def test_the_helper_builds_the_fallback_s_tree_bit_for_bit(hasher, monkeypatch, case) -> None:
    n, capacity, kind, workers = case
    rng = np.random.default_rng(n)
    ids: Any = {
        "numpy": np.array([f"{10**9 + i}" for i in range(n)]),
        "list": [f"acct-{i}" for i in range(n)],
        "variable": np.array([f"u{i * 7919 % 100_003}" for i in range(n)]),
        "unicode": np.array([f"café-{i}" if i % 3 else f"{i}" for i in range(n)]),
        "list-unicode": [f"用户{i}" if i % 5 == 0 else f"user{i}" for i in range(n)],
    }[kind]
    equity = rng.integers(0, 2**50, (n, 3), dtype=np.uint64)
    equity[::5, 1] = rng.integers(2**63, 2**64 - 1, equity[::5, 1].shape, dtype=np.uint64)
    debt = np.zeros((n, 3), dtype=np.uint64)
    debt[::3, 1] = rng.integers(0, 2**63, debt[::3, 1].shape, dtype=np.uint64)
    rnd = Round("native", _MIXED, capacity)
    fast, slow = _both(monkeypatch, rnd, SECRET, ids, equity, debt, workers=workers)
    _same(fast, slow, [str(ids[i]) for i in sorted({0, n // 2, n - 1})])


def test_a_round_large_enough_to_sort_on_threads_has_the_same_tree(hasher, monkeypatch) -> None:
    n = 1500
    ids = np.array([f"a{i:06d}" for i in range(n)])
    equity = np.random.default_rng(7).integers(0, 2**40, (n, 3), dtype=np.uint64)
    rnd = Round("sorted-on-threads", _MIXED, (1 << 20) + 3)  # the sort is cut among threads
    one = sumtree.build(rnd, SECRET, ids, equity, workers=1)
    three = sumtree.build(rnd, SECRET, ids, equity, workers=3, block_levels=12)
    monkeypatch.setenv(native.ENV, "0")
    slow = sumtree.build(rnd, SECRET, ids, equity, workers=2)
    _same(one, slow, ["a000000", "a000777", "a001499"])
    _same(three, slow, ["a000000", "a000777", "a001499"])


_IDS = st.text(st.characters(codec="utf-8"), min_size=1, max_size=12).filter(str.isprintable)


@DETERMINISTIC
@given(st.lists(_IDS, max_size=30, unique=True), st.randoms(use_true_random=False))
def test_shuffled_accounts_give_the_fallback_s_root(hasher, ids, rng) -> None:
    equity = [[len(i), 7] for i in ids]
    rnd = Round("shuffled", _MIXED[:2], max(1, len(ids) + 3))
    with pytest.MonkeyPatch.context() as patched:
        fast = sumtree.build(rnd, SECRET, ids, equity)
        patched.setenv(native.ENV, "0")
        slow = sumtree.build(rnd, SECRET, ids, equity)
    order = list(range(len(ids)))
    rng.shuffle(order)
    shuffled = sumtree.build(rnd, SECRET, [ids[k] for k in order], [equity[k] for k in order])
    assert fast.root == slow.root == shuffled.root


@pytest.mark.parametrize("name", ["round-4-accounts", "round-4-accounts-padded"])
def test_the_documented_vectors_come_out_of_the_helper(hasher, name) -> None:
    vector = json.loads((VECTORS / f"{name}.json").read_text(encoding="utf-8"))
    rnd = Round(
        vector["round"]["id"],
        tuple(Asset(**a) for a in vector["round"]["assets"]),
        vector["round"]["capacity"],
    )
    accounts = vector["accounts"]
    tree = sumtree.build(
        rnd,
        bytes.fromhex(vector["secret"]),
        [a["id"] for a in accounts],
        [[int(v) for v in a["equity"]] for a in accounts],
        [[int(v) for v in a["debt"]] for a in accounts],
    )
    assert tree.root.hash.hex() == vector["root"]["hash"]
    assert [str(v) for v in tree.root.equity] == vector["root"]["equity"]
    leaves = tree.levels()[0]
    assert [n.hash.hex() for n in leaves] == [leaf["hash"] for leaf in vector["leaves"]]


@pytest.mark.parametrize(
    "ids",
    [
        ["ok", ""],  # an empty id
        ["ok", "tab\there"],  # a control character
        np.array(["ok", "nul\x00inside"]),  # a NUL inside a numpy id
        ["ok", "x" * 129],  # 129 bytes
        np.array(["ok", "é" * 65]),  # 65 characters, 130 bytes of UTF-8
        ["ok", "\ud800"],  # a lone surrogate
        ["ok", 7],  # not a str
    ],
)
def test_bad_ids_are_refused_alike_with_and_without_the_helper(hasher, monkeypatch, ids) -> None:
    rnd = Round("bad", _MIXED[:1], 4)
    with pytest.raises(InvalidInput) as fast:
        sumtree.build(rnd, SECRET, ids, [[1], [2]])
    monkeypatch.setenv(native.ENV, "0")
    with pytest.raises(InvalidInput) as slow:
        sumtree.build(rnd, SECRET, ids, [[1], [2]])
    assert (fast.value.message, fast.value.field) == (slow.value.message, slow.value.field)
    assert fast.value.field == "account_ids[1]"


def test_a_sum_beyond_its_width_is_refused_alike_with_and_without_the_helper(
    hasher, monkeypatch
) -> None:
    rnd = Round("over", (Asset("BTC", 8, 8), Asset("USDT", 6, 16)), 4)
    equity = [[2**63, 2**64 - 1], [2**63, 2**64 - 1], [0, 0]]
    with pytest.raises(InvalidInput) as fast:
        sumtree.build(rnd, SECRET, ["a", "b", "c"], equity)
    monkeypatch.setenv(native.ENV, "0")
    with pytest.raises(InvalidInput) as slow:
        sumtree.build(rnd, SECRET, ["a", "b", "c"], equity)
    assert fast.value.details["reason"] == "amount-overflow"
    assert (fast.value.message, fast.value.field) == (slow.value.message, slow.value.field)
