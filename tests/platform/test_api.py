"""The HTTP API: bearer tokens, JSON in and out, every error an RFC 9457 problem document."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient

from assay.platform.roles import Role
from tests.conftest import Seed, bearer

PROBLEM = "application/problem+json"


def test_me_tells_the_caller_who_they_are_and_what_they_may_do(
    client: TestClient, seed: Seed
) -> None:
    body = client.get("/api/v1/me", headers=bearer(seed, Role.AUDITOR)).json()
    assert body["name"] == Seed.email(Role.AUDITOR)
    assert body["role"] == "auditor"
    assert body["via"] == "token"
    assert "platform.users.read" in body["permissions"]
    assert "platform.users.write" not in body["permissions"]


def test_no_token_is_a_401_problem_with_a_bearer_challenge(client: TestClient) -> None:
    response = client.get("/api/v1/me")
    assert response.status_code == 401
    assert response.headers["content-type"] == PROBLEM
    assert response.headers["www-authenticate"].startswith("Bearer")
    body = response.json()
    assert body["type"] == "urn:assay:problem:authentication-required"
    assert body["instance"] == "/api/v1/me"
    assert "Authorization: Bearer" in body["detail"]


def test_an_unknown_token_is_a_401_problem(client: TestClient) -> None:
    response = client.get("/api/v1/me", headers={"Authorization": "Bearer assay_nope"})
    assert response.status_code == 401
    assert response.json()["code"] == "invalid-token"


def test_admins_add_users_through_the_api(client: TestClient, seed: Seed) -> None:
    response = client.post(
        "/api/v1/users",
        headers=bearer(seed, Role.ADMIN),
        json={
            "email": "ops@test.example",
            "name": "Ops",
            "role": "security",
            "password": "twelve chars!",
        },
    )
    assert response.status_code == 201
    assert response.json()["role"] == "security"
    listed = client.get("/api/v1/users", headers=bearer(seed, Role.ADMIN)).json()
    assert "ops@test.example" in [u["email"] for u in listed]
    events = client.get(
        "/api/v1/events", params={"action": "platform.user.add"}, headers=bearer(seed, Role.VIEWER)
    ).json()
    assert events[0]["after"]["email"] == "ops@test.example"
    assert events[0]["actor"] == f"token:{Seed.email(Role.ADMIN)}"


def test_malformed_json_is_a_400_problem_and_nothing_is_stored(
    client: TestClient, seed: Seed
) -> None:
    before = client.get("/api/v1/users", headers=bearer(seed, Role.ADMIN)).json()
    response = client.post(
        "/api/v1/users",
        headers={**bearer(seed, Role.ADMIN), "Content-Type": "application/json"},
        content=b'{"email": "x@test.example", ',
    )
    assert response.status_code == 400
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["code"] == "malformed-request"
    assert client.get("/api/v1/users", headers=bearer(seed, Role.ADMIN)).json() == before


def test_wrong_types_name_each_field_and_value(client: TestClient, seed: Seed) -> None:
    response = client.post(
        "/api/v1/users",
        headers=bearer(seed, Role.ADMIN),
        json={"email": "x@test.example", "name": "X", "role": "boss", "password": 5, "extra": 1},
    )
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "invalid-input"
    fields = {e["field"]: e for e in body["errors"]}
    assert set(fields) == {"role", "password", "extra"}
    assert fields["role"]["value"] == "boss"
    assert "admin" in fields["role"]["message"]


def test_a_service_error_names_the_field_and_value(client: TestClient, seed: Seed) -> None:
    response = client.patch(
        "/api/v1/users/9999", headers=bearer(seed, Role.ADMIN), json={"role": "viewer"}
    )
    assert response.status_code == 404
    assert response.json() | {"instance": "-"} == {
        "type": "urn:assay:problem:not-found",
        "title": "Not found",
        "status": 404,
        "detail": "no user with id 9999",
        "instance": "-",
        "code": "not-found",
        "field": "user_id",
        "value": 9999,
    }


def test_unknown_paths_and_methods_are_problems(client: TestClient, seed: Seed) -> None:
    missing = client.get("/api/v1/nothing-here", headers=bearer(seed, Role.VIEWER))
    assert (missing.status_code, missing.json()["code"]) == (404, "not-found")
    wrong = client.put("/api/v1/me", headers=bearer(seed, Role.VIEWER))
    assert (wrong.status_code, wrong.json()["code"]) == (405, "method-not-allowed")


def test_an_unexpected_error_shows_no_stack_trace(app: FastAPI, seed: Seed) -> None:
    def explode() -> None:
        raise RuntimeError("secret internals /srv/assay/app.py line 42")

    app.add_api_route("/api/v1/explode", explode)
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/api/v1/explode")
        page = client.get("/nothing-here-either")
    assert response.status_code == 500
    assert response.headers["content-type"] == PROBLEM
    assert "secret internals" not in response.text
    assert "Traceback" not in response.text
    assert response.json()["detail"].startswith("an unexpected error occurred")
    assert page.status_code == 404
    assert "text/html" in page.headers["content-type"]


def test_health_and_readiness_answer_anyone(client: TestClient) -> None:
    assert client.get("/healthz").json()["status"] == "ok"
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["status"] == "ready"


def test_readiness_fails_when_the_database_is_unreachable(
    settings,
    clock,
) -> None:
    from assay.app import create_app

    broken = settings.model_copy(
        update={"database_url": "postgresql+psycopg://u:pw@127.0.0.1:1/none"}
    )
    with TestClient(create_app(broken, clock=clock)) as client:
        response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["code"] == "database-unavailable"
    assert "pw" not in response.json()["detail"]


def test_the_openapi_document_is_public_and_describes_bearer_auth(client: TestClient) -> None:
    spec = client.get("/api/v1/openapi.json").json()
    assert spec["info"]["title"] == "Assay"
    assert "/api/v1/users" in spec["paths"]
    assert "/signin" not in spec["paths"]
    assert spec["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
