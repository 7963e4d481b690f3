"""The ``assay`` command: platform commands, JSON output, exit codes, errors without traces."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest

from assay.cli import run
from assay.errors import ExitCode
from assay.platform.roles import Role
from tests.conftest import Seed


@pytest.fixture
def cli_env(db_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("ASSAY_DATABASE_URL", db_url)
    monkeypatch.setenv("ASSAY_ENV", "development")
    return db_url


def _json(capsys: pytest.CaptureFixture[str], args: list[str]) -> Any:
    assert run(args) == 0
    return json.loads(capsys.readouterr().out)


def test_version_as_json(capsys: pytest.CaptureFixture[str]) -> None:
    info = _json(capsys, ["version", "--json"])
    assert isinstance(info, dict)
    assert info["assay"] == "0.1.0"


def test_users_add_list_set_role_disable(cli_env: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        run(
            [
                "users",
                "add",
                "Kim@Test.Example",
                "--role",
                "treasury",
                "--name",
                "Kim",
                "--password",
                "a long password",
            ]
        )
        == 0
    )
    assert "Added kim@test.example (treasury)." in capsys.readouterr().out
    listed = _json(capsys, ["users", "list", "--json"])
    assert isinstance(listed, list)
    kim = next(u for u in listed if u["email"] == "kim@test.example")
    assert (kim["role"], kim["active"]) == ("treasury", True)
    assert run(["users", "set-role", "kim@test.example", "security"]) == 0
    assert run(["users", "disable", "kim@test.example"]) == 0
    capsys.readouterr()
    listed = _json(capsys, ["users", "list", "--json"])
    kim = next(u for u in listed if u["email"] == "kim@test.example")
    assert (kim["role"], kim["active"]) == ("security", False)


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (
            ["users", "set-role", "ghost@test.example", "admin"],
            ExitCode.NOT_FOUND,
            "no user with email 'ghost@test.example'",
        ),  # unknown user
        (
            ["users", "set-role", "viewer@test.example", "boss"],
            ExitCode.INVALID_INPUT,
            "role 'boss' is not accepted; use one of: admin, auditor",
        ),  # unknown role
        (
            ["users", "add", "x@test.example", "--role", "viewer", "--password", "short"],
            ExitCode.INVALID_INPUT,
            "at least 12 are needed",
        ),  # weak password
        (
            [
                "users",
                "add",
                "viewer@test.example",
                "--role",
                "viewer",
                "--password",
                "long enough pass",
            ],
            ExitCode.CONFLICT,
            "already exists",
        ),  # duplicate
        (
            ["--as", "viewer@test.example", "users", "disable", "admin@test.example"],
            ExitCode.PERMISSION_DENIED,
            "does not allow platform.users.write",
        ),  # role checked
        (
            ["--as", "ghost@test.example", "users", "list"],
            ExitCode.AUTHENTICATION,
            "no active user",
        ),  # unknown actor
        (["tokens", "revoke", "999"], ExitCode.NOT_FOUND, "no API token with id 999"),
        (["users", "frobnicate"], ExitCode.INVALID_INPUT, "No such command"),  # usage error
    ],
)
def test_errors_print_a_message_and_exit_with_the_documented_code(
    cli_env: str, capsys: pytest.CaptureFixture[str], args: list[str], code: ExitCode, message: str
) -> None:
    assert run(args) == code
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err


def test_a_failed_command_changes_nothing(cli_env: str, capsys: pytest.CaptureFixture[str]) -> None:
    before = _json(capsys, ["users", "list", "--json"])
    assert (
        run(["--as", "viewer@test.example", "users", "set-role", "admin@test.example", "viewer"])
        == ExitCode.PERMISSION_DENIED
    )
    assert _json(capsys, ["users", "list", "--json"]) == before


def test_tokens_create_list_revoke(cli_env: str, capsys: pytest.CaptureFixture[str]) -> None:
    created = _json(
        capsys,
        [
            "--as",
            "auditor@test.example",
            "tokens",
            "create",
            "--name",
            "ci",
            "--days",
            "7",
            "--json",
        ],
    )
    assert isinstance(created, dict)
    assert created["token"].startswith("assay_")
    assert created["expires_at"].startswith("20")
    mine = _json(capsys, ["--as", "auditor@test.example", "tokens", "list", "--json"])
    assert [t["name"] for t in mine] == ["test", "ci"]
    assert all("token" not in t for t in mine)
    assert run(["tokens", "revoke", str(created["id"])]) == 0
    assert "is revoked" in capsys.readouterr().out
    everyone = _json(capsys, ["tokens", "list", "--json"])
    revoked = next(t for t in everyone if t["id"] == created["id"])
    assert revoked["status"] == "revoked"


def test_the_operator_must_name_the_owner_of_a_new_token(
    cli_env: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["tokens", "create", "--name", "x"]) == ExitCode.PERMISSION_DENIED
    assert "--for EMAIL" in capsys.readouterr().err
    created = _json(
        capsys, ["tokens", "create", "--name", "svc", "--for", Seed.email(Role.VIEWER), "--json"]
    )
    assert created["user_email"] == Seed.email(Role.VIEWER)


def test_an_unreachable_database_is_one_line_exit_9(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ASSAY_DATABASE_URL", "postgresql+psycopg://u:topsecret@127.0.0.1:1/x")
    assert run(["users", "list"]) == ExitCode.DATABASE_UNAVAILABLE
    err = capsys.readouterr().err
    assert "cannot reach the database at postgresql+psycopg://u:***@127.0.0.1:1/x" in err
    assert "topsecret" not in err
    assert "Traceback" not in err


def test_serve_refuses_to_start_in_production_without_a_secret(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ASSAY_ENV", "production")
    assert run(["serve"]) == ExitCode.CONFIGURATION
    assert "ASSAY_SECRET_KEY is not set" in capsys.readouterr().err


def test_the_console_script_runs_as_a_real_process() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "assay", "version", "--json"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0
    assert json.loads(done.stdout)["assay"] == "0.1.0"
