"""Customer proofs: every proof verifies, every alteration is rejected by name, in both verifiers.

``proof.verify`` (Assay's layout) and ``verify_proof.py`` (the standalone script, standard library
only) are two implementations of the same checks: each test asks both, and they must agree on the
reason a proof is rejected.
"""

from __future__ import annotations

import ast
import copy
import json
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given

from assay.errors import InvalidInput
from assay.reserves import proof, verify_proof
from assay.reserves.layout import Round
from tests.reserves.test_sumtree import (
    ACCOUNTS,
    ASSETS,
    CASES,
    DETERMINISTIC,
    SECRET,
    _build,
    rounds,
)

SCRIPT = Path(verify_proof.__file__)
DOCS = Path(__file__).resolve().parents[2] / "docs" / "formats" / "reserves-proof.md"


def _tree():
    return _build(*CASES["round-4-accounts-padded"], ACCOUNTS)


def _document(account: str = "carol") -> dict[str, Any]:
    document: dict[str, Any] = json.loads(proof.build_proof(_tree(), account).model_dump_json())
    return document


def _reasons(document: Any, **given: Any) -> tuple[str | None, str | None]:
    """The reasons each verifier gives for rejecting ``document`` (None: it verified)."""
    ours: str | None = None
    try:
        proof.verify(
            proof.parse_proof(json.dumps(document)),
            account_id=given.get("account"),
            balances=given.get("balances"),
            salt=given.get("salt"),
            root=given.get("root"),
            round_id=given.get("round_id"),
        )
    except InvalidInput as exc:
        ours = exc.details["reason"]
    theirs: str | None = None
    try:
        verify_proof.check(document, **given)
    except verify_proof.Rejected as exc:
        theirs = exc.code
    return ours, theirs


@DETERMINISTIC
@given(rounds())
def test_every_proof_of_a_random_tree_verifies_in_both_verifiers(case) -> None:
    rnd, accounts = case
    tree = _build(rnd, SECRET, accounts)
    for account, _, _ in accounts:
        built = proof.build_proof(tree, account)
        assert proof.verify(built).root == tree.root.hash.hex()
        document = json.loads(built.model_dump_json())
        assert verify_proof.check(document, account=account, root=tree.root.hash.hex())


def test_a_proof_reads_back_from_its_json_unchanged() -> None:
    built = proof.build_proof(_tree(), "bob")
    assert proof.parse_proof(built.model_dump_json()) == built


def test_a_proof_shows_the_account_s_own_balances_as_decimals() -> None:
    built = proof.build_proof(_tree(), "bob")
    assert built.account.equity == {"BTC": "0", "USDT": "1"}
    assert built.account.debt == {"BTC": "0", "USDT": "250"}
    mine = {"equity": {"USDT": "1.0"}, "debt": {"USDT": "250.000000"}}
    verified = proof.verify(built, account_id="bob", balances=mine)
    assert verified.debt == {"BTC": "0", "USDT": "250"}


def _flip(text: bytes, mask: int) -> list[bytes]:
    return [text[:i] + bytes([text[i] ^ mask]) + text[i + 1 :] for i in range(len(text))]


@pytest.mark.parametrize("mask", [0x01, 0x20])
def test_flipping_any_byte_of_a_proof_makes_both_verifiers_reject_it(mask: int) -> None:
    text = json.dumps(_document(), separators=(",", ":")).encode()
    for flipped in _flip(text, mask):
        with pytest.raises(InvalidInput):
            proof.verify(proof.parse_proof(flipped))
        with pytest.raises((verify_proof.Rejected, ValueError)):
            verify_proof.check(json.loads(flipped))


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    """A change to the proof: ``path`` like ``path.0.equity.1`` gets ``value`` (or value(old))."""

    def change(document: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node: Any = document
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        key: Any = int(last) if isinstance(node, list) else last
        node[key] = value(node[key]) if callable(value) else value

    return change


def _other_hex(text: str) -> str:
    return ("1" if text[0] != "1" else "2") + text[1:]


def _plus_one(text: str) -> str:
    return str(int(text) + 1)


CASES_REJECTED = [
    # the customer expects another round
    ("round-mismatch", None, {"round_id": "2026-11-24"}),
    # the proof's round id was changed: the round digest in every leaf changes
    ("root-mismatch", _set("round.id", "2026-11-24"), {}),
    # a sibling's hash was changed
    ("root-mismatch", _set("path.0.hash", _other_hex), {}),
    # a sibling's sum was changed (the sum-of-max break): both child sums are hashed
    ("root-mismatch", _set("path.0.equity.0", _plus_one), {}),
    # the customer's salt is not the proof's
    ("salt-mismatch", None, {"salt": "00" * 32}),
    # the proof's salt was changed
    ("root-mismatch", _set("account.salt", _other_hex), {}),
    # the proof is for another account than the customer's
    ("account-mismatch", None, {"account": "mallory"}),
    # the customer's balances are not the proof's
    ("balance-mismatch", None, {"balances": {"equity": {"BTC": "21000000.00000001"}}}),
    # balances given in a shape the verifiers do not read
    ("bad-argument", None, {"balances": {"equities": {"BTC": "1"}}}),
    # balances given for an asset the round does not have
    ("bad-argument", None, {"balances": {"equity": {"DOGE": "1"}}}),
    # the published root is another
    ("published-root-mismatch", None, {"root": "ab" * 32}),
    # a negative sibling sum
    ("negative-amount", _set("path.0.equity.0", "-5"), {}),
    # a sibling sum beyond BTC's 8 bytes
    ("amount-overflow", _set("path.0.equity.0", str(2**64)), {}),
    # a sibling sum that fits, but not once added to the leaf's
    ("amount-overflow", _set("path.0.equity.0", str(2**64 - 1)), {}),
    # a sibling sum of 5,000 digits (more than int() reads from a string)
    ("amount-overflow", _set("path.0.equity.0", "9" * 5000), {}),
    # an own balance of 5,000 whole digits
    ("amount-overflow", _set("account.equity.BTC", "9" * 5000), {}),
    # more decimals than BTC has
    ("too-many-decimals", _set("account.equity.BTC", "0.000000001"), {}),
    # a negative own balance
    ("negative-amount", _set("account.equity.BTC", "-1"), {}),
    # debt in BTC, which allows none
    ("debt-not-allowed", _set("account.debt.BTC", "1"), {}),
    # the first sibling moved to the other side
    ("path-mismatch", _set("path.0.side", lambda s: "left" if s == "right" else "right"), {}),
    # a sibling left out
    ("path-mismatch", _set("path", lambda p: p[:-1]), {}),
    # the leaf claims another position
    ("path-mismatch", _set("index", lambda i: i ^ 1), {}),
    # the root's totals changed, not its hash
    ("totals-mismatch", _set("root.equity.0", _plus_one), {}),
    # the root's hash changed
    ("root-mismatch", _set("root.hash", _other_hex), {}),
    # a version this verifier does not read
    ("malformed-proof", _set("format", "assay-por-proof/2"), {}),
    # a position outside the capacity
    ("malformed-proof", _set("index", 6), {}),
    # upper-case hex
    ("malformed-proof", _set("root.hash", str.upper), {}),
]


@pytest.mark.parametrize(("reason", "change", "given"), CASES_REJECTED)
def test_each_alteration_is_rejected_by_name_in_both_verifiers(reason, change, given) -> None:
    document = _document()
    if change is not None:
        change(document)
    assert _reasons(document, **given) == (reason, reason)


def test_both_verifiers_accept_what_the_customer_knows_when_it_matches() -> None:
    document = _document("bob")
    given = {
        "account": "bob",
        "balances": {"equity": {"USDT": "1"}, "debt": {"USDT": "250"}},
        "salt": document["account"]["salt"].upper(),
        "root": document["root"]["hash"],
        "round_id": "2026-11-25/v2",
    }
    assert _reasons(document, **given) == (None, None)


def test_parse_proof_names_the_bad_field() -> None:
    document = _document()
    document["index"] = "3"
    with pytest.raises(InvalidInput) as exc:
        proof.parse_proof(json.dumps(document))
    assert (exc.value.field, exc.value.details["reason"]) == ("index", "malformed-proof")


def test_padding_leaves_look_like_accounts_and_never_repeat() -> None:
    rnd = Round("padded", ASSETS, 64)
    tree = _build(rnd, SECRET, ACCOUNTS[:3])
    accounts = {tree.position(a) for a, _, _ in ACCOUNTS[:3]}
    leaves = tree.levels()[0]
    pads = [leaf.hash for p, leaf in enumerate(leaves) if p not in accounts]
    salts = [tree.leaf_salt(p) for p in range(64)]
    assert len(set(pads)) == len(pads) == 61
    assert len(set(salts)) == 64
    assert bytes(32) not in pads
    ones = sum(bin(b).count("1") for h in pads for b in h) / (len(pads) * 256)
    assert 0.45 < ones < 0.55  # as many 1 bits as a random hash has
    for account, _, _ in ACCOUNTS[:3]:
        document = _document_of(tree, account)
        hashes = [s["hash"] for s in document["path"]] + [document["root"]["hash"]]
        assert len(set(hashes)) == len(hashes)
        assert all(set(h) != {"0"} for h in hashes)
        assert document["account"]["salt"] not in hashes


def _document_of(tree, account: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(proof.build_proof(tree, account).model_dump_json())
    return document


def test_the_script_imports_nothing_but_the_standard_library() -> None:
    tree = ast.parse(SCRIPT.read_text(encoding="utf-8"))
    modules = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            modules.add(node.module.split(".")[0])
    assert modules - {"__future__"} <= set(sys.stdlib_module_names)


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-I", str(SCRIPT), *args], capture_output=True, text=True, check=False
    )


def test_the_script_verifies_a_proof_and_says_so(tmp_path: Path) -> None:
    document = _document("bob")
    path = tmp_path / "proof.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    balances = json.dumps({"equity": {"USDT": "1"}, "debt": {"USDT": "250"}})
    done = _run(
        str(path),
        "--account", "bob",
        "--balances", balances,
        "--salt", document["account"]["salt"],
        "--root", document["root"]["hash"],
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith("verified: account bob is in round 2026-11-25/v2")
    assert "USDT 1 (debt 250)" in done.stdout
    assert "note:" not in done.stdout


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (["--salt", "00" * 32], "salt-mismatch"),  # a wrong salt
        (["--round", "2026-11-24"], "round-mismatch"),  # another round
        (["--balances", "{not json"], "bad-argument"),  # balances that are not JSON
    ],
)
def test_the_script_rejects_by_name_with_exit_status_1(tmp_path: Path, args, reason) -> None:
    path = tmp_path / "proof.json"
    path.write_text(json.dumps(_document()), encoding="utf-8")
    done = _run(str(path), *args)
    assert done.returncode == 1
    assert done.stdout.startswith(f"NOT VERIFIED ({reason}):")


def test_the_script_rejects_a_tampered_sibling_and_a_file_that_is_not_json(tmp_path) -> None:
    document = _document()
    document["path"][1]["hash"] = _other_hex(document["path"][1]["hash"])
    tampered, garbage = tmp_path / "tampered.json", tmp_path / "garbage.json"
    tampered.write_text(json.dumps(document), encoding="utf-8")
    garbage.write_text("{", encoding="utf-8")
    assert _run(str(tampered)).stdout.startswith("NOT VERIFIED (root-mismatch)")
    assert _run(str(garbage)).stdout.startswith("NOT VERIFIED (malformed-proof)")


def test_every_reason_the_verifiers_give_is_documented() -> None:
    text = DOCS.read_text(encoding="utf-8")
    for code in verify_proof.REASONS:
        assert f"`{code}`" in text, code


def test_the_documented_example_verifies_in_both_verifiers() -> None:
    text = DOCS.read_text(encoding="utf-8")
    example = re.search(r"```json\n(\{\n  \"format\".*?)\n```", text, re.DOTALL)
    assert example is not None
    document = json.loads(example.group(1))
    assert _reasons(copy.deepcopy(document)) == (None, None)
    assert document == _document("bob")
