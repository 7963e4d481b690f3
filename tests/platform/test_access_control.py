"""Every route refuses anonymous callers, and every write is allowed to exactly its roles.

Both tests enumerate the app's routes, so a route added later by any capability is covered
without touching this file: it must either be in the short public list below or refuse.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient
from starlette.routing import BaseRoute, Mount

from assay.platform.roles import Permission, Role
from assay.platform.web.problems import is_machine_path
from tests.conftest import Seed, bearer
from tests.platform.helpers import page_csrf, sign_in

#: The only routes an anonymous caller may use: signing in, probes, the OpenAPI document, and
#: a proof of reserves' checks, which anyone holding a proof file must be able to run.
PUBLIC = {
    ("GET", "/signin"),
    ("POST", "/signin"),
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("GET", "/api/v1/openapi.json"),
    ("GET", "/reserves/verify"),
    ("GET", "/reserves/verify_proof.py"),
}
#: Writes that need a signed-in user but no particular permission.
ANY_SIGNED_IN_WRITE = {("POST", "/signout")}
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


def _routes(app: FastAPI) -> Iterator[tuple[str, str, BaseRoute]]:
    """(method, full path, original route) of every route, those of included routers too."""
    for context in iter_route_contexts(app.routes):
        for method in sorted(context.methods or ()):
            if method != "HEAD":
                yield method, context.path or "", context.original_route


def _concrete(path: str) -> str:
    """A path with its parameters filled in; ids that exist nowhere, so no write lands on the
    seeded users and tokens the later requests need."""
    values = {"name": "swagger-ui.css", "path": "0/000", "kind": "x", "digest": "00" * 32}
    for name, value in values.items():
        path = path.replace(f"{{{name}}}", value).replace(f"{{{name}:path}}", value)
    return re.sub(r"\{[a-z_]+\}", "999999", path)


def _permission(route: BaseRoute) -> Permission | None:
    if not isinstance(route, APIRoute):
        return None
    pending = list(route.dependant.dependencies)
    while pending:
        dependant = pending.pop()
        found = getattr(dependant.call, "permission", None)
        if isinstance(found, Permission):
            return found
        pending.extend(dependant.dependencies)
    return None


def _is_api(app: FastAPI, path: str) -> bool:
    return is_machine_path(path, app.state.machine_paths)


def test_the_public_routes_exist_and_only_static_files_are_mounted(app: FastAPI) -> None:
    routes = {(method, path) for method, path, _ in _routes(app)}
    assert routes >= PUBLIC
    mounts = {route.path for route in app.routes if isinstance(route, Mount)}
    assert all(path.startswith("/static/") for path in mounts)


def test_every_route_refuses_an_anonymous_caller(app: FastAPI, client: TestClient) -> None:
    checked = 0
    for method, path, _ in _routes(app):
        if (method, path) in PUBLIC:
            continue
        response = client.request(method, _concrete(path), follow_redirects=False)
        if _is_api(app, path):
            assert response.status_code == 401, (method, path, response.status_code)
            assert response.headers["content-type"] == "application/problem+json"
        else:
            assert response.status_code == 303, (method, path, response.status_code)
            assert response.headers["location"].startswith("/signin?next="), (method, path)
        checked += 1
    assert checked >= 15


def test_static_files_are_the_only_public_files(client: TestClient) -> None:
    assert client.get("/static/platform/assay.css").status_code == 200
    assert client.get("/static/platform/nothing.css").status_code == 404


def test_every_write_route_declares_a_permission(app: FastAPI) -> None:
    for method, path, route in _routes(app):
        if method in UNSAFE and (method, path) not in PUBLIC | ANY_SIGNED_IN_WRITE:
            assert _permission(route) is not None, f"{method} {path} checks no permission"


def test_role_matrix_every_guarded_route_admits_exactly_its_roles(
    client: TestClient, app: FastAPI, seed: Seed
) -> None:
    sessions: dict[Role, TestClient] = {}
    for role in Role:
        browser = TestClient(app)
        sign_in(browser, role)
        sessions[role] = browser
    checked = 0
    for method, path, route in _routes(app):
        permission = _permission(route)
        if permission is None:
            continue
        for role in Role:
            if _is_api(app, path):
                response = client.request(
                    method,
                    _concrete(path),
                    headers=bearer(seed, role),
                    json={} if method in UNSAFE else None,
                )
            else:
                browser = sessions[role]
                data = {"csrf_token": page_csrf(browser)} if method in UNSAFE else None
                response = browser.request(
                    method, _concrete(path), data=data, follow_redirects=False
                )
            # Denied for lack of this permission (not for another reason, such as revoking
            # someone else's token, which is the service's own object-level check).
            denied = response.status_code == 403 and (
                f"does not allow {permission.name}" in response.text
            )
            expected_denied = not permission.granted_to(role)
            assert denied == expected_denied, (method, path, role.value, response.status_code)
            assert response.status_code != 401, (method, path, role.value)
            checked += 1
    assert checked >= 6 * len(Role)


def test_page_forms_without_their_csrf_token_are_refused(app: FastAPI) -> None:
    browser = TestClient(app)
    sign_in(browser, Role.ADMIN)
    response = browser.post(
        "/admin/users",
        data={
            "email": "x@test.example",
            "name": "X",
            "role": "admin",
            "password": "long password!",
        },
    )
    assert response.status_code == 403
    assert "security token" in response.text
    forged = browser.post(
        "/admin/users",
        data={
            "email": "x@test.example",
            "name": "X",
            "role": "admin",
            "password": "long password!",
            "csrf_token": "0" * 64,
        },
    )
    assert forged.status_code == 403
    assert "x@test.example" not in browser.get("/admin/users").text


@pytest.mark.parametrize("role", [Role.VIEWER, Role.TREASURY])
def test_roles_without_user_rights_cannot_reach_the_users_page(app: FastAPI, role: Role) -> None:
    browser = TestClient(app)
    sign_in(browser, role)
    response = browser.get("/admin/users")
    assert response.status_code == 403
    assert "does not allow platform.users.read" in response.text
    assert 'href="/admin/users"' not in browser.get("/").text
