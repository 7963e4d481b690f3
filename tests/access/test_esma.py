"""ESMA's interim MiCA register files: the two real publications, every wart, and arbitrary rows."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import inspect
import io
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assay.access import esma
from assay.access.esma import normalise_name, parse_register
from assay.access.esma_rows import (
    CASP_COLUMNS,
    CASP_HEADER,
    EEA_STATES,
    MICA_SERVICES,
    NCASP_COLUMNS,
    NCASP_HEADER,
    AuthorisedCasp,
    ParsedRegister,
    RowProblem,
    UnauthorisedEntity,
    lei_is_valid,
)
from assay.errors import InvalidInput
from tests.samples import ESMA

SAMPLES = ESMA
CASP_FILE = SAMPLES / "CASP20260209.csv"
NCASP_FILE = SAMPLES / "NCASP20260209.csv"
BOM = b"\xef\xbb\xbf"

# The first row of the real CASP file, as values to vary one at a time.
BYBIT: dict[str, str | bytes] = {
    "ae_competentAuthority": "Austrian Financial Market Authority (FMA)",
    "ae_homeMemberState": "AT",
    "ae_lei_name": "Bybit EU GmbH",
    "ae_lei": "5299005V5GBSN2A4C303",
    "ae_lei_cou_code": "AT",
    "ae_commercial_name": "Bybit",
    "ae_address": "Donau-City-Strasse 7, 1220 Vienna, Austria",
    "ae_website": "https://www.bybit.eu",
    "ae_website_platform": "",
    "ac_authorisationNotificationDate": "28/05/2025",
    "ac_authorisationEndDate": "",
    "ac_serviceCode": (
        "a. providing custody and administration of crypto-assets on behalf of clients | "
        "c. exchange of crypto-assets for funds | j. providing transfer services for "
        "crypto-assets on behalf of clients"
    ),
    "ac_serviceCode_cou": "BE|BG|DE|",
    "ac_comments": "",
    "ac_lastupdate": "28/05/2025",
}
# A row of the real NCASP file.
MEXC: dict[str, str | bytes] = {
    "ae_competentAuthority": "Netherlands Authority for the Financial Markets (AFM)",
    "ae_homeMemberState": "NL",
    "ae_lei_name": "MEXC Global",
    "ae_lei": "",
    "ae_lei_cou_code": "NL",
    "ae_commercial_name": "MEXC",
    "ae_website": "https://www.mexc.com/",
    "ae_infrigment": "No",
    "ae_reason": "MEXC Global provides crypto-asset services in the Netherlands without a licence.",
    "ae_decision_date": "16/09/2025",
    "ae_comments": "",
    "ae_lastupdate": "25/09/2025",
}


def _cell(value: str | bytes) -> bytes:
    raw = value.encode("utf-8") if isinstance(value, str) else value
    if any(c in raw for c in b',"\r\n'):
        return b'"' + raw.replace(b'"', b'""') + b'"'
    return raw


def _line(values: list[str | bytes]) -> bytes:
    return b",".join(_cell(v) for v in values) + b"\r\n"


def casp_file(*rows: dict[str, str | bytes], bom: bytes = BOM) -> bytes:
    """A CASP file with a header and these rows (each a full BYBIT-shaped dict)."""
    return bom + CASP_HEADER.encode() + b"\r\n" + b"".join(_line(list(r.values())) for r in rows)


def casp(**changes: str | bytes) -> bytes:
    """A CASP file of one row: Bybit's, with some values changed."""
    return casp_file({**BYBIT, **changes})


def ncasp(**changes: str | bytes) -> bytes:
    """An NCASP file of one row: MEXC's, with some values changed."""
    row = {**MEXC, **changes}
    return BOM + NCASP_HEADER.encode() + b"\r\n" + _line(list(row.values()))


def only_casp(data: bytes) -> tuple[AuthorisedCasp, list[RowProblem]]:
    parsed = parse_register(data, file_name="test.csv")
    assert len(parsed.authorised) == 1, parsed.problems
    return parsed.authorised[0], list(parsed.problems)


def problems_of(data: bytes) -> list[tuple[int, str | None, str]]:
    return [(p.row, p.field, p.value) for p in parse_register(data, file_name="t.csv").problems]


def data_records(path: Path) -> int:
    """The data records of a file, counted independently of the parser."""
    text = path.read_bytes().decode("utf-8-sig")
    return len(list(csv.reader(io.StringIO(text, newline="")))) - 1


# --- the real files ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def real_casp() -> ParsedRegister:
    return parse_register(CASP_FILE.read_bytes(), file_name=CASP_FILE.name)


@pytest.fixture(scope="module")
def real_ncasp() -> ParsedRegister:
    return parse_register(NCASP_FILE.read_bytes(), file_name=NCASP_FILE.name)


def test_the_real_casp_file_is_read_record_for_record(real_casp: ParsedRegister) -> None:
    assert real_casp.kind == "casp"
    assert real_casp.rows_read == data_records(CASP_FILE) == 150
    assert real_casp.skipped_rows == (4,)  # Cryptonow GmbH: no home Member State
    assert len(real_casp.rows) == 149
    assert real_casp.file_sha256 == hashlib.sha256(CASP_FILE.read_bytes()).hexdigest()
    assert real_casp.unauthorised == ()


def test_bybit_eu_is_read_with_its_lei_services_and_28_passport_states(
    real_casp: ParsedRegister,
) -> None:
    bybit = real_casp.authorised[0]
    assert (bybit.row, bybit.legal_name, bybit.home_state) == (2, "Bybit EU GmbH", "AT")
    assert bybit.lei == "5299005V5GBSN2A4C303"
    assert bybit.services == ("a", "c", "d", "f", "j")
    assert len(bybit.passported_to) == 28
    assert "AT" not in bybit.passported_to  # ESMA lists the host states only, here
    assert bybit.passported_to == tuple(sorted(bybit.passported_to))
    assert bybit.authorised_on == dt.date(2025, 5, 28)
    assert bybit.authorisation_ends is None
    assert bybit.websites == ("https://www.bybit.eu",)


def test_characters_lost_before_publication_are_reported_not_hidden(
    real_casp: ParsedRegister,
) -> None:
    # The published bytes of Bybit's "Straße" are already EF BF BD (U+FFFD), not Windows-1252.
    bybit = real_casp.authorised[0]
    assert bybit.address == "Donau-City-Stra\ufffde 7, 1220 Vienna, Austria"
    lost = [(p.row, p.field) for p in real_casp.problems if "U+FFFD" in p.message]
    assert lost == [(2, "ae_address"), (3, "ae_address"), (87, "ae_commercial_name")]


def test_the_real_casp_file_reports_each_of_its_warts_and_nothing_else(
    real_casp: ParsedRegister,
) -> None:
    assert [(p.row, p.field) for p in real_casp.problems] == [
        (2, "ae_address"),  # U+FFFD in "Straße"
        (3, "ae_address"),  # U+FFFD in "Löw"
        (4, "ae_homeMemberState"),  # empty: the row is skipped
        (10, "ac_authorisationNotificationDate"),  # empty: KBC kept without a date
        (19, "ac_serviceCode"),  # g and h run together without a separator
        (21, "ac_serviceCode_cou"),  # CH is not an EEA state
        (28, "ae_website"),  # a link's title, not its address
        (30, "ae_website"),  # same
        (39, "ac_serviceCode"),  # five letters shifted against their wording
        (39, "ac_serviceCode"),
        (39, "ac_serviceCode"),
        (39, "ac_serviceCode"),
        (39, "ac_serviceCode"),
        (65, "ae_lei"),  # 9.60E+19
        (82, "ae_website"),  # the end of the address ("75012 Paris")
        (83, "ae_website"),
        (84, "ae_website"),
        (87, "ae_commercial_name"),  # U+FFFD around "Kraken"
        (90, "ae_lei"),  # a trailing "."
        (105, "ae_website"),  # https.//coinbase.com
        (135, "ae_lei"),  # 21 characters
    ]


def test_the_shifted_service_letters_of_one_row_are_read_by_their_wording(
    real_casp: ParsedRegister,
) -> None:
    scheich = next(r for r in real_casp.authorised if r.row == 39)
    assert scheich.legal_name == "Bankhaus Scheich Wertpapierspezialist AG"
    assert scheich.services == ("c", "d", "e", "f", "g", "h", "i")


def test_the_row_without_home_state_says_what_the_lei_country_suggests(
    real_casp: ParsedRegister,
) -> None:
    problem = next(p for p in real_casp.problems if p.row == 4)
    assert "ae_lei_cou_code says AT" in problem.message
    assert "skipped" in problem.message


def test_every_real_casp_row_has_services_and_a_valid_lei_or_a_problem(
    real_casp: ParsedRegister,
) -> None:
    rows_with_lei_problems = {p.row for p in real_casp.problems if p.field == "ae_lei"}
    for row in real_casp.authorised:
        assert row.services, row
        assert set(row.services) <= set(MICA_SERVICES)
        assert (row.lei is None) == (row.row in rows_with_lei_problems)


def test_the_real_ncasp_file_is_read_record_for_record(real_ncasp: ParsedRegister) -> None:
    assert real_ncasp.kind == "ncasp"
    assert real_ncasp.rows_read == data_records(NCASP_FILE) == 101
    assert len(real_ncasp.unauthorised) == 101
    assert [(p.row, p.field) for p in real_ncasp.problems] == [(88, "ae_website")]  # "ttps://"
    cryptoin = next(r for r in real_ncasp.unauthorised if r.row == 88)
    assert cryptoin.websites == (
        "https://cryptoin24.com",
        "https://clients.cryptoin24.com",
        "https://trading.cryptoin24.com",
    )


def test_the_real_ncasp_file_reads_websites_reasons_and_dates(real_ncasp: ParsedRegister) -> None:
    dobibo = real_ncasp.unauthorised[0]
    assert dobibo.name == "Dobibo"
    assert dobibo.websites == ("https://dobibo.com", "https://dobibo1.com", "https://dobibo2.com")
    assert (dobibo.reason, dobibo.lei, dobibo.infringement) == (None, None, False)
    assert dobibo.decision_date == dt.date(2025, 2, 12)
    mexc = next(r for r in real_ncasp.unauthorised if r.name == "MEXC Global")
    assert mexc.home_state == "NL"
    assert mexc.reason is not None
    assert "section 59 MiCAR" in mexc.reason
    authorities = {r.competent_authority for r in real_ncasp.unauthorised}
    assert "Commissione Nazionale per le Societa e la Borsa (CONSOB)" in authorities
    assert len(authorities) == 3  # the double space in one CONSOB row is collapsed


# --- encodings ---------------------------------------------------------------------------------


def test_windows_1252_bytes_in_a_field_are_decoded_as_windows_1252() -> None:
    row, problems = only_casp(
        casp(ae_address=b"Donau-City-Stra\xdfe 7, 1220 Vienna", ae_lei_name="Bybit EU GmbH \xe9")
    )
    assert row.address == "Donau-City-Straße 7, 1220 Vienna"
    assert row.legal_name == "Bybit EU GmbH é"  # the UTF-8 field of the same line stays UTF-8
    assert problems == []


def test_windows_1252_quotes_are_decoded() -> None:
    row, _ = only_casp(casp(ae_commercial_name=b"Kraken (\x93Kraken\x94)"))
    assert row.commercial_name == "Kraken (\u201cKraken\u201d)"


def test_a_byte_neither_utf8_nor_windows_1252_is_replaced_and_reported() -> None:
    row, problems = only_casp(casp(ae_address=b"Stra\x81e 7"))
    assert row.address == "Stra\ufffde 7"
    assert [(p.row, p.field) for p in problems] == [(2, "ae_address")]
    assert "neither UTF-8 nor Windows-1252" in problems[0].message


@pytest.mark.parametrize(
    "bom",
    [
        BOM,  # as ESMA publishes
        b"",  # as a text editor may save it
    ],
)
def test_the_byte_order_mark_is_optional(bom: bytes) -> None:
    parsed = parse_register(casp_file(BYBIT, bom=bom), file_name="t.csv")
    assert (parsed.kind, len(parsed.rows), parsed.problems) == ("casp", 1, ())


# --- services ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("listed", "letters"),
    [
        # a tab after the letter, as in the Maltese rows
        ("a.\tproviding custody and administration of crypto-assets on behalf of clients", "a"),
        # trailing and doubled pipes, as in several rows
        ("c. exchange of crypto-assets for funds | | j. providing transfer services |", "cj"),
        # no space after the letter
        ("h.providing advice on crypto-assets|i. providing portfolio management", "hi"),
        # ";" and ", " used as separators
        ("a. custody of crypto-assets ;  j. providing transfer services", "aj"),
        ("e. execution of orders, g. reception and transmission of orders", "eg"),
        # wording without letters, trailing full stops, "crypto assets" without hyphen
        ("exchange of crypto-assets for other crypto assets. | placing of crypto-assets.", "df"),
        # a truncated wording that still names its service
        ("d. exchange of crypto-assets for other", "d"),
        # upper-case letter, and the same service twice
        ("B. operation of a trading platform | b. operation of a trading platform", "b"),
    ],
)
def test_service_lists_are_read_through_tabs_and_stray_separators(
    listed: str, letters: str
) -> None:
    row, problems = only_casp(casp(ac_serviceCode=listed))
    assert row.services == tuple(letters)
    assert problems == []


def test_unknown_service_text_is_a_problem_naming_row_field_and_value() -> None:
    row, problems = only_casp(
        casp(ac_serviceCode="a. providing custody | staking of crypto-assets | k. lending")
    )
    assert row.services == ("a",)
    assert [(p.row, p.field, p.value) for p in problems] == [
        (2, "ac_serviceCode", "staking of crypto-assets"),
        (2, "ac_serviceCode", "k. lending"),
    ]
    assert "names no MiCA Art 3(1)(16) service" in problems[0].message


def test_a_letter_whose_wording_names_another_service_takes_the_wording() -> None:
    row, problems = only_casp(casp(ac_serviceCode="e. placing of crypto-assets"))
    assert row.services == ("f",)
    assert "letter e" in problems[0].message
    assert "the wording was taken" in problems[0].message


def test_a_letter_with_unrecognised_wording_keeps_the_letter_and_says_so() -> None:
    row, problems = only_casp(casp(ac_serviceCode="g. something else entirely"))
    assert row.services == ("g",)
    assert [p.field for p in problems] == ["ac_serviceCode"]


def test_two_services_run_together_are_both_taken_and_reported() -> None:
    listed = "reception and transmission of orders for crypto-assets  providing advice"
    row, problems = only_casp(casp(ac_serviceCode=listed))
    assert row.services == ("g", "h")
    assert "runs several services together (g, h)" in problems[0].message


def test_an_empty_service_list_is_a_problem() -> None:
    row, problems = only_casp(casp(ac_serviceCode=" | "))
    assert row.services == ()
    assert [(p.field, p.message) for p in problems] == [
        ("ac_serviceCode", "no service listed; kept with none")
    ]


# --- states ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "published",
    [
        "EL",  # the EU's own code
        "GR",  # ISO 3166-1
        " el ",  # padded, lower case
    ],
)
def test_greece_is_normalised_from_el_and_gr(published: str) -> None:
    row, problems = only_casp(casp(ae_homeMemberState=published, ac_serviceCode_cou="EL|GR|CY"))
    assert (row.home_state, row.home_state_raw) == ("GR", published)
    assert row.passported_to == ("CY", "GR")
    assert problems == []


def test_the_passport_list_is_sorted_deduplicated_and_upper_cased() -> None:
    row, problems = only_casp(
        casp(ac_serviceCode_cou="NL|AT| Fi|de|DE | EE||IT  | LT |\tPL|")  # warts from the file
    )
    assert row.passported_to == ("AT", "DE", "EE", "FI", "IT", "LT", "NL", "PL")
    assert problems == []


def test_a_passport_outside_the_eea_is_dropped_with_a_problem() -> None:
    row, problems = only_casp(casp(ac_serviceCode_cou="DE|CH|AT|Germany"))
    assert row.passported_to == ("AT", "DE")
    assert [(p.field, p.message.split()[0]) for p in problems] == [
        ("ac_serviceCode_cou", "'CH'"),
        ("ac_serviceCode_cou", "'Germany'"),
    ]
    assert "Art 65" in problems[0].message


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        # no home state: a licence that cannot be placed
        ({"ae_homeMemberState": ""}, "ae_homeMemberState"),
        # a home state outside the EEA
        ({"ae_homeMemberState": "CH"}, "ae_homeMemberState"),
        # no name
        ({"ae_lei_name": " \t"}, "ae_lei_name"),
    ],
)
def test_a_row_without_home_state_or_name_is_skipped_with_a_problem(
    changes: dict[str, str], field: str
) -> None:
    parsed = parse_register(casp(**changes), file_name="t.csv")
    assert (parsed.rows, parsed.rows_read, parsed.skipped_rows) == ((), 1, (2,))
    assert [(p.row, p.field) for p in parsed.problems] == [(2, field)]
    assert "the row was skipped" in parsed.problems[0].message


# --- dates, LEIs, websites --------------------------------------------------------------------


def test_an_impossible_date_is_a_problem_naming_row_field_and_value() -> None:
    row, problems = only_casp(casp(ac_authorisationNotificationDate="31/02/2025"))
    assert row.authorised_on is None
    assert [(p.file, p.row, p.field, p.value) for p in problems] == [
        ("test.csv", 2, "ac_authorisationNotificationDate", "31/02/2025")
    ]
    assert "is not a calendar date" in problems[0].message
    assert "test.csv row 2, ac_authorisationNotificationDate" in str(problems[0])


@pytest.mark.parametrize(
    ("published", "read"),
    [
        ("28/05/2025", dt.date(2025, 5, 28)),  # ESMA's form
        ("1/2/2026", dt.date(2026, 2, 1)),  # without leading zeros
        (" 28.05.2025 ", dt.date(2025, 5, 28)),  # dots, padded
        ("2025-05-28", dt.date(2025, 5, 28)),  # ISO 8601
    ],
)
def test_dates_are_day_first(published: str, read: dt.date) -> None:
    row, problems = only_casp(casp(ac_authorisationEndDate=published))
    assert (row.authorisation_ends, problems) == (read, [])


def test_a_date_in_another_form_is_a_problem() -> None:
    row, problems = only_casp(casp(ac_lastupdate="May 28, 2025"))
    assert row.last_update is None
    assert [(p.field, p.value) for p in problems] == [("ac_lastupdate", "May 28, 2025")]
    assert "DD/MM/YYYY" in problems[0].message


@pytest.mark.parametrize(
    ("lei", "valid"),
    [
        ("5299005V5GBSN2A4C303", True),  # Bybit EU GmbH
        ("097900CAKA0000269926", True),  # FUMBI, s. r. o.
        ("5299005V5GBSN2A4C304", False),  # one check digit off
        ("5299005v5gbsn2a4c303", False),  # ISO 17442 is upper case
        ("89450036UW3ID72T1M84.", False),  # a trailing full stop, as published
        ("9.60E+19", False),  # as a spreadsheet shows a long number
    ],
)
def test_lei_check_digits_follow_iso_7064_mod_97_10(lei: str, valid: bool) -> None:
    assert lei_is_valid(lei) is valid


def test_a_bad_lei_checksum_is_a_problem_and_the_row_is_kept() -> None:
    row, problems = only_casp(casp(ae_lei="5299005V5GBSN2A4C304"))
    assert (row.legal_name, row.lei) == ("Bybit EU GmbH", None)
    assert [(p.row, p.field, p.value) for p in problems] == [(2, "ae_lei", "5299005V5GBSN2A4C304")]
    assert "check digits" in problems[0].message


def test_a_lower_case_or_padded_lei_is_read() -> None:
    row, problems = only_casp(casp(ae_lei=" 5299005v5gbsn2a4c303\xa0"))
    assert (row.lei, problems) == ("5299005V5GBSN2A4C303", [])


def test_a_lei_that_punctuation_spoils_is_not_repaired_but_the_repair_is_named() -> None:
    row, problems = only_casp(casp(ae_lei="5299005V5GBSN2A4C303."))
    assert row.lei is None
    assert "5299005V5GBSN2A4C303 without the punctuation would be valid" in problems[0].message


@pytest.mark.parametrize(
    ("published", "websites"),
    [
        ("www.skrill.com\nwww.neteller.com", ("www.skrill.com", "www.neteller.com")),  # newline
        ("https://a.example|https://b.example|", ("https://a.example", "https://b.example")),
        ("n/a", ()),  # Malta's "nothing"
        ("https://www.bybit.eu ", ("https://www.bybit.eu",)),
    ],
)
def test_websites_are_split_and_blank_markers_dropped(
    published: str, websites: tuple[str, ...]
) -> None:
    row, problems = only_casp(casp(ae_website=published, ae_website_platform=published))
    assert row.websites == row.platform_websites == websites
    assert problems == []


def test_text_in_the_website_column_is_a_problem() -> None:
    row, problems = only_casp(casp(ae_website=" 75012 Paris"))
    assert row.websites == ()
    assert [(p.field, p.value, p.message) for p in problems] == [
        ("ae_website", "75012 Paris", "is not a web address; dropped")
    ]


# --- record structure --------------------------------------------------------------------------


def test_an_unknown_header_is_invalid_input_naming_the_file() -> None:
    with pytest.raises(InvalidInput) as raised:
        parse_register(b"name,country\r\nBybit,AT\r\n", file_name="EMT20260209.csv")
    error = raised.value
    assert "EMT20260209.csv" in error.message
    assert "ae_homeMemberState" in error.message
    assert "ae_infrigment" in error.message
    assert error.field == "header"
    assert error.value == ["name", "country"]
    assert error.details["casp_columns"] == list(CASP_COLUMNS)
    assert error.details["ncasp_columns"] == list(NCASP_COLUMNS)


@pytest.mark.parametrize(
    "data",
    [
        b"",  # an empty download
        BOM + b"\r\n\r\n",  # nothing but blank lines
        BOM + CASP_HEADER.encode().replace(b",ac_comments", b""),  # a column missing
        BOM + CASP_HEADER.encode() + b",ac_extra",  # a column added
    ],
)
def test_a_header_that_is_not_exactly_either_format_is_invalid_input(data: bytes) -> None:
    with pytest.raises(InvalidInput, match=r"t\.csv: the header is neither"):
        parse_register(data, file_name="t.csv")


def test_header_case_order_and_padding_do_not_matter() -> None:
    columns = list(reversed(CASP_COLUMNS))
    header = ",".join(f" {c.upper()} " for c in columns).encode() + b",,\r\n"
    data = header + _line([BYBIT[c] for c in columns])
    parsed = parse_register(data, file_name="t.csv")
    assert (parsed.authorised[0].legal_name, parsed.problems) == ("Bybit EU GmbH", ())


def test_a_row_with_a_missing_or_stray_separator_is_skipped_with_a_problem() -> None:
    short = b"Austrian FMA,AT,Bybit EU GmbH\r\n"
    long = b"A,AT,B,5299005V5GBSN2A4C303,AT,B,Street 1, Vienna,w,,28/05/2025,,a.,AT,,x,y\r\n"
    parsed = parse_register(casp_file(BYBIT) + short + long, file_name="t.csv")
    assert (len(parsed.rows), parsed.rows_read, parsed.skipped_rows) == (1, 3, (3, 4))
    assert [(p.row, p.field) for p in parsed.problems] == [(3, None), (4, None)]
    assert "has 3 fields where the header has 15" in parsed.problems[0].message


def test_a_field_too_long_for_csv_ends_the_read_with_a_problem_and_keeps_earlier_rows() -> None:
    huge = {**BYBIT, "ac_comments": "x" * 200_000}
    parsed = parse_register(casp_file(BYBIT, huge, BYBIT), file_name="t.csv")
    assert (len(parsed.rows), parsed.rows_read) == (1, 1)
    assert [(p.row, p.field) for p in parsed.problems] == [(3, None)]
    assert "no later row was read" in parsed.problems[0].message


def test_blank_lines_and_trailing_empty_cells_are_not_problems() -> None:
    data = casp_file(BYBIT).replace(b"\r\n", b",,\r\n\r\n") + b",,,\r\n"
    parsed = parse_register(data, file_name="t.csv")
    assert (len(parsed.rows), parsed.rows_read, parsed.problems) == (1, 1, ())


def test_rows_are_numbered_as_a_spreadsheet_numbers_them() -> None:
    # A quoted newline makes row 2 two lines long; row 3 is still row 3.
    two = {**BYBIT, "ae_address": "Suché mýto 6, 811 03 Bratislava\r\n"}
    three = {**BYBIT, "ac_lastupdate": "31/02/2025"}
    parsed = parse_register(casp_file(two, three), file_name="t.csv")
    assert [r.row for r in parsed.rows] == [2, 3]
    assert parsed.authorised[0].address == "Suché mýto 6, 811 03 Bratislava"
    assert [(p.row, p.field) for p in parsed.problems] == [(3, "ac_lastupdate")]


def test_whitespace_of_every_kind_is_collapsed() -> None:
    row, _ = only_casp(
        casp(
            ae_competentAuthority=" Austrian Financial Market Authority (FMA)\xa0",
            ae_lei_name="Trading 212\tMarkets Ltd ",
        )
    )
    assert row.competent_authority == "Austrian Financial Market Authority (FMA)"
    assert row.legal_name == "Trading 212 Markets Ltd"


# --- the NCASP file ----------------------------------------------------------------------------


def test_an_unauthorised_entity_is_read_with_its_reason_and_decision() -> None:
    parsed = parse_register(ncasp(ae_website="https://a.example|https://b.example"), file_name="n")
    (entity,) = parsed.unauthorised
    assert parsed.kind == "ncasp"
    assert parsed.authorised == ()
    assert entity == UnauthorisedEntity(
        row=2,
        competent_authority="Netherlands Authority for the Financial Markets (AFM)",
        home_state="NL",
        home_state_raw="NL",
        name="MEXC Global",
        lei=None,
        lei_country="NL",
        commercial_name="MEXC",
        websites=("https://a.example", "https://b.example"),
        infringement=False,
        reason="MEXC Global provides crypto-asset services in the Netherlands without a licence.",
        decision_date=dt.date(2025, 9, 16),
        comments=None,
        last_update=dt.date(2025, 9, 25),
    )


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"ae_infrigment": "Maybe"}, "ae_infrigment"),  # neither Yes nor No
        ({"ae_decision_date": ""}, "ae_decision_date"),  # a listing needs its decision date
        ({"ae_lei": "5299005V5GBSN2A4C304"}, "ae_lei"),  # a bad LEI where one is given
    ],
)
def test_an_unauthorised_entity_with_an_unreadable_value_is_kept_with_a_problem(
    changes: dict[str, str], field: str
) -> None:
    parsed = parse_register(ncasp(**changes), file_name="n")
    assert len(parsed.rows) == 1
    assert [p.field for p in parsed.problems] == [field]


def test_none_as_a_reason_is_no_reason_and_yes_is_an_infringement() -> None:
    (entity,) = parse_register(ncasp(ae_reason="None", ae_infrigment="Yes"), file_name="n").rows
    assert isinstance(entity, UnauthorisedEntity)
    assert (entity.reason, entity.infringement) == (None, True)


# --- names -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("Bybit EU GmbH", "bybit eu"),
        ("Bitmymoney B.V. ", "bitmymoney"),
        ("BITMYMONEY BV", "bitmymoney"),
        ("OPEN BANK S.A.", "open bank"),
        ("FUMBI, s. r. o.", "fumbi"),
        ("Fintegence, s.r.o.", "fintegence"),
        ("Madison Six j. s. a.", "madison six"),
        ("Nuvei Liquidity UAB", "nuvei liquidity"),
        ("UAB Decentralized", "decentralized"),  # Lithuanian names may start with the form
        ("RELAI EU SASU", "relai eu"),
        ("Paysafe Payment Solutions Limited.", "paysafe payment solutions"),
        ("Lang & Schwarz TradeCenter AG & Co. KG", "lang and schwarz tradecenter"),
        ("Traders Place GmbH & Co. KGaA", "traders place"),
        ("Baden-Württembergische Wertpapierbörse GmbH", "baden wurttembergische wertpapierborse"),
        ("Orcabay finančne storitve d.o.o.", "orcabay financne storitve"),
        ("Marc-Aurel-Straße", "marc aurel strasse"),
        ("Nørgaard ApS", "norgaard"),
        ("George\u2019s Quay Ltd", "georges quay"),  # a typographic apostrophe
        ("Commerzbank Aktiengesellschaft", "commerzbank"),
        ("AG", "ag"),  # a name that is only a legal form keeps it
        ("  ", ""),
    ],
)
def test_normalise_name_folds_case_accents_punctuation_and_legal_forms(name: str, key: str) -> None:
    assert normalise_name(name) == key


def test_normalise_name_is_idempotent() -> None:
    for name in ("Bybit EU GmbH", "Madison Six j. s. a.", "Zodia Custody (Europe) S.A."):
        assert normalise_name(normalise_name(name)) == normalise_name(name)


def test_every_public_class_and_function_is_in_all() -> None:
    defined = {
        name
        for name, value in vars(esma).items()
        if not name.startswith("_")
        and (inspect.isclass(value) or inspect.isfunction(value))
        and value.__module__ == esma.__name__
    }
    assert defined <= set(esma.__all__)
    assert all(hasattr(esma, name) for name in esma.__all__)


# --- arbitrary rows ----------------------------------------------------------------------------

WARTS = [
    b"",
    b" ",
    b"EL",
    b"GR",
    b"CH",
    b"31/02/2025",
    b"28/05/2025",
    b"5299005V5GBSN2A4C303",
    b"9.60E+19",
    b"a.\tproviding custody|",
    b"Stra\xdfe",
    b"\x81\x8d\x8f\x90\x9d",
    b"\xef\xbf\xbd",
    b"n/a",
    b"|||",
    b'"',
    b"\r",
    b"\n",
    b"\x00",
    b",",
]
FIELD = st.one_of(
    st.sampled_from(WARTS), st.binary(max_size=40), st.text(max_size=40).map(str.encode)
)


@settings(max_examples=300, deadline=None)
@given(
    header=st.sampled_from([CASP_HEADER, NCASP_HEADER]),
    rows=st.lists(st.lists(FIELD, max_size=18), max_size=6),
    quoted=st.booleans(),
)
def test_the_parser_never_raises_on_arbitrary_rows_under_a_valid_header(
    header: str, rows: list[list[bytes]], quoted: bool
) -> None:
    def cell(raw: bytes) -> bytes:
        return b'"' + raw.replace(b'"', b'""') + b'"' if quoted else raw

    data = (
        BOM + header.encode() + b"\r\n" + b"".join(b",".join(map(cell, r)) + b"\r\n" for r in rows)
    )
    parsed = parse_register(data, file_name="fuzz.csv")
    # Every record read is either kept or skipped, and every skipped one says why.
    assert parsed.rows_read == len(parsed.rows) + len(parsed.skipped_rows)
    problem_rows = {p.row for p in parsed.problems}
    assert set(parsed.skipped_rows) <= problem_rows
    for row in parsed.rows:
        assert row.home_state in EEA_STATES
        assert row.row not in parsed.skipped_rows
    if quoted:  # quoting keeps one record per written row
        assert parsed.rows_read <= len(rows)
