"""Migrations: a new database is created, a current one left alone, the models match the schema."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, select

from assay.cli import run
from assay.errors import SchemaOutOfDate
from assay.platform import migrate
from assay.platform.capabilities import discover, import_tables
from assay.platform.db import Base, Database
from assay.platform.tables import User


def test_a_new_database_is_new_then_current_after_upgrade(empty_db_url: str) -> None:
    db = Database(empty_db_url)
    capabilities = discover()
    assert migrate.state(db, capabilities) is migrate.SchemaState.NEW
    with pytest.raises(SchemaOutOfDate, match="assay db upgrade"):
        migrate.require_current(db, capabilities)
    before, after = migrate.upgrade(db, capabilities)
    assert before == set()
    assert after <= migrate.heads(capabilities)  # a branch another depends on is implied
    assert migrate.state(db, capabilities) is migrate.SchemaState.CURRENT
    assert {"users", "api_tokens", "web_sessions", "audit_events", "legal_entities"} <= set(
        inspect(db.engine).get_table_names()
    )
    db.dispose()


def test_upgrading_twice_changes_nothing_and_keeps_the_data(db_url: str) -> None:
    db = Database(db_url)
    capabilities = discover()
    with db.uow() as uow:
        users_before = uow.session.scalars(select(User.email).order_by(User.email)).all()
    before, after = migrate.upgrade(db, capabilities)
    assert before == after
    with db.uow() as uow:
        assert uow.session.scalars(select(User.email).order_by(User.email)).all() == users_before
    db.dispose()


def test_the_tables_match_the_migrations(db_url: str) -> None:
    db = Database(db_url)
    capabilities = discover()
    import_tables(capabilities)
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []
    db.dispose()


def test_db_upgrade_command_twice_reports_up_to_date(
    empty_db_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ASSAY_DATABASE_URL", empty_db_url)
    assert run(["db", "upgrade"]) == 0
    assert "Upgraded" in capsys.readouterr().out
    assert run(["db", "upgrade"]) == 0
    assert "already up to date" in capsys.readouterr().out
    assert run(["db", "status", "--json"]) == 0
    assert '"state": "current"' in capsys.readouterr().out


def test_commands_on_a_database_never_migrated_say_to_upgrade(
    empty_db_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ASSAY_DATABASE_URL", empty_db_url)
    assert run(["users", "list"]) == 9
    assert "run `assay db upgrade` first" in capsys.readouterr().err
