"""The access API: decisions one at a time or in a list, the register, screening jobs, impact.

Runs on SQLite and PostgreSQL with the seeded API tokens; errors are RFC 9457 problem documents.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from assay.platform.roles import Role
from tests.access.groups import licence, load_group
from tests.conftest import Seed, bearer
from tests.samples import ESMA

FR_PERP = {"jurisdiction": "FR", "client": "retail", "product": "perpetual-future"}


@pytest.fixture
def api(app: FastAPI, client: TestClient) -> TestClient:
    load_group(app.state.runtime)
    return client


def _post(client: TestClient, seed: Seed, path: str, body: Any, role: Role = Role.VIEWER) -> Any:
    return client.post(f"/api/v1/access{path}", json=body, headers=bearer(seed, role))


def test_a_decision_names_licence_basis_and_obligations(api: TestClient, seed: Seed) -> None:
    response = _post(api, seed, "/decisions", {**FR_PERP, "as_of": "2026-03-01"})
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["allowed"] is True
    assert answer["entity"] == "kestrel-eu-invest"
    assert answer["licence"]["regime"] == "mifid"
    assert answer["licence"]["reference"] == "MFSA-IF-0301"
    assert {"instrument": "Directive 2014/65/EU (MiFID II)", "article": "Art 34"} in answer["basis"]
    obligations = {o["code"]: o.get("value") for o in answer["obligations"]}
    assert obligations["leverage-cap"] == 2
    assert "appropriateness-test" in obligations
    assert answer["reasons"] == []
    assert answer["catalogue_version"]
    assert answer["as_of"] == "2026-03-01"
    assert answer["request"]["jurisdiction"] == "FR"


def test_the_date_defaults_to_today(api: TestClient, seed: Seed) -> None:
    answer = _post(api, seed, "/decisions", FR_PERP).json()
    assert answer["as_of"] == "2026-03-01"  # the test clock's day


def test_a_list_of_questions_gets_a_list_of_answers_in_order(api: TestClient, seed: Seed) -> None:
    body = [
        {**FR_PERP},
        {"jurisdiction": "US", "client": "retail", "product": "spot"},
        {"jurisdiction": "KP", "client": "institutional", "product": "custody"},
    ]
    answers = _post(api, seed, "/decisions", body).json()
    assert [a["allowed"] for a in answers] == [True, False, False]
    assert [r["code"] for r in answers[1]["reasons"]] == ["no-licence"]
    assert answers[2]["reasons"][0]["code"] == "sanctioned"


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        # unknown jurisdiction: the message points at the list of accepted ones
        ({**FR_PERP, "jurisdiction": "XX"}, "jurisdiction", "not in the catalogue"),
        # unknown product, listing the ten products
        ({**FR_PERP, "product": "swap"}, "product", "perpetual-future"),
        # unknown client category
        ({**FR_PERP, "client": "whale"}, "client", "institutional"),
        # a date that is not a date
        ({**FR_PERP, "as_of": "2026-02-30"}, "as_of", "YYYY-MM-DD"),
        # an amount without its currency
        ({**FR_PERP, "amount": "2500"}, "currency", "needs a currency"),
        # a negative amount
        ({**FR_PERP, "amount": "-1", "currency": "EUR"}, "amount", "non-negative"),
    ],
)
def test_bad_questions_are_problem_documents_naming_the_field(
    api: TestClient, seed: Seed, body: dict[str, Any], field: str, words: str
) -> None:
    response = _post(api, seed, "/decisions", body)
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["field"] == field
    assert words in problem["detail"]


def test_a_bad_item_of_a_list_names_its_position(api: TestClient, seed: Seed) -> None:
    response = _post(api, seed, "/decisions", [FR_PERP, {**FR_PERP, "product": "swap"}])
    assert response.status_code == 422
    assert response.json()["field"] == "requests[1].product"


def test_malformed_json_is_a_400_problem(api: TestClient, seed: Seed) -> None:
    response = api.post(
        "/api/v1/access/decisions",
        content=b"{not json",
        headers={**bearer(seed, Role.VIEWER), "content-type": "application/json"},
    )
    assert response.status_code in (400, 422)
    assert response.headers["content-type"].startswith("application/problem+json")


def test_anonymous_callers_get_no_answer(api: TestClient) -> None:
    response = api.post("/api/v1/access/decisions", json=FR_PERP)
    assert response.status_code == 401


def test_licence_crud_is_recorded_and_reserved_to_compliance(api: TestClient, seed: Seed) -> None:
    refused = _post(api, seed, "/licences", licence(), role=Role.VIEWER)
    assert refused.status_code == 403
    created = _post(api, seed, "/licences", licence(), role=Role.COMPLIANCE)
    assert created.status_code == 201, created.text
    assert created.json()["status"] == "granted"
    again = _post(api, seed, "/licences", licence(), role=Role.COMPLIANCE)
    assert again.status_code == 409
    changed = api.put(
        "/api/v1/access/licences/TEST-0001",
        json=licence(services=["a", "c", "d"]),
        headers=bearer(seed, Role.COMPLIANCE),
    )
    assert changed.json()["services"] == ["a", "c", "d"]
    suspended = _post(
        api,
        seed,
        "/licences/TEST-0001/status",
        {"status": "suspended", "date": "2026-02-01", "note": "test"},
        role=Role.COMPLIANCE,
    )
    assert suspended.json()["status"] == "suspended"
    events = api.get(
        "/api/v1/events?object_id=TEST-0001", headers=bearer(seed, Role.AUDITOR)
    ).json()
    actions = [e["action"] for e in events]
    assert actions[:3] == [
        "access.licence.suspended",
        "access.licence.update",
        "access.licence.add",
    ]
    listed = api.get("/api/v1/access/licences", headers=bearer(seed, Role.VIEWER)).json()
    assert "TEST-0001" in [lic["reference"] for lic in listed]


def test_an_unknown_licence_is_a_404(api: TestClient, seed: Seed) -> None:
    response = api.get("/api/v1/access/licences/NOPE", headers=bearer(seed, Role.VIEWER))
    assert response.status_code == 404


def test_a_past_answer_replays(api: TestClient, seed: Seed) -> None:
    past = _post(api, seed, "/decisions", FR_PERP).json()
    replayed = _post(api, seed, "/replay", past).json()
    assert replayed["matches"] is True


def test_a_screening_job_runs_and_returns_a_decisions_csv(api: TestClient, seed: Seed) -> None:
    csv_text = (
        "customer_id,jurisdiction,client,product,as_of\n"
        "c1,FR,retail,spot,2026-03-01\n"
        "c2,US,retail,spot,2026-03-01\n"
        "c3,ZZ,retail,spot,2026-03-01\n"
    )
    headers = {**bearer(seed, Role.COMPLIANCE), "content-type": "text/csv"}
    submitted = api.post("/api/v1/access/screenings?name=t.csv", content=csv_text, headers=headers)
    assert submitted.status_code == 202, submitted.text
    job_id = submitted.json()["id"]
    job: dict[str, Any] = {}
    for _ in range(50):
        job = api.get(
            f"/api/v1/access/screenings/{job_id}", headers=bearer(seed, Role.VIEWER)
        ).json()
        if job["status"] in ("done", "failed"):
            break
        time.sleep(0.05)
    assert job["status"] == "done", job
    assert (job["rows"], job["allowed"], job["refused"], job["invalid"]) == (3, 1, 1, 1)
    result = api.get(job["result"], headers=bearer(seed, Role.VIEWER))
    lines = result.text.splitlines()
    assert lines[0].startswith("customer_id,jurisdiction,client,product,as_of,allowed")
    assert lines[1].startswith("c1,FR,retail,spot,2026-03-01,true,kestrel-eu-casp,mica")
    assert "not in the catalogue" in lines[3]


def test_a_screening_without_the_required_columns_is_refused(api: TestClient, seed: Seed) -> None:
    headers = {**bearer(seed, Role.COMPLIANCE), "content-type": "text/csv"}
    response = api.post("/api/v1/access/screenings", content="id,country\n1,FR\n", headers=headers)
    assert response.status_code == 422
    assert "customer_id" in response.json()["detail"]


def test_coverage_lists_where_retail_may_get_what(api: TestClient, seed: Seed) -> None:
    found = api.get(
        "/api/v1/access/coverage?client=retail&as_of=2026-03-01",
        headers=bearer(seed, Role.VIEWER),
    ).json()["jurisdictions"]
    assert "spot" in found["FR"]
    assert "perpetual-future" in found["FR"]
    assert "spot" in found["AE-DU"]
    assert "SG" in found
    assert "US" not in found
    assert "GB" not in found


def test_impact_and_what_if(api: TestClient, seed: Seed) -> None:
    changes = api.get(
        "/api/v1/access/impact?from=2025-02-13&to=2025-02-14", headers=bearer(seed, Role.VIEWER)
    ).json()
    assert {"FR", "DE", "IS", "LI", "NO"} <= {c["jurisdiction"] for c in changes}
    assert "MT" not in {c["jurisdiction"] for c in changes}
    what_if = _post(
        api,
        seed,
        "/impact/what-if",
        {"licence": "MAS-MPI-0902", "status": "suspended", "date": "2026-03-01"},
    ).json()
    assert {c["jurisdiction"] for c in what_if} == {"SG"}


def test_a_transfer_decision_says_what_esma_lists_of_the_counterparty(
    api: TestClient, seed: Seed
) -> None:
    headers = {**bearer(seed, Role.COMPLIANCE), "content-type": "text/csv"}
    for name in ("CASP20260209.csv", "NCASP20260209.csv"):
        imported = api.post(
            f"/api/v1/access/esma/imports?name={name}&accept_problems=true",
            content=(ESMA / name).read_bytes(),
            headers=headers,
        )
        assert imported.status_code == 201, imported.text
    transfer = {"jurisdiction": "FR", "client": "retail", "product": "transfer"}
    known = _post(
        api,
        seed,
        "/decisions",
        {**transfer, "counterparty": "5299005V5GBSN2A4C303", "counterparty_jurisdiction": "FR"},
    ).json()
    assert known["allowed"] is True
    assert known["counterparty"]["status"] == "authorised"
    assert known["counterparty"]["name"] == "Bybit EU GmbH"
    assert known["counterparty"]["serves_jurisdiction"] is True
    assert known["warnings"] == []
    flagged = _post(api, seed, "/decisions", {**transfer, "counterparty": "MEXC Global"}).json()
    assert flagged["counterparty"]["status"] == "unauthorised"
    assert "without authorisation" in flagged["warnings"][0]
    unknown = _post(api, seed, "/decisions", {**transfer, "counterparty": "Nobody Ltd"}).json()
    assert unknown["counterparty"]["status"] == "unknown"
    not_transfer = _post(api, seed, "/decisions", {**FR_PERP, "counterparty": "MEXC Global"})
    assert not_transfer.status_code == 422
    assert not_transfer.json()["field"] == "counterparty"
