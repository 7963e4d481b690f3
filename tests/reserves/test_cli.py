"""``assay reserves verify-addresses``: the real OKX claims, exit codes, tampering."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assay.cli import run
from assay.errors import ExitCode
from tests.samples import OKX


def test_the_real_claims_verify_and_unverifiable_chains_are_named(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert run(["reserves", "verify-addresses", str(OKX / "test.csv"), "--json"]) == ExitCode.OK
    report = json.loads(capsys.readouterr().out)
    assert report["counts"] == {"verified": 7, "failed": 0, "unverified": 2}
    by_network = {r["network"]: r["status"] for r in report["results"]}
    assert by_network["BTC"] == "verified"
    assert by_network["ETH"] == "verified"
    assert by_network["STARKNET"] == "unverified"


def test_strict_mode_fails_on_unverifiable_chains(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["reserves", "verify-addresses", str(OKX / "test.csv"), "--strict"]
    assert run(args) == ExitCode.VERIFICATION_FAILED
    assert "2 unverified" in capsys.readouterr().out


def test_a_signature_for_another_address_fails_the_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = (OKX / "test.csv").read_text().splitlines()
    eth = lines[1].split(",")
    eth[2] = "0x" + "11" * 20  # the signature now claims someone else's address
    tampered = tmp_path / "claims.csv"
    tampered.write_text("\n".join([lines[0], ",".join(eth)]) + "\n")
    args = ["reserves", "verify-addresses", str(tampered), "--json"]
    assert run(args) == ExitCode.VERIFICATION_FAILED
    report = json.loads(capsys.readouterr().out)
    assert report["results"][0]["status"] == "failed"
