"""The database layer: WAL SQLite, PostgreSQL, UTC timestamps, units of work, clear failures."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select, text

from assay.errors import ConfigurationError, DatabaseUnavailable
from assay.platform.db import Database, redact_url
from assay.platform.runtime import Runtime
from assay.platform.tables import AuditEvent, LegalEntity


def test_sqlite_runs_in_wal_mode_with_foreign_keys(tmp_path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'sub' / 'a.db'}")
    with db.engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
    db.dispose()


def test_timestamps_come_back_in_utc(runtime: Runtime) -> None:
    moment = dt.datetime(2026, 3, 1, 12, 30, tzinfo=dt.timezone(dt.timedelta(hours=4)))
    with runtime.db.uow() as uow:
        uow.session.add(
            AuditEvent(at=moment, actor="t", action="t.t", object_type="t", object_id="1")
        )
        uow.commit()
    with runtime.db.uow() as uow:
        stored = uow.session.scalars(select(AuditEvent).where(AuditEvent.actor == "t")).one()
    assert stored.at == moment
    assert stored.at.tzinfo == dt.UTC
    assert stored.at.hour == 8


def test_naive_timestamps_are_refused(runtime: Runtime) -> None:
    with runtime.db.uow() as uow:
        uow.session.add(
            AuditEvent(
                at=dt.datetime(2026, 3, 1),
                actor="t",
                action="t",
                object_type="t",
                object_id="1",
            )
        )
        with pytest.raises(Exception, match="naive datetime"):
            uow.session.flush()


def test_leaving_a_unit_of_work_without_commit_stores_nothing(runtime: Runtime) -> None:
    with runtime.db.uow() as uow:
        uow.session.add(
            LegalEntity(
                code="x-1", name="X", role="r", home_jurisdiction="MT", regime="r", scope=""
            )
        )
        uow.session.flush()
    with runtime.db.uow() as uow:
        assert uow.session.scalar(select(LegalEntity).where(LegalEntity.code == "x-1")) is None


def test_an_unreachable_server_is_a_clear_error_without_the_password() -> None:
    db = Database("postgresql+psycopg://someone:hunter2@127.0.0.1:1/assay")
    with pytest.raises(DatabaseUnavailable) as caught:
        db.ping()
    message = caught.value.message
    assert message.startswith("cannot reach the database at postgresql+psycopg://someone:***@")
    assert "hunter2" not in message
    with pytest.raises(DatabaseUnavailable), db.uow():
        pass


@pytest.mark.parametrize(
    "url",
    [
        "not a url",  # no scheme at all
        "mysql+nodriver://h/db",  # a driver that is not installed
    ],
)
def test_a_bad_database_url_is_a_configuration_error(url: str) -> None:
    with pytest.raises(ConfigurationError, match="ASSAY_DATABASE_URL"):
        Database(url)


def test_redact_url_hides_passwords() -> None:
    assert redact_url("postgresql://a:secret@h/db") == "postgresql://a:***@h/db"
