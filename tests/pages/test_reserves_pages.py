"""The reserves pages in Chromium: history and rounds, a round end to end through the forms.

The server holds the demo group: rounds 2026-09 (short of USDT) and 2026-10 (covered), both
published and reported, the viewer linked to account kestrel-000042. A round made here goes from
the liabilities upload to a signed report, all through the pages.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from assay.reserves import verify_proof
from assay.reserves.demo import write_reserves
from tests.pages.conftest import sign_in
from tests.reserves.test_rounds import write_liabilities

pytestmark = pytest.mark.browser


def test_everyone_sees_the_rounds_and_the_solvency_history(page: Page) -> None:
    sign_in(page, "auditor@kestrel.example")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Reserves").click()
    expect(page.get_by_role("heading", name="Proof of reserves", level=1)).to_be_visible()
    rounds = page.locator("#rounds")
    expect(rounds.locator('tr[data-round="2026-09"]')).to_contain_text("not solvent")
    expect(rounds.locator('tr[data-round="2026-10"]')).to_contain_text("solvent")
    chart = page.get_by_role("img", name="Reserves / liabilities per asset")
    expect(chart).to_be_visible()
    expect(chart.locator("polyline")).to_have_count(3)  # BTC, ETH, USDT
    expect(chart.locator("desc")).to_contain_text("USDT 97.00% in 2026-09")
    expect(chart.locator("desc")).to_contain_text("USDT 104.00% in 2026-10")
    # An auditor reads but does not build rounds.
    expect(page.get_by_role("heading", name="New round")).to_have_count(0)


def test_a_round_page_shows_why_it_is_short(page: Page) -> None:
    sign_in(page, "viewer@kestrel.example")
    page.goto("/reserves/rounds/2026-09")
    expect(page.locator("#verdict")).to_have_text("Not solvent")
    usdt = page.locator('#assets tr[data-asset="USDT"]')
    expect(usdt).to_contain_text("97.00%")
    expect(usdt).to_contain_text("short")
    expect(usdt).to_contain_text("debt-not-netted")
    eth = page.locator('#assets tr[data-asset="ETH"]')
    expect(eth).to_contain_text("unverified-not-counted")
    expect(page.get_by_role("img", name="USDT: 97.00% short")).to_be_visible()
    claims = page.locator("#addresses")
    expect(claims.locator('tr[data-network="BTC"]')).to_contain_text("verified")
    expect(claims.locator('tr[data-network="STARKNET"]')).to_contain_text("unverified")
    expect(page.get_by_role("link", name="PDF")).to_have_attribute(
        "href", "/reserves/rounds/2026-09/report.pdf"
    )
    # A viewer gets no treasury forms.
    expect(page.get_by_role("button", name="Issue the signed report")).to_have_count(0)


def test_a_linked_customer_downloads_their_proof_and_nobody_elses(page: Page) -> None:
    sign_in(page, "viewer@kestrel.example")
    page.goto("/reserves/rounds/2026-10")
    mine = page.locator("#your-proofs")
    expect(mine).to_contain_text("kestrel-000042")
    with page.expect_download() as download:
        mine.get_by_role("link", name="download proof").click()
    proof = json.loads(Path(download.value.path()).read_text())
    assert proof["account"]["id"] == "kestrel-000042"
    assert proof["round"]["id"] == "2026-10"
    other = page.request.get("/reserves/rounds/2026-10/proofs/kestrel-000043.json")
    assert other.status == 403


def test_a_customer_checks_their_own_proof_in_the_browser(page: Page) -> None:
    sign_in(page, "viewer@kestrel.example")
    page.goto("/reserves/rounds/2026-10")
    root = page.locator("#root").inner_text()
    page.locator("#your-proofs").get_by_role("link", name="check it in the browser").click()
    expect(page.get_by_role("status").filter(has_text="Proof valid")).to_be_visible()
    result = page.locator("main")
    expect(result).to_contain_text("kestrel-000042")
    expect(result).to_contain_text(root)


def test_anyone_downloads_the_standalone_verifier(page: Page) -> None:
    page.goto("/reserves/verify")
    with page.expect_download() as download:
        page.get_by_role("link", name="verify_proof.py").click()
    script = Path(download.value.path()).read_text()
    assert script == (Path(verify_proof.__file__)).read_text()


def test_treasury_takes_a_round_from_upload_to_signed_report(page: Page, tmp_path: Path) -> None:
    liabilities = write_liabilities(tmp_path)
    sign_in(page, "treasury@kestrel.example")
    page.goto("/reserves")
    page.get_by_label("Round id").fill("page-2026-11")
    page.get_by_label("Snapshot instant (UTC)").fill("2026-11-30T23:59:59Z")
    page.get_by_label("Assets").fill("BTC:8, ETH:18, USDT:6:debt")
    page.get_by_label("Liabilities file").set_input_files(str(liabilities))
    page.get_by_role("button", name="Build the round").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Round page-2026-11")
    expect(page.get_by_role("status")).to_contain_text("Round page-2026-11 built: 50 accounts.")
    expect(page.locator("#verdict")).to_have_text("Not solvent")  # no reserves yet

    totals = {
        asset: {"equity": page.locator(f'#assets tr[data-asset="{asset}"] td').first.inner_text()}
        for asset in ("BTC", "ETH", "USDT")
    }
    claims, balances = write_reserves(tmp_path, "page-2026-11", totals, "1.5")
    page.get_by_label("Address claims").set_input_files(str(claims))
    page.get_by_label("Balances").set_input_files(str(balances))
    page.get_by_role("button", name="Import reserves").click()
    expect(page.get_by_role("status")).to_contain_text(
        "Reserves imported: 3 addresses (2 verified, 1 unverified, 0 failed), 4 balances."
    )
    expect(page.locator("#verdict")).to_have_text("Solvent: every asset covered")

    page.get_by_role("button", name="Publish the round").click()
    expect(page.get_by_role("status")).to_contain_text("Round page-2026-11 published.")
    page.get_by_role("button", name="Issue the signed report").click()
    expect(page.get_by_role("status")).to_contain_text("Report issued and signed: solvent.")
    pdf = page.request.get("/reserves/rounds/page-2026-11/report.pdf")
    assert pdf.status == 200
    assert pdf.body().startswith(b"%PDF-")
    note = page.request.get("/reserves/rounds/page-2026-11/report.sig").text()
    assert note.startswith("assay-solvency-report/1\nround page-2026-11\n")
    page.goto("/reserves")
    expect(page.locator('#rounds tr[data-round="page-2026-11"]')).to_contain_text("solvent")


def test_a_refused_liabilities_file_names_line_and_column_and_builds_nothing(
    page: Page, tmp_path: Path
) -> None:
    bad = write_liabilities(tmp_path, ["acct-1,1.5,0,0", "acct-2,-2,0,0"], name="bad.csv")
    sign_in(page, "treasury@kestrel.example")
    page.goto("/reserves")
    page.get_by_label("Round id").fill("page-bad")
    page.get_by_label("Snapshot instant (UTC)").fill("2026-11-30T23:59:59Z")
    page.get_by_label("Assets").fill("BTC:8, ETH:18, USDT:6:debt")
    page.get_by_label("Liabilities file").set_input_files(str(bad))
    page.get_by_role("button", name="Build the round").click()
    error = page.locator("#create-error")
    expect(error).to_contain_text("line 3")
    expect(error).to_contain_text("BTC")
    expect(page.get_by_label("Round id")).to_have_value("page-bad")  # what was typed is kept
    expect(page.locator('#rounds tr[data-round="page-bad"]')).to_have_count(0)
    assert page.request.get("/reserves/rounds/page-bad").status == 404
