"""The page shell through HTTP: sign-in and out, flash messages, the admin forms, error pages."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient

from assay.platform.roles import Role
from assay.platform.web.pages import safe_next
from assay.platform.web.security import CSRF_COOKIE, SESSION_COOKIE
from tests.conftest import PASSWORD, Seed
from tests.platform.helpers import csrf_from, page_csrf, sign_in, signin_form


def test_signing_in_sets_an_httponly_session_cookie_and_goes_to_next(app: FastAPI) -> None:
    browser = TestClient(app)
    form = signin_form(browser, Role.COMPLIANCE) | {"next": "/activity"}
    old_csrf = browser.cookies[CSRF_COOKIE]
    response = browser.post("/signin", data=form, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/activity"
    cookie = next(
        h for h in response.headers.get_list("set-cookie") if h.startswith(SESSION_COOKIE)
    )
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie
    assert browser.cookies[CSRF_COOKIE] != old_csrf  # rotated at sign-in
    assert "Carla" not in browser.get("/").text
    assert "compliance@test.example" in browser.get("/").text


def test_the_session_cookie_is_secure_in_production(app: FastAPI) -> None:
    app.state.runtime.settings.cookie_secure = None  # production default
    browser = TestClient(app, base_url="https://testserver")
    response = browser.post(
        "/signin", data=signin_form(browser, Role.VIEWER), follow_redirects=False
    )
    cookie = next(
        h for h in response.headers.get_list("set-cookie") if h.startswith(SESSION_COOKIE)
    )
    assert "Secure" in cookie
    assert response.headers["strict-transport-security"].startswith("max-age=")


def test_a_wrong_password_shows_the_form_again_with_an_error(app: FastAPI) -> None:
    browser = TestClient(app)
    form = signin_form(browser, Role.VIEWER, password="not the password")
    response = browser.post("/signin", data=form)
    assert response.status_code == 401
    assert "wrong email or password" in response.text
    assert 'value="viewer@test.example"' in response.text
    assert SESSION_COOKIE not in browser.cookies


def test_sign_in_is_locked_after_repeated_failures(app: FastAPI) -> None:
    browser = TestClient(app)
    for _ in range(5):
        browser.post("/signin", data=signin_form(browser, Role.ADMIN, password="bad guess!!"))
    response = browser.post("/signin", data=signin_form(browser, Role.ADMIN))
    assert response.status_code == 429
    assert "too many failed sign-ins" in response.text
    assert response.headers["retry-after"] == "900"


def test_signing_out_ends_the_session_and_says_so(app: FastAPI) -> None:
    browser = TestClient(app)
    sign_in(browser, Role.VIEWER)
    response = browser.post("/signout", data={"csrf_token": page_csrf(browser)})
    assert response.url.path == "/signin"
    assert "You have signed out." in response.text
    assert browser.get("/", follow_redirects=False).status_code == 303


def test_next_never_leaves_the_site() -> None:
    assert safe_next("/activity?x=1") == "/activity?x=1"
    for hostile in ["https://evil.example/", "//evil.example", "/\\evil.example", "", None]:
        assert safe_next(hostile) == "/"


def test_the_dashboard_shows_the_group_and_recent_activity(app: FastAPI) -> None:
    browser = TestClient(app)
    sign_in(browser, Role.AUDITOR)
    page = browser.get("/").text
    assert "<h1>Dashboard</h1>" in page
    assert "No legal entity yet" in page
    assert "platform.signin" in page


def test_an_admin_adds_a_user_and_changes_a_role_through_the_forms(app: FastAPI) -> None:
    browser = TestClient(app)
    sign_in(browser, Role.ADMIN)
    token = page_csrf(browser, "/admin/users")
    added = browser.post(
        "/admin/users",
        data={
            "email": "new@test.example",
            "name": "New Person",
            "role": "treasury",
            "password": "a fine long password",
            "csrf_token": token,
        },
    )
    assert "Added new@test.example." in added.text
    assert "new@test.example" in added.text
    row = added.text.split('<th scope="row">new@test.example</th>')[1]
    new_id = row.split('action="/admin/users/')[1].split('"')[0]
    changed = browser.post(
        f"/admin/users/{new_id}",
        data={
            "role": "auditor",
            "active": "true",
            "csrf_token": csrf_from(added.text),
        },
    )
    assert "is now auditor, active." in changed.text


def test_the_add_user_form_shows_the_error_next_to_the_field(app: FastAPI) -> None:
    browser = TestClient(app)
    sign_in(browser, Role.ADMIN)
    response = browser.post(
        "/admin/users",
        data={
            "email": "bad-address",
            "name": "X",
            "role": "viewer",
            "password": "a fine long password",
            "csrf_token": page_csrf(browser, "/admin/users"),
        },
    )
    assert response.status_code == 422
    assert 'aria-invalid="true"' in response.text
    assert "is not an email address" in response.text
    assert 'value="bad-address"' in response.text


def test_a_token_created_on_the_page_is_shown_once_and_works(app: FastAPI) -> None:
    browser = TestClient(app)
    sign_in(browser, Role.SECURITY)
    created = browser.post(
        "/account/tokens",
        data={
            "name": "evidence-bot",
            "expires_in_days": "30",
            "csrf_token": page_csrf(browser, "/account/tokens"),
        },
    )
    token = created.text.split('id="new-token">')[1].split("<")[0]
    assert token.startswith("assay_")
    assert token not in browser.get("/account/tokens").text
    me = TestClient(app).get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me.json()["name"] == Seed.email(Role.SECURITY)


def test_a_bad_token_expiry_names_the_field(app: FastAPI) -> None:
    browser = TestClient(app)
    sign_in(browser, Role.SECURITY)
    response = browser.post(
        "/account/tokens",
        data={
            "name": "x",
            "expires_in_days": "soon",
            "csrf_token": page_csrf(browser, "/account/tokens"),
        },
    )
    assert response.status_code == 422
    assert "expires_in_days &#39;soon&#39; is not a whole number" in response.text


def test_activity_can_be_filtered(app: FastAPI) -> None:
    browser = TestClient(app)
    sign_in(browser, Role.VIEWER)
    page = browser.get("/activity", params={"action": "platform.token"}).text
    assert "platform.token.create" in page
    assert "platform.signin<" not in page
    bad = browser.get("/activity", params={"since": "yesterday"})
    assert bad.status_code == 422
    assert "since &#39;yesterday&#39; is not a date" in bad.text


def test_pages_carry_security_headers(app: FastAPI) -> None:
    response = TestClient(app).get("/signin")
    assert response.headers["x-frame-options"] == "DENY"
    assert "default-src 'self'" in response.headers["content-security-policy"]
    assert response.headers["x-content-type-options"] == "nosniff"


def test_the_api_docs_page_is_served_offline_to_signed_in_users(app: FastAPI) -> None:
    browser = TestClient(app)
    assert browser.get("/api/v1/docs", follow_redirects=False).status_code == 303
    sign_in(browser, Role.VIEWER)
    assert 'id="swagger-ui"' in browser.get("/api/v1/docs").text
    script = browser.get("/api/v1/docs/assets/swagger-ui-bundle.js")
    assert script.status_code == 200
    assert len(script.content) > 100_000
    assert browser.get("/api/v1/docs/assets/other.js").status_code == 404
    assert PASSWORD not in script.text
