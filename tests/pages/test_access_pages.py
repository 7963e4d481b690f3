"""The access pages in Chromium: coverage map, decision explorer, register timeline, impact."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.pages.conftest import sign_in

pytestmark = pytest.mark.browser


def test_the_coverage_map_shows_what_retail_may_get_where(page: Page) -> None:
    sign_in(page, "viewer@kestrel.example")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Access").click()
    expect(page.get_by_role("heading", name="Market access", level=1)).to_be_visible()
    page.get_by_label("On", exact=True).fill("2026-03-01")
    page.get_by_role("button", name="Show").click()
    grid = page.locator("#coverage-grid")
    france = grid.locator('tr[data-jurisdiction="FR"]')
    expect(france.locator("td").nth(0)).to_contain_text("allowed")  # spot
    expect(france.locator("td").nth(2)).to_contain_text("allowed")  # perpetual-future
    expect(grid.locator('tr[data-jurisdiction="US"]').locator("td").nth(0)).to_contain_text(
        "refused: no-licence"
    )
    expect(grid.locator('tr[data-jurisdiction="KP"]').locator("td").nth(0)).to_contain_text(
        "refused: sanctioned"
    )
    tiles = page.get_by_role("list", name=re.compile("Jurisdictions coloured"))
    expect(tiles.get_by_role("link", name="AE-DU Dubai: 1 of 10 products")).to_be_visible()
    expect(tiles.get_by_role("link", name="FR France: 7 of 10 products")).to_be_visible()


def test_the_decision_explorer_cites_the_basis_and_every_reason(page: Page) -> None:
    sign_in(page, "compliance@kestrel.example")
    page.goto("/access/decide")
    page.get_by_label("Where the customer lives").select_option("FR")
    page.get_by_label("Client").select_option("retail")
    page.get_by_label("Product").select_option("perpetual-future")
    page.get_by_label("On", exact=True).fill("2026-03-01")
    page.get_by_role("button", name="Decide").click()
    decision = page.locator("#decision")
    expect(decision.get_by_role("heading", level=2)).to_contain_text("Allowed")
    expect(decision).to_contain_text("MFSA-IF-0301")
    expect(decision.locator(".obligations")).to_contain_text("leverage-cap = 2")
    expect(decision.locator(".basis")).to_contain_text("Art 34")
    page.get_by_label("Where the customer lives").select_option("AE-DU")
    page.get_by_label("Product").select_option("margin")
    page.get_by_role("button", name="Decide").click()
    expect(decision.get_by_role("heading", level=2)).to_contain_text("Refused")
    expect(decision.locator(".reasons li")).to_have_count(2)
    expect(decision).to_contain_text("Rule IV.A.1-4")


def test_a_bad_question_shows_what_is_accepted(page: Page) -> None:
    sign_in(page, "viewer@kestrel.example")
    page.goto("/access/decide?jurisdiction=FR&client=retail&product=spot&amount=10")
    expect(page.locator("#decision-error")).to_contain_text("needs a currency")


def test_the_register_shows_each_licence_timeline(page: Page) -> None:
    sign_in(page, "auditor@kestrel.example")
    page.goto("/access/licences")
    table = page.locator("#licences")
    expect(table.get_by_role("row")).to_have_count(5)
    table.get_by_role("link", name="MFSA-CASP-0127").click()
    expect(page.get_by_role("heading", name="MFSA-CASP-0127", level=1)).to_be_visible()
    timeline = page.locator("#timeline")
    expect(timeline).to_contain_text("2025-01-27 granted")
    expect(timeline).to_contain_text("2025-02-14 passported to")
    # An auditor reads the register but may not change it: no status form.
    expect(page.get_by_role("button", name="Record")).to_have_count(0)


def test_impact_what_if_a_licence_were_suspended(page: Page) -> None:
    sign_in(page, "viewer@kestrel.example")
    page.goto("/access/impact")
    page.get_by_label("Licence").select_option("MAS-MPI-0902")
    page.get_by_label("…were").select_option("suspended")
    page.get_by_label("…on").fill("2026-06-01")
    page.get_by_role("button", name="Show impact").click()
    expect(page.locator("#impact-title")).to_contain_text("if MAS-MPI-0902 were suspended")
    rows = page.locator("#impact tbody tr")
    expect(rows.first).to_contain_text("SG")
    expect(rows.first).to_contain_text("refused")


def test_compliance_adds_and_edits_a_licence_and_sees_errors_in_place(page: Page) -> None:
    sign_in(page, "compliance@kestrel.example")
    page.goto("/access/licences")
    page.get_by_role("link", name="Add a licence").click()
    editor = page.get_by_label("Licence")
    text = editor.input_value().replace("NEW-REFERENCE", "MFSA-CASP-TEST")
    editor.fill(text.replace("- a\n", "- z\n", 1))
    page.get_by_role("button", name="Add licence").click()
    expect(page.locator("#editor-error")).to_contain_text("services 'z' is not accepted")
    expect(editor).to_have_attribute("aria-invalid", "true")
    editor.fill(text)
    page.get_by_role("button", name="Add licence").click()
    expect(page.get_by_role("heading", name="MFSA-CASP-TEST", level=1)).to_be_visible()
    expect(page.get_by_text("MFSA-CASP-TEST added.")).to_be_visible()
    page.get_by_role("link", name="Edit this licence").click()
    editor = page.get_by_label("Licence")
    editor.fill(
        editor.input_value().replace(
            "regulator: the competent authority", "regulator: Test Authority"
        )
    )
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".facts")).to_contain_text("Test Authority")
    page.get_by_role("button", name="Mark annual report as met").click()
    expect(page.locator(".deadlines")).to_contain_text("done 20")


def test_a_viewer_cannot_open_the_licence_editor(page: Page) -> None:
    sign_in(page, "viewer@kestrel.example")
    response = page.goto("/access/licences/new")
    assert response is not None
    assert response.status == 403


def test_compliance_records_a_suspension_and_the_map_follows(page: Page) -> None:
    sign_in(page, "compliance@kestrel.example")
    page.goto("/access/licences/VARA-VASP-0116")
    page.get_by_label("New status").select_option("suspended")
    page.get_by_label("Takes effect on").fill("2026-10-01")
    page.get_by_label("Note").fill("inspection findings")
    page.get_by_role("button", name="Record").click()
    expect(page.get_by_text("VARA-VASP-0116 is suspended from 2026-10-01.")).to_be_visible()
    expect(page.locator("#timeline")).to_contain_text("2026-10-01 suspended inspection findings")
    page.goto("/access?client=retail&as_of=2026-10-02")
    dubai = page.locator('#coverage-grid tr[data-jurisdiction="AE-DU"]')
    expect(dubai.locator("td").nth(0)).to_contain_text("refused")
