"""The columns of one ESMA register record read into a row: states, names, LEIs, dates, websites.

:func:`casp_row` and :func:`ncasp_row` read a :class:`~assay.access.esma_record.Record` column by
column into an :class:`~assay.access.esma_rows.AuthorisedCasp` or an
:class:`~assay.access.esma_rows.UnauthorisedEntity`; a record without a name or a valid home
Member State gives None (the row is skipped). A cosmetic wart (whitespace, a trailing ``|``,
``EL`` for Greece) is normalised quietly; any other value not read as published is reported on
the record with what was done about it (kept without it, dropped, the row skipped). The service
column is :mod:`assay.access.esma_services`'s.

It never corrects a value silently when the correction is a judgement (an LEI without its
punctuation, a state outside the EEA) and never raises on a value.
"""

from __future__ import annotations

import datetime as dt
import re

from assay.access.esma_record import NOTHING, Record, clean
from assay.access.esma_rows import (
    EEA_STATES,
    LEI_PATTERN,
    AuthorisedCasp,
    UnauthorisedEntity,
    lei_is_valid,
)
from assay.access.esma_services import read_services

# EU institutions write EL for Greece (and UK for the United Kingdom); ISO 3166-1 says GR and GB.
_COUNTRY_ALIASES = {"EL": "GR", "UK": "GB"}
_DATE_DMY = re.compile(r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})")
_DATE_ISO = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_WEBSITE = re.compile(r"(?i)(https?://)?([^\W_]([\w-]*[^\W_])?\.)+[^\W\d_]{2,}(:\d+)?([/?#]\S*)?")


def casp_row(record: Record) -> AuthorisedCasp | None:
    """A CASP record as a row; None (reported) without a name or a valid home Member State."""
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
        services=read_services(record, "ac_serviceCode"),
        passported_to=_passports(record, "ac_serviceCode_cou"),
        comments=record.optional("ac_comments"),
        last_update=_date(record, "ac_lastupdate", required=False),
    )
    return row if home and name else None


def ncasp_row(record: Record) -> UnauthorisedEntity | None:
    """An NCASP record as a row; None (reported) without a name or a valid home Member State."""
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


def _authority(record: Record) -> str:
    value = record.text("ae_competentAuthority")
    if value is None:
        record.report("ae_competentAuthority", "", "no competent authority; kept empty")
    return value or ""


def _name(record: Record) -> str | None:
    value = record.text("ae_lei_name")
    if value is None:
        record.report("ae_lei_name", record.raw("ae_lei_name"), "no name: the row was skipped")
    return value


def _home_state(record: Record) -> tuple[str | None, str]:
    raw = record.raw("ae_homeMemberState")
    code = clean(raw).upper()
    code = _COUNTRY_ALIASES.get(code, code)
    if not code:
        hint = clean(record.raw("ae_lei_cou_code")).upper()
        also = f" (ae_lei_cou_code says {hint}: the LEI's country, not assumed)" if hint else ""
        record.report("ae_homeMemberState", raw, f"no home Member State{also}: the row was skipped")
        return None, raw
    if code not in EEA_STATES:
        message = (
            f"{clean(raw)!r} is not the ISO 3166-1 alpha-2 code of an EU or EEA state "
            "(EL is accepted for Greece): the row was skipped"
        )
        record.report("ae_homeMemberState", raw, message)
        return None, raw
    return code, raw


def _lei(record: Record, *, required: bool) -> str | None:
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
    elif not LEI_PATTERN.fullmatch(lei):
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


def _country(record: Record, column: str) -> str | None:
    value = record.optional(column)
    if value is None:
        return None
    code = _COUNTRY_ALIASES.get(value.upper(), value.upper())
    if not re.fullmatch(r"[A-Z]{2}", code):
        record.report(column, record.raw(column), "is not an ISO 3166-1 alpha-2 code; dropped")
        return None
    return code


def _date(record: Record, column: str, *, required: bool) -> dt.date | None:
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


def _yes_no(record: Record, column: str) -> bool | None:
    value = record.text(column)
    if value is None:
        return None
    if value.lower() in {"yes", "y", "true"}:
        return True
    if value.lower() in {"no", "n", "false"}:
        return False
    record.report(column, value, "is neither Yes nor No; kept as unknown")
    return None


def _websites(record: Record, column: str) -> tuple[str, ...]:
    value = record.optional(column)
    if value is None:
        return ()
    items = [i for i in re.split(r"[|;,\s]+", value) if i and i.lower() not in NOTHING]
    good = tuple(dict.fromkeys(i for i in items if _WEBSITE.fullmatch(i)))
    bad = [i for i in items if not _WEBSITE.fullmatch(i)]
    if bad and not good:
        record.report(column, value, "is not a web address; dropped")
    elif bad:
        listed = ", ".join(repr(b) for b in bad)
        record.report(column, value, f"holds {listed}, not a web address; kept only the others")
    return good


def _passports(record: Record, column: str) -> tuple[str, ...]:
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
