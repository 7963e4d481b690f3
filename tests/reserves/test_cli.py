"""``assay reserves verify-addresses``: the real OKX claims, exit codes, tampering."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assay.cli import run
from assay.errors import ExitCode
from assay.reserves import proof
from tests.reserves.test_proof import _tree
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


def test_the_okx_samples_verify_and_audit_clean(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["reserves", "verify", str(OKX / "merkle_proof_file.json")]) == ExitCode.OK
    user = [
        "reserves",
        "verify",
        str(OKX / "user_info_file.json"),
        "--tree",
        str(OKX / "full-liabilities-merkle-tree.txt"),
    ]
    assert run(user) == ExitCode.OK
    capsys.readouterr()
    args = ["reserves", "audit-okx", str(OKX / "full-liabilities-merkle-tree.txt"), "--json"]
    assert run(args) == ExitCode.OK
    audit = json.loads(capsys.readouterr().out)
    assert audit["leaves"] == 21
    assert audit["totals"]["USDT"] == "1.42045977"


def test_a_tampered_tree_line_fails_the_audit_naming_its_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = (OKX / "full-liabilities-merkle-tree.txt").read_text().splitlines(keepends=True)
    lines[5] = lines[5].replace('"USDT":"', '"USDT":"1', 1)
    tampered = tmp_path / "tree.txt"
    tampered.write_text("".join(lines))
    assert run(["reserves", "audit-okx", str(tampered), "--json"]) == ExitCode.VERIFICATION_FAILED
    audit = json.loads(capsys.readouterr().out)
    assert audit["ok"] is False
    assert any(p["where"] == "line 6" for p in audit["problems"])


def test_a_negative_sibling_in_an_okx_proof_fails(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = json.loads((OKX / "merkle_proof_file.json").read_text())
    data["path"][0]["balances"]["USDT"] = "-" + data["path"][0]["balances"]["USDT"].lstrip("-")
    forged = tmp_path / "proof.json"
    forged.write_text(json.dumps(data))
    assert run(["reserves", "verify", str(forged), "--json"]) == ExitCode.VERIFICATION_FAILED
    report = json.loads(capsys.readouterr().out)
    assert "negative-balance" in [p["code"] for p in report["proofs"][0]["problems"]]


def test_an_assay_proof_verifies_and_a_tampered_one_names_its_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    document = json.loads(proof.build_proof(_tree(), "carol").model_dump_json())
    good = tmp_path / "proof.json"
    good.write_text(json.dumps(document))
    assert run(["reserves", "verify", str(good), "--root", document["root"]["hash"]]) == 0
    capsys.readouterr()
    document["path"][0]["equity"][0] = str(int(document["path"][0]["equity"][0]) + 1)
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(document))
    assert run(["reserves", "verify", str(bad), "--json"]) == ExitCode.VERIFICATION_FAILED
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is False
    assert report["proofs"][0]["problems"][0]["code"]


def test_a_v2_user_file_without_its_tree_is_bad_input(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["reserves", "verify", str(OKX / "user_info_file.json")]) == 2
    assert "--tree" in capsys.readouterr().err
