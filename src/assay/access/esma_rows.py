"""The rows of ESMA's interim MiCA registers, and the vocabulary the files are read against.

:func:`assay.access.esma.parse_register` gives a :class:`ParsedRegister`: :class:`AuthorisedCasp`
rows (the CASP file: providers authorised under MiCA Art 59-63) or :class:`UnauthorisedEntity`
rows (the NCASP file), and a :class:`RowProblem` for every value not read as published. The
headers ESMA writes, the states a MiCA authorisation reaches (Art 65), the services of
Art 3(1)(16) and the ISO 17442 LEI check (:func:`lei_is_valid`) are what the reader holds the
files to (docs/formats/esma-register.md describes both files, column by column).

Frozen data and constants: it parses nothing and never touches a database or a clock.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "CASP_COLUMNS",
    "CASP_HEADER",
    "EEA_STATES",
    "LEI_PATTERN",
    "MICA_SERVICES",
    "NCASP_COLUMNS",
    "NCASP_HEADER",
    "AuthorisedCasp",
    "ParsedRegister",
    "RowProblem",
    "UnauthorisedEntity",
    "lei_is_valid",
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
#: An ISO 17442 LEI's form: 18 letters or digits, then 2 check digits.
LEI_PATTERN = re.compile(r"[0-9A-Z]{18}[0-9]{2}")


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
    if not LEI_PATTERN.fullmatch(lei):
        return False
    return int("".join(str(int(c, 36)) for c in lei)) % 97 == 1
