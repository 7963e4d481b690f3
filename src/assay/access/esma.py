"""ESMA's interim MiCA register files, read into typed rows and a precise report of what was not.

Until the MiCA register moves into ESMA's IT systems, ESMA publishes it as CSV files; two of them
matter for market access (docs/formats/esma-register.md describes both, column by column):

- ``CASP<yyyymmdd>.csv``: crypto-asset service providers authorised under MiCA Art 59-63, with
  their services (Art 3(1)(16)) and the states they passport to (Art 65);
- ``NCASP<yyyymmdd>.csv``: entities a competent authority lists as providing crypto-asset services
  without authorisation.

:func:`parse_register` turns the bytes of either into :class:`AuthorisedCasp` or
:class:`UnauthorisedEntity` rows plus a :class:`RowProblem` for every value it could not read as
published. It is a pure core: no database, no web, no clock. It never raises half-way through a
file (only a header that is neither format is an error, :class:`~assay.errors.InvalidInput`) and
never corrects a value silently when the correction is a judgement: a cosmetic wart (whitespace,
a tab, a trailing ``|``, ``EL`` for Greece) is normalised quietly, anything else is reported.
:func:`normalise_name` is the key under which names are looked up.

This module reads a file into records; the rows and ESMA's vocabulary are
:mod:`assay.access.esma_rows`, one record is :mod:`assay.access.esma_record`, its columns are
read by :mod:`assay.access.esma_fields` and :mod:`assay.access.esma_services`.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Iterable
from typing import Literal

from assay.access.company_names import normalise_name
from assay.access.esma_fields import casp_row, ncasp_row
from assay.access.esma_record import decode_field, read_record
from assay.access.esma_rows import (
    CASP_COLUMNS,
    NCASP_COLUMNS,
    AuthorisedCasp,
    ParsedRegister,
    RowProblem,
    UnauthorisedEntity,
)
from assay.errors import InvalidInput

__all__ = ["normalise_name", "parse_register"]

_BOM = b"\xef\xbb\xbf"


def parse_register(data: bytes, *, file_name: str) -> ParsedRegister:
    """Read one ESMA interim MiCA register file (CASP or NCASP, told apart by the header).

    Args:
        data: the file's bytes, exactly as downloaded.
        file_name: the name to quote in problems and errors.

    Returns:
        The rows kept and a problem for every value not read as published. A record without a
        name or a valid home Member State is skipped (listed in ``skipped_rows``); any other
        unreadable value leaves the row in with that value None or dropped.

    Raises:
        InvalidInput: the header is neither format's (the error names the file and both
            formats' columns).
    """
    # Latin-1 maps each byte to one character, so csv splits the raw bytes (its separators are
    # ASCII, which never occurs inside a UTF-8 or Windows-1252 character); each field is then
    # decoded on its own, and one Windows-1252 field cannot garble the UTF-8 fields of its line.
    text = data.removeprefix(_BOM).decode("latin-1")
    reader = csv.reader(io.StringIO(text, newline=""))
    problems: list[RowProblem] = []
    header_row, header = _read_header(reader)
    kind, columns = _kind_of(header, file_name)
    build = casp_row if kind == "casp" else ncasp_row
    rows: list[AuthorisedCasp | UnauthorisedEntity] = []
    skipped: list[int] = []
    rows_read = 0
    for row_number, fields in _records(reader, header_row, file_name, problems):
        if not any(f.strip() for f in fields):
            continue
        rows_read += 1
        record = read_record(file_name, row_number, fields, columns, problems)
        row = build(record) if record is not None else None
        if row is None:
            skipped.append(row_number)
        else:
            rows.append(row)
    return ParsedRegister(
        kind=kind,
        file_name=file_name,
        file_sha256=hashlib.sha256(data).hexdigest(),
        rows_read=rows_read,
        rows=tuple(rows),
        skipped_rows=tuple(skipped),
        problems=tuple(problems),
    )


# --- reading records ---------------------------------------------------------------------------


def _read_header(reader: Iterable[list[str]]) -> tuple[int, list[str]]:
    number = 0
    for fields in reader:
        number += 1
        if any(f.strip() for f in fields):
            return number, [decode_field(f.encode("latin-1"))[0] for f in fields]
    return number, []


def _kind_of(header: list[str], file_name: str) -> tuple[Literal["casp", "ncasp"], dict[str, int]]:
    names = [h.strip().strip("\ufeff").strip() for h in header]
    while names and not names[-1]:
        names.pop()
    lowered = [n.lower() for n in names]
    for kind, expected in (("casp", CASP_COLUMNS), ("ncasp", NCASP_COLUMNS)):
        if sorted(lowered) == sorted(c.lower() for c in expected):
            positions = {c: lowered.index(c.lower()) for c in expected}
            return ("casp" if kind == "casp" else "ncasp"), positions
    raise InvalidInput(
        f"{file_name}: the header is neither ESMA's CASP register nor its NCASP register; "
        f"expected the columns {', '.join(CASP_COLUMNS)} (CASP) "
        f"or {', '.join(NCASP_COLUMNS)} (NCASP), found {', '.join(names) or 'no header'}",
        field="header",
        value=names,
        file=file_name,
        casp_columns=list(CASP_COLUMNS),
        ncasp_columns=list(NCASP_COLUMNS),
    )


def _records(
    reader: Iterable[list[str]], number: int, file_name: str, problems: list[RowProblem]
) -> Iterable[tuple[int, list[str]]]:
    iterator = iter(reader)
    while True:
        number += 1
        try:
            fields = next(iterator)
        except StopIteration:
            return
        except csv.Error as exc:  # a field past csv's size limit: nothing after it is reliable
            message = f"the file cannot be read from here on ({exc}); no later row was read"
            problems.append(RowProblem(file_name, number, None, "", message))
            return
        yield number, fields
