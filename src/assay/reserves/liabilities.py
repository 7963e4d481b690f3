"""Reading a round's liabilities file: one row per account, one column per asset, amounts as text.

Amounts are decimal strings turned into integers in each asset's minimal unit (``decimals`` per
asset, fixed for the round). Negative amounts are refused unless the asset allows debt; then
they are kept as debt, a separate non-negative number, so that a leaf commits to both. Every row
is read (nothing is silently skipped), and every problem names its line and column; up to
``MAX_PROBLEMS`` are collected before reading stops, so one run shows the operator most of what is
wrong. Pure: files in, arrays out; no database.

CSV is streamed with the standard library; Parquet (string or decimal columns) is read with
pyarrow, one record batch at a time.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import numpy as np
import numpy.typing as npt

from assay.errors import InvalidInput

#: How many problems a refused file reports (its details carry them all).
MAX_PROBLEMS = 50
#: The largest amount one account may hold of one asset, in minimal units (fits a signed 64-bit
#: integer, so that sums over 2^31 accounts still fit 128 bits).
MAX_AMOUNT = 2**63 - 1
_POW10: list[int] = [10**i for i in range(19)]
_AMOUNT = re.compile(r"^(-?)(\d+)(?:\.(\d+))?$")
_ASSET = re.compile(r"^[A-Z0-9][A-Z0-9._-]{0,19}$")
_ID = re.compile(r"^[\x21-\x7e]{1,128}$")


@dataclass(frozen=True)
class AssetSpec:
    """An asset of a round: its code, its decimals, and whether accounts may owe it."""

    code: str
    decimals: int
    debt_allowed: bool = False

    def __post_init__(self) -> None:
        if not _ASSET.match(self.code):
            raise InvalidInput(
                f"asset {self.code!r} is not an asset code (upper-case letters and digits, "
                "up to 20, e.g. BTC, USDT)",
                field="assets.code",
                value=self.code,
            )
        if not 0 <= self.decimals <= 18:
            raise InvalidInput(
                f"asset {self.code}: decimals {self.decimals} must be between 0 and 18",
                field="assets.decimals",
                value=self.decimals,
            )


class AmountError(ValueError):
    """An amount that cannot be read, with the reason code it is reported under."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class Problem:
    """Something wrong at a line and column of the file, and its reason code.

    Reasons: ``malformed-row`` (wrong number of fields), ``malformed-account-id``,
    ``duplicate-account``, ``malformed-amount``, ``too-many-decimals``, ``amount-overflow``,
    ``negative-amount`` (an asset that allows no debt).
    """

    line: int
    column: str
    value: str
    message: str
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}, column {self.column}: {self.message} (got {self.value!r})"


@dataclass
class Liabilities:
    """What a liabilities file holds, in minimal units.

    Attributes:
        assets: the round's assets, in column order.
        account_ids: one per row, in file order.
        equity: (accounts x assets) what the exchange owes each account, uint64.
        debt: (accounts x assets) what each account owes the exchange, uint64.
        sha256: the file's digest (the auditor checks they read the same bytes).
    """

    assets: tuple[AssetSpec, ...]
    account_ids: list[str]
    equity: npt.NDArray[np.uint64]
    debt: npt.NDArray[np.uint64]
    sha256: str
    source: str = ""
    totals: dict[str, dict[str, int]] = field(default_factory=dict)

    @property
    def accounts(self) -> int:
        """How many accounts (rows) the file holds."""
        return len(self.account_ids)


def parse_amount(text: str, decimals: int) -> int:
    """``text`` (a plain decimal, optionally negative) in minimal units; AmountError saying why."""
    match = _AMOUNT.match(text.strip())
    if match is None:
        raise AmountError(
            "is not a decimal number (digits, one optional '.', optional '-')", "malformed-amount"
        )
    sign, whole, fraction = match.groups()
    fraction = fraction or ""
    if len(fraction.rstrip("0")) > decimals:
        raise AmountError(f"has more than {decimals} decimals", "too-many-decimals")
    units = int(whole) * _POW10[decimals] + int((fraction + "0" * decimals)[:decimals] or "0")
    if units > MAX_AMOUNT:
        raise AmountError(
            f"exceeds {MAX_AMOUNT} minimal units; lower the asset's decimals", "amount-overflow"
        )
    return -units if sign and units else units


def read_liabilities(path: Path, assets: Sequence[AssetSpec]) -> Liabilities:
    """Read a ``.csv`` or ``.parquet`` liabilities file; InvalidInput listing every problem."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InvalidInput(f"{path}: cannot be read: {exc}", field="file") from exc
    digest = hashlib.sha256(data).hexdigest()
    if path.suffix.lower() == ".parquet":
        return _read(path, assets, _parquet_rows(path, assets), digest)
    text = _decode(data, path)
    rows = _csv_rows(io.StringIO(text, newline=""), path, assets, data)
    return _read(path, assets, rows, digest)


def _decode(data: bytes, path: Path) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInput(
            f"{path.name}: byte {exc.start} is not UTF-8; save the file as UTF-8",
            field="file",
        ) from exc


def _csv_rows(
    stream: IO[str], path: Path, assets: Sequence[AssetSpec], data: bytes
) -> Iterator[tuple[int, list[str]]]:
    reader = csv.reader(stream)
    header = next(reader, None)
    if header is None:
        raise InvalidInput(f"{path.name}: the file is empty", field="file")
    _check_header([h.strip() for h in header], path, assets)
    truncated = not data.endswith((b"\n", b"\r"))
    last = 0
    for row in reader:
        last = reader.line_num
        yield reader.line_num, row
    if truncated and last:
        # A last line without its newline is how a cut-off upload looks: refuse it by name.
        raise InvalidInput(
            f"{path.name}: line {last} has no line end: the file looks truncated; upload it "
            "again whole",
            field="file",
            line=last,
        )


def _parquet_rows(path: Path, assets: Sequence[AssetSpec]) -> Iterator[tuple[int, list[str]]]:
    import pyarrow.parquet as pq  # noqa: PLC0415 - only Parquet needs pyarrow

    try:
        parquet = pq.ParquetFile(path)
    except Exception as exc:
        raise InvalidInput(
            f"{path.name}: not a readable Parquet file: {exc}", field="file"
        ) from exc
    header = list(parquet.schema_arrow.names)
    _check_header(header, path, assets)
    line = 1
    for batch in parquet.iter_batches(batch_size=65536):
        columns = [_texts(batch.column(i).to_pylist()) for i in range(batch.num_columns)]
        for values in zip(*columns, strict=True):
            line += 1
            yield line, list(values)


def _texts(values: Iterable[Any]) -> list[str]:
    return ["" if v is None else format(v, "f") if not isinstance(v, str) else v for v in values]


def _check_header(header: list[str], path: Path, assets: Sequence[AssetSpec]) -> None:
    expected = ["account_id", *(a.code for a in assets)]
    if header != expected:
        unknown = [h for h in header[1:] if h not in expected]
        missing = [e for e in expected if e not in header]
        detail = "; ".join(
            part
            for part in (
                f"unknown column(s) {', '.join(unknown)}" if unknown else "",
                f"missing column(s) {', '.join(missing)}" if missing else "",
            )
            if part
        )
        raise InvalidInput(
            f"{path.name}: the header must be {','.join(expected)} (the round's assets, in order)"
            + (f": {detail}" if detail else f"; got {','.join(header)}"),
            field="header",
            value=header,
        )


def _read(
    path: Path, assets: Sequence[AssetSpec], rows: Iterator[tuple[int, list[str]]], digest: str
) -> Liabilities:
    width = len(assets) + 1
    ids: list[str] = []
    lines: list[int] = []
    equity: list[list[int]] = []
    debt: list[list[int]] = []
    problems: list[Problem] = []
    for line, row in rows:
        if len(problems) >= MAX_PROBLEMS:
            break
        if len(row) != width:
            problems.append(
                Problem(
                    line,
                    "-",
                    ",".join(row)[:60],
                    f"has {len(row)} fields, the header {width}",
                    "malformed-row",
                )
            )
            continue
        account = row[0].strip()
        if not _ID.match(account):
            problems.append(
                Problem(
                    line,
                    "account_id",
                    account,
                    "is not an id (1-128 printable characters)",
                    "malformed-account-id",
                )
            )
            continue
        owed, owing = [0] * len(assets), [0] * len(assets)
        for k, asset in enumerate(assets):
            try:
                units = parse_amount(row[k + 1], asset.decimals)
            except AmountError as exc:
                problems.append(Problem(line, asset.code, row[k + 1], str(exc), exc.reason))
                continue
            if units < 0 and not asset.debt_allowed:
                problems.append(
                    Problem(
                        line,
                        asset.code,
                        row[k + 1],
                        f"is negative and {asset.code} allows no debt",
                        "negative-amount",
                    )
                )
            elif units < 0:
                owing[k] = -units
            else:
                owed[k] = units
        ids.append(account)
        lines.append(line)
        equity.append(owed)
        debt.append(owing)
    problems.extend(_duplicates(ids, lines))
    if problems:
        shown = "; ".join(str(p) for p in problems[:10])
        more = f" (and {len(problems) - 10} more)" if len(problems) > 10 else ""
        raise InvalidInput(
            f"{path.name}: {len(problems)} problem(s): {shown}{more}",
            field="file",
            problems=[p.__dict__ for p in problems],
        )
    shape = (len(ids), len(assets))
    owed_array = np.array(equity, dtype=np.uint64).reshape(shape)
    owing_array = np.array(debt, dtype=np.uint64).reshape(shape)
    return Liabilities(
        assets=tuple(assets),
        account_ids=ids,
        equity=owed_array,
        debt=owing_array,
        sha256=digest,
        source=path.name,
        totals={
            a.code: {"equity": column_sum(owed_array[:, k]), "debt": column_sum(owing_array[:, k])}
            for k, a in enumerate(assets)
        },
    )


def column_sum(values: npt.NDArray[np.uint64]) -> int:
    """The exact sum of uint64 values (as two 32-bit halves, so nothing wraps)."""
    high = int((values >> np.uint64(32)).sum(dtype=np.uint64))
    low = int((values & np.uint64(0xFFFFFFFF)).sum(dtype=np.uint64))
    return (high << 32) + low


def _duplicates(ids: list[str], lines: list[int]) -> list[Problem]:
    seen: dict[str, int] = {}
    found = []
    for line, account in zip(lines, ids, strict=True):
        if account in seen:
            found.append(
                Problem(
                    line,
                    "account_id",
                    account,
                    f"repeats the id of line {seen[account]}",
                    "duplicate-account",
                )
            )
        else:
            seen[account] = line
    return found
