"""Where reserve balances come from: one small protocol, an offline file, an in-memory fake.

A proof of reserves states each address's balance *at a block height* taken at the same instant
as the liabilities snapshot, so every balance carries the height it is true at, and a source
answers only for the height asked: it never substitutes "latest".

- :class:`BalanceSource` is the seam. Business code asks it, and nothing else, for balances.
- :class:`CsvBalanceSource` reads an offline balances file (``docs/formats/reserves-addresses.md``:
  columns ``chain, asset, address, block_height, balance``), e.g. exported from the exchange's
  own indexer or an auditor's node. Duplicate rows and bad values are refused with their line.
- :class:`FakeBalanceSource` answers from a dict, for tests.

A live adapter (a node or an indexer) is another class with the same ``balance`` method, built
in the composition root, never at import. It would, for EVM chains, call ``eth_getBalance`` or an
ERC-20 ``balanceOf`` through ``eth_call`` with the block number as the block parameter (an archive
node is needed for past heights); for Bitcoin-family chains ask an address indexer (Bitcoin Core
keeps no per-address history) for the outputs unspent at that height. It converts minimal units
to a Decimal amount by the asset's decimals, names itself and the block hash in ``source``, and
translates its transport errors into :mod:`assay.errors` where they enter (``raise ... from exc``).
Such an adapter talks to the network, so its tests use this module's fake or a recorded file.

Nothing here writes, and nothing happens at import.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Protocol

from assay.errors import InvalidInput, NotFound

__all__ = [
    "BALANCE_COLUMNS",
    "Balance",
    "BalanceSource",
    "CsvBalanceSource",
    "FakeBalanceSource",
    "Row",
    "balance_key",
]

#: Columns of the balances file, in this order.
BALANCE_COLUMNS = ("chain", "asset", "address", "block_height", "balance")

_AMOUNT = re.compile(r"\d+(\.\d+)?")
_HEIGHT = re.compile(r"\d+")


@dataclass(frozen=True, slots=True)
class Row:
    """A line of the balances file."""

    chain: str
    asset: str
    address: str
    block_height: int
    balance: Decimal
    line: int


@dataclass(frozen=True, slots=True)
class Balance:
    """An address's holding of one asset on one chain, true at block ``height``."""

    amount: Decimal
    height: int
    source: str


class BalanceSource(Protocol):
    """Anything that can tell an address's balance of an asset at a block height."""

    def balance(self, chain: str, address: str, asset: str, block_height: int) -> Balance:
        """The balance at exactly ``block_height``; NotFound if the source does not know it."""
        ...


def balance_key(
    chain: str, address: str, asset: str, block_height: int
) -> tuple[str, str, str, int]:
    """How balances are looked up: chain and asset upper-cased; 0x-hex addresses lower-cased.

    Other addresses are compared exactly as written (Base58 is case-sensitive; write Bech32 in
    lower case, as BIP 173 recommends).
    """
    address = address.strip()
    if address[:2].lower() == "0x":
        address = address.lower()
    return chain.strip().upper(), address, asset.strip().upper(), block_height


def _missing(chain: str, address: str, asset: str, block_height: int, where: str) -> NotFound:
    return NotFound(
        f"{where} has no {asset} balance for {address} on {chain} at block {block_height}",
        field="address",
        value=address,
        chain=chain,
        asset=asset,
        block_height=block_height,
    )


class CsvBalanceSource:
    """Balances read once from an offline CSV file (columns :data:`BALANCE_COLUMNS`).

    Refused with InvalidInput naming the line and column: a missing or extra column, an empty
    field, a height that is not a whole number, a balance that is not a plain non-negative decimal
    (``1234.5678``; no sign, exponent or thousands separator), and the same chain, asset, address
    and height twice (even with the same balance: a file with duplicates was not made carefully).
    """

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._balances: dict[tuple[str, str, str, int], tuple[Decimal, int]] = {}
        self._rows: list[Row] = []
        try:
            with self.path.open(encoding="utf-8-sig", newline="") as handle:
                reader = csv.reader(handle)
                header = tuple(name.strip() for name in next(reader, []))
                if header != BALANCE_COLUMNS:
                    raise InvalidInput(
                        f"{self.path}: line 1: the columns are {', '.join(header) or 'missing'}; "
                        f"expected {', '.join(BALANCE_COLUMNS)}",
                        field="header",
                        value=list(header),
                    )
                for row in reader:
                    if row:
                        self._add(row, reader.line_num)
        except (OSError, UnicodeDecodeError, csv.Error) as exc:
            raise InvalidInput(
                f"{self.path}: cannot be read: {exc}", field="file", value=str(self.path)
            ) from exc

    def _add(self, row: list[str], line: int) -> None:
        where = f"{self.path}: line {line}"
        if len(row) != len(BALANCE_COLUMNS):
            raise InvalidInput(f"{where}: {len(row)} fields, expected 5", field=f"line {line}")
        chain, asset, address, height, amount = (value.strip() for value in row)
        for column, value in zip(
            BALANCE_COLUMNS, (chain, asset, address, height, amount), strict=True
        ):
            if not value:
                raise InvalidInput(f"{where}, column {column}: empty", field=column)
        if not _HEIGHT.fullmatch(height):
            raise InvalidInput(
                f"{where}, column block_height: {height!r} is not a whole number of blocks",
                field="block_height",
                value=height,
            )
        if not _AMOUNT.fullmatch(amount):
            raise InvalidInput(
                f"{where}, column balance: {amount!r} is not a non-negative decimal like 12.5",
                field="balance",
                value=amount,
            )
        key = balance_key(chain, address, asset, int(height))
        if key in self._balances:
            first = self._balances[key][1]
            raise InvalidInput(
                f"{where}: {asset} of {address} on {chain} at block {height} is already on line "
                f"{first}",
                field="address",
                value=address,
            )
        self._balances[key] = (Decimal(amount), line)
        self._rows.append(
            Row(chain.upper(), asset.upper(), address, int(height), Decimal(amount), line)
        )

    def balance(self, chain: str, address: str, asset: str, block_height: int) -> Balance:
        """The file's balance at exactly ``block_height``; NotFound if the file has no such row."""
        found = self._balances.get(balance_key(chain, address, asset, block_height))
        if found is None:
            raise _missing(chain, address, asset, block_height, str(self.path))
        amount, line = found
        return Balance(amount, block_height, f"{self.path.name}:{line}")

    def __len__(self) -> int:
        return len(self._balances)

    def rows(self) -> list[Row]:
        """Every balance of the file, in file order (chain and asset upper-cased)."""
        return list(self._rows)


@dataclass
class FakeBalanceSource:
    """Balances from a dict keyed ``(chain, address, asset, block_height)``, for tests.

    Keys are normalised like the file's; ``calls`` records every question asked, in order.
    """

    balances: Mapping[tuple[str, str, str, int], Decimal]
    calls: list[tuple[str, str, str, int]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._index = {balance_key(*key): Decimal(value) for key, value in self.balances.items()}

    def balance(self, chain: str, address: str, asset: str, block_height: int) -> Balance:
        """The dict's balance at exactly ``block_height``; NotFound if absent."""
        self.calls.append((chain, address, asset, block_height))
        amount = self._index.get(balance_key(chain, address, asset, block_height))
        if amount is None:
            raise _missing(chain, address, asset, block_height, "the fake source")
        return Balance(amount, block_height, "fake")
