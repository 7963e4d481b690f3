"""``assay access ...``: check exit codes, JSON answers, screening, impact, the register."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest

from assay.cli import run
from assay.errors import ExitCode
from assay.platform.runtime import Runtime
from tests.access.groups import load_group


@pytest.fixture
def cli_env(runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> Runtime:
    load_group(runtime)
    monkeypatch.setenv("ASSAY_DATABASE_URL", runtime.settings.effective_database_url)
    monkeypatch.setenv("ASSAY_DATA_DIR", str(runtime.settings.data_dir))
    return runtime


def _json(capsys: pytest.CaptureFixture[str], *args: str, code: int = 0) -> Any:
    assert run(list(args)) == code
    return json.loads(capsys.readouterr().out)


CHECK = ("access", "check", "--client", "retail")


def test_check_exits_0_when_allowed_and_prints_the_cited_answer(
    cli_env: Runtime, capsys: pytest.CaptureFixture[str]
) -> None:
    args = [
        *CHECK,
        "--jurisdiction",
        "FR",
        "--product",
        "perpetual-future",
        "--as-of",
        "2026-03-01",
    ]
    assert run(args) == ExitCode.OK
    out = capsys.readouterr().out
    assert "ALLOWED" in out
    assert "MFSA-IF-0301" in out
    assert "Art 25(3)" in out
    assert "leverage-cap = 2" in out


def test_check_exits_11_when_refused_and_lists_every_reason(
    cli_env: Runtime, capsys: pytest.CaptureFixture[str]
) -> None:
    args = [*CHECK, "--jurisdiction", "AE-DU", "--product", "margin", "--json"]
    answer = _json(capsys, *args, code=ExitCode.REFUSED)
    assert answer["allowed"] is False
    assert [r["code"] for r in answer["reasons"]] == [
        "client-category-excluded",
        "condition-not-met",
    ]
    assert answer["reasons"][0]["basis"]["article"] == "Rule IV.A.1-4"


@pytest.mark.parametrize(
    ("extra", "words"),
    [
        # an unknown jurisdiction
        (["--jurisdiction", "XX", "--product", "spot"], "jurisdiction 'XX'"),
        # an unknown product lists the accepted ones
        (["--jurisdiction", "FR", "--product", "swap"], "advice, custody, dated-future"),
        # a malformed date
        (["--jurisdiction", "FR", "--product", "spot", "--as-of", "01/03/2026"], "YYYY-MM-DD"),
        # an amount without a currency
        (["--jurisdiction", "FR", "--product", "spot", "--amount", "10"], "needs a currency"),
    ],
)
def test_check_exits_2_on_a_bad_question(
    cli_env: Runtime, capsys: pytest.CaptureFixture[str], extra: list[str], words: str
) -> None:
    assert run([*CHECK, *extra]) == ExitCode.INVALID_INPUT
    assert words in capsys.readouterr().err


def test_screen_streams_a_customer_file_into_decisions(
    cli_env: Runtime, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    source = tmp_path / "customers.csv"
    rows = [
        ("c1", "FR", "retail", "spot", "", "", ""),
        ("c2", "AE-DU", "retail", "margin", "", "", ""),
        ("c3", "FR", "retail", "transfer", "BTC", "250", "EUR"),
        ("c4", "FR", "whale", "spot", "", "", ""),
        ("c5", "RU", "retail", "custody", "", "", ""),
    ]
    with source.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(
            ["customer_id", "jurisdiction", "client", "product", "asset", "amount", "currency"]
        )
        writer.writerows(rows)
    out = tmp_path / "decisions.csv"
    summary = _json(capsys, "access", "screen", str(source), "--out", str(out), "--json")
    assert (summary["rows"], summary["allowed"], summary["refused"], summary["invalid"]) == (
        5,
        2,
        2,
        1,
    )
    assert summary["by_reason"]["sanctioned"] == 1
    with out.open(newline="") as f:
        result = list(csv.DictReader(f))
    assert [r["customer_id"] for r in result] == ["c1", "c2", "c3", "c4", "c5"]
    assert result[0]["licence"] == "MFSA-CASP-0127"
    assert result[1]["reasons"] == "client-category-excluded|condition-not-met"
    # Below EUR 1,000 the self-hosted wallet check of TFR Art 14(5) does not attach.
    assert "travel-rule=0EUR" in result[2]["obligations"]
    assert "self-hosted" not in result[2]["obligations"]
    assert "line 5: client 'whale'" in result[3]["error"]


def test_screen_refuses_a_file_without_the_required_columns(
    cli_env: Runtime, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    source = tmp_path / "customers.csv"
    source.write_text("id,country\n1,FR\n")
    assert run(["access", "screen", str(source), "--out", str(tmp_path / "o.csv")]) == 2
    assert "missing column(s) customer_id" in capsys.readouterr().err


def test_impact_of_a_suspension_names_the_affected_customers(
    cli_env: Runtime, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    customers = tmp_path / "customers.csv"
    customers.write_text(
        "customer_id,jurisdiction,client,product\n"
        "d1,AE-DU,retail,spot\n"
        "s1,SG,retail,spot\n"
        "f1,FR,retail,spot\n"
    )
    report = _json(
        capsys,
        "access",
        "impact",
        "--from",
        "2026-06-01",
        "--licence",
        "MAS-MPI-0902",
        "--status",
        "suspended",
        "--customers",
        str(customers),
        "--json",
    )
    assert {c["jurisdiction"] for c in report["changes"]} == {"SG"}
    assert [c["customer_id"] for c in report["customers"]] == ["s1"]


def test_impact_needs_to_or_a_what_if(cli_env: Runtime, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["access", "impact", "--from", "2026-01-01"]) == ExitCode.INVALID_INPUT
    assert "--to" in capsys.readouterr().err


def test_licences_status_and_show(cli_env: Runtime, capsys: pytest.CaptureFixture[str]) -> None:
    changed = _json(
        capsys,
        "access",
        "licences",
        "status",
        "VARA-VASP-0116",
        "suspended",
        "--on",
        "2026-04-01",
        "--note",
        "inspection",
        "--json",
    )
    assert changed["status"] == "suspended"
    shown = _json(capsys, "access", "licences", "show", "VARA-VASP-0116", "--json")
    assert [h["status"] for h in shown["history"]] == ["granted", "suspended"]
    assert (
        run(["access", "licences", "status", "VARA-VASP-0116", "dormant", "--on", "2026-05-01"])
        == ExitCode.INVALID_INPUT
    )
    assert "status" in capsys.readouterr().err


def test_replay_exits_10_when_a_past_answer_no_longer_matches(
    cli_env: Runtime, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    answer = _json(capsys, *CHECK, "--jurisdiction", "SG", "--product", "spot", "--json")
    past = tmp_path / "answer.json"
    past.write_text(json.dumps(answer))
    assert run(["access", "replay", str(past)]) == ExitCode.OK
    capsys.readouterr()
    past.write_text(json.dumps({**answer, "entity": "someone-else"}))
    assert run(["access", "replay", str(past)]) == ExitCode.VERIFICATION_FAILED
    assert "entity" in capsys.readouterr().out


def test_coverage_and_catalogue_listings(
    cli_env: Runtime, capsys: pytest.CaptureFixture[str]
) -> None:
    coverage = _json(capsys, "access", "coverage", "--as-of", "2025-02-01", "--json")
    # Before the MiCA passports went live only Malta, Dubai and Singapore were served.
    assert set(coverage["jurisdictions"]) == {"MT", "AE-DU", "SG"}
    regimes = _json(capsys, "access", "regimes", "--json")
    assert {r["code"] for r in regimes["regimes"]} >= {"mica", "mifid", "tfr", "vara", "sanctions"}
    places = _json(capsys, "access", "jurisdictions", "--json")
    assert {"AE-DU", "AE-DU-DIFC", "UA-43"} <= {j["code"] for j in places}
