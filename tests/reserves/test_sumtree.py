"""The sum tree: known-answer vectors, agreement with a plain reference, properties, bad input.

The reference below is the layout of docs/formats/reserves-tree.md written out with the standard
library only (the hashing primitives are the standalone verifier's): salts by HMAC, padding salts
by HMAC of the padding label and counter, leaves sorted by salt, pairs hashed level by level with
an odd last node carried up. The vectors in ``vectors/`` are its output for two fixed rounds (set
WRITE_POR_VECTORS=1 to write them again); the numpy tree must reproduce them and agree with the
reference on random rounds. Hypothesis runs derandomized so every run checks the same examples.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import struct
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assay.errors import InvalidInput, NotFound
from assay.reserves import layout, sumtree, verify_proof
from assay.reserves.layout import Asset, Round

VECTORS = Path(__file__).parent / "vectors"
DETERMINISTIC = settings(max_examples=60, deadline=None, derandomize=True, database=None)
SECRET = bytes(range(32))
PAD_TAG = b"assay-por/pad/1\x00"
PAD_LABEL = b"\x00assay-por/pad/1"

# Two fixed rounds: four accounts, two assets (BTC at 8 bytes, USDT at 16 with debt allowed);
# the second pads to a capacity of 6, so it has padding leaves and a carried node.
ACCOUNTS = [
    ("alice", [150_000_000, 2_500_000_000], [0, 0]),
    ("bob", [0, 1_000_000], [0, 250_000_000]),
    ("carol", [2_100_000_000_000_000, 0], [0, 0]),
    ("dave", [1, 1], [0, 1]),
]
ASSETS = (Asset("BTC", 8, 8), Asset("USDT", 6, 16, debt_allowed=True))
CASES = {
    "round-4-accounts": (Round("2026-11-25/v1", ASSETS, 4), SECRET),
    "round-4-accounts-padded": (Round("2026-11-25/v2", ASSETS, 6), bytes(range(32, 64))),
}


def _assets(rnd: Round) -> list[verify_proof.Asset]:
    return [verify_proof.Asset(a.code, a.decimals, a.width, a.debt_allowed) for a in rnd.assets]


def _node(digest: bytes, equity: list[int], debt: list[int]) -> dict[str, Any]:
    return {
        "hash": digest.hex(),
        "equity": [str(v) for v in equity],
        "debt": [str(v) for v in debt],
    }


def reference(
    rnd: Round, secret: bytes, accounts: list[tuple[str, list[int], list[int]]]
) -> dict[str, Any]:
    """Every value of the round's tree, computed as the format document states it."""
    assets = _assets(rnd)
    digest = verify_proof.round_digest(rnd.id, rnd.capacity, assets)
    leaves: list[tuple[bytes, str, str | None, bytes, list[int], list[int]]] = []
    for account, equity, debt in accounts:
        raw = account.encode()
        salt = hmac.digest(secret, raw, "sha256")
        message = verify_proof.TAG_LEAF + digest + salt + verify_proof.encode(assets, equity, debt)
        message += raw
        leaves.append((salt, "account", account, message, equity, debt))
    zero = [0] * len(assets)
    for k in range(rnd.capacity - len(accounts)):
        counter = struct.pack(">II", k >> 16, (k & 0xFFFF) + 1)
        salt = hmac.digest(secret, PAD_LABEL + counter, "sha256")
        leaves.append((salt, "padding", None, PAD_TAG + digest + salt, zero, zero))
    leaves.sort(key=lambda leaf: leaf[0])
    level = []
    listed = []
    for position, (salt, kind, owner, message, equity, debt) in enumerate(leaves):
        digest_ = hashlib.sha256(message).digest()
        level.append((digest_, equity, debt))
        listed.append(
            {"position": position, "kind": kind, "account": owner, "salt": salt.hex()}
            | {"message": message.hex()}
            | _node(digest_, equity, debt)
        )
    levels = []
    while len(level) > 1:
        up, shown = [], []
        for i in range(0, len(level) - 1, 2):
            (lh, le, ld), (rh, re_, rd) = level[i], level[i + 1]
            ls, rs = verify_proof.encode(assets, le, ld), verify_proof.encode(assets, re_, rd)
            message = verify_proof.TAG_NODE + lh + rh + ls + rs
            sums = (
                [a + b for a, b in zip(le, re_, strict=True)],
                [a + b for a, b in zip(ld, rd, strict=True)],
            )
            up.append((hashlib.sha256(message).digest(), *sums))
            shown.append(_node(*up[-1]) | {"message": message.hex()})
        if len(level) % 2:
            up.append(level[-1])
            shown.append(_node(*up[-1]) | {"carried": True})
        level = up
        levels.append(shown)
    top = _node(*level[0])
    return {
        "round": {
            "id": rnd.id,
            "capacity": rnd.capacity,
            "assets": [a.__dict__ for a in rnd.assets],
            "digest": digest.hex(),
        },
        "secret": secret.hex(),
        "accounts": [
            {"id": a, "equity": [str(v) for v in e], "debt": [str(v) for v in d]}
            for a, e, d in accounts
        ],
        "leaves": listed,
        "levels": levels,
        "root": top,
    }


def _document(name: str) -> dict[str, Any]:
    rnd, secret = CASES[name]
    doc = reference(rnd, secret, ACCOUNTS)
    return {"description": f"Assay proof-of-reserves sum tree, test vector {name}"} | doc


def _build(rnd: Round, secret: bytes, accounts: list[tuple[str, list[int], list[int]]], **kw):
    ids = [a for a, _, _ in accounts]
    equity = [e for _, e, _ in accounts]
    debt = [d for _, _, d in accounts]
    return sumtree.build(rnd, secret, ids, equity, debt, **kw)


def _sums_only(levels: list[list[dict[str, Any]]]) -> list[list[dict[str, Any]]]:
    return [[{k: n[k] for k in ("hash", "equity", "debt")} for n in level] for level in levels]


def _as_json(node: sumtree.Node) -> dict[str, Any]:
    return _node(node.hash, list(node.equity), list(node.debt))


@pytest.mark.parametrize("name", sorted(CASES))
def test_vectors_are_what_the_documented_layout_computes(name: str) -> None:
    path = VECTORS / f"{name}.json"
    if os.environ.get("WRITE_POR_VECTORS") == "1":
        path.write_text(json.dumps(_document(name), indent=2) + "\n", encoding="utf-8")
    assert json.loads(path.read_text(encoding="utf-8")) == _document(name)


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_tree_reproduces_the_vectors(name: str) -> None:
    vector = json.loads((VECTORS / f"{name}.json").read_text(encoding="utf-8"))
    rnd, secret = CASES[name]
    accounts = [
        (a["id"], [int(v) for v in a["equity"]], [int(v) for v in a["debt"]])
        for a in vector["accounts"]
    ]
    tree = _build(rnd, secret, accounts)
    assert rnd.digest.hex() == vector["round"]["digest"]
    levels = tree.levels()
    assert [_as_json(n) for n in levels[0]] == [
        {k: leaf[k] for k in ("hash", "equity", "debt")} for leaf in vector["leaves"]
    ]
    assert [[_as_json(n) for n in level] for level in levels[1:]] == _sums_only(vector["levels"])
    assert _as_json(tree.root) == vector["root"]
    for leaf in vector["leaves"]:
        assert tree.leaf_salt(leaf["position"]).hex() == leaf["salt"]
        if leaf["account"] is not None:
            assert tree.position(leaf["account"]) == leaf["position"]


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_layout_functions_hash_the_vectors_messages(name: str) -> None:
    vector = json.loads((VECTORS / f"{name}.json").read_text(encoding="utf-8"))
    rnd, secret = CASES[name]
    salter = layout.Salter(secret)
    pads = 0
    for leaf in vector["leaves"]:
        salt = bytes.fromhex(leaf["salt"])
        if leaf["kind"] == "account":
            raw = leaf["account"].encode()
            assert salter(raw) == salt
            amounts = layout.encode_amounts(
                rnd.assets, [int(v) for v in leaf["equity"]], [int(v) for v in leaf["debt"]]
            )
            digest = layout.leaf_hash(rnd.digest, salt, amounts, raw)
        else:
            digest = layout.pad_hash(rnd.digest, salt)
            pads += 1
        assert digest.hex() == leaf["hash"]
        assert hashlib.sha256(bytes.fromhex(leaf["message"])).hexdigest() == leaf["hash"]
    assert pads == rnd.capacity - len(ACCOUNTS)
    assert sorted(salter.pad(k).hex() for k in range(pads)) == sorted(
        leaf["salt"] for leaf in vector["leaves"] if leaf["kind"] == "padding"
    )


def test_padding_salts_in_bulk_are_the_padding_salts_one_by_one() -> None:
    salter = layout.Salter(SECRET)
    block = salter.pad_block(1, 3)
    assert [block[i * 32 : (i + 1) * 32] for i in range(3)] == [
        salter.pad(65536 + k) for k in range(3)
    ]


def test_the_layout_and_the_standalone_verifier_agree_on_every_hash() -> None:
    rnd, _ = CASES["round-4-accounts"]
    assets = _assets(rnd)
    assert rnd.digest == verify_proof.round_digest(rnd.id, rnd.capacity, assets)
    amounts = layout.encode_amounts(rnd.assets, [1, 2], [0, 3])
    assert amounts == verify_proof.encode(assets, [1, 2], [0, 3])
    salt, left, right = b"s" * 32, b"l" * 32, b"r" * 32
    assert layout.leaf_hash(rnd.digest, salt, amounts, b"id") == verify_proof.leaf_hash(
        rnd.digest, salt, amounts, b"id"
    )
    assert layout.node_hash(left, right, amounts, amounts) == verify_proof.node_hash(
        left, right, amounts, amounts
    )
    for capacity in range(1, 40):
        for index in range(capacity):
            sides = [s for s in layout.path_sides(index, capacity) if s is not None]
            assert sides == verify_proof.sides(index, capacity)


# --- random rounds --------------------------------------------------------------------------

_IDS = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_.@é", min_size=1, max_size=12)


@st.composite
def rounds(draw: st.DrawFn) -> tuple[Round, list[tuple[str, list[int], list[int]]]]:
    """A random round: 1-3 assets of random widths and debt rules, 0-24 accounts, some padding."""
    count = draw(st.integers(1, 3))
    assets = tuple(
        Asset(
            f"A{k}", draw(st.integers(0, 18)), draw(st.sampled_from([8, 16])), draw(st.booleans())
        )
        for k in range(count)
    )
    ids = draw(st.lists(_IDS, max_size=24, unique=True))
    accounts = []
    for account in ids:
        equity = [draw(st.integers(0, 2**40)) for _ in assets]
        debt = [draw(st.integers(0, 2**40)) if a.debt_allowed else 0 for a in assets]
        accounts.append((account, equity, debt))
    capacity = max(1, len(ids) + draw(st.integers(0, 9)))
    return Round("random", assets, capacity), accounts


@DETERMINISTIC
@given(rounds())
def test_every_node_agrees_with_the_reference(case) -> None:
    rnd, accounts = case
    tree = _build(rnd, SECRET, accounts)
    expected = reference(rnd, SECRET, accounts)
    levels = tree.levels()
    assert [_as_json(n) for n in levels[0]] == [
        {k: leaf[k] for k in ("hash", "equity", "debt")} for leaf in expected["leaves"]
    ]
    assert [[_as_json(n) for n in level] for level in levels[1:]] == _sums_only(expected["levels"])


@DETERMINISTIC
@given(rounds())
def test_totals_are_the_sums_of_the_inputs(case) -> None:
    rnd, accounts = case
    tree = _build(rnd, SECRET, accounts)
    assert list(tree.root.equity) == [
        sum(e[k] for _, e, _ in accounts) for k in range(len(rnd.assets))
    ]
    assert list(tree.root.debt) == [
        sum(d[k] for _, _, d in accounts) for k in range(len(rnd.assets))
    ]


@DETERMINISTIC
@given(rounds(), st.randoms(use_true_random=False))
def test_the_root_is_the_same_whatever_the_order_of_the_accounts(case, rng) -> None:
    rnd, accounts = case
    shuffled = list(accounts)
    rng.shuffle(shuffled)
    assert _build(rnd, SECRET, shuffled).root == _build(rnd, SECRET, accounts).root


def test_another_secret_gives_other_salts_another_order_and_another_root() -> None:
    rnd, _ = CASES["round-4-accounts"]
    one, two = _build(rnd, SECRET, ACCOUNTS), _build(rnd, bytes(32), ACCOUNTS)
    assert one.root.hash != two.root.hash
    assert one.root.equity == two.root.equity
    assert one.path("alice").salt != two.path("alice").salt


def test_worker_processes_and_small_blocks_build_the_same_tree() -> None:
    rng = np.random.default_rng(3)
    n = 3000
    ids = np.array([f"acct-{i}" for i in range(n)])
    equity = rng.integers(0, 2**50, (n, 2), dtype=np.uint64)
    debt = np.zeros((n, 2), dtype=np.uint64)
    debt[::7, 1] = 5
    rnd = Round("parallel", ASSETS, 70_000)  # two blocks of padding salts, ~70 subtrees
    one = sumtree.build(rnd, SECRET, ids, equity, debt, workers=1)
    two = sumtree.build(rnd, SECRET, ids, equity, debt, workers=2, block_levels=10)
    assert one.root == two.root
    assert one.path("acct-17") == two.path("acct-17")
    accounts = [
        (str(i), [int(v) for v in e], [int(v) for v in d])
        for i, e, d in zip(ids, equity, debt, strict=True)
    ]
    assert _as_json(one.root) == reference(rnd, SECRET, accounts)["root"]


def test_salts_that_share_their_first_64_bits_are_ordered_by_the_whole_salt() -> None:
    salts = [b"\x05" * 8 + b"\x02" * 24, b"\x01" * 32, b"\x05" * 8 + b"\x01" * 24, b"\x09" * 32]
    keys = np.array([int.from_bytes(s[:8], "big") for s in salts], dtype=np.uint64)
    assert sumtree.order_by_salt(keys, 2, salts.__getitem__) is None
    assert [int(k) & 3 for k in keys] == sorted(range(4), key=salts.__getitem__)


def test_two_equal_salts_are_reported_as_a_pair() -> None:
    salts = [b"\x07" * 32, b"\x01" * 32, b"\x07" * 32]
    keys = np.array([int.from_bytes(s[:8], "big") for s in salts], dtype=np.uint64)
    assert sumtree.order_by_salt(keys, 2, salts.__getitem__) == (0, 2)


def test_fit_widths_gives_8_bytes_to_assets_whose_totals_fit_and_16_to_the_others() -> None:
    equity = np.array([[2**63, 5], [2**63, 5]], dtype=np.uint64)
    fitted = sumtree.fit_widths(Round("w", ASSETS, 2), equity)
    assert [a.width for a in fitted.assets] == [16, 8]


def test_an_unknown_account_is_not_found() -> None:
    tree = _build(*CASES["round-4-accounts"], ACCOUNTS)
    with pytest.raises(NotFound):
        tree.position("mallory")


# --- bad input ------------------------------------------------------------------------------


def _error(exc: pytest.ExceptionInfo[InvalidInput]) -> tuple[str | None, Any, Any]:
    return exc.value.field, exc.value.value, exc.value.details.get("reason")


@pytest.mark.parametrize(
    ("equity", "debt", "expected"),
    [
        # a negative amount in an int64 column
        (np.array([[1, -5]] * 4), None, ("equity[0].USDT", -5, "negative-amount")),
        # a negative amount as a Python int
        ([[1, 1], [1, 1], [1, 1], [-1, 1]], None, ("equity[3].BTC", -1, "negative-amount")),
        # a negative debt
        (
            [[1, 1]] * 4,
            np.array([[0, 0], [0, 0], [0, -2], [0, 0]]),
            ("debt[2].USDT", -2, "negative-amount"),
        ),
        # debt in BTC, which allows none
        ([[1, 1]] * 4, [[0, 0], [3, 0], [0, 0], [0, 0]], ("debt[1].BTC", 3, None)),
        # one account's amount beyond 64 bits
        ([[2**64, 1], [1, 1], [1, 1], [1, 1]], None, ("equity[0].BTC", 2**64, "amount-overflow")),
        # BTC's 8 bytes overflow in a sum
        ([[2**63, 0], [2**63, 0], [0, 0], [0, 0]], None, ("equity.BTC", 2**64, "amount-overflow")),
    ],
)
def test_bad_amounts_are_refused_by_field_and_value(equity, debt, expected) -> None:
    rnd, _ = CASES["round-4-accounts"]
    with pytest.raises(InvalidInput) as exc:
        sumtree.build(rnd, SECRET, ["a", "b", "c", "d"], equity, debt)
    assert _error(exc) == expected


def test_a_16_byte_sum_that_overflows_is_refused() -> None:
    rnd = Round("wide", (Asset("ETH", 18, 16),), 2**16)
    n = 2**16
    equity = np.full((n, 1), 2**64 - 1, dtype=np.uint64)
    tree = sumtree.build(rnd, SECRET, [str(i) for i in range(n)], equity)
    assert tree.root.equity == ((2**64 - 1) * n,)  # 2^80: far from 2^128, no overflow


def test_an_error_in_a_worker_process_reaches_the_caller_whole() -> None:
    equity = np.ones((40, 2), dtype=np.int64)
    equity[33, 1] = -3
    with pytest.raises(InvalidInput) as exc:
        sumtree.build(
            Round("w", ASSETS, 64), SECRET, [f"a{i}" for i in range(40)], equity, workers=2
        )
    assert _error(exc) == ("equity[33].USDT", -3, "negative-amount")


def test_duplicate_account_ids_are_refused() -> None:
    rnd, _ = CASES["round-4-accounts"]
    with pytest.raises(InvalidInput) as exc:
        sumtree.build(rnd, SECRET, ["a", "b", "a", "c"], [[1, 1]] * 4)
    assert _error(exc) == ("account_ids", "a", "duplicate-account")


@pytest.mark.parametrize(
    ("account", "field"),
    [
        ("", "account_ids[1]"),  # empty
        ("tab\there", "account_ids[1]"),  # a control character
        ("x" * 129, "account_ids[1]"),  # longer than 128 bytes
        ("new\nline", "account_ids[1]"),  # a newline, which also separates ids for workers
        (7, "account_ids[1]"),  # not text at all
    ],
)
def test_bad_account_ids_are_refused(account: Any, field: str) -> None:
    rnd, _ = CASES["round-4-accounts"]
    with pytest.raises(InvalidInput) as exc:
        sumtree.build(rnd, SECRET, ["a", account, "c", "d"], [[1, 1]] * 4)
    assert (exc.value.field, exc.value.value) == (field, account)


def test_more_accounts_than_the_capacity_are_refused() -> None:
    with pytest.raises(InvalidInput) as exc:
        sumtree.build(Round("small", ASSETS, 2), SECRET, ["a", "b", "c"], [[1, 1]] * 3)
    assert (exc.value.field, exc.value.value) == ("round.capacity", 2)


def test_a_short_secret_is_refused() -> None:
    with pytest.raises(InvalidInput) as exc:
        sumtree.build(CASES["round-4-accounts"][0], b"short", ["a"], [[1, 1]])
    assert exc.value.field == "secret"


def test_amounts_with_too_many_decimals_are_refused() -> None:
    with pytest.raises(InvalidInput) as exc:
        layout.to_units("0.123456789", ASSETS[0], field="equity.BTC")
    assert _error(exc) == ("equity.BTC", "0.123456789", "too-many-decimals")


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("-1", "negative-amount"),  # a minus sign
        ("1e8", "malformed-amount"),  # an exponent
        ("01.5", "malformed-amount"),  # a leading zero
        ("+1", "malformed-amount"),  # a plus sign
        ("1_000", "malformed-amount"),  # Python's digit separator
        ("\u0661", "malformed-amount"),  # ARABIC-INDIC DIGIT ONE, a digit that is not ASCII
    ],
)
def test_amounts_that_are_not_plain_decimals_are_refused(text: str, reason: str) -> None:
    with pytest.raises(InvalidInput) as exc:
        layout.to_units(text, ASSETS[0], field="x")
    assert exc.value.details["reason"] == reason


def test_decimal_strings_round_trip_through_minimal_units() -> None:
    btc = ASSETS[0]
    assert layout.to_units("1.5", btc, field="x") == 150_000_000
    assert layout.to_units("-0.00000001", btc, field="x", signed=True) == -1
    assert layout.format_units(150_000_000, btc) == "1.5"
    assert layout.format_units(0, btc) == "0"


def test_an_unknown_asset_is_refused_with_the_round_s_assets() -> None:
    with pytest.raises(InvalidInput) as exc:
        CASES["round-4-accounts"][0].asset("DOGE")
    assert exc.value.details["accepted"] == ["BTC", "USDT"]


@pytest.mark.parametrize(
    ("make", "field"),
    [
        (lambda: Asset("btc", 8), "assets.code"),  # lower case
        (lambda: Asset("BTC", 19), "assets.decimals"),  # more than 18 decimals
        (lambda: Asset("BTC", 8, 12), "assets.width"),  # neither 8 nor 16 bytes
        (lambda: Asset("BTC", 8, 8.0), "assets.width"),  # type: ignore[arg-type]  # not a whole number
        (lambda: Asset("BTC", 8, 8, 1), "assets.debt_allowed"),  # type: ignore[arg-type]  # not a boolean
        (lambda: Round("r", (), 4), "round.assets"),  # no asset
        (lambda: Round("r", (ASSETS[0], ASSETS[0]), 4), "round.assets"),  # an asset twice
        (lambda: Round("r", ASSETS, 0), "round.capacity"),  # no room at all
        (lambda: Round("r", ASSETS, 2**32 + 1), "round.capacity"),  # beyond 32-bit positions
        (lambda: Round("", ASSETS, 4), "round.id"),  # no id
    ],
)
def test_bad_round_parameters_are_refused(make, field: str) -> None:
    with pytest.raises(InvalidInput) as exc:
        make()
    assert exc.value.field == field
