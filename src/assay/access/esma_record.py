"""One data record of an ESMA register file, decoded, with the problems its readers report.

The register files mix UTF-8 and Windows-1252, sometimes within one line. :func:`read_record`
decodes each field on its own (:func:`decode_field`) and refuses a record whose number of fields
is not the header's (no column of it can be trusted: the row is skipped, with a
:class:`~assay.access.esma_rows.RowProblem` saying why). A :class:`Record` gives its values by
ESMA's column names, as published, collapsed (:func:`clean`) or as optional (``n/a`` and the like
are nothing), and takes the problems its column readers (:mod:`assay.access.esma_fields`) report.

It decides nothing about a value (the column readers do) and never raises on a record.
"""

from __future__ import annotations

from dataclasses import dataclass

from assay.access.esma_rows import RowProblem

# What the files write in an optional cell that holds nothing.
NOTHING = frozenset({"", "-", "n/a", "na", "none", "null", "nil"})


@dataclass(frozen=True)
class Record:
    """One data record, decoded, with the problem list its readers report into."""

    file: str
    row: int
    values: dict[str, str]
    problems: list[RowProblem]

    def raw(self, column: str) -> str:
        """The value as published (decoded)."""
        return self.values[column]

    def text(self, column: str) -> str | None:
        """The value with whitespace (tabs, newlines, NBSP) collapsed; None if empty."""
        return clean(self.values[column]) or None

    def optional(self, column: str) -> str | None:
        """Like text(), but what the files write for nothing (``n/a``, ``None``) is None too."""
        value = self.text(column)
        return None if value is None or value.lower() in NOTHING else value

    def report(self, column: str | None, value: str, message: str) -> None:
        """Note a value of this record that could not be read as published."""
        self.problems.append(RowProblem(self.file, self.row, column, value, message))


def read_record(
    file_name: str,
    number: int,
    fields: list[str],
    columns: dict[str, int],
    problems: list[RowProblem],
) -> Record | None:
    """A record by column, with decoding trouble reported; None (reported) if its width is wrong."""
    width = len(columns)
    if len(fields) > width and not any(f.strip() for f in fields[width:]):
        fields = fields[:width]  # trailing empty cells, as spreadsheets write them
    decoded = [decode_field(f.encode("latin-1")) for f in fields]
    if len(fields) != width:
        value = ",".join(text for text, _ in decoded)
        message = (
            f"has {len(fields)} fields where the header has {width}: a separator is missing or "
            "stray, so no column can be trusted; the row was skipped"
        )
        problems.append(RowProblem(file_name, number, None, value, message))
        return None
    record = Record(file_name, number, {c: decoded[p][0] for c, p in columns.items()}, problems)
    for column, position in columns.items():
        text, trouble = decoded[position]
        if trouble:
            record.report(column, text, trouble)
    return record


def decode_field(raw: bytes) -> tuple[str, str | None]:
    """A field's text: UTF-8, else Windows-1252, with a message when characters were lost."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        try:
            return raw.decode("cp1252"), None
        except UnicodeDecodeError:
            lost = "bytes that are neither UTF-8 nor Windows-1252 were replaced by U+FFFD"
            return raw.decode("cp1252", errors="replace"), lost
    if "\ufffd" in text:
        return text, "holds U+FFFD: a character was already lost before ESMA published the file"
    return text, None


def clean(value: str) -> str:
    """The value with every run of whitespace (tabs, newlines, NBSP) one space, trimmed."""
    return " ".join(value.split())
