"""ESMA's register imported and counterparties looked up in it, on SQLite and PostgreSQL.

The real February 2026 publication is imported through the service, the API and the command
line: a file with problems is refused until they are accepted, a refusal stores nothing, the same
file twice is one import, and lookups find providers by LEI and by name whatever the legal form.
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import io
import json
import re
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from assay.access import counterparties
from assay.access.counterparties import Index, Listing, name_keys, normalise_jurisdiction
from assay.access.esma_rows import CASP_COLUMNS, EEA_STATES
from assay.access.store import CaspRow, EsmaImportRow, UnauthorisedRow
from assay.cli import run
from assay.errors import ExitCode, InvalidInput, PermissionDenied
from assay.platform import record
from assay.platform.context import Context
from assay.platform.roles import Role, system_principal
from assay.platform.runtime import Runtime
from tests.conftest import Seed, acting, bearer
from tests.samples import ESMA

SAMPLES = ESMA
CASP_FILE = SAMPLES / "CASP20260209.csv"
NCASP_FILE = SAMPLES / "NCASP20260209.csv"
BYBIT_LEI = "5299005V5GBSN2A4C303"
BOM = b"\xef\xbb\xbf"
# Bybit EU's passports as published: every EEA state but its home, Austria, and Malta.
PASSPORTS = sorted(EEA_STATES - {"AT", "MT"})
Use = Callable[..., Context]


@functools.cache
def _bytes(path: Path) -> bytes:
    return path.read_bytes()


def casp() -> bytes:
    return _bytes(CASP_FILE)


def ncasp() -> bytes:
    return _bytes(NCASP_FILE)


def lei(stem: str) -> str:
    """An LEI with valid ISO 7064 MOD 97-10 check digits for an 18-character ``stem``."""
    number = int("".join(str(int(c, 36)) for c in stem + "00"))
    return f"{stem}{98 - number % 97:02d}"


def clean_casp(*names: str) -> bytes:
    """A CASP file without problems: one Austrian provider per name, passported to DE and FR."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CASP_COLUMNS)
    for number, name in enumerate(names):
        row = {
            "ae_competentAuthority": "Austrian Financial Market Authority (FMA)",
            "ae_homeMemberState": "AT",
            "ae_lei_name": name,
            "ae_lei": lei(f"KESTREL{number:011d}"),
            "ae_lei_cou_code": "AT",
            "ae_commercial_name": name.split()[0],
            "ae_address": "Praterstrasse 1, 1020 Vienna, Austria",
            "ae_website": "https://example.at",
            "ae_website_platform": "",
            "ac_authorisationNotificationDate": "01/03/2025",
            "ac_authorisationEndDate": "",
            "ac_serviceCode": "a. providing custody and administration of crypto-assets on "
            "behalf of clients",
            "ac_serviceCode_cou": "DE|FR",
            "ac_comments": "",
            "ac_lastupdate": "01/03/2025",
        }
        writer.writerow([row[c] for c in CASP_COLUMNS])
    return BOM + out.getvalue().encode()


@pytest.fixture
def use(runtime: Runtime) -> Iterator[Use]:
    """Contexts on fresh units of work, as the operator or as a seeded role (closed at the end)."""
    with ExitStack() as stack:

        def make(role: Role | None = None) -> Context:
            uow = stack.enter_context(runtime.db.uow())
            actor = system_principal("operator") if role is None else acting(runtime, role)
            return runtime.context(uow, actor)

        yield make


@pytest.fixture
def imported(use: Use) -> Use:
    """Both real files imported, their problems accepted."""
    counterparties.import_esma(use(), casp(), file_name=CASP_FILE.name, accept_problems=True)
    counterparties.import_esma(use(), ncasp(), file_name=NCASP_FILE.name, accept_problems=True)
    return use


def _counts(runtime: Runtime) -> dict[str, int]:
    with runtime.db.uow() as uow:
        session = uow.session
        return {
            "imports": session.scalar(select(func.count()).select_from(EsmaImportRow)) or 0,
            "casps": session.scalar(select(func.count()).select_from(CaspRow)) or 0,
            "unauthorised": session.scalar(select(func.count()).select_from(UnauthorisedRow)) or 0,
            "events": record.count_events(runtime.context(uow)),
        }


def _import_events(ctx: Context) -> list[Any]:
    return record.list_events(ctx, record.EventFilter(action_prefix="access.esma.import"))


# --- importing ---------------------------------------------------------------------------------


def test_a_casp_file_with_problems_is_refused_naming_its_rows_and_nothing_is_stored(
    use: Use, runtime: Runtime
) -> None:
    before = _counts(runtime)
    with pytest.raises(InvalidInput) as caught:
        counterparties.import_esma(use(Role.COMPLIANCE), casp(), file_name=CASP_FILE.name)
    message = caught.value.message
    assert message.startswith("CASP20260209.csv: 17 of its 150 rows could not be read fully")
    assert "(1 of them skipped), 21 problems; nothing was imported" in message
    assert "row 4, ae_homeMemberState, value '': no home Member State" in message
    assert "(and 16 more)" in message
    assert "--accept-problems" in message
    assert "import the 149 readable rows" in message
    details = caught.value.details
    assert (details["rows_read"], details["rows_with_problems"]) == (150, 17)
    assert details["skipped_rows"] == [4]
    assert len(details["problems"]) == 21
    assert _counts(runtime) == before


def test_accepting_the_problems_imports_the_readable_rows_keeps_the_report_and_records_it(
    use: Use, runtime: Runtime
) -> None:
    before = _counts(runtime)
    report = counterparties.import_esma(
        use(Role.COMPLIANCE), casp(), file_name=CASP_FILE.name, accept_problems=True
    )
    assert (report.kind, report.file_name, report.rows, report.rows_read) == (
        "casp",
        "CASP20260209.csv",
        149,
        150,
    )
    assert (report.unchanged, report.live, report.skipped_rows) == (False, True, [4])
    assert len(report.problems) == 21
    assert report.problems[2].model_dump() == {
        "row": 4,
        "field": "ae_homeMemberState",
        "value": "",
        "message": "no home Member State (ae_lei_cou_code says AT: the LEI's country, not "
        "assumed): the row was skipped",
        "row_skipped": True,
    }
    after = _counts(runtime)
    assert after["imports"] == before["imports"] + 1
    assert after["casps"] == before["casps"] + 149
    assert after["events"] == before["events"] + 1
    (history,) = counterparties.import_history(use(Role.VIEWER))
    assert history.model_dump() == report.model_dump(exclude={"unchanged"})
    (event,) = _import_events(use())
    assert (event.object_type, event.object_id) == ("esma_import", str(report.id))
    assert event.actor.endswith(Seed.email(Role.COMPLIANCE))
    assert event.after == {
        "kind": "casp",
        "file": "CASP20260209.csv",
        "sha256": report.sha256,
        "rows": 149,
        "problems": 21,
        "replaces": None,
    }


def test_a_refused_file_leaves_the_previous_import_live(imported: Use, runtime: Runtime) -> None:
    before = _counts(runtime)
    edited = casp().replace(b"Bybit EU GmbH,5299005V5GBSN2A4C303,AT", b"Bybit EU GmbH,,ZZ")
    with pytest.raises(InvalidInput, match="nothing was imported"):
        counterparties.import_esma(imported(), edited, file_name="CASP20260216.csv")
    assert _counts(runtime) == before
    (match,) = counterparties.lookup(imported(), BYBIT_LEI)
    assert match.name == "Bybit EU GmbH"


def test_importing_the_same_file_again_is_reported_and_changes_nothing(
    use: Use, runtime: Runtime
) -> None:
    first = counterparties.import_esma(
        use(), casp(), file_name=CASP_FILE.name, accept_problems=True
    )
    before = _counts(runtime)
    # Not even its problems are held against it: nothing would be imported.
    again = counterparties.import_esma(use(), casp(), file_name="renamed.csv")
    assert again.unchanged
    assert (again.id, again.file_name, again.sha256) == (first.id, first.file_name, first.sha256)
    assert again.imported_at == first.imported_at
    assert _counts(runtime) == before


def test_a_newer_file_becomes_the_live_register_and_the_older_rows_are_kept(
    imported: Use, runtime: Runtime
) -> None:
    before = _counts(runtime)
    newer = counterparties.import_esma(
        imported(), clean_casp("Kestrel Custody GmbH"), file_name="CASP20260216.csv"
    )
    assert (newer.rows, newer.problems) == (1, [])
    assert counterparties.lookup(imported(), BYBIT_LEI) == []
    assert [m.name for m in counterparties.lookup(imported(), "kestrel custody")] == [
        "Kestrel Custody GmbH"
    ]
    assert _counts(runtime)["casps"] == before["casps"] + 1  # the 149 rows stay as evidence
    history = counterparties.import_history(imported())
    assert [(i.file_name, i.live) for i in history] == [
        ("CASP20260216.csv", True),
        ("NCASP20260209.csv", True),
        ("CASP20260209.csv", False),
    ]
    (event, *_) = _import_events(imported())
    assert event.after["replaces"] == history[2].id
    # The older file again is a new import (it is not the live one), and live again.
    again = counterparties.import_esma(
        imported(), casp(), file_name=CASP_FILE.name, accept_problems=True
    )
    assert not again.unchanged
    assert again.id > newer.id
    assert counterparties.lookup(imported(), BYBIT_LEI)[0].import_id == again.id


def test_the_ncasp_file_lists_unauthorised_entities(use: Use, runtime: Runtime) -> None:
    with pytest.raises(InvalidInput, match=r"1 of its 101 rows .* row 88, ae_website"):
        counterparties.import_esma(use(), ncasp(), file_name=NCASP_FILE.name)
    report = counterparties.import_esma(
        use(), ncasp(), file_name=NCASP_FILE.name, accept_problems=True
    )
    assert (report.kind, report.rows, len(report.problems), report.skipped_rows) == (
        "ncasp",
        101,
        1,
        [],
    )
    assert _counts(runtime)["unauthorised"] == 101
    (mexc,) = counterparties.lookup(use(Role.VIEWER), "MEXC", jurisdiction="NL")
    assert (mexc.status, mexc.name, mexc.home_state) == ("unauthorised", "MEXC Global", "NL")
    assert mexc.listed_on == dt.date(2025, 9, 16)
    assert "section 59 MiCAR" in (mexc.reason or "")
    assert mexc.websites == ["https://www.mexc.com/"]
    assert mexc.serves_jurisdiction is False


@pytest.mark.parametrize(
    ("data", "hint", "message"),
    [
        (ncasp, "casp", "is ESMA's NCASP register (told by its header), not the CASP"),
        (casp, "white-papers", "kind_hint 'white-papers' is not accepted"),
        (lambda: BOM + b",".join(c.encode() for c in CASP_COLUMNS) + b"\r\n", None, "no row"),
        (lambda: b"name,lei\r\nBybit,x\r\n", None, "upload.csv: the header is neither"),
    ],
)  # the wrong kind; a kind that is none; a header alone; a header of another format
def test_files_that_are_not_the_register_asked_for_are_refused(
    use: Use, runtime: Runtime, data: Callable[[], bytes], hint: str | None, message: str
) -> None:
    before = _counts(runtime)
    with pytest.raises(InvalidInput, match=re.escape(message)):
        counterparties.import_esma(
            use(), data(), file_name="upload.csv", accept_problems=True, kind_hint=hint
        )
    assert _counts(runtime) == before


def test_a_viewer_cannot_import(use: Use, runtime: Runtime) -> None:
    with pytest.raises(PermissionDenied, match=r"does not allow access\.esma\.import"):
        counterparties.import_esma(
            use(Role.VIEWER), casp(), file_name=CASP_FILE.name, accept_problems=True
        )
    assert _counts(runtime)["imports"] == 0


# --- looking up --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        BYBIT_LEI,  # as published
        BYBIT_LEI.lower(),  # typed in lower case
        f"  {BYBIT_LEI[:10]} {BYBIT_LEI[10:]} ",  # pasted with spaces
    ],
)
def test_lookup_by_lei_finds_bybit_eu(imported: Use, query: str) -> None:
    (match,) = counterparties.lookup(imported(Role.VIEWER), query)
    assert match.model_dump(exclude={"import_id"}) == {
        "status": "authorised",
        "match": "lei",
        "name": "Bybit EU GmbH",
        "commercial_name": "Bybit",
        "lei": BYBIT_LEI,
        "home_state": "AT",
        "authority": "Austrian Financial Market Authority (FMA)",
        "authorised_on": dt.date(2025, 5, 28),
        "authorisation_ends": None,
        "services": ["a", "c", "d", "f", "j"],
        "passported_to": PASSPORTS,
        "websites": ["https://www.bybit.eu"],
        "listed_on": None,
        "reason": None,
        "jurisdiction": None,
        "serves_jurisdiction": None,
    }


@pytest.mark.parametrize(
    ("query", "name"),
    [
        ("Bybit EU GmbH", "Bybit EU GmbH"),  # as published
        ("BYBIT EU", "Bybit EU GmbH"),  # without the legal form, upper case
        ("Bitstamp Europe SA", "Bitstamp Europe S.A."),  # SA for S.A.
        ("moonpay europe bv", "MoonPay Europe B.V."),  # bv for B.V.
        ("Decentralized", "UAB Decentralized"),  # UAB written in front
        ("Robinhood Europe, UAB", "Robinhood Europe UAB"),  # UAB behind a comma
        ("Crypto Finance (Deutschland) GmbH", "Crypto Finance (Deutschland) GmbH"),  # brackets
        ("Coingate", "UAB Decentralized"),  # by its commercial name
        ("NETELLER", "Paysafe Payment Solutions Limited."),  # one of several commercial names
    ],
)
def test_lookup_by_name_ignores_case_punctuation_and_legal_forms(
    imported: Use, query: str, name: str
) -> None:
    first = counterparties.lookup(imported(), query)[0]
    assert (first.name, first.match, first.status) == (name, "exact", "authorised")


def test_exact_names_come_before_prefixes_and_prefixes_before_contained_names(
    imported: Use,
) -> None:
    found = counterparties.lookup(imported(), "bitpanda", limit=50)
    assert [(m.match, m.name) for m in found] == [
        ("exact", "Bitpanda GmbH"),
        ("exact", "BP23 CA Limited"),  # trades as Bitpanda
        ("prefix", "Bitpanda Asset Management GmbH"),
    ]
    assert len(counterparties.lookup(imported(), "bit", limit=3)) == 3


def test_an_unknown_name_finds_nothing_and_checks_as_unknown(imported: Use) -> None:
    assert counterparties.lookup(imported(), "Kestrel Exchange Ltd") == []
    check = counterparties.counterparty_check(imported(), "Kestrel Exchange Ltd", "FR")
    source = check.pop("source")
    assert check == {
        "query": "Kestrel Exchange Ltd",
        "found": False,
        "status": "unknown",
        "name": None,
        "lei": None,
        "home": None,
        "jurisdiction": "FR",
        "serves_jurisdiction": None,
        "match": None,
        "ambiguous": False,
    }
    assert source["file"] == "CASP20260209.csv"


@pytest.mark.parametrize(
    ("jurisdiction", "serves"),
    [
        ("FR", True),  # passported
        ("gr", True),  # passported, lower case
        ("EL", True),  # Greece as EU institutions write it
        ("AT", True),  # the home state, which Austria leaves out of the list
        ("MT", False),  # an EEA state not listed
        ("US", False),  # beyond MiCA's reach
    ],
)
def test_a_provider_serves_its_home_state_and_the_states_it_passports_to(
    imported: Use, jurisdiction: str, serves: bool
) -> None:
    (match,) = counterparties.lookup(imported(), BYBIT_LEI, jurisdiction=jurisdiction)
    assert match.serves_jurisdiction is serves
    check = counterparties.counterparty_check(imported(), BYBIT_LEI, jurisdiction)
    assert (check["found"], check["status"], check["serves_jurisdiction"]) == (
        True,
        "authorised",
        serves,
    )


def test_a_transfer_check_cites_the_file_it_was_answered_from(imported: Use) -> None:
    check = counterparties.counterparty_check(imported(), "Bybit EU GmbH", None)
    history = {i.kind: i for i in counterparties.import_history(imported())}
    assert check == {
        "query": "Bybit EU GmbH",
        "found": True,
        "status": "authorised",
        "name": "Bybit EU GmbH",
        "lei": BYBIT_LEI,
        "home": "AT",
        "jurisdiction": None,
        "serves_jurisdiction": None,
        "match": "exact",
        "ambiguous": False,
        "source": {
            "file": "CASP20260209.csv",
            "sha256": history["casp"].sha256,
            "imported_at": history["casp"].imported_at.isoformat(),
        },
    }
    listed = counterparties.counterparty_check(imported(), "mexc", "NL")
    assert (listed["status"], listed["serves_jurisdiction"]) == ("unauthorised", False)
    assert listed["source"]["file"] == "NCASP20260209.csv"


def test_a_provider_listed_once_per_authorisation_serves_where_any_row_does(
    imported: Use,
) -> None:
    rows = counterparties.lookup(imported(), "EUWAX AG", jurisdiction="FR")
    assert sorted(bool(m.serves_jurisdiction) for m in rows) == [False, True]
    check = counterparties.counterparty_check(imported(), "529900032TYR45XIEW79", "FR")
    assert (check["serves_jurisdiction"], check["ambiguous"]) == (True, False)


def test_a_partial_name_never_identifies_a_counterparty(imported: Use) -> None:
    assert counterparties.lookup(imported(), "bitpan")[0].match == "prefix"
    check = counterparties.counterparty_check(imported(), "bitpan", "FR")
    assert (check["found"], check["status"]) == (False, "unknown")


def test_without_a_register_lookups_are_empty_and_checks_cite_no_source(use: Use) -> None:
    assert counterparties.lookup(use(Role.VIEWER), "Bybit") == []
    check = counterparties.counterparty_check(use(Role.VIEWER), "Bybit", "FR")
    assert (check["status"], check["source"]) == ("unknown", None)


@pytest.mark.parametrize(
    ("query", "jurisdiction", "field"),
    [
        ("  ", None, "query"),  # nothing to look up
        ("-?!", None, "query"),  # no letter or digit
        ("Bybit", "France", "jurisdiction"),  # a name, not a code
    ],
)
def test_a_bad_question_names_its_field(
    imported: Use, query: str, jurisdiction: str | None, field: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        counterparties.lookup(imported(), query, jurisdiction=jurisdiction)
    assert caught.value.field == field


# --- the API -----------------------------------------------------------------------------------

IMPORTS = "/api/v1/access/esma/imports"
LOOKUP = "/api/v1/access/counterparties"


def test_the_api_refuses_then_imports_then_reports_the_same_file_unchanged(
    client: TestClient, seed: Seed
) -> None:
    headers = {**bearer(seed, Role.COMPLIANCE), "Content-Type": "text/csv"}
    refused = client.post(IMPORTS, params={"name": CASP_FILE.name}, content=casp(), headers=headers)
    assert refused.status_code == 422
    body = refused.json()
    assert body["code"] == "invalid-input"
    assert "17 of its 150 rows could not be read fully" in body["detail"]
    assert (body["file"], body["skipped_rows"], len(body["problems"])) == (
        "CASP20260209.csv",
        [4],
        21,
    )
    params = {"name": CASP_FILE.name, "accept_problems": "true", "kind_hint": "casp"}
    created = client.post(IMPORTS, params=params, content=casp(), headers=headers)
    assert created.status_code == 201
    assert (created.json()["rows"], created.json()["unchanged"]) == (149, False)
    again = client.post(IMPORTS, params=params, content=casp(), headers=headers)
    assert (again.status_code, again.json()["unchanged"]) == (200, True)
    assert again.json()["id"] == created.json()["id"]
    history = client.get(IMPORTS, headers=bearer(seed, Role.VIEWER)).json()
    assert [(i["file_name"], i["rows"], i["live"]) for i in history] == [
        ("CASP20260209.csv", 149, True)
    ]
    assert len(history[0]["problems"]) == 21


def test_the_api_looks_counterparties_up_for_any_role(client: TestClient, seed: Seed) -> None:
    headers = {**bearer(seed, Role.ADMIN), "Content-Type": "text/csv"}
    params = {"name": CASP_FILE.name, "accept_problems": "true", "kind_hint": ""}
    assert client.post(IMPORTS, params=params, content=casp(), headers=headers).status_code == 201
    found = client.get(
        LOOKUP,
        params={"q": BYBIT_LEI, "jurisdiction": "FR"},
        headers=bearer(seed, Role.VIEWER),
    )
    assert found.status_code == 200
    (match,) = found.json()
    assert (match["name"], match["authorised_on"], match["serves_jurisdiction"]) == (
        "Bybit EU GmbH",
        "2025-05-28",
        True,
    )
    assert (
        client.get(LOOKUP, params={"q": "nobody"}, headers=bearer(seed, Role.AUDITOR)).json() == []
    )
    bad = client.get(
        LOOKUP, params={"q": "Bybit", "jurisdiction": "France"}, headers=bearer(seed, Role.VIEWER)
    )
    assert (bad.status_code, bad.json()["field"]) == (422, "jurisdiction")


def test_a_viewer_gets_403_and_nobody_anonymous_gets_in(
    client: TestClient, seed: Seed, app: FastAPI
) -> None:
    denied = client.post(
        IMPORTS,
        params={"accept_problems": "true"},
        content=casp(),
        headers={**bearer(seed, Role.VIEWER), "Content-Type": "text/csv"},
    )
    assert (denied.status_code, denied.json()["code"]) == (403, "permission-denied")
    assert denied.json()["permission"] == "access.esma.import"
    for method, path in [("POST", IMPORTS), ("GET", IMPORTS), ("GET", f"{LOOKUP}?q=Bybit")]:
        response = client.request(method, path, content=casp() if method == "POST" else None)
        assert response.status_code == 401, (method, path)
        assert response.json()["code"] == "authentication-required"
    with app.state.runtime.db.uow() as uow:
        assert uow.session.scalar(select(func.count()).select_from(EsmaImportRow)) == 0


def test_a_file_with_an_unknown_header_is_a_422_naming_the_file(
    client: TestClient, seed: Seed
) -> None:
    response = client.post(
        IMPORTS,
        params={"name": "CASP20260301.csv", "accept_problems": "true"},
        content=BOM + b"ae_lei_name,ae_lei,ae_new_column\r\nBybit EU GmbH,x,y\r\n",
        headers={**bearer(seed, Role.COMPLIANCE), "Content-Type": "text/csv"},
    )
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "invalid-input"
    assert body["detail"].startswith("CASP20260301.csv: the header is neither ESMA's CASP")
    assert body["file"] == "CASP20260301.csv"
    assert "ae_new_column" in body["detail"]


# --- the command line --------------------------------------------------------------------------


@pytest.fixture
def cli_env(runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> Runtime:
    monkeypatch.setenv("ASSAY_DATABASE_URL", runtime.settings.effective_database_url)
    monkeypatch.setenv("ASSAY_DATA_DIR", str(runtime.settings.data_dir))
    monkeypatch.setenv("ASSAY_ENV", "development")
    monkeypatch.setenv("COLUMNS", "200")  # tables on one line each
    return runtime


def test_the_command_refuses_with_exit_2_then_imports_with_accept_problems(
    cli_env: Runtime, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["access", "import-esma", str(CASP_FILE)]) == ExitCode.INVALID_INPUT
    err = capsys.readouterr().err
    assert "error [invalid-input]: CASP20260209.csv: 17 of its 150 rows" in err
    assert "Pass --accept-problems" in err
    assert _counts(cli_env)["imports"] == 0
    assert run(["access", "import-esma", str(CASP_FILE), "--accept-problems"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(
        "CASP20260209.csv: CASP register, 149 rows imported of 150 read (1 skipped), "
        "21 problems; now the live CASP register (import 1)"
    )
    assert "21 problems, kept with the import" in out
    assert "ae_homeMemberState" in out
    assert run(["access", "import-esma", str(CASP_FILE), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["unchanged"], report["rows"], len(report["problems"])) == (True, 149, 21)
    assert run(["access", "import-esma", str(CASP_FILE)]) == 0
    assert "already the live CASP register (import 1 of" in capsys.readouterr().out


def test_the_command_looks_up_casps_with_a_jurisdiction(
    cli_env: Runtime, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["access", "import-esma", str(CASP_FILE), "--accept-problems"]) == 0
    capsys.readouterr()
    assert run(["access", "casps", "bybit eu", "--jurisdiction", "FR", "--json"]) == 0
    (match,) = json.loads(capsys.readouterr().out)
    assert (match["lei"], match["serves_jurisdiction"], match["jurisdiction"]) == (
        BYBIT_LEI,
        True,
        "FR",
    )
    assert run(["access", "casps", "bybit", "--jurisdiction", "MT"]) == 0
    out = capsys.readouterr().out
    assert "1 match for 'bybit'" in out
    header = next(line for line in out.splitlines() if "status" in line)
    assert header.split("┃")[-2].strip() == "serves MT"
    bybit = next(line for line in out.splitlines() if "Bybit EU GmbH" in line)
    assert [cell.strip() for cell in bybit.split("│")[1:-1]] == [
        "authorised",
        "exact",
        "Bybit EU GmbH",
        "Bybit",
        BYBIT_LEI,
        "AT",
        "2025-05-28",
        "a,c,d,f,j",
        "no",
    ]
    assert run(["access", "casps", "Kestrel Exchange"]) == 0
    assert "nothing in the live ESMA registers matches 'Kestrel Exchange'" in (
        capsys.readouterr().out
    )


def test_the_command_refuses_a_viewer_with_exit_6_and_a_missing_file_with_exit_2(
    cli_env: Runtime, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    args = ["access", "import-esma", str(CASP_FILE), "--accept-problems"]
    assert run(["--as", Seed.email(Role.VIEWER), *args]) == ExitCode.PERMISSION_DENIED
    assert "does not allow access.esma.import" in capsys.readouterr().err
    missing = tmp_path / "CASP20990101.csv"
    assert run(["access", "import-esma", str(missing)]) == ExitCode.INVALID_INPUT
    assert "CASP20990101.csv: cannot be read" in capsys.readouterr().err
    assert _counts(cli_env)["imports"] == 0


# --- the pure core -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "commercial", "keys"),
    [
        ("Bybit EU GmbH", "Bybit", ("bybit eu", "bybit")),  # legal and commercial
        ("Bitonic B.V.", "Bitonic B.V.", ("bitonic",)),  # the same name twice is one key
        ("Paysafe Ltd", "Skrill, NETELLER", ("paysafe", "skrill neteller", "skrill", "neteller")),
        ("Push Ltd", "Push / Aave Push", ("push", "push aave push", "aave push")),  # slash
        ("Foo SA", "Foo, S.A.", ("foo",)),  # a part that is only a legal form names nothing
        ("Bar GmbH", None, ("bar",)),  # no commercial name
    ],
)
def test_a_listing_is_found_under_each_of_its_names(
    name: str, commercial: str | None, keys: tuple[str, ...]
) -> None:
    assert name_keys(name, commercial) == keys


@pytest.mark.parametrize(
    ("given", "code"),
    [
        ("fr", "FR"),  # lower case
        (" EL ", "GR"),  # Greece as EU institutions write it
        ("ae-du", "AE-DU"),  # a sub-national code of the catalogue
        ("", None),  # none
        (None, None),  # none
    ],
)
def test_jurisdictions_are_read_as_iso_3166_codes(given: str | None, code: str | None) -> None:
    assert normalise_jurisdiction(given) == code


def test_an_authorisation_that_has_ended_serves_nowhere() -> None:
    listing = Listing(
        status="authorised",
        import_id=1,
        name="Ended GmbH",
        commercial_name=None,
        lei=None,
        home_state="AT",
        authority="FMA",
        authorisation_ends=dt.date(2026, 3, 1),
        passported_to=("FR",),
        keys=("ended",),
    )
    assert listing.serves("FR", dt.date(2026, 2, 28))
    assert not listing.serves("FR", dt.date(2026, 3, 1))
    assert Index([listing]).find("ended")[0][1] == "exact"


def test_the_public_names_are_exported() -> None:
    assert all(hasattr(counterparties, name) for name in counterparties.__all__)
