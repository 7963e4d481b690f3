"""Reserves and the solvency report: what counts, all-or-nothing import, a signed, anchored report.

The address claims are OKX's real sample rows (tests/samples/okx/test.csv): seven verify, the
Starknet and Vaulta rows are unverified. Balances are placed on those addresses, so what counts
as reserves follows from real signature checks, not from a flag set in the test.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader

from assay.cli import run
from assay.errors import InvalidInput, NotFound, PermissionDenied
from assay.platform.context import Context
from assay.platform.roles import Role, system_principal
from assay.platform.runtime import Runtime
from assay.reserves import reporting, service, solvency
from assay.reserves.chaindata import FakeBalanceSource
from assay.reserves.reporting import ReportIssued, ReportNotReady
from assay.reserves.rounds import RoundPublished
from assay.trail import service as trail
from assay.trail.errors import BadSignature
from tests.conftest import acting
from tests.reserves.test_rounds import SECRET, spec, write_liabilities
from tests.samples import OKX

ROUND = "2026-11"


def _claims_by_network() -> dict[str, str]:
    with (OKX / "test.csv").open(newline="") as handle:
        return {row["network"]: row["address"] for row in csv.DictReader(handle)}


ADDRESSES = _claims_by_network()
BTC_MULTISIG = ADDRESSES["BTC"]  # verified 2-of-3 P2WSH
ETH_HOT = ADDRESSES["ETH"]  # verified EIP-191
STARKNET = ADDRESSES["STARKNET"]  # unverified: no offline check
UNCLAIMED = "0x00000000000000000000000000000000000000ff"


def balances_csv(
    folder: Path, rows: list[tuple[str, str, str, int, str]], name: str = "b.csv"
) -> Path:
    path = folder / name
    lines = ["chain,asset,address,block_height,balance"]
    lines += [",".join(str(v) for v in row) for row in rows]
    path.write_text("\n".join(lines) + "\n")
    return path


def figures(totals: dict[str, dict[str, str]]) -> solvency.RoundFigures:
    return solvency.RoundFigures(
        id=ROUND,
        snapshot_at="2026-11-30T23:59:59+00:00",
        root="ab" * 32,
        accounts=3,
        capacity=4,
        assets=[{"code": c, "decimals": 8} for c in totals],
        totals=totals,
        liabilities_sha256="cd" * 32,
    )


# --- what counts --------------------------------------------------------------------------------


def test_only_verified_addresses_count_and_debt_is_never_netted() -> None:
    claims = [
        solvency.Claim("BTC", "bc1qgood", "verified", message=f"Assay PoR {ROUND} kestrel"),
        solvency.Claim("ETH", "0xAbC", "unverified", message=f"Assay PoR {ROUND} kestrel"),
        solvency.Claim("ETH", "0xdef", "failed", message=f"Assay PoR {ROUND} kestrel"),
    ]
    holdings = [
        solvency.Holding("BTC", "BTC", "bc1qgood", 840000, Decimal("10")),
        solvency.Holding("ETH", "ETH", "0xabc", 19500000, Decimal("500")),  # case-insensitive 0x
        solvency.Holding("ETH", "ETH", "0xdef", 19500000, Decimal("900")),
        solvency.Holding("ETH", "ETH", "0xnobody", 19500000, Decimal("7")),
        solvency.Holding("ETH", "DOGE", "0xAbC", 19500000, Decimal("1")),
    ]
    totals = {
        "BTC": {"equity": "3", "debt": "1"},
        "ETH": {"equity": "100", "debt": "0"},
    }
    report = solvency.assess(figures(totals), claims, holdings)
    btc, eth, doge = report["assets"]
    assert (btc["reserves"], btc["liabilities"], btc["customer_debt"]) == ("10", "3", "1")
    assert (btc["ratio"], btc["covered"], btc["surplus"]) == ("3.3333", True, "7")
    assert btc["flags"] == ["debt-not-netted"]
    assert (eth["reserves"], eth["reserves_unverified"], eth["reserves_excluded"]) == (
        "0",
        "500",
        "907",
    )
    assert eth["ratio"] == "0"
    assert not eth["covered"]
    assert eth["flags"] == [
        "short",
        "no-reserves",
        "unverified-not-counted",
        "failed-or-unclaimed-excluded",
    ]
    assert doge["flags"] == ["not-in-liabilities"]
    assert doge["decimals"] is None
    assert report["solvent"] is False
    assert [f["code"] for f in report["flags"]] == ["unclaimed-balances"]
    assert report["addresses"] == {"total": 3, "verified": 1, "unverified": 1, "failed": 1}
    owners = {(h["address"], h["asset"]): h["ownership"] for h in report["holdings"]}
    assert owners[("0xnobody", "ETH")] == "unclaimed"


def test_the_ratio_is_rounded_down_never_up() -> None:
    claims = [solvency.Claim("BTC", "a", "verified", message=ROUND)]
    holdings = [solvency.Holding("BTC", "BTC", "a", 1, Decimal("2.99999"))]
    report = solvency.assess(figures({"BTC": {"equity": "3", "debt": "0"}}), claims, holdings)
    assert report["assets"][0]["ratio"] == "0.9999"
    assert report["assets"][0]["covered"] is False


def test_heights_and_messages_that_do_not_fit_one_round_are_flagged() -> None:
    claims = [
        solvency.Claim("BTC", "a", "verified", message="OKC_DTT_AUP2025"),
        solvency.Claim("BTC", "b", "verified", message=f"Assay PoR {ROUND}"),
    ]
    holdings = [
        solvency.Holding("BTC", "BTC", "a", 840000, Decimal(1)),
        solvency.Holding("BTC", "BTC", "b", 840001, Decimal(1)),
    ]
    report = solvency.assess(figures({"BTC": {"equity": "1", "debt": "0"}}), claims, holdings)
    assert report["solvent"] is True
    codes = {f["code"]: f["detail"] for f in report["flags"]}
    assert "840000, 840001" in codes["several-heights"]
    assert "OKC_DTT_AUP2025" in codes["message-not-round-specific"]
    assert report["chains"] == [
        {
            "chain": "BTC",
            "block_heights": [840000, 840001],
            "addresses": 2,
            "verified": 2,
            "unverified": 0,
            "failed": 0,
        }
    ]


def test_a_round_without_reserves_is_not_solvent_and_says_why() -> None:
    report = solvency.assess(figures({"BTC": {"equity": "1", "debt": "0"}}), [], [])
    assert report["solvent"] is False
    assert [f["code"] for f in report["flags"]] == ["no-reserves-imported"]


# --- the service --------------------------------------------------------------------------------


@pytest.fixture
def contexts(runtime: Runtime) -> Iterator[Callable[..., Context]]:
    with ExitStack() as stack:

        def make(role: Role | None = None) -> Context:
            uow = stack.enter_context(runtime.db.uow())
            actor = system_principal("operator") if role is None else acting(runtime, role)
            return runtime.context(uow, actor)

        yield make


@pytest.fixture
def built(contexts: Callable[..., Context], tmp_path: Path) -> service.RoundPublic:
    return service.create_round(contexts(), spec(ROUND), write_liabilities(tmp_path), secret=SECRET)


def _reserve_rows(built: service.RoundPublic) -> list[tuple[str, str, str, int, str]]:
    """Enough BTC and USDT at verified addresses; ETH only at the unverified Starknet one."""
    btc = Decimal(built.totals["BTC"]["equity"]) + 1
    usdt = Decimal(built.totals["USDT"]["equity"]) * 2
    eth = Decimal(built.totals["ETH"]["equity"]) * 5
    return [
        ("BTC", "BTC", BTC_MULTISIG, 840000, str(btc)),
        ("ETH", "USDT", ETH_HOT.upper().replace("0X", "0x"), 19500000, str(usdt)),
        ("STARKNET", "ETH", STARKNET, 700000, str(eth)),
        ("ETH", "ETH", UNCLAIMED, 19500000, "1"),
    ]


def test_reserves_are_imported_checked_and_replaced_as_a_whole(
    contexts: Callable[..., Context], built: service.RoundPublic, tmp_path: Path
) -> None:
    book = balances_csv(tmp_path, _reserve_rows(built))
    done = reporting.import_reserves(contexts(), ROUND, OKX / "test.csv", book)
    assert done.addresses == {"verified": 7, "unverified": 2, "failed": 0}
    assert done.balances == 4
    assets = {a["asset"]: a for a in done.draft["assets"]}
    assert assets["BTC"]["covered"]
    assert assets["USDT"]["covered"]
    assert assets["ETH"]["reserves"] == "0"  # only at Starknet (unverified) and unclaimed
    assert Decimal(assets["ETH"]["reserves_unverified"]) == Decimal(_reserve_rows(built)[2][4])
    assert done.draft["solvent"] is False
    codes = [f["code"] for f in done.draft["flags"]]
    assert codes == ["message-not-round-specific", "unclaimed-balances"]

    # A second import replaces the first: only what the new files say is kept.
    smaller = balances_csv(tmp_path, _reserve_rows(built)[:1], "b2.csv")
    again = reporting.import_reserves(contexts(), ROUND, OKX / "test.csv", smaller)
    assert again.balances == 1
    assert [b.line for b in reporting.balances_of(contexts(), ROUND)] == [2]


def test_a_refused_balances_file_leaves_the_stored_reserves_as_they_were(
    contexts: Callable[..., Context], built: service.RoundPublic, tmp_path: Path
) -> None:
    book = balances_csv(tmp_path, _reserve_rows(built))
    reporting.import_reserves(contexts(), ROUND, OKX / "test.csv", book)
    bad = balances_csv(tmp_path, [("BTC", "BTC", BTC_MULTISIG, 840000, "-5")], "bad.csv")
    with pytest.raises(InvalidInput, match=r"line 2, column balance: '-5'"):
        reporting.import_reserves(contexts(), ROUND, OKX / "test.csv", bad)
    assert len(reporting.balances_of(contexts(), ROUND)) == 4
    assert len(reporting.claims_of(contexts(), ROUND)) == 9


def test_an_independent_source_that_disagrees_stops_the_import(
    contexts: Callable[..., Context], built: service.RoundPublic, tmp_path: Path
) -> None:
    rows = _reserve_rows(built)[:1]
    book = balances_csv(tmp_path, rows)
    node = FakeBalanceSource({("BTC", BTC_MULTISIG, "BTC", 840000): Decimal("0.5")})
    with pytest.raises(InvalidInput, match=r"line 2: BTC of .* is .* in the file but 0.5 by"):
        reporting.import_reserves(contexts(), ROUND, OKX / "test.csv", book, confirm_with=node)
    assert reporting.balances_of(contexts(), ROUND) == []
    agreeing = FakeBalanceSource({("BTC", BTC_MULTISIG, "BTC", 840000): Decimal(rows[0][4])})
    done = reporting.import_reserves(
        contexts(), ROUND, OKX / "test.csv", book, confirm_with=agreeing
    )
    assert done.balances == 1


def test_the_report_is_issued_once_signed_anchored_and_checkable(
    runtime: Runtime, contexts: Callable[..., Context], built: service.RoundPublic, tmp_path: Path
) -> None:
    book = balances_csv(tmp_path, _reserve_rows(built))
    reporting.import_reserves(contexts(), ROUND, OKX / "test.csv", book)
    with pytest.raises(ReportNotReady, match="publish it first"):
        reporting.issue_report(contexts(), ROUND)
    service.publish_round(contexts(), ROUND)
    with pytest.raises(RoundPublished, match="its reserves cannot change"):
        reporting.import_reserves(contexts(), ROUND, OKX / "test.csv", book)

    issued = reporting.issue_report(contexts(), ROUND)
    assert issued.solvent is False
    assert issued.summary["ratios"]["ETH"] == "0"
    files = reporting.report_files(contexts(), ROUND)
    body, pdf, note = files.json.read_bytes(), files.pdf.read_bytes(), files.sig.read_text()
    report = json.loads(body)
    assert report["format"] == "assay-solvency-report/1"
    assert report["round"]["root"] == built.root
    assert report["round"]["anchor_leaf"] is not None
    keys = reporting.report_keys(runtime.settings).verifiers()
    text = reporting.check_report(note, body, pdf, keys)
    assert f"round {ROUND}\nroot {built.root}\nsolvent no\n" in text

    # The JSON's digest is in the trail, at the leaf the row names.
    receipt = trail.find_anchor(contexts(), reporting.REPORT_ANCHOR_KIND, issued.json_sha256)
    assert receipt.leaf_index == issued.anchor_leaf

    # The PDF says the same thing.
    words = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    assert f"Solvency report: round {ROUND}" in words
    assert "NOT solvent" in words
    assert issued.json_sha256 in words

    # Tampering with either file, or the note, is caught and named.
    with pytest.raises(InvalidInput, match=r"report.pdf does not match the signed report"):
        reporting.check_report(note, body, pdf + b"%", keys)
    forged = body.replace(b'"solvent": false', b'"solvent": true')
    with pytest.raises(InvalidInput, match=r"report.json does not match"):
        reporting.check_report(note, forged, pdf, keys)
    with pytest.raises(BadSignature):
        reporting.check_report(note.replace("solvent no", "solvent yes"), body, pdf, keys)

    with pytest.raises(ReportIssued, match="issued once"):
        reporting.issue_report(contexts(), ROUND)
    assert [r.round_id for r in reporting.history(contexts())] == [ROUND]


def test_a_viewer_reads_reports_but_does_not_import_or_issue(
    contexts: Callable[..., Context], built: service.RoundPublic, tmp_path: Path
) -> None:
    book = balances_csv(tmp_path, _reserve_rows(built))
    with pytest.raises(PermissionDenied):
        reporting.import_reserves(contexts(Role.VIEWER), ROUND, OKX / "test.csv", book)
    assert reporting.draft_report(contexts(Role.VIEWER), ROUND)["round"]["id"] == ROUND
    with pytest.raises(NotFound, match="has no report yet"):
        reporting.get_report(contexts(Role.VIEWER), ROUND)


def test_discarding_a_round_takes_its_reserves_with_it(
    contexts: Callable[..., Context], built: service.RoundPublic, tmp_path: Path
) -> None:
    book = balances_csv(tmp_path, _reserve_rows(built))
    reporting.import_reserves(contexts(), ROUND, OKX / "test.csv", book)
    service.discard_round(contexts(), ROUND)
    assert reporting.claims_of(contexts(), ROUND) == []
    assert reporting.balances_of(contexts(), ROUND) == []


# --- the command line ---------------------------------------------------------------------------


@pytest.fixture
def cli_env(runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> Runtime:
    monkeypatch.setenv("ASSAY_DATABASE_URL", runtime.settings.effective_database_url)
    monkeypatch.setenv("ASSAY_DATA_DIR", str(runtime.settings.data_dir))
    return runtime


def _out(capsys: pytest.CaptureFixture[str], *args: str, code: int = 0) -> str:
    assert run(list(args)) == code, capsys.readouterr()
    return capsys.readouterr().out


def test_the_cli_imports_reserves_issues_the_report_and_checks_it(
    cli_env: Runtime, built: service.RoundPublic, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = _reserve_rows(built)
    rows[2] = ("ETH", "ETH", ETH_HOT, 19500000, rows[2][4])  # ETH now at a verified address
    book = balances_csv(tmp_path, rows)
    addresses = tmp_path / "claims.csv"
    addresses.write_text((OKX / "test.csv").read_text())
    text = _out(
        capsys, "reserves", "import", ROUND, "--addresses", str(addresses), "--balances", str(book)
    )
    assert "9 addresses (7 verified, 2 unverified, 0 failed), 4 balances" in text
    assert "DRAFT" in text
    assert "solvent" in text

    draft: dict[str, Any] = json.loads(_out(capsys, "reserves", "report", ROUND, "--json"))
    assert draft["solvent"] is True
    assert "issued_at" not in draft

    _out(capsys, "reserves", "round", "publish", ROUND)
    out = tmp_path / "published"
    shown = _out(capsys, "reserves", "report", ROUND, "--out", str(out))
    assert "solvent" in shown
    assert "JSON sha256" in shown
    assert sorted(p.name for p in out.iterdir()) == ["report.json", "report.pdf", "report.sig"]
    assert json.loads((out / "report.json").read_text())["solvent"] is True

    key = _out(capsys, "reserves", "report-key").strip()
    assert key.startswith("assay.local/trail/solvency-report+")
    assert "valid: round 2026-11" in _out(
        capsys, "reserves", "check-report", str(out), "--key", key
    )
    (out / "report.pdf").write_bytes((out / "report.pdf").read_bytes() + b"\n")
    failed = _out(capsys, "reserves", "check-report", str(out), code=10)
    assert "NOT VALID: report.pdf does not match" in failed

    history = _out(capsys, "reserves", "history")
    assert "2026-11" in history
    assert "yes" in history
