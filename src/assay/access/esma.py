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
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from assay.access.company_names import normalise_name
from assay.errors import InvalidInput

__all__ = [
    "CASP_COLUMNS",
    "CASP_HEADER",
    "EEA_STATES",
    "MICA_SERVICES",
    "NCASP_COLUMNS",
    "NCASP_HEADER",
    "AuthorisedCasp",
    "ParsedRegister",
    "RowProblem",
    "UnauthorisedEntity",
    "lei_is_valid",
    "normalise_name",
    "parse_register",
]

#: The header line of the authorised-CASP file, as ESMA writes it (after the BOM).
CASP_HEADER = (
    "ae_competentAuthority,ae_homeMemberState,ae_lei_name,ae_lei,ae_lei_cou_code,"
    "ae_commercial_name,ae_address,ae_website,ae_website_platform,"
    "ac_authorisationNotificationDate,ac_authorisationEndDate,ac_serviceCode,ac_serviceCode_cou,"
    "ac_comments,ac_lastupdate"
)
#: The header line of the unauthorised-entity file (``ae_infrigment`` is ESMA's spelling).
NCASP_HEADER = (
    "ae_competentAuthority,ae_homeMemberState,ae_lei_name,ae_lei,ae_lei_cou_code,"
    "ae_commercial_name,ae_website,ae_infrigment,ae_reason,ae_decision_date,ae_comments,"
    "ae_lastupdate"
)
CASP_COLUMNS: tuple[str, ...] = tuple(CASP_HEADER.split(","))
NCASP_COLUMNS: tuple[str, ...] = tuple(NCASP_HEADER.split(","))
_EEA_CODES = (
    "AT BE BG CY CZ DE DK EE ES FI FR GR HR HU IE IT LT LU LV MT NL PL PT RO SE SI SK IS LI NO"
)
#: The 27 EU Member States and the three EEA EFTA states (IS, LI, NO), ISO 3166-1 alpha-2.
EEA_STATES: frozenset[str] = frozenset(_EEA_CODES.split())
#: The crypto-asset services of MiCA Art 3(1)(16), by the letter of their point.
MICA_SERVICES: dict[str, str] = {
    "a": "providing custody and administration of crypto-assets on behalf of clients",
    "b": "operation of a trading platform for crypto-assets",
    "c": "exchange of crypto-assets for funds",
    "d": "exchange of crypto-assets for other crypto-assets",
    "e": "execution of orders for crypto-assets on behalf of clients",
    "f": "placing of crypto-assets",
    "g": "reception and transmission of orders for crypto-assets on behalf of clients",
    "h": "providing advice on crypto-assets",
    "i": "providing portfolio management on crypto-assets",
    "j": "providing transfer services for crypto-assets on behalf of clients",
}
# Words that name one service and no other, found in every wording seen in ESMA's files
# (truncated ones such as "d. exchange of crypto-assets for other" included).
_SERVICE_KEYWORDS: tuple[tuple[str, str], ...] = (
    ("a", "custody"),
    ("b", "trading platform"),
    ("c", "for funds"),
    ("d", "for other"),
    ("e", "execution of orders"),
    ("f", "placing"),
    ("g", "reception and transmission"),
    ("h", "advice"),
    ("i", "portfolio management"),
    ("j", "transfer services"),
)
# EU institutions write EL for Greece (and UK for the United Kingdom); ISO 3166-1 says GR and GB.
_COUNTRY_ALIASES = {"EL": "GR", "UK": "GB"}
# What the files write in an optional cell that holds nothing.
_NOTHING = frozenset({"", "-", "n/a", "na", "none", "null", "nil"})
_BOM = b"\xef\xbb\xbf"
_LEI = re.compile(r"[0-9A-Z]{18}[0-9]{2}")
_DATE_DMY = re.compile(r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})")
_DATE_ISO = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_WEBSITE = re.compile(r"(?i)(https?://)?([^\W_]([\w-]*[^\W_])?\.)+[^\W\d_]{2,}(:\d+)?([/?#]\S*)?")
# Service items are separated by "|" (sometimes ";", or ", " before the next letter).
_SERVICE_SEPARATOR = re.compile(r"[|;]|,\s*(?=[a-jA-J]\s*[.)])")
_SERVICE_ITEM = re.compile(r"([a-jA-J])\s*[.)]\s*(.*)", re.DOTALL)


@dataclass(frozen=True, slots=True)
class RowProblem:
    """A value of one row that could not be read as published, and what was done about it.

    Attributes:
        file: the file's name, as the caller gave it.
        row: the record's number, as a spreadsheet numbers it (the header is row 1).
        field: ESMA's column name, or None when the whole row is at fault.
        value: the value as published (decoded), so the operator can find it.
        message: what is wrong and what the parser did (kept, dropped, row skipped).
    """

    file: str
    row: int
    field: str | None
    value: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file} row {self.row}" + (f", {self.field}" if self.field else "")
        return f"{where}: {self.message} (value {self.value!r})"


@dataclass(frozen=True, slots=True)
class AuthorisedCasp:
    """One row of the CASP file: a crypto-asset service provider authorised under MiCA.

    Attributes:
        row: the record's number in the file (header is row 1).
        competent_authority: the authority that authorised it, whitespace-normalised.
        home_state: its home Member State, ISO 3166-1 alpha-2 (``GR``, never ``EL``).
        home_state_raw: the home state as published.
        legal_name: its legal name (``ae_lei_name``).
        lei: its ISO 17442 LEI, or None when missing or invalid (then a problem says why).
        lei_country: the LEI record's country, ISO 3166-1 alpha-2, or None.
        commercial_name: the name it trades under, or None.
        address: its registered address, or None.
        websites: its websites (``ae_website``; some rows list several).
        platform_websites: the websites of its trading platform (``ae_website_platform``).
        authorised_on: the authorisation (or notification) date; None only with a problem.
        authorisation_ends: when the authorisation ends, or None.
        services: the MiCA Art 3(1)(16) service letters, ``a`` to ``j``, sorted.
        passported_to: the states it provides services in as published (ESMA's list, which
            some authorities give with the home state and some without), sorted, ISO-2.
        comments: the authority's comments, or None.
        last_update: when the row last changed, or None.
    """

    row: int
    competent_authority: str
    home_state: str
    home_state_raw: str
    legal_name: str
    lei: str | None
    lei_country: str | None
    commercial_name: str | None
    address: str | None
    websites: tuple[str, ...]
    platform_websites: tuple[str, ...]
    authorised_on: dt.date | None
    authorisation_ends: dt.date | None
    services: tuple[str, ...]
    passported_to: tuple[str, ...]
    comments: str | None
    last_update: dt.date | None


@dataclass(frozen=True, slots=True)
class UnauthorisedEntity:
    """One row of the NCASP file: an entity providing crypto-asset services without authorisation.

    Attributes:
        row: the record's number in the file (header is row 1).
        competent_authority: the authority that listed it.
        home_state: the listing authority's Member State, ISO 3166-1 alpha-2.
        home_state_raw: the home state as published.
        name: the entity's name (``ae_lei_name``; usually a trading name, rarely a legal entity).
        lei: its LEI when one is published and valid, else None.
        lei_country: the LEI record's country, ISO-2, or None.
        commercial_name: the name it trades under, or None.
        websites: the websites the authority names (``|``-separated in the file).
        infringement: ESMA's ``ae_infrigment`` Yes/No as a bool, None when blank.
        reason: ESMA's ``ae_reason`` (the file writes ``None`` for none), or None.
        decision_date: the date of the authority's decision; None only with a problem.
        comments: the authority's comments, or None.
        last_update: when the row last changed, or None.
    """

    row: int
    competent_authority: str
    home_state: str
    home_state_raw: str
    name: str
    lei: str | None
    lei_country: str | None
    commercial_name: str | None
    websites: tuple[str, ...]
    infringement: bool | None
    reason: str | None
    decision_date: dt.date | None
    comments: str | None
    last_update: dt.date | None


@dataclass(frozen=True, slots=True)
class ParsedRegister:
    """One register file, read: its rows, its problems, and what identifies the bytes read.

    Attributes:
        kind: ``casp`` (authorised providers) or ``ncasp`` (unauthorised entities).
        file_name: the name the caller gave.
        file_sha256: SHA-256 of the bytes, hex, to tie an import to the exact file.
        rows_read: data records in the file (blank records are not counted).
        rows: the rows kept, in file order.
        skipped_rows: numbers of the records read but not kept (each has a problem saying why).
        problems: every value not read as published, in file order.
    """

    kind: Literal["casp", "ncasp"]
    file_name: str
    file_sha256: str
    rows_read: int
    rows: tuple[AuthorisedCasp | UnauthorisedEntity, ...]
    skipped_rows: tuple[int, ...]
    problems: tuple[RowProblem, ...]

    @property
    def authorised(self) -> tuple[AuthorisedCasp, ...]:
        """The rows of a CASP file (empty for an NCASP file)."""
        return tuple(r for r in self.rows if isinstance(r, AuthorisedCasp))

    @property
    def unauthorised(self) -> tuple[UnauthorisedEntity, ...]:
        """The rows of an NCASP file (empty for a CASP file)."""
        return tuple(r for r in self.rows if isinstance(r, UnauthorisedEntity))


def lei_is_valid(lei: str) -> bool:
    """Whether ``lei`` is an ISO 17442 LEI: 18 letters or digits, 2 ISO 7064 MOD 97-10 digits."""
    if not _LEI.fullmatch(lei):
        return False
    return int("".join(str(int(c, 36)) for c in lei)) % 97 == 1


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
    build = _casp if kind == "casp" else _ncasp
    rows: list[AuthorisedCasp | UnauthorisedEntity] = []
    skipped: list[int] = []
    rows_read = 0
    for row_number, fields in _records(reader, header_row, file_name, problems):
        if not any(f.strip() for f in fields):
            continue
        rows_read += 1
        record = _record(file_name, row_number, fields, columns, problems)
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
            return number, [_decode(f.encode("latin-1"))[0] for f in fields]
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


@dataclass(frozen=True)
class _Record:
    """One data record, decoded, with the problem list its readers report into."""

    file: str
    row: int
    values: dict[str, str]
    problems: list[RowProblem]

    def raw(self, column: str) -> str:
        return self.values[column]

    def text(self, column: str) -> str | None:
        """The value with whitespace (tabs, newlines, NBSP) collapsed; None if empty."""
        return _clean(self.values[column]) or None

    def optional(self, column: str) -> str | None:
        """Like text(), but what the files write for nothing (``n/a``, ``None``) is None too."""
        value = self.text(column)
        return None if value is None or value.lower() in _NOTHING else value

    def report(self, column: str | None, value: str, message: str) -> None:
        self.problems.append(RowProblem(self.file, self.row, column, value, message))


def _record(
    file_name: str,
    number: int,
    fields: list[str],
    columns: dict[str, int],
    problems: list[RowProblem],
) -> _Record | None:
    width = len(columns)
    if len(fields) > width and not any(f.strip() for f in fields[width:]):
        fields = fields[:width]  # trailing empty cells, as spreadsheets write them
    decoded = [_decode(f.encode("latin-1")) for f in fields]
    if len(fields) != width:
        value = ",".join(text for text, _ in decoded)
        message = (
            f"has {len(fields)} fields where the header has {width}: a separator is missing or "
            "stray, so no column can be trusted; the row was skipped"
        )
        problems.append(RowProblem(file_name, number, None, value, message))
        return None
    record = _Record(file_name, number, {c: decoded[p][0] for c, p in columns.items()}, problems)
    for column, position in columns.items():
        text, trouble = decoded[position]
        if trouble:
            record.report(column, text, trouble)
    return record


def _decode(raw: bytes) -> tuple[str, str | None]:
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


def _clean(value: str) -> str:
    return " ".join(value.split())


# --- rows --------------------------------------------------------------------------------------


def _casp(record: _Record) -> AuthorisedCasp | None:
    home, home_raw = _home_state(record)
    name = _name(record)
    lei = _lei(record, required=True)
    row = AuthorisedCasp(
        row=record.row,
        competent_authority=_authority(record),
        home_state=home or "",
        home_state_raw=home_raw,
        legal_name=name or "",
        lei=lei,
        lei_country=_country(record, "ae_lei_cou_code"),
        commercial_name=record.optional("ae_commercial_name"),
        address=record.optional("ae_address"),
        websites=_websites(record, "ae_website"),
        platform_websites=_websites(record, "ae_website_platform"),
        authorised_on=_date(record, "ac_authorisationNotificationDate", required=True),
        authorisation_ends=_date(record, "ac_authorisationEndDate", required=False),
        services=_services(record, "ac_serviceCode"),
        passported_to=_passports(record, "ac_serviceCode_cou"),
        comments=record.optional("ac_comments"),
        last_update=_date(record, "ac_lastupdate", required=False),
    )
    return row if home and name else None


def _ncasp(record: _Record) -> UnauthorisedEntity | None:
    home, home_raw = _home_state(record)
    name = _name(record)
    row = UnauthorisedEntity(
        row=record.row,
        competent_authority=_authority(record),
        home_state=home or "",
        home_state_raw=home_raw,
        name=name or "",
        lei=_lei(record, required=False),
        lei_country=_country(record, "ae_lei_cou_code"),
        commercial_name=record.optional("ae_commercial_name"),
        websites=_websites(record, "ae_website"),
        infringement=_yes_no(record, "ae_infrigment"),
        reason=record.optional("ae_reason"),
        decision_date=_date(record, "ae_decision_date", required=True),
        comments=record.optional("ae_comments"),
        last_update=_date(record, "ae_lastupdate", required=False),
    )
    return row if home and name else None


def _authority(record: _Record) -> str:
    value = record.text("ae_competentAuthority")
    if value is None:
        record.report("ae_competentAuthority", "", "no competent authority; kept empty")
    return value or ""


def _name(record: _Record) -> str | None:
    value = record.text("ae_lei_name")
    if value is None:
        record.report("ae_lei_name", record.raw("ae_lei_name"), "no name: the row was skipped")
    return value


def _home_state(record: _Record) -> tuple[str | None, str]:
    raw = record.raw("ae_homeMemberState")
    code = _clean(raw).upper()
    code = _COUNTRY_ALIASES.get(code, code)
    if not code:
        hint = _clean(record.raw("ae_lei_cou_code")).upper()
        also = f" (ae_lei_cou_code says {hint}: the LEI's country, not assumed)" if hint else ""
        record.report("ae_homeMemberState", raw, f"no home Member State{also}: the row was skipped")
        return None, raw
    if code not in EEA_STATES:
        message = (
            f"{_clean(raw)!r} is not the ISO 3166-1 alpha-2 code of an EU or EEA state "
            "(EL is accepted for Greece): the row was skipped"
        )
        record.report("ae_homeMemberState", raw, message)
        return None, raw
    return code, raw


def _lei(record: _Record, *, required: bool) -> str | None:
    raw = record.raw("ae_lei")
    value = record.optional("ae_lei")
    if value is None:
        if required:
            record.report("ae_lei", raw, "no LEI (MiCA requires one of every CASP); kept without")
        return None
    lei = value.upper()
    if lei_is_valid(lei):
        return lei
    if re.fullmatch(r"\d(\.\d+)?E\+\d+", lei):
        why = "is a number in scientific notation, an LEI mangled by a spreadsheet"
    elif not _LEI.fullmatch(lei):
        why = (
            "is not an LEI: ISO 17442 has 20 characters (18 letters or digits, 2 check digits), "
            f"this has {len(lei)}"
        )
    else:
        why = "fails the ISO 17442 check digits (ISO 7064 MOD 97-10)"
    stripped = re.sub(r"[^0-9A-Z]", "", lei)
    if stripped != lei and lei_is_valid(stripped):
        why += f"; {stripped} without the punctuation would be valid, but was not assumed"
    record.report("ae_lei", raw, f"{why}; the row was kept without an LEI")
    return None


def _country(record: _Record, column: str) -> str | None:
    value = record.optional(column)
    if value is None:
        return None
    code = _COUNTRY_ALIASES.get(value.upper(), value.upper())
    if not re.fullmatch(r"[A-Z]{2}", code):
        record.report(column, record.raw(column), "is not an ISO 3166-1 alpha-2 code; dropped")
        return None
    return code


def _date(record: _Record, column: str, *, required: bool) -> dt.date | None:
    value = record.optional(column)
    if value is None:
        if required:
            record.report(column, record.raw(column), "no date; the row was kept without it")
        return None
    dmy, iso = _DATE_DMY.fullmatch(value), _DATE_ISO.fullmatch(value)
    try:
        if dmy:
            return dt.date(int(dmy[3]), int(dmy[2]), int(dmy[1]))
        if iso:
            return dt.date(int(iso[1]), int(iso[2]), int(iso[3]))
    except ValueError as exc:
        record.report(column, value, f"is not a calendar date ({exc}); kept without it")
        return None
    record.report(column, value, "is not a date in the form DD/MM/YYYY; kept without it")
    return None


def _yes_no(record: _Record, column: str) -> bool | None:
    value = record.text(column)
    if value is None:
        return None
    if value.lower() in {"yes", "y", "true"}:
        return True
    if value.lower() in {"no", "n", "false"}:
        return False
    record.report(column, value, "is neither Yes nor No; kept as unknown")
    return None


def _websites(record: _Record, column: str) -> tuple[str, ...]:
    value = record.optional(column)
    if value is None:
        return ()
    items = [i for i in re.split(r"[|;,\s]+", value) if i and i.lower() not in _NOTHING]
    good = tuple(dict.fromkeys(i for i in items if _WEBSITE.fullmatch(i)))
    bad = [i for i in items if not _WEBSITE.fullmatch(i)]
    if bad and not good:
        record.report(column, value, "is not a web address; dropped")
    elif bad:
        listed = ", ".join(repr(b) for b in bad)
        record.report(column, value, f"holds {listed}, not a web address; kept only the others")
    return good


def _passports(record: _Record, column: str) -> tuple[str, ...]:
    states: set[str] = set()
    for item in re.split(r"[|,;/\s]+", record.raw(column)):
        code = _COUNTRY_ALIASES.get(item.upper(), item.upper())
        if not code:
            continue
        if code in EEA_STATES:
            states.add(code)
        else:
            message = (
                f"{item!r} is not the ISO 3166-1 alpha-2 code of an EU or EEA state, the only "
                "states a MiCA authorisation reaches (Art 65); dropped from the list"
            )
            record.report(column, record.raw(column), message)
    return tuple(sorted(states))


# --- services (MiCA Art 3(1)(16)) --------------------------------------------------------------


def _services(record: _Record, column: str) -> tuple[str, ...]:
    items = [i.strip(" .;,") for i in _SERVICE_SEPARATOR.split(_clean(record.raw(column)))]
    if not any(items):
        record.report(column, record.raw(column), "no service listed; kept with none")
        return ()
    found: set[str] = set()
    for item in filter(None, items):
        letters, trouble = _service_item(item)
        found |= letters
        if trouble:
            record.report(column, item, trouble)
    return tuple(sorted(found))


def _service_item(item: str) -> tuple[set[str], str | None]:
    """The letters one list item stands for, and what was doubtful about it.

    The letter and the wording agree in a clean item. Where they disagree the wording wins: it is
    the longer evidence, and the one row seen that disagrees (CASP20260209.csv row 39) has every
    letter shifted by one against wording that is right.
    """
    match = _SERVICE_ITEM.fullmatch(item)
    letter = match[1].lower() if match else None
    text = match[2] if match else item
    named = _services_named(text)
    several = f"runs several services together ({', '.join(sorted(named))}); all were taken"
    if letter is None:
        if not named:
            return named, "names no MiCA Art 3(1)(16) service; ignored"
        return named, several if len(named) > 1 else None
    if not text.strip() or named == {letter}:
        return {letter}, None
    if not named:
        return {letter}, f"is not the wording of Art 3(1)({letter}); the letter {letter} was taken"
    if letter in named:
        return named, several
    wording = ", ".join(sorted(named))
    return named, (
        f"has the letter {letter} ({MICA_SERVICES[letter]}) but the wording of ({wording}); "
        "the wording was taken"
    )


def _services_named(text: str) -> set[str]:
    words = " ".join(text.lower().replace("-", " ").split())
    return {letter for letter, keyword in _SERVICE_KEYWORDS if keyword in words}
