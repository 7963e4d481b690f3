"""Helpers for page tests: fetch a form's CSRF token, sign in through the real form."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from assay.platform.roles import Role
from tests.conftest import PASSWORD, Seed

_CSRF = re.compile(r'name="csrf_token" value="([0-9a-f]+)"')


def csrf_from(html: str) -> str:
    """The CSRF token of the first form in ``html``."""
    match = _CSRF.search(html)
    assert match, "the page has no form with a CSRF token"
    return match.group(1)


def signin_form(client: TestClient, role: Role, password: str = PASSWORD) -> dict[str, str]:
    """The fields of the sign-in form, filled in for the seeded user with ``role``."""
    page = client.get("/signin")
    return {"email": Seed.email(role), "password": password, "csrf_token": csrf_from(page.text)}


def sign_in(client: TestClient, role: Role) -> None:
    """Sign ``client`` in as the seeded user with ``role``."""
    response = client.post("/signin", data=signin_form(client, role), follow_redirects=False)
    assert response.status_code == 303, response.text


def page_csrf(client: TestClient, path: str = "/") -> str:
    """The CSRF token a signed-in page carries."""
    return csrf_from(client.get(path).text)
