"""The licence register in the database: changes are recorded, versioned and replayable.

Runs on SQLite and on PostgreSQL. Bad input gets a clear error and leaves the register as it was.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from assay.access import bulk, decisions, service
from assay.access.decision import parse_request
from assay.access.schemas import LicenceIn, StatusChangeIn
from assay.access.store import LicenceRow, RegisterVersionRow
from assay.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from assay.platform import record
from assay.platform.context import Context
from assay.platform.db import UnitOfWork
from assay.platform.roles import Role, system_principal
from assay.platform.runtime import Runtime
from tests.access.groups import licence, load_group
from tests.conftest import acting


@pytest.fixture
def group(runtime: Runtime) -> Runtime:
    load_group(runtime)
    return runtime


@pytest.fixture(autouse=True)
def _close_units_of_work(runtime: Runtime) -> Iterator[None]:
    yield
    while _OPEN:
        _OPEN.pop().__exit__(None, None, None)


_OPEN: list[UnitOfWork] = []


def _ctx(runtime: Runtime, role: Role | None = None) -> Context:
    """A context on a fresh unit of work (closed when the test ends)."""
    uow = runtime.db.uow()
    _OPEN.append(uow)
    actor = system_principal("operator") if role is None else acting(runtime, role)
    return runtime.context(uow.__enter__(), actor)


def _counts(runtime: Runtime) -> tuple[int, int, int]:
    with runtime.db.uow() as uow:
        licences = uow.session.scalar(select(func.count()).select_from(LicenceRow)) or 0
        versions = uow.session.scalar(select(func.count()).select_from(RegisterVersionRow)) or 0
        events = record.count_events(runtime.context(uow))
    return licences, versions, events


def test_the_demo_group_holds_the_four_reference_licences(group: Runtime) -> None:
    ctx = _ctx(group)
    found = {lic.reference: lic for lic in service.list_licences(ctx)}
    assert set(found) == {"MFSA-CASP-0127", "MFSA-IF-0301", "VARA-VASP-0116", "MAS-MPI-0902"}
    casp = found["MFSA-CASP-0127"]
    assert (casp.entity, casp.regime, casp.home, casp.status) == (
        "kestrel-eu-casp",
        "mica",
        "MT",
        "granted",
    )
    assert casp.status_since == dt.date(2025, 1, 27)
    assert casp.services == ["a", "b", "c", "d", "e", "f", "g", "i", "j"]
    assert len(casp.passports) == 29
    assert {"IS", "LI", "NO"} <= {p.jurisdiction for p in casp.passports}
    assert all(p.since == dt.date(2025, 2, 14) for p in casp.passports)
    assert found["VARA-VASP-0116"].home == "AE-DU"
    assert found["VARA-VASP-0116"].status_since == dt.date(2024, 1, 16)
    assert found["MAS-MPI-0902"].status_since == dt.date(2024, 9, 2)
    assert found["MFSA-IF-0301"].status_since == dt.date(2025, 3, 1)


def test_loading_the_demo_twice_changes_nothing(group: Runtime) -> None:
    before = _counts(group)
    ctx = _ctx(group)
    service.load_demo(ctx)
    assert _counts(group) == before


def test_adding_a_licence_records_it_and_writes_a_register_version(group: Runtime) -> None:
    licences, versions, events = _counts(group)
    ctx = _ctx(group, Role.COMPLIANCE)
    added = service.add_licence(ctx, LicenceIn.model_validate(licence()))
    assert added.status == "granted"
    assert _counts(group) == (licences + 1, versions + 1, events + 1)
    ctx = _ctx(group)
    latest = record.list_events(ctx, record.EventFilter(object_type="licence"), limit=1)[0]
    assert latest.action == "access.licence.add"
    assert latest.after is not None
    assert latest.after["reference"] == "TEST-0001"
    assert latest.after["register_version"] == versions + 1


def test_a_duplicate_reference_is_a_conflict_and_stores_nothing(group: Runtime) -> None:
    before = _counts(group)
    ctx = _ctx(group)
    with pytest.raises(Conflict, match="MFSA-CASP-0127"):
        service.add_licence(ctx, LicenceIn.model_validate(licence("MFSA-CASP-0127")))
    assert _counts(group) == before


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        # a regime the catalogue does not know, listing those it does
        ({"regime": "mica2"}, "regime", "mica, mifid"),
        # a licence type of another regime
        ({"licence_type": "vasp"}, "licence_type", "casp, national-vasp"),
        # MiCA services are the letters of Art 3(1)(16)
        ({"services": ["z"]}, "services", "a, b, c"),
        # MiCA has one client category
        ({"clients": ["retail"]}, "clients", "client"),
        # a home outside MiCA's territory
        ({"home": "SG"}, "home", "outside MiCA"),
        # passports only reach EEA states
        ({"passports": [{"to": ["CH"], "since": "2025-07-01"}]}, "passports.to", "'CH'"),
        # a VARA licence cannot be passported at all
        (
            {
                "regime": "vara",
                "licence_type": "vasp",
                "home": "AE-DU",
                "services": ["exchange"],
                "clients": ["retail"],
                "passports": [{"to": ["AE-AZ"], "since": "2025-07-01"}],
            },
            "passports",
            "cannot be passported",
        ),
        # history out of date order
        (
            {
                "history": [
                    {"status": "granted", "date": "2025-06-01"},
                    {"status": "applied", "date": "2025-01-01"},
                ]
            },
            "history",
            "date order",
        ),
        # an entity the group does not have
        ({"entity": "nobody"}, "entity", "kestrel-dubai"),
    ],
)
def test_bad_licences_are_refused_with_the_field_and_nothing_is_stored(
    group: Runtime, changes: dict[str, Any], field: str, words: str
) -> None:
    before = _counts(group)
    ctx = _ctx(group)
    with pytest.raises(InvalidInput) as caught:
        service.add_licence(ctx, LicenceIn.model_validate(licence(**changes)))
    assert caught.value.field == field
    assert words in caught.value.message
    assert _counts(group) == before


def test_only_compliance_and_admin_may_change_the_register(group: Runtime) -> None:
    for role in (Role.VIEWER, Role.AUDITOR, Role.SECURITY, Role.TREASURY):
        ctx = _ctx(group, role)
        with pytest.raises(PermissionDenied, match=r"access\.register\.write"):
            service.add_licence(ctx, LicenceIn.model_validate(licence()))
    viewer = _ctx(group, Role.VIEWER)
    assert len(service.list_licences(viewer)) == 4


def test_a_suspension_changes_decisions_from_its_date_and_is_recorded(group: Runtime) -> None:
    ctx = _ctx(group, Role.COMPLIANCE)
    fr_spot = {"jurisdiction": "FR", "client": "retail", "product": "spot"}
    assert decisions.decide(ctx, {**fr_spot, "as_of": "2026-04-01"}).allowed
    change = StatusChangeIn(status="suspended", date=dt.date(2026, 4, 1), note="MFSA order")
    service.change_status(ctx, "MFSA-CASP-0127", change)
    ctx = _ctx(group, Role.VIEWER)
    assert decisions.decide(ctx, {**fr_spot, "as_of": "2026-03-31"}).allowed
    refused = decisions.decide(ctx, {**fr_spot, "as_of": "2026-04-01"})
    assert not refused.allowed
    assert "licence-not-in-force" in [r.code for r in refused.verdict.reasons]
    event = record.list_events(ctx, record.EventFilter(object_id="MFSA-CASP-0127"), limit=1)[0]
    assert event.action == "access.licence.suspended"
    assert event.before is not None
    assert event.before["status"] == "granted"


def test_status_history_only_moves_forward(group: Runtime) -> None:
    ctx = _ctx(group)
    before = _counts(group)
    with pytest.raises(InvalidInput, match="before the licence's latest change"):
        service.change_status(
            ctx, "MAS-MPI-0902", StatusChangeIn(status="suspended", date=dt.date(2020, 1, 1))
        )
    assert _counts(group) == before


def test_a_revoked_licence_cannot_change_again(group: Runtime) -> None:
    ctx = _ctx(group)
    service.change_status(
        ctx, "MAS-MPI-0902", StatusChangeIn(status="revoked", date=dt.date(2026, 5, 1))
    )
    ctx = _ctx(group)
    with pytest.raises(Conflict, match="revoked"):
        service.change_status(
            ctx, "MAS-MPI-0902", StatusChangeIn(status="granted", date=dt.date(2026, 6, 1))
        )


def test_an_unknown_licence_is_not_found(group: Runtime) -> None:
    ctx = _ctx(group)
    with pytest.raises(NotFound, match="NOPE"):
        service.get_licence(ctx, "NOPE")


def test_a_past_answer_replays_on_its_register_version_after_the_register_changed(
    group: Runtime,
) -> None:
    ctx = _ctx(group)
    request = parse_request(
        service.catalogue(),
        {"jurisdiction": "DE", "client": "retail", "product": "spot", "as_of": "2026-06-01"},
        today=dt.date(2026, 3, 1),
    )
    past = decisions.answer(service.engine(ctx).decide(request), request)
    assert past["allowed"] is True
    service.change_status(
        ctx, "MFSA-CASP-0127", StatusChangeIn(status="revoked", date=dt.date(2026, 5, 1))
    )
    ctx = _ctx(group, Role.AUDITOR)
    today = decisions.answer(service.engine(ctx).decide(request), request)
    assert today["allowed"] is False
    assert today["register_version"] == past["register_version"] + 1
    replayed = decisions.replay(ctx, json.loads(json.dumps(past)))
    assert replayed["matches"] is True
    assert replayed["replayed"]["register_version"] == past["register_version"]
    tampered = {**past, "allowed": False}
    assert decisions.replay(ctx, tampered)["differences"] == ["allowed"]


def test_replaying_an_unknown_register_version_is_not_found(group: Runtime) -> None:
    ctx = _ctx(group)
    past = {"register_version": 999, "request": {"jurisdiction": "FR"}}
    with pytest.raises(NotFound, match="register version 999"):
        decisions.replay(ctx, past)


def test_importing_a_file_with_one_bad_licence_imports_nothing(
    group: Runtime, tmp_path: Path
) -> None:
    before = _counts(group)
    good = licence("NEW-0001")
    bad = licence("NEW-0002", services=["q"])
    path = tmp_path / "licences.json"
    path.write_text(json.dumps({"licences": [good, bad]}))
    ctx = _ctx(group)
    with pytest.raises(InvalidInput, match=r"licences\[1\]\.services"):
        service.import_licences(ctx, path)
    assert _counts(group) == before


def test_a_malformed_licence_file_names_the_file_and_field(tmp_path: Path, group: Runtime) -> None:
    path = tmp_path / "licences.yaml"
    path.write_text("licences:\n  - reference: X1\n    regime: mica\n")
    ctx = _ctx(group)
    with pytest.raises(InvalidInput, match=r"licences\.yaml: licences\.0\.entity: Field required"):
        service.import_licences(ctx, path)


def test_deadlines_list_the_open_ones_soonest_first(group: Runtime) -> None:
    ctx = _ctx(group)
    soon = service.upcoming_deadlines(ctx, within_days=3650)
    assert [d["due"] for d in soon] == sorted(d["due"] for d in soon)
    assert {d["licence"] for d in soon} == {
        "MFSA-CASP-0127",
        "MFSA-IF-0301",
        "VARA-VASP-0116",
        "MAS-MPI-0902",
    }
    first = soon[0]
    service.complete_deadline(ctx, first["licence"], first["id"], dt.date(2026, 3, 1))
    ctx = _ctx(group)
    assert first["id"] not in [d["id"] for d in service.upcoming_deadlines(ctx, within_days=3650)]


def test_what_if_a_licence_were_suspended_lists_the_cells_that_change(group: Runtime) -> None:
    ctx = _ctx(group, Role.VIEWER)
    changes = bulk.what_if(ctx, "VARA-VASP-0116", "suspended", dt.date(2026, 6, 1))
    cells = {(c.jurisdiction, c.client, c.product) for c in changes}
    assert ("AE-DU", "retail", "spot") in cells
    assert all(c.jurisdiction == "AE-DU" for c in changes)
    assert all(c.before.allowed and not c.after.allowed for c in changes)
    # Nothing was stored: the register still serves Dubai.
    assert decisions.decide(ctx, {"jurisdiction": "AE-DU", "client": "retail", "product": "spot"})


def test_impact_between_two_dates_shows_the_mifid_licence_arriving(group: Runtime) -> None:
    ctx = _ctx(group, Role.VIEWER)
    changes = bulk.impact_between(ctx, dt.date(2025, 2, 28), dt.date(2025, 3, 1))
    cells = {(c.jurisdiction, c.client, c.product) for c in changes}
    assert ("FR", "retail", "perpetual-future") in cells
    assert ("MT", "professional", "dated-future") in cells
    assert ("FR", "retail", "spot") not in cells  # MiCA passports were live already
