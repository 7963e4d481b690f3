"""The reserves API: rounds from an upload, publishing, proofs for linked customers, audits.

Runs on SQLite and PostgreSQL with the seeded API tokens; errors are RFC 9457 problem documents.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx2
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from assay.platform.roles import Role
from assay.reserves import proof, service
from tests.conftest import Seed, bearer
from tests.reserves.test_rounds import HEADER, ROUND_FILE, liabilities_rows

BASE = "/api/v1/reserves"
CSV = "\n".join([HEADER, *liabilities_rows()]) + "\n"


def _create(
    client: TestClient, seed: Seed, role: Role = Role.TREASURY, csv: str = CSV
) -> httpx2.Response:
    return client.post(
        f"{BASE}/rounds",
        data={"round": ROUND_FILE},
        files={"liabilities": ("liabilities.csv", csv.encode(), "text/csv")},
        headers=bearer(seed, role),
    )


def _get(client: TestClient, seed: Seed, path: str, role: Role) -> httpx2.Response:
    return client.get(f"{BASE}{path}", headers=bearer(seed, role))


def _link(client: TestClient, seed: Seed, role: Role, account: str) -> httpx2.Response:
    body = {"email": Seed.email(role), "account_id": account}
    return client.post(f"{BASE}/links", json=body, headers=bearer(seed, Role.ADMIN))


@pytest.fixture
def built(client: TestClient, seed: Seed) -> dict[str, Any]:
    response = _create(client, seed)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def test_treasury_creates_a_round_from_an_upload_and_everyone_reads_it(
    client: TestClient, seed: Seed, built: dict[str, Any]
) -> None:
    assert (built["id"], built["status"], built["accounts"]) == ("2026-11", "built", 50)
    listed = _get(client, seed, "/rounds", Role.VIEWER)
    assert [r["id"] for r in listed.json()] == ["2026-11"]
    shown = _get(client, seed, "/rounds/2026-11", Role.COMPLIANCE).json()
    assert shown["root"] == built["root"]
    assert shown["totals"] == built["totals"]
    missing = _get(client, seed, "/rounds/1999-01", Role.VIEWER)
    assert missing.status_code == 404
    assert missing.json()["code"] == "not-found"


def test_a_viewer_cannot_create_and_an_anonymous_caller_cannot_read(
    app: FastAPI, client: TestClient, seed: Seed
) -> None:
    denied = _create(client, seed, Role.VIEWER)
    assert denied.status_code == 403
    assert "reserves.rounds.write" in denied.json()["detail"]
    assert client.get(f"{BASE}/rounds").status_code == 401
    assert client.get(f"{BASE}/rounds/2026-11/proofs/acct-001").status_code == 401
    assert not service.reserves_dir(app.state.runtime.settings).exists()


def test_a_refused_upload_names_line_column_and_reason_and_leaves_nothing(
    app: FastAPI, client: TestClient, seed: Seed
) -> None:
    response = _create(client, seed, csv=f"{HEADER}\na1,1,0,0\na1,0.5,-2,0\n")
    assert response.status_code == 422
    problem = response.json()
    assert problem["code"] == "liabilities-rejected"
    assert "line 3, column ETH" in problem["detail"]
    assert {p["reason"] for p in problem["problems"]} == {"negative-amount", "duplicate-account"}
    assert _get(client, seed, "/rounds", Role.VIEWER).json() == []
    assert list(service.reserves_dir(app.state.runtime.settings).iterdir()) == []


def test_publishing_makes_a_round_immutable_and_anchors_it(
    client: TestClient, seed: Seed, built: dict[str, Any]
) -> None:
    headers = bearer(seed, Role.TREASURY)
    published = client.post(f"{BASE}/rounds/2026-11/publish", headers=headers)
    assert published.status_code == 200, published.text
    assert published.json()["status"] == "published"
    anchor = client.get(
        f"/api/v1/trail/anchors/reserves.root/{built['root']}", headers=bearer(seed, Role.VIEWER)
    )
    assert anchor.status_code == 200, anchor.text
    assert anchor.json()["leaf_index"] == published.json()["anchor_leaf"]
    discarded = client.delete(f"{BASE}/rounds/2026-11", headers=headers)
    assert discarded.status_code == 409
    assert discarded.json()["code"] == "round-published"
    again = _create(client, seed)
    assert again.status_code == 409
    assert again.json()["code"] == "round-published"


def test_a_built_round_is_discarded(client: TestClient, seed: Seed, built: dict[str, Any]) -> None:
    response = client.delete(f"{BASE}/rounds/2026-11", headers=bearer(seed, Role.TREASURY))
    assert response.status_code == 204
    assert _get(client, seed, "/rounds", Role.VIEWER).json() == []
    assert _create(client, seed).json()["root"] != built["root"]


def test_a_linked_customer_gets_their_own_proof_and_no_other(
    client: TestClient, seed: Seed, built: dict[str, Any]
) -> None:
    assert _link(client, seed, Role.VIEWER, "acct-001").status_code == 201
    own = "/rounds/2026-11/proofs/acct-001"
    # not before the round is published
    assert _get(client, seed, own, Role.VIEWER).status_code == 404
    client.post(f"{BASE}/rounds/2026-11/publish", headers=bearer(seed, Role.TREASURY))
    response = _get(client, seed, own, Role.VIEWER)
    assert response.status_code == 200, response.text
    verified = proof.verify(
        proof.parse_proof(response.text), account_id="acct-001", root=built["root"]
    )
    assert verified.round_id == "2026-11"
    other = _get(client, seed, "/rounds/2026-11/proofs/acct-002", Role.VIEWER)
    assert other.status_code == 403
    assert other.json()["code"] == "permission-denied"
    mine = _get(client, seed, "/links", Role.VIEWER).json()
    assert [(link["email"], link["account_id"]) for link in mine] == [
        ("viewer@test.example", "acct-001")
    ]
    assert _get(client, seed, "/links", Role.COMPLIANCE).json() == []


@pytest.mark.parametrize("role", [Role.TREASURY, Role.AUDITOR, Role.ADMIN])
def test_treasury_auditors_and_admins_fetch_any_proof_of_any_round(
    client: TestClient, seed: Seed, built: dict[str, Any], role: Role
) -> None:
    response = _get(client, seed, "/rounds/2026-11/proofs/acct-042", role)
    assert response.status_code == 200, response.text
    assert proof.verify(proof.parse_proof(response.text), root=built["root"]).index >= 0
    absent = _get(client, seed, "/rounds/2026-11/proofs/nobody", role)
    assert absent.status_code == 404


def test_only_admins_link_accounts_and_a_link_is_taken_away(
    client: TestClient, seed: Seed, built: dict[str, Any]
) -> None:
    body = {"email": Seed.email(Role.VIEWER), "account_id": "acct-001"}
    refused = client.post(f"{BASE}/links", json=body, headers=bearer(seed, Role.TREASURY))
    assert refused.status_code == 403
    assert _link(client, seed, Role.VIEWER, "acct-001").status_code == 201
    assert _link(client, seed, Role.VIEWER, "acct-001").status_code == 409
    unknown = client.post(
        f"{BASE}/links",
        json={"email": "nobody@test.example", "account_id": "acct-001"},
        headers=bearer(seed, Role.ADMIN),
    )
    assert unknown.status_code == 404
    removed = client.delete(
        f"{BASE}/links/{Seed.email(Role.VIEWER)}/acct-001", headers=bearer(seed, Role.ADMIN)
    )
    assert removed.status_code == 204
    client.post(f"{BASE}/rounds/2026-11/publish", headers=bearer(seed, Role.TREASURY))
    assert _get(client, seed, "/rounds/2026-11/proofs/acct-001", Role.VIEWER).status_code == 403


def test_an_auditor_audits_a_round_and_a_viewer_may_not(
    app: FastAPI, client: TestClient, seed: Seed, built: dict[str, Any]
) -> None:
    response = client.post(f"{BASE}/rounds/2026-11/audit", headers=bearer(seed, Role.AUDITOR))
    assert response.status_code == 200, response.text
    report = response.json()
    assert (report["ok"], report["root"], report["accounts"]) == (True, built["root"], 50)
    folder: Path = service.round_folder(app.state.runtime.settings, "2026-11")
    (folder / "secret").unlink()
    broken = client.post(f"{BASE}/rounds/2026-11/audit", headers=bearer(seed, Role.AUDITOR))
    assert [d["code"] for d in broken.json()["discrepancies"]] == ["secret-missing"]
    denied = client.post(f"{BASE}/rounds/2026-11/audit", headers=bearer(seed, Role.VIEWER))
    assert denied.status_code == 403
