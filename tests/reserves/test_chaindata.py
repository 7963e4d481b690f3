"""Balance sources: the offline balances file, the in-memory fake, and the protocol they share."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from assay.errors import InvalidInput, NotFound
from assay.reserves import chaindata
from assay.reserves.chaindata import (
    BALANCE_COLUMNS,
    Balance,
    BalanceSource,
    CsvBalanceSource,
    FakeBalanceSource,
)

HEADER = ",".join(BALANCE_COLUMNS)
ETH_ADDRESS = "0x6a32bea6b4050763a6673202efde42ad87bec0b5"
BTC_ADDRESS = "bc1q82aks5ft2at48wp0sa6rr5vtzutvgzr8azts6w8nlu0dqc2dx24qvzwspk"
ROWS = [
    HEADER,
    f"ETH,USDT,{ETH_ADDRESS},19500000,1250000.000001",
    f"ETH,ETH,{ETH_ADDRESS},19500000,12.5",
    f"BTC,BTC,{BTC_ADDRESS},840000,5000.12345678",
    f"BTC,BTC,{BTC_ADDRESS},840001,4999",
]


def _file(tmp_path: Path, rows: list[str]) -> Path:
    path = tmp_path / "balances.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def _total(
    source: BalanceSource, chain: str, asset: str, addresses: list[str], height: int
) -> Decimal:
    """What a caller does: sum a chain's reserve addresses at one height, whatever the source."""
    return sum((source.balance(chain, a, asset, height).amount for a in addresses), Decimal(0))


def test_the_file_answers_with_amount_height_and_where_it_came_from(tmp_path: Path) -> None:
    source = CsvBalanceSource(_file(tmp_path, ROWS))
    assert len(source) == 4
    assert source.balance("BTC", BTC_ADDRESS, "BTC", 840000) == Balance(
        Decimal("5000.12345678"), 840000, "balances.csv:4"
    )
    assert source.balance("btc", BTC_ADDRESS, "btc", 840001).amount == Decimal(4999)


def test_hex_addresses_match_whatever_their_case(tmp_path: Path) -> None:
    source = CsvBalanceSource(_file(tmp_path, ROWS))
    checksummed = "0x6a32beA6B4050763a6673202eFDE42AD87beC0b5"
    assert source.balance("ETH", checksummed, "USDT", 19500000).amount == Decimal("1250000.000001")


def test_another_height_is_not_found_rather_than_the_nearest(tmp_path: Path) -> None:
    source = CsvBalanceSource(_file(tmp_path, ROWS))
    with pytest.raises(NotFound, match=r"no BTC balance for bc1q.* on BTC at block 839999"):
        source.balance("BTC", BTC_ADDRESS, "BTC", 839999)


def test_a_base58_address_in_another_case_is_another_address(tmp_path: Path) -> None:
    rows = [HEADER, "TRON,TRX,TSBg5SM1TXVXneSivmzpZa9hpccLNeYcWq,60000000,10"]
    source = CsvBalanceSource(_file(tmp_path, rows))
    with pytest.raises(NotFound):
        source.balance("TRON", "tsbg5sm1txvxnesivmzpza9hpcclneycwq", "TRX", 60000000)


def test_a_duplicate_row_is_refused_naming_both_lines(tmp_path: Path) -> None:
    rows = [*ROWS, f"eth,usdt,{ETH_ADDRESS.upper().replace('0X', '0x')},19500000,1"]
    with pytest.raises(
        InvalidInput, match=r"line 6: usdt of 0x.* on eth at block 19500000 is already on line 2"
    ):
        CsvBalanceSource(_file(tmp_path, rows))


@pytest.mark.parametrize(
    ("row", "column"),
    [
        ("ETH,ETH,0xab,19500000,-1", "balance"),  # negative
        ("ETH,ETH,0xab,19500000,1e3", "balance"),  # exponent
        ('ETH,ETH,0xab,19500000,"1,000"', "balance"),  # thousands separator
        ("ETH,ETH,0xab,19500000,NaN", "balance"),  # not a number
        ("ETH,ETH,0xab,19500000,.5", "balance"),  # no integer part
        ("ETH,ETH,0xab,1.5,1", "block_height"),  # fractional height
        ("ETH,ETH,0xab,-3,1", "block_height"),  # negative height
        ("ETH,ETH,0xab,latest,1", "block_height"),  # a height is a number, never "latest"
        ("ETH,ETH,,19500000,1", "address"),  # empty address
        ("ETH,,0xab,19500000,1", "asset"),  # empty asset
    ],
)
def test_a_bad_value_is_refused_naming_line_and_column(
    tmp_path: Path, row: str, column: str
) -> None:
    with pytest.raises(InvalidInput, match=rf"line 2, column {column}:") as caught:
        CsvBalanceSource(_file(tmp_path, [HEADER, row]))
    assert caught.value.field == column


def test_a_row_with_the_wrong_number_of_fields_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="line 3: 4 fields, expected 5"):
        CsvBalanceSource(_file(tmp_path, [*ROWS[:2], "ETH,ETH,0xab,1"]))


@pytest.mark.parametrize(
    "header",
    [
        "chain,asset,address,height,balance",  # a renamed column
        "asset,chain,address,block_height,balance",  # columns out of order
        "chain,asset,address,block_height,balance,note",  # an extra column
        "",  # an empty file
    ],
)
def test_a_file_with_other_columns_is_refused(tmp_path: Path, header: str) -> None:
    with pytest.raises(InvalidInput, match="line 1: the columns are"):
        CsvBalanceSource(_file(tmp_path, [header]))


def test_a_missing_file_is_invalid_input(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="cannot be read"):
        CsvBalanceSource(tmp_path / "nope.csv")


def test_the_fake_answers_records_and_refuses_what_it_does_not_know() -> None:
    fake = FakeBalanceSource({("ETH", ETH_ADDRESS, "USDT", 19500000): Decimal(7)})
    assert fake.balance(
        "eth", ETH_ADDRESS.upper().replace("0X", "0x"), "usdt", 19500000
    ) == Balance(Decimal(7), 19500000, "fake")
    with pytest.raises(NotFound):
        fake.balance("ETH", ETH_ADDRESS, "USDT", 19500001)
    assert [call[3] for call in fake.calls] == [19500000, 19500001]


def test_the_file_and_the_fake_are_interchangeable_balance_sources(tmp_path: Path) -> None:
    addresses = [ETH_ADDRESS]
    from_file = CsvBalanceSource(_file(tmp_path, ROWS))
    fake = FakeBalanceSource({("ETH", ETH_ADDRESS, "ETH", 19500000): Decimal("12.5")})
    assert _total(from_file, "ETH", "ETH", addresses, 19500000) == Decimal("12.5")
    assert _total(fake, "ETH", "ETH", addresses, 19500000) == Decimal("12.5")


def test_the_module_exports_every_public_name_it_defines() -> None:
    defined = {
        name
        for name, value in vars(chaindata).items()
        if not name.startswith("_") and getattr(value, "__module__", None) == chaindata.__name__
    }
    assert defined <= set(chaindata.__all__)
    assert all(hasattr(chaindata, name) for name in chaindata.__all__)
