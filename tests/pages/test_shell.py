"""The page shell in Chromium: sign in, see the dashboard, sign out; errors a person would meet."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.pages.conftest import sign_in

pytestmark = pytest.mark.browser


def test_sign_in_see_the_dashboard_and_sign_out(page: Page) -> None:
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/signin\?next=%2F$"))
    sign_in(page, "admin@kestrel.example")
    expect(page.get_by_role("heading", name="Dashboard", level=1)).to_be_visible()
    expect(page.get_by_text("Signed in as admin@kestrel.example (admin).")).to_be_visible()
    group = page.get_by_role("table", name="Legal entities of the group")
    expect(group.get_by_role("row")).to_have_count(5)  # a header row and the four entities
    expect(group).to_contain_text("Kestrel VA FZE")
    expect(group).to_contain_text("AE-DU")
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/signin$"))
    expect(page.get_by_text("You have signed out.")).to_be_visible()
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/signin"))


def test_a_wrong_password_shows_an_error_and_keeps_the_email(page: Page) -> None:
    sign_in(page, "compliance@kestrel.example", "not the password")
    expect(page.get_by_role("alert")).to_have_text("wrong email or password")
    expect(page.get_by_label("Email")).to_have_value("compliance@kestrel.example")
    expect(page.get_by_role("heading", name="Sign in to Assay")).to_be_visible()


def test_a_viewer_cannot_reach_the_admin_page(page: Page) -> None:
    sign_in(page, "viewer@kestrel.example")
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    expect(
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Users")
    ).to_have_count(0)
    response = page.goto("/admin/users")
    assert response is not None
    assert response.status == 403
    expect(page.get_by_role("heading", name="Permission denied")).to_be_visible()
    expect(page.get_by_role("alert")).to_contain_text("does not allow platform.users.read")


def test_an_admin_reaches_the_users_page_from_the_navigation(page: Page) -> None:
    sign_in(page, "admin@kestrel.example")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Users").click()
    expect(page.get_by_role("heading", name="Users", level=1)).to_be_visible()
    expect(page.get_by_role("table")).to_contain_text("auditor@kestrel.example")
