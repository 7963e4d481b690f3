"""The demo group mirrors the reference group of the regulation fact sheet, one user per role."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from assay.cli import run
from assay.errors import ExitCode
from assay.platform import entities, record, users
from assay.platform.context import Context
from assay.platform.demo import read_demo
from assay.platform.roles import Role


@pytest.fixture
def cli_env(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASSAY_DATABASE_URL", db_url)
    monkeypatch.setenv("ASSAY_ENV", "development")


def test_the_demo_group_has_one_entity_per_regime_with_the_reference_dates() -> None:
    group = read_demo()
    found = {e.code: (e.home_jurisdiction, e.authorised_on) for e in group.entities}
    assert found == {
        "kestrel-eu-casp": ("MT", dt.date(2025, 1, 27)),  # MiCA CASP, Malta
        "kestrel-eu-invest": ("MT", dt.date(2025, 3, 1)),  # MiFID II investment firm, Malta
        "kestrel-dubai": ("AE-DU", dt.date(2024, 1, 16)),  # VARA, Dubai (not DIFC)
        "kestrel-sg": ("SG", dt.date(2024, 9, 2)),  # MAS PSA Major Payment Institution
    }
    scopes = {e.code: e.scope for e in group.entities}
    assert "(a)-(g), (i) and (j)" in scopes["kestrel-eu-casp"]
    assert "2025-02-14" in scopes["kestrel-eu-casp"]
    assert "DIFC excluded" in scopes["kestrel-dubai"]
    assert sorted(u.role for u in group.users) == sorted(Role)


def test_demo_load_creates_the_group_and_is_idempotent(
    cli_env: None, capsys: pytest.CaptureFixture[str], operator_ctx: Context
) -> None:
    assert run(["demo", "load"]) == 0
    out = capsys.readouterr().out
    assert "Password for every demo user: kestrel-demo-2026" in out
    assert "admin@kestrel.example" in out
    events = record.count_events(operator_ctx)
    assert run(["demo", "load", "--json"]) == 0
    again = json.loads(capsys.readouterr().out)
    assert {u["status"] for u in again["users"]} == {"already there"}
    assert record.count_events(operator_ctx) == events  # nothing changed, nothing recorded
    codes = [e.code for e in entities.list_entities(operator_ctx)]
    assert codes == ["kestrel-dubai", "kestrel-eu-casp", "kestrel-eu-invest", "kestrel-sg"]
    demo_users = [u for u in users.list_users(operator_ctx) if u.email.endswith("kestrel.example")]
    assert sorted(u.role for u in demo_users) == sorted(Role)


def test_demo_load_is_refused_in_production(
    db_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ASSAY_DATABASE_URL", db_url)
    assert run(["demo", "load"]) == ExitCode.CONFIGURATION
    assert "outside development" in capsys.readouterr().err


def test_entities_refuse_bad_codes_and_jurisdictions(operator_ctx: Context) -> None:
    from assay.errors import InvalidInput

    with pytest.raises(InvalidInput, match="not an ISO 3166 code"):
        entities.upsert_entity(
            operator_ctx,
            code="x-y",
            name="X",
            role="r",
            home_jurisdiction="Malta",
            regime="r",
            authorised_on=None,
            scope="",
        )
    with pytest.raises(InvalidInput, match="lower-case letters"):
        entities.upsert_entity(
            operator_ctx,
            code="Bad Code",
            name="X",
            role="r",
            home_jurisdiction="MT",
            regime="r",
            authorised_on=None,
            scope="",
        )
    assert entities.list_entities(operator_ctx) == []
