"""Reading liabilities files: minimal units, debt, and every bad row named by line and column."""

from __future__ import annotations

import hashlib
from decimal import Decimal
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assay.errors import InvalidInput
from assay.reserves.liabilities import (
    MAX_AMOUNT,
    AssetSpec,
    column_sum,
    parse_amount,
    read_liabilities,
)

ASSETS = (AssetSpec("BTC", 8), AssetSpec("ETH", 9), AssetSpec("USDT", 6, debt_allowed=True))


def _write(tmp_path: Path, text: str, name: str = "liabilities.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode())
    return path


def test_amounts_become_minimal_units_and_negative_debt_is_kept_apart(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "account_id,BTC,ETH,USDT\nu1,1.5,0.000000001,100\nu2,0,2,-25.5\nu3,0.00000001,0,0.000001\n",
    )
    found = read_liabilities(path, ASSETS)
    assert found.account_ids == ["u1", "u2", "u3"]
    assert found.equity.tolist() == [
        [150_000_000, 1, 100_000_000],
        [0, 2_000_000_000, 0],
        [1, 0, 1],
    ]
    assert found.debt.tolist() == [[0, 0, 0], [0, 0, 25_500_000], [0, 0, 0]]
    assert found.totals["BTC"] == {"equity": 150_000_001, "debt": 0}
    assert found.totals["USDT"] == {"equity": 100_000_001, "debt": 25_500_000}
    assert found.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize(
    ("row", "column", "words"),
    [
        # more decimals than the asset's precision
        ("u1,0.123456789,0,0", "BTC", "more than 8 decimals"),
        # a negative balance of an asset that allows no debt
        ("u1,-1,0,0", "BTC", "allows no debt"),
        # not a number at all
        ("u1,1e3,0,0", "BTC", "not a decimal number"),
        # too large for 63 bits of minimal units
        ("u1,999999999999,0,0", "BTC", "exceeds"),
        # an empty id
        (",1,0,0", "account_id", "is not an id"),
        # a missing field
        ("u1,1,0", "-", "has 3 fields, the header 4"),
    ],
)
def test_a_bad_value_is_named_by_line_and_column(
    tmp_path: Path, row: str, column: str, words: str
) -> None:
    path = _write(tmp_path, f"account_id,BTC,ETH,USDT\nu0,1,1,1\n{row}\n")
    with pytest.raises(InvalidInput) as caught:
        read_liabilities(path, ASSETS)
    problem = caught.value.details["problems"][0]
    assert (problem["line"], problem["column"]) == (3, column)
    assert words in problem["message"]
    assert f"line 3, column {column}" in caught.value.message


def test_duplicate_ids_name_both_lines(tmp_path: Path) -> None:
    path = _write(tmp_path, "account_id,BTC,ETH,USDT\na,1,0,0\nb,1,0,0\na,2,0,0\n")
    with pytest.raises(InvalidInput, match="line 4, column account_id: repeats the id of line 2"):
        read_liabilities(path, ASSETS)


def test_every_problem_is_reported_not_just_the_first(tmp_path: Path) -> None:
    rows = "".join(f"u{i},-1,0,0\n" for i in range(5))
    path = _write(tmp_path, "account_id,BTC,ETH,USDT\n" + rows)
    with pytest.raises(InvalidInput) as caught:
        read_liabilities(path, ASSETS)
    assert [p["line"] for p in caught.value.details["problems"]] == [2, 3, 4, 5, 6]


def test_a_file_cut_off_mid_line_is_refused_as_truncated(tmp_path: Path) -> None:
    path = _write(tmp_path, "account_id,BTC,ETH,USDT\nu1,1,0,0\nu2,1,0,")
    with pytest.raises(InvalidInput, match="looks truncated"):
        read_liabilities(path, ASSETS)


def test_an_unknown_or_missing_asset_column_is_named(tmp_path: Path) -> None:
    path = _write(tmp_path, "account_id,BTC,DOGE,USDT\nu1,1,0,0\n")
    with pytest.raises(InvalidInput, match="unknown column\\(s\\) DOGE; missing column\\(s\\) ETH"):
        read_liabilities(path, ASSETS)


def test_a_file_that_is_not_utf8_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "l.csv"
    path.write_bytes(b"account_id,BTC,ETH,USDT\n\xff,1,0,0\n")
    with pytest.raises(InvalidInput, match="not UTF-8"):
        read_liabilities(path, ASSETS)


def test_parquet_with_string_and_decimal_columns_reads_the_same(tmp_path: Path) -> None:
    csv = _write(tmp_path, "account_id,BTC,ETH,USDT\nu1,1.5,2,-3\nu2,0,0.5,4\n")
    table = pa.table(
        {
            "account_id": ["u1", "u2"],
            "BTC": pa.array([Decimal("1.5"), Decimal("0")], type=pa.decimal128(20, 8)),
            "ETH": ["2", "0.5"],
            "USDT": ["-3", "4"],
        }
    )
    path = tmp_path / "liabilities.parquet"
    pq.write_table(table, path)
    from_parquet = read_liabilities(path, ASSETS)
    from_csv = read_liabilities(csv, ASSETS)
    assert np.array_equal(from_parquet.equity, from_csv.equity)
    assert np.array_equal(from_parquet.debt, from_csv.debt)
    assert from_parquet.account_ids == ["u1", "u2"]


def test_an_unreadable_parquet_file_is_named(tmp_path: Path) -> None:
    path = _write(tmp_path, "not parquet", "l.parquet")
    with pytest.raises(InvalidInput, match="not a readable Parquet file"):
        read_liabilities(path, ASSETS)


@given(
    st.integers(min_value=0, max_value=MAX_AMOUNT),
    st.integers(min_value=0, max_value=18),
)
@settings(max_examples=200, deadline=None)
def test_parse_amount_reads_back_what_was_written(units: int, decimals: int) -> None:
    text = format(Decimal(units).scaleb(-decimals), "f")
    assert parse_amount(text, decimals) == units


@given(st.lists(st.integers(min_value=0, max_value=2**64 - 1), max_size=50))
@settings(max_examples=100, deadline=None)
def test_column_sums_never_wrap(values: list[int]) -> None:
    assert column_sum(np.array(values, dtype=np.uint64)) == sum(values)


def test_asset_codes_and_decimals_are_checked() -> None:
    with pytest.raises(InvalidInput, match="decimals 19"):
        AssetSpec("BTC", 19)
    with pytest.raises(InvalidInput, match="not an asset code"):
        AssetSpec("btc coin", 8)
