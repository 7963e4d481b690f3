"""The distributed build: on a local Dask cluster, the very tree that ``sumtree.build`` makes.

One cluster of two worker processes serves the whole module. Each round is built on one machine
and on the cluster, split into partitions in several ways, and everything is compared: the root
and totals, every node, every leaf's salt and position, every proof byte for byte; and a bad
input refused on the cluster is refused with the single-machine error, field, value and message.
"""

from __future__ import annotations

import functools
import itertools
import logging
import pickle
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from distributed import Client, LocalCluster

from assay.errors import InvalidInput, NotFound
from assay.reserves import distributed, liabilities, proof, sumtree
from assay.reserves.distributed import Accounts
from assay.reserves.layout import Asset, Round
from tests.reserves.test_sumtree import reference

SECRET = bytes(range(32))
ASSETS = (Asset("BTC", 8, 8), Asset("USDT", 6, 16, debt_allowed=True), Asset("ETH", 18, 16))


@pytest.fixture(scope="module")
def client() -> Iterator[Client]:
    logging.getLogger("distributed").setLevel(logging.CRITICAL)
    with (
        LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",  # any free port: 8787 may be taken
            silence_logs=logging.CRITICAL,
        ) as cluster,
        Client(cluster) as client,
    ):
        yield client


def _accounts(n: int, seed: int = 0) -> Accounts:
    """``n`` accounts: BTC in 8 bytes, USDT with debt, ETH wide enough for 2^64 and more."""
    rng = np.random.default_rng(seed)
    equity = rng.integers(0, 2**50, (n, 3), dtype=np.uint64)
    equity[::5, 2] = 2**64 - 1  # ETH sums pass 2^64: the 16-byte width is used
    debt = np.zeros((n, 3), dtype=np.uint64)
    debt[::3, 1] = rng.integers(1, 2**40, debt[::3].shape[0], dtype=np.uint64)
    return Accounts([f"acct-{i}" for i in range(n)], equity, debt)


def _split(accounts: Accounts, parts: int) -> list[distributed.Partition]:
    """``accounts`` in ``parts`` contiguous partitions (some empty when there are few)."""
    cuts = np.linspace(0, len(accounts.ids), parts + 1).astype(int).tolist()
    return [
        Accounts(
            accounts.ids[a:b],
            accounts.equity[a:b],
            None if accounts.debt is None else accounts.debt[a:b],
        )
        for a, b in itertools.pairwise(cuts)
    ]


def _both(
    client: Client, rnd: Round, accounts: Accounts, parts: int, **kw: Any
) -> tuple[sumtree.SumTree, distributed.DistributedTree]:
    one = sumtree.build(rnd, SECRET, *accounts)
    return one, distributed.build(client, rnd, SECRET, _split(accounts, parts), **kw)


# (accounts, capacity, block levels, buckets)
ROUNDS = [
    pytest.param((4, 4, 14, None), id="four accounts, no padding"),
    pytest.param((4, 6, 14, 3), id="four accounts padded to 6, a node carried up"),
    pytest.param((37, 37, 5, 5), id="an odd number of accounts, two blocks"),
    pytest.param((1, 1, 14, None), id="one account: the leaf is the root"),
    pytest.param((1, 5, 1, 3), id="one account among padding"),
    pytest.param((300, 1000, 5, 16), id="blocks straddling several small buckets"),
    pytest.param((0, 8, 5, 2), id="nothing but padding"),
]


@pytest.mark.parametrize("case", ROUNDS)
@pytest.mark.parametrize("parts", [1, 2, 7])
def test_every_node_and_the_totals_are_the_single_machine_tree_s(client, case, parts) -> None:
    n, capacity, block_levels, buckets = case
    rnd = Round("2026-11-25", ASSETS, capacity)
    one, two = _both(client, rnd, _accounts(n), parts, block_levels=block_levels, buckets=buckets)
    assert two.root == one.root
    assert (two.accounts, two.height) == (one.accounts, one.height)
    assert two.levels() == one.levels()


def test_the_16_byte_totals_pass_2_to_the_64() -> None:
    assert sum(int(v) for v in _accounts(300).equity[:, 2]) > 2**64


@pytest.mark.parametrize("case", ROUNDS)
def test_every_proof_is_the_single_machine_proof_byte_for_byte_and_verifies(client, case) -> None:
    n, capacity, block_levels, buckets = case
    rnd = Round("2026-11-25", ASSETS, capacity)
    accounts = _accounts(n)
    one, two = _both(client, rnd, accounts, 3, block_levels=block_levels, buckets=buckets)
    ids = list(accounts.ids)
    assert two.paths(ids) == [one.path(a) for a in ids]
    for account in ids[::23]:  # one by one, as proof.build_proof asks: a round trip each
        mine = proof.build_proof(two, account)
        assert mine.model_dump_json() == proof.build_proof(one, account).model_dump_json()
        assert proof.verify(mine, account_id=account, root=one.root.hash.hex()).index == (
            one.position(account)
        )
    for position in range(0, capacity, 1 + capacity // 40):
        assert two.leaf_salt(position) == one.leaf_salt(position)


def test_a_single_node_is_fetched_from_the_worker_that_holds_it(client) -> None:
    rnd = Round("nodes", ASSETS, 100)
    one, two = _both(client, rnd, _accounts(90), 4, block_levels=5, buckets=6)
    for level in range(one.height + 1):
        for index in range(-(-100 >> level)):
            assert two.node(level, index) == one.node(level, index)


def _random_case(seed: int) -> tuple[Round, list[tuple[str, list[int], list[int]]], dict[str, int]]:
    """A random round (as test_sumtree's ``rounds``), partitioning, bucket count and block size.

    Drawn with numpy's generator, not hypothesis: the Dask client's threads use the ``random``
    module, which hypothesis takes for a strategy doing so.
    """
    rng = np.random.default_rng(seed)
    assets = tuple(
        Asset(f"A{k}", int(rng.integers(0, 19)), int(rng.choice([8, 16])), bool(rng.integers(2)))
        for k in range(int(rng.integers(1, 4)))
    )
    rows = []
    for i in range(int(rng.integers(0, 60))):
        equity = [int(rng.integers(0, 2**40)) for _ in assets]
        debt = [int(rng.integers(0, 2**40)) if a.debt_allowed else 0 for a in assets]
        rows.append((f"user.{seed}-{i}é", equity, debt))
    capacity = max(1, len(rows) + int(rng.integers(0, 40)))
    knobs = {
        "parts": int(rng.integers(1, 8)),
        "buckets": int(rng.integers(1, 10)),
        "block_levels": int(rng.integers(1, 7)),
    }
    return Round("random", assets, capacity), rows, knobs


@pytest.mark.parametrize("seed", range(12))
def test_random_rounds_partitionings_and_buckets_give_the_reference_root(client, seed) -> None:
    rnd, rows, knobs = _random_case(seed)
    shape = (len(rows), len(rnd.assets))
    accounts = Accounts(
        [a for a, _, _ in rows],
        np.array([e for _, e, _ in rows], dtype=np.uint64).reshape(shape),
        np.array([d for _, _, d in rows], dtype=np.uint64).reshape(shape),
    )
    tree = distributed.build(
        client,
        rnd,
        SECRET,
        _split(accounts, knobs["parts"]),
        buckets=knobs["buckets"],
        block_levels=knobs["block_levels"],
    )
    assert {
        "hash": tree.root.hash.hex(),
        "equity": [str(v) for v in tree.root.equity],
        "debt": [str(v) for v in tree.root.debt],
    } == reference(rnd, SECRET, rows)["root"]


def test_partitions_with_and_without_debt_build_the_tree_of_all_of_them(client) -> None:
    rnd = Round("owing", ASSETS, 64)
    accounts = _accounts(50)
    first, second = _split(accounts, 2)
    assert isinstance(first, Accounts)
    assert isinstance(second, Accounts)
    no_debt = first._replace(debt=None)  # nobody owes in the first: zeros, as one machine sees
    tree = distributed.build(client, rnd, SECRET, [no_debt, second], block_levels=5, buckets=3)
    debt = np.concatenate([np.zeros_like(first.equity), second.debt])
    assert tree.levels() == sumtree.build(rnd, SECRET, accounts.ids, accounts.equity, debt).levels()


def _generated(first: int, count: int) -> Accounts:
    """What a loader on a worker returns: accounts made there, never sent from the driver."""
    every = _accounts(400)
    return Accounts(*(column[first : first + count] for column in every))


def test_partitions_loaded_on_the_workers_build_the_same_tree(client) -> None:
    rnd = Round("loaded", ASSETS, 512)
    loaders = [functools.partial(_generated, f, c) for f, c in ((0, 150), (150, 0), (150, 250))]
    tree = distributed.build(client, rnd, SECRET, loaders, block_levels=6)
    assert tree.root == sumtree.build(rnd, SECRET, *_accounts(400)).root


def test_liabilities_files_read_by_the_workers_build_the_tree_of_their_rows(
    client, tmp_path: Path
) -> None:
    specs = [liabilities.AssetSpec("BTC", 8), liabilities.AssetSpec("USDT", 6, debt_allowed=True)]
    (tmp_path / "a.csv").write_text("account_id,BTC,USDT\nalice,1.5,2500\nbob,0,-250\n")
    (tmp_path / "b.csv").write_text("account_id,BTC,USDT\ncarol,21000000,0\n")
    rnd = Round("files", (Asset("BTC", 8, 8), Asset("USDT", 6, 16, debt_allowed=True)), 4)
    files = [tmp_path / "a.csv", tmp_path / "b.csv"]
    tree = distributed.build(
        client, rnd, SECRET, [distributed.liabilities_file(f, specs) for f in files]
    )
    read = [liabilities.read_liabilities(f, specs) for f in files]
    one = sumtree.build(
        rnd,
        SECRET,
        [i for r in read for i in r.account_ids],
        np.concatenate([r.equity for r in read]),
        np.concatenate([r.debt for r in read]),
    )
    assert tree.root == one.root
    assert tree.path("bob") == one.path("bob")


def test_a_bad_file_is_refused_as_reading_it_refuses_it(client, tmp_path: Path) -> None:
    specs = [liabilities.AssetSpec("BTC", 8)]
    (tmp_path / "bad.csv").write_text("account_id,BTC\nalice,1\nalice,2\n")
    with pytest.raises(InvalidInput) as exc:
        distributed.build(
            client,
            Round("files", (Asset("BTC", 8, 8),), 4),
            SECRET,
            [distributed.liabilities_file(tmp_path / "bad.csv", specs)],
        )
    assert exc.value.field == "file"
    assert "repeats the id of line 2" in exc.value.message


# --- bad input: the single-machine error, whichever partition holds it --------------------


def _error(exc: BaseException) -> tuple[Any, ...]:
    assert isinstance(exc, InvalidInput)
    return type(exc), exc.message, exc.field, exc.value, exc.details


def _refusals(client: Client, rnd: Round, accounts: Accounts, parts: int, **kw: Any) -> None:
    """Both builds refuse ``accounts`` with the same error."""
    with pytest.raises(InvalidInput) as single:
        sumtree.build(rnd, SECRET, *accounts, block_levels=kw.get("block_levels", 14))
    with pytest.raises(InvalidInput) as spread:
        distributed.build(client, rnd, SECRET, _split(accounts, parts), **kw)
    assert _error(spread.value) == _error(single.value)


def _with(accounts: Accounts, **changes: Any) -> Accounts:
    return accounts._replace(**changes)


def _negative_equity() -> Accounts:
    base = _accounts(40)
    equity = (base.equity % 1000).astype(np.int64)
    equity[27, 1] = -3  # in the fourth of five partitions
    return _with(base, equity=equity)


def _negative_in_two_places() -> Accounts:
    base = _negative_equity()
    debt = base.debt.astype(np.int64)
    debt[5, 1] = -1  # debt is checked after equity within one span of accounts: equity wins
    return _with(base, debt=debt)


def _python_rows() -> Accounts:
    base = _accounts(12)
    equity = [[int(v) for v in row] for row in base.equity]
    equity[9][0] = -1
    return _with(base, equity=equity, debt=None)


def _renamed(accounts: Accounts, index: int, name: Any) -> Accounts:
    ids = list(accounts.ids)
    ids[index] = name
    return _with(accounts, ids=ids)


def _debt_in(code: int) -> Accounts:
    base = _accounts(40)
    debt = base.debt.copy()
    debt[31, code] = 9
    return _with(base, debt=debt)


def _overflowing() -> Accounts:
    base = _accounts(40)
    equity = base.equity.copy()
    equity[:, 0] = 2**62  # BTC's 8 bytes overflow once four accounts are added up
    return _with(base, equity=equity)


@pytest.mark.parametrize(
    ("make", "parts"),
    [
        (_negative_equity, 5),  # a negative int64 amount in one partition
        (_negative_in_two_places, 5),  # two problems: the first in sumtree's order wins
        (_python_rows, 3),  # a negative Python int in rows of ints
        (lambda: _renamed(_accounts(40), 33, "acct-2"), 4),  # a duplicate across partitions
        (lambda: _renamed(_renamed(_accounts(40), 33, "acct-2"), 20, "acct-2"), 4),  # 3 times
        (lambda: _renamed(_accounts(40), 17, "tab\there"), 3),  # an id with a control character
        (lambda: _renamed(_accounts(40), 17, 7), 3),  # an id that is not text
        (lambda: _renamed(_renamed(_accounts(40), 30, "a\nb"), 33, "acct-2"), 4),  # bad id first
        (lambda: _debt_in(0), 3),  # debt in BTC, which allows none
        (_overflowing, 3),  # a sum beyond BTC's 8 bytes
    ],
)
def test_bad_input_in_one_partition_is_refused_as_on_one_machine(client, make, parts) -> None:
    _refusals(client, Round("bad", ASSETS, 64), make(), parts, block_levels=5, buckets=4)


def test_more_accounts_than_the_capacity_are_refused_as_on_one_machine(client) -> None:
    _refusals(client, Round("small", ASSETS, 30), _accounts(40), 3)


def test_a_short_secret_is_refused_before_anything_is_sent(client) -> None:
    with pytest.raises(InvalidInput) as exc:
        distributed.build(client, Round("r", ASSETS, 4), b"short", _split(_accounts(4), 1))
    assert exc.value.field == "secret"


# --- the tree it returns ------------------------------------------------------------------


def test_a_distributed_tree_answers_everything_a_sum_tree_answers() -> None:
    public = {name for name in vars(sumtree.SumTree) if not name.startswith("_")}
    assert public <= set(vars(distributed.DistributedTree))


def test_an_unknown_account_is_not_found(client) -> None:
    tree = distributed.build(client, Round("r", ASSETS, 8), SECRET, _split(_accounts(5), 2))
    with pytest.raises(NotFound):
        tree.path("mallory")
    with pytest.raises(NotFound):
        tree.paths(["acct-1", "mallory"])
    with pytest.raises(InvalidInput):
        tree.node(9, 0)


def test_no_segment_kept_on_the_workers_holds_the_secret(client) -> None:
    tree = distributed.build(
        client, Round("r", ASSETS, 200), SECRET, _split(_accounts(150), 3), block_levels=5
    )
    segments = client.gather(tree._segments)  # what the workers keep for proofs
    assert segments
    assert all(SECRET not in pickle.dumps(s) for s in segments)
