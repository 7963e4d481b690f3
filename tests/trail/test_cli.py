"""``assay trail ...``: JSON output, proofs for the standalone verifier, verify's exit code."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from assay.cli import run
from assay.errors import ExitCode
from assay.platform.runtime import Runtime
from assay.trail import verify_trail


@pytest.fixture
def cli_env(runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> Runtime:
    monkeypatch.setenv("ASSAY_DATABASE_URL", runtime.settings.effective_database_url)
    monkeypatch.setenv("ASSAY_DATA_DIR", str(runtime.settings.data_dir))
    return runtime


def _json(capsys: pytest.CaptureFixture[str], *args: str) -> Any:
    assert run(list(args)) == 0
    return json.loads(capsys.readouterr().out)


def test_checkpoint_prove_and_check_offline(
    cli_env: Runtime, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert run(["trail", "checkpoint"]) == 0
    note = capsys.readouterr().out
    assert note.startswith("assay.local/trail\n12\n")
    status = _json(capsys, "trail", "status", "--json")
    assert status["latest_checkpoint"]["note"] == note
    bundle = _json(capsys, "trail", "prove", "2", "--json")
    (tmp_path / "proof.json").write_text(json.dumps(bundle))
    key = status["verifier_keys"][0]
    done = subprocess.run(
        [sys.executable, verify_trail.__file__, str(tmp_path / "proof.json"), "--key", key],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout
    consistency = _json(capsys, "trail", "consistency", "3", "12", "--json")
    assert consistency["new_checkpoint"] == note


def test_show_prints_the_entry_and_the_change(
    cli_env: Runtime, capsys: pytest.CaptureFixture[str]
) -> None:
    leaf = _json(capsys, "trail", "show", "0", "--json")
    assert leaf["entry"]["action"] == "platform.user.add"
    assert leaf["event"]["after"]["email"] == "admin@test.example"


def test_a_proof_beyond_the_log_exits_2_with_the_valid_range(
    cli_env: Runtime, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["trail", "prove", "99"]) == ExitCode.INVALID_INPUT
    assert "leaf index 99 is outside 0..11" in capsys.readouterr().err


def test_verify_exits_10_and_names_the_first_bad_entry(
    cli_env: Runtime, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["trail", "checkpoint"]) == 0
    assert run(["trail", "verify"]) == 0
    assert "12 entries and 1 checkpoints verified" in capsys.readouterr().out
    with cli_env.db.engine.begin() as connection:
        connection.execute(text("UPDATE audit_events SET actor = 'cli:mallory' WHERE id = 6"))
    assert run(["trail", "verify"]) == ExitCode.VERIFICATION_FAILED
    out = capsys.readouterr().out
    assert "first bad entry: 5" in out
    report = json.loads(_capture_failing(capsys, "trail", "verify", "--json"))
    assert report["ok"] is False
    assert report["first_bad_leaf"] == 5


def _capture_failing(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    assert run(list(args)) == ExitCode.VERIFICATION_FAILED
    return capsys.readouterr().out


def test_anchor_a_file_and_fetch_its_proof(
    cli_env: Runtime, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    report = tmp_path / "solvency.pdf"
    report.write_bytes(b"%PDF-1.7 pretend")
    receipt = _json(capsys, "trail", "anchor", "reserves.report", "--file", str(report), "--json")
    bundle = _json(capsys, "trail", "anchor-proof", "reserves.report", receipt["digest"])
    assert bundle["leaf_index"] == receipt["leaf_index"]
    assert run(["trail", "anchor", "reserves.report"]) == ExitCode.INVALID_INPUT
    assert "exactly one of --digest and --file" in capsys.readouterr().err


def test_keys_and_rotation(cli_env: Runtime, capsys: pytest.CaptureFixture[str]) -> None:
    before = _json(capsys, "trail", "keys", "--json")
    assert run(["trail", "rotate-key"]) == 0
    assert "new verifier key: assay.local/trail+" in capsys.readouterr().out
    after = _json(capsys, "trail", "keys", "--json")
    assert after[:-1] == before
    assert run(["--as", "viewer@test.example", "trail", "rotate-key"]) == (
        ExitCode.PERMISSION_DENIED
    )
