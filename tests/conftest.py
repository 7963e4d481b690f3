"""Shared fixtures: real databases (SQLite always, PostgreSQL when reachable), apps and users.

Database tests take the ``backend`` fixture and run once per backend. PostgreSQL is used when
``ASSAY_TEST_POSTGRES_URL`` (default: the local server's ``test`` database) answers; with
``CI=true`` or ``--postgres=require`` an unreachable server fails the run instead of skipping.

Each test gets its own database, copied from a template that was migrated and seeded once per
session with one user and one API token per role (Argon2 is slow on purpose: hashing six
passwords per test would dominate the suite).
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.engine import make_url

from assay.app import create_app
from assay.platform import migrate, tokens, users
from assay.platform.clock import FixedClock
from assay.platform.context import Context
from assay.platform.roles import Principal, Role, system_principal
from assay.platform.runtime import Runtime, build_runtime
from assay.settings import Settings

DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
T0 = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)
PASSWORD = "correct horse battery staple"
SECRET = "test-secret-key-that-is-long-enough-0123456789"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--postgres",
        choices=("auto", "require", "skip"),
        default="require" if os.environ.get("CI") == "true" else "auto",
        help="run database tests on PostgreSQL too: auto (if reachable), require, skip",
    )


def _postgres_url() -> str:
    return os.environ.get("ASSAY_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL)


def _postgres_error() -> str | None:
    url = make_url(_postgres_url())
    try:
        with psycopg.connect(
            host=url.host,
            port=url.port or 5432,
            user=url.username,
            dbname=url.database,
            password=url.password,
            connect_timeout=3,
        ):
            return None
    except psycopg.Error as exc:
        return str(exc).strip() or type(exc).__name__


def pytest_configure(config: pytest.Config) -> None:
    mode = config.getoption("--postgres")
    config.stash[_PG_KEY] = None
    if mode == "skip":
        return
    error = _postgres_error()
    if error is None:
        config.stash[_PG_KEY] = _postgres_url()
    elif mode == "require":
        raise pytest.UsageError(
            f"PostgreSQL at {_postgres_url()} is unreachable ({error}) and --postgres=require "
            "(CI=true); start it with: pg_ctlcluster --skip-systemctl-redirect "
            "$(ls /etc/postgresql) main start"
        )


_PG_KEY = pytest.StashKey[str | None]()


def pytest_report_header(config: pytest.Config) -> str:
    url = config.stash[_PG_KEY]
    return f"database backends: sqlite{', postgresql (' + url + ')' if url else ''}"


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No ASSAY_* variable or .env file of the developer's leaks into a test."""
    for name in list(os.environ):
        if name.startswith("ASSAY_") and name != "ASSAY_TEST_POSTGRES_URL":
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


# --- databases ---------------------------------------------------------------------------------


@dataclass
class Seed:
    """What the template database holds: one user and one API token per role."""

    tokens: dict[Role, str]

    @staticmethod
    def email(role: Role) -> str:
        return f"{role.value}@test.example"


def _seed(url: str, data_dir: Path) -> Seed:
    settings = Settings(_env_file=None, env="development", database_url=url, data_dir=data_dir)
    runtime = build_runtime(settings, clock=FixedClock(T0))
    db = runtime.db
    migrate.upgrade(db, runtime.capabilities)
    made: dict[Role, str] = {}
    for role in Role:
        with db.uow() as uow:
            ctx = runtime.context(uow, system_principal("seed"))
            user = users.add_user(
                ctx, email=Seed.email(role), name=role.value.title(), role=role, password=PASSWORD
            )
            ctx.actor = Principal(user.email, role, user.id, via="cli")
            made[role] = tokens.create_token(ctx, name="test", expires_in_days=365).token
    db.dispose()
    return Seed(tokens=made)


@dataclass
class Template:
    url: str
    seed: Seed


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Template:
    folder = tmp_path_factory.mktemp("template")
    url = f"sqlite:///{folder / 'template.db'}"
    return Template(url, _seed(url, folder / "data"))


def _admin_connection() -> psycopg.Connection[tuple[object, ...]]:
    url = make_url(_postgres_url())
    return psycopg.connect(
        host=url.host,
        port=url.port or 5432,
        user=url.username,
        dbname=url.database,
        password=url.password,
        autocommit=True,
    )


def _pg_url(name: str) -> str:
    return (
        make_url(_postgres_url())
        .set(drivername="postgresql+psycopg", database=name)
        .render_as_string(hide_password=False)
    )


@pytest.fixture(scope="session")
def postgres_template(
    pytestconfig: pytest.Config, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Template]:
    if pytestconfig.stash[_PG_KEY] is None:
        pytest.skip("PostgreSQL is not reachable (run with --postgres=require to fail instead)")
    name = f"assay_tpl_{uuid.uuid4().hex[:12]}"
    with _admin_connection() as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        data_dir = tmp_path_factory.mktemp("pg-template") / "data"
        yield Template(_pg_url(name), _seed(_pg_url(name), data_dir))
    finally:
        with _admin_connection() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    """The database backend a ``db`` test runs on (PostgreSQL skipped when unreachable)."""
    return str(request.param)


@pytest.fixture
def template(backend: str, request: pytest.FixtureRequest) -> Template:
    name = "sqlite_template" if backend == "sqlite" else "postgres_template"
    value: Template = request.getfixturevalue(name)
    return value


@pytest.fixture
def db_url(backend: str, template: Template, tmp_path: Path) -> Iterator[str]:
    """A fresh, migrated and seeded database of the current backend, dropped afterwards."""
    if backend == "sqlite":
        source = Path(make_url(template.url).database or "")
        target = tmp_path / "assay.db"
        shutil.copyfile(source, target)
        yield f"sqlite:///{target}"
        return
    name = f"assay_t_{uuid.uuid4().hex[:12]}"
    template_name = make_url(template.url).database
    with _admin_connection() as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template_name}"')
    try:
        yield _pg_url(name)
    finally:
        with _admin_connection() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def empty_db_url(backend: str, pytestconfig: pytest.Config, tmp_path: Path) -> Iterator[str]:
    """A database with no schema at all, of the current backend."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    if pytestconfig.stash[_PG_KEY] is None:
        pytest.skip("PostgreSQL is not reachable")
    name = f"assay_e_{uuid.uuid4().hex[:12]}"
    with _admin_connection() as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield _pg_url(name)
    finally:
        with _admin_connection() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# --- the system under test ----------------------------------------------------------------------


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(T0)


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    return Settings(
        _env_file=None,
        env="production",
        secret_key=SECRET,
        data_dir=tmp_path / "data",
        database_url=db_url,
        cookie_secure=False,
    )


@pytest.fixture
def seed(template: Template) -> Seed:
    return template.seed


@pytest.fixture
def runtime(settings: Settings, clock: FixedClock) -> Iterator[Runtime]:
    built = build_runtime(settings, clock=clock)
    yield built
    built.db.dispose()


@pytest.fixture
def operator_ctx(runtime: Runtime) -> Iterator[Context]:
    """A use-case context acting as the local operator (admin)."""
    with runtime.db.uow() as uow:
        yield runtime.context(uow, system_principal("operator"))


def acting(runtime: Runtime, role: Role) -> Principal:
    """The principal of the seeded user with ``role``."""
    with runtime.db.uow() as uow:
        ctx = runtime.context(uow, system_principal("lookup"))
        user = users.get_user(ctx, Seed.email(role))
    return Principal(user.email, role, user.id, via="session")


@pytest.fixture
def app(settings: Settings, clock: FixedClock) -> Iterator[FastAPI]:
    built = create_app(settings, clock=clock)
    yield built
    built.state.runtime.db.dispose()


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client


def bearer(seed: Seed, role: Role) -> dict[str, str]:
    """Authorization header of the seeded token for ``role``."""
    return {"Authorization": f"Bearer {seed.tokens[role]}"}
