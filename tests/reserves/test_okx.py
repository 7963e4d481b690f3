"""OKX interop: the real v1 proof, V2 user file and V2 tree verify; forged ones do not.

The samples are OKX's own example files (MIT, tests/samples/okx). Forged inputs are built
here from the hashing rules, which the sample tests pin to OKX's real bytes first.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import json
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assay.errors import InvalidInput
from assay.reserves import okx
from assay.reserves.okx import (
    audit_okx_v2_tree,
    cross_check,
    load_json,
    okx_kind,
    verify_okx_v1,
    verify_okx_v2_user,
)
from assay.reserves.okx_format import (
    format_amount,
    parent_hash,
    parse_amount,
    salted_hash,
    strict_json,
    v2_leaf_hash,
)
from assay.reserves.okx_proof import OkxReport
from assay.reserves.okx_tree import TreeAudit
from tests.samples import OKX

SAMPLES = OKX
V1_FILE = SAMPLES / "merkle_proof_file.json"
USER_FILE = SAMPLES / "user_info_file.json"
TREE_FILE = SAMPLES / "full-liabilities-merkle-tree.txt"
V1_ROOT = "ac6b39d2a0aa8112bd1aadff5e7d4b5c2b91cd54d595262ba4367f5d2db4160d"
V2_ROOT = "9e98ebde32ef22ded88a5fb2d5e53d76ed57cb9c6b2c966f250721defe6ab041"
USER_LEAVES = {  # the user's two leaves and the lines where the sample tree holds them
    "9efbc1a68c383bd8627b73d9a4be6fd552e5a61dc0afb6d217d26e558e96307c": 40,
    "ea62bdc3456fd45f2bc49cbd9f076d8b5ecd6407090258e51c45c03c15c4b863": 34,
}


def nonce(n: int) -> str:
    return hashlib.sha256(b"nonce %d" % n).hexdigest()


def texts(balances: dict[str, str]) -> tuple[str, str, str]:
    return balances["BTC"], balances["ETH"], balances["USDT"]


def units_of(balances: dict[str, str]) -> tuple[int, int, int]:
    b, e, u = (parse_amount(v, source="s", where="w") for v in texts(balances))
    return b, e, u


def amounts(units: tuple[int, int, int]) -> dict[str, str]:
    return dict(zip(("BTC", "ETH", "USDT"), map(format_amount, units), strict=True))


def build_tree(leaves: list[tuple[str, tuple[int, int, int]]]) -> list[str]:
    """A V2 tree file for these leaves (hash, sums), laid out as OKX lays it out."""
    levels = []
    level, height = list(leaves), 1
    while True:
        if len(level) > 1 and len(level) % 2:
            level.append((level[-1][0], (0, 0, 0)))
        levels.append((height, level))
        if len(level) == 1:
            break
        parents = []
        for k in range(0, len(level), 2):
            (left, ls), (right, rs) = level[k], level[k + 1]
            sums = (ls[0] + rs[0], ls[1] + rs[1], ls[2] + rs[2])
            parents.append((parent_hash(left, right, sums, height + 1), sums))
        level, height = parents, height + 1
    return [
        f"{digest},{height},{json.dumps(amounts(sums), separators=(',', ':'))}"
        for height, level in reversed(levels)
        for digest, sums in reversed(level)
    ]


def random_leaves(count: int, seed: int = 0) -> list[tuple[str, tuple[int, int, int]]]:
    return [
        (hashlib.sha256(b"leaf %d %d" % (seed, i)).hexdigest(), (i * 7 % 5, 0, 10**8 + i * 13))
        for i in range(count)
    ]


def tree_lines() -> list[str]:
    return TREE_FILE.read_text().splitlines()


def replace_line(lines: list[str], number: int, old: str, new: str) -> list[str]:
    assert old in lines[number - 1]
    changed = list(lines)
    changed[number - 1] = changed[number - 1].replace(old, new, 1)
    return changed


def codes(report: OkxReport | TreeAudit) -> set[str]:
    return {p.code for p in report.problems}


def at(report: OkxReport | TreeAudit, code: str) -> set[str]:
    return {p.where for p in report.problems if p.code == code}


# --- the real samples --------------------------------------------------------------------------


def test_hashing_rules_reproduce_okx_sample_hashes_byte_for_byte():
    proof = load_json(V1_FILE)
    leaf = proof["self"]
    assert salted_hash(leaf["nonce"], texts(leaf["balances"])) == leaf["hash"]
    user = load_json(USER_FILE)
    assert salted_hash(user["nonce"], texts(user["totalBalances"])) == user["hash"]
    for node in user["nodes"]:
        assert v2_leaf_hash(user["hash"], texts(node["balances"])) == node["hash"]
    root, right, left = (line.split(",", 2) for line in tree_lines()[:3])
    assert parent_hash(left[0], right[0], units_of(json.loads(root[2])), 6) == root[0]


def test_okx_v1_sample_proof_verifies_up_to_its_root():
    report = verify_okx_v1(load_json(V1_FILE), source=V1_FILE.name, root=V1_ROOT)
    assert report.ok, report.problems
    assert (report.kind, report.root, report.height) == ("okx-v1", V1_ROOT, 24)
    assert report.totals == {
        "BTC": Decimal("95088.55505656"),
        "ETH": Decimal("939953.49090361"),
        "USDT": Decimal("3137909428.88369702"),
    }
    assert report.user_balances["USDT"] == Decimal("19398.33550812")


def test_okx_v2_sample_user_file_verifies_against_the_sample_tree_file():
    report = verify_okx_v2_user(load_json(USER_FILE), TREE_FILE, root=V2_ROOT)
    assert report.ok, report.problems
    assert (report.kind, report.root, report.height, report.leaf_count) == (
        "okx-v2-user",
        V2_ROOT,
        6,
        21,
    )
    assert report.user_balances == {"BTC": Decimal("0.00005"), "ETH": 0, "USDT": 0}


def test_okx_v2_sample_tree_audits_clean_with_its_root_and_totals():
    audit = audit_okx_v2_tree(TREE_FILE, root=V2_ROOT)
    assert audit.ok, audit.problems
    assert (audit.root, audit.height) == (V2_ROOT, 6)
    assert audit.totals == {
        "BTC": Decimal("0.00005"),
        "ETH": Decimal("0.1"),
        "USDT": Decimal("1.42045977"),
    }
    assert audit.leaf_totals == audit.totals
    assert (audit.leaf_count, audit.node_count, audit.padding_count) == (21, 47, 3)


def test_the_tree_audits_the_same_from_its_lines_as_from_its_file():
    assert audit_okx_v2_tree(tree_lines()) == audit_okx_v2_tree(TREE_FILE, name="<tree lines>")


def test_cross_check_of_real_proofs_of_one_round_finds_nothing():
    # the v1 proof holds a padding copy (type 4): a copy is not a second balance for its hash
    v1 = verify_okx_v1(load_json(V1_FILE))
    v2 = verify_okx_v2_user(load_json(USER_FILE), TREE_FILE)
    assert cross_check([v1, load_json(V1_FILE)]) == []
    assert cross_check([v2, v2]) == []


def test_okx_kind_tells_the_two_proof_formats_apart():
    assert okx_kind(load_json(V1_FILE)) == "okx-v1"
    assert okx_kind(load_json(USER_FILE)) == "okx-v2-user"
    assert okx_kind({"self": {}}) is None
    assert okx_kind([]) is None


def test_every_problem_code_raised_is_listed_and_documented():
    sources = sorted(Path(okx.__file__).parent.glob("okx*.py"))
    raised = {
        code
        for source in sources
        for code in re.findall(r'(?:add|Finding)\(\s*"([a-z-]+)"', source.read_text())
    }
    raised |= {"root-mismatch", "total-mismatch"}  # chosen by line number in the auditor
    assert raised == set(okx.PROBLEM_CODES)
    docs = (Path(__file__).parents[2] / "docs" / "formats" / "okx-proofs.md").read_text()
    assert [c for c in okx.PROBLEM_CODES if f"| `{c}` |" not in docs] == []


def test_every_exported_name_exists():
    assert sorted(okx.__all__) == sorted(n for n in okx.__all__ if hasattr(okx, n))


# --- amounts ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "units", "canonical"),
    [
        ("0", 0, "0"),  # zero is a bare 0
        ("0.00000001", 1, "0.00000001"),  # one minimal unit
        ("1.50", 150_000_000, "1.5"),  # trailing zeros go
        ("100", 10_000_000_000, "100"),  # no exponent
        ("-0.5", -50_000_000, "-0.5"),  # negatives parse (and are then reported)
        ("3137909428.88369702", 313790942888369702, "3137909428.88369702"),  # the v1 USDT total
    ],
)
def test_amounts_read_as_minimal_units_and_print_canonically(text, units, canonical):
    assert parse_amount(text, source="s", where="w") == units
    assert format_amount(units) == canonical


@pytest.mark.parametrize(
    "text",
    [
        "0.000000001",  # 9 decimal places
        "1e-8",  # exponent
        " 1",  # space
        "1_000",  # Python digit separator
        "+1",  # plus sign
        ".5",  # no whole part
        "\u0661",  # a non-ASCII digit (ARABIC-INDIC ONE)
        1,  # a JSON number, not a string
    ],
)
def test_amounts_outside_the_format_are_refused(text):
    with pytest.raises(InvalidInput, match="w"):
        parse_amount(text, source="s", where="w")


# --- v1: forged proofs -----------------------------------------------------------------------


def leaf_node(n: int, units: tuple[int, int, int], kind: int) -> dict[str, Any]:
    shown = amounts(units)
    digest = salted_hash(nonce(n), texts(shown))
    return {
        "auditId": "1",
        "balances": shown,
        "type": kind,
        "nonce": nonce(n),
        "hash": digest,
        "height": 1,
    }


def shown(node: dict[str, Any], units: tuple[int, int, int], kind: int) -> dict[str, Any]:
    """A node as a proof shows it to someone else: hash kept, balances as the exchange says."""
    return {
        "auditId": "1",
        "balances": amounts(units),
        "type": kind,
        "hash": node["hash"],
        "height": node["height"],
    }


def two_leaf_proofs(a: tuple[int, int, int], b: tuple[int, int, int], shown_b, shown_a, total):
    """Proofs for leaves A (left) and B (right) under a root that states ``total``."""
    leaf_a, leaf_b = leaf_node(1, a, 1), leaf_node(2, b, 2)
    root = {
        "auditId": "1",
        "balances": amounts(total),
        "type": 3,
        "hash": parent_hash(leaf_a["hash"], leaf_b["hash"], total, 2),
        "height": 2,
    }
    proof_a = {"self": leaf_a, "path": [shown(leaf_b, shown_b, 2), root]}
    proof_b = {"self": leaf_b, "path": [shown(leaf_a, shown_a, 1), root]}
    return proof_a, proof_b


BTC = 10**8


def test_sum_of_max_proofs_each_verify_alone_but_cross_check_catches_the_pair():
    # users owed 10 and 7 BTC; the root says 10 (the max): A is shown B = 0, B is shown A = 3
    proof_a, proof_b = two_leaf_proofs(
        (10 * BTC, 0, 0), (7 * BTC, 0, 0), (0, 0, 0), (3 * BTC, 0, 0), (10 * BTC, 0, 0)
    )
    report_a, report_b = verify_okx_v1(proof_a), verify_okx_v1(proof_b)
    assert report_a.ok  # the v1 format cannot see it in one proof
    assert report_b.ok
    assert report_a.totals["BTC"] == 10
    findings = cross_check([proof_a, proof_b])
    assert {f.code for f in findings} == {"sum-of-max"}
    assert {f.node for f in findings} == {proof_a["self"]["hash"], proof_b["self"]["hash"]}
    assert all(f.sources == ("proof 1", "proof 2") for f in findings)
    assert "BTC 10" in findings[0].message
    assert "BTC 3" in findings[0].message


def test_cross_check_names_proofs_of_different_rounds():
    honest = two_leaf_proofs((BTC, 0, 0), (BTC, 0, 0), (BTC, 0, 0), (BTC, 0, 0), (2 * BTC, 0, 0))
    real = verify_okx_v1(load_json(V1_FILE), source="okx.json")
    findings = cross_check([honest[0], real])
    assert [f.code for f in findings] == ["different-rounds"]
    assert V1_ROOT in findings[0].message


def test_v1_rejects_a_negative_sibling_balance_even_though_every_hash_recomputes():
    # A = 10, B = -3: the root honestly says 7 and hashes right; only the sign gives it away
    proof_a, _ = two_leaf_proofs(
        (10 * BTC, 0, 0), (-3 * BTC, 0, 0), (-3 * BTC, 0, 0), (0, 0, 0), (7 * BTC, 0, 0)
    )
    report = verify_okx_v1(proof_a)
    assert not report.ok
    assert codes(report) == {"negative-balance"}
    assert at(report, "negative-balance") == {"path[0]"}


def test_v1_sibling_leaf_shown_with_its_nonce_cannot_lie_about_its_balance():
    proof_a, _ = two_leaf_proofs(
        (10 * BTC, 0, 0), (7 * BTC, 0, 0), (0, 0, 0), (0, 0, 0), (10 * BTC, 0, 0)
    )
    proof_a["path"][0]["nonce"] = nonce(2)  # OKX shows the sibling leaf's nonce, as here
    report = verify_okx_v1(proof_a)
    assert at(report, "hash-mismatch") == {"path[0]"}


def test_v1_reports_every_problem_with_its_place_not_only_the_first():
    proof = load_json(V1_FILE)
    proof["self"]["balances"]["BTC"] = "2"  # the leaf no longer hashes, and the path grows
    proof["path"][3]["balances"]["ETH"] = "-1"
    proof["path"][5]["height"] = 9
    proof["path"][21]["balances"]["USDT"] = "1"  # the padding copy holds something
    report = verify_okx_v1(proof)
    assert {(p.code, p.where) for p in report.problems} >= {
        ("hash-mismatch", "self"),
        ("negative-balance", "path[3]"),
        ("height-mismatch", "path[5]"),
        ("padding-mismatch", "path[21]"),
        ("root-mismatch", "path[23]"),
        ("total-mismatch", "path[23]"),
    }


def test_v1_refuses_a_root_other_than_the_published_one():
    report = verify_okx_v1(load_json(V1_FILE), root="00" * 32)
    assert codes(report) == {"root-mismatch"}


def test_v1_refuses_a_self_on_the_same_side_as_its_sibling():
    proof = load_json(V1_FILE)
    proof["self"]["type"] = 1  # the sample's self is right (2) of a left sibling (1)
    assert codes(verify_okx_v1(proof)) == {"type-mismatch"}


def test_v1_refuses_nodes_from_different_audits_in_one_proof():
    proof = load_json(V1_FILE)
    proof["path"][7]["auditId"] = "1"
    assert at(verify_okx_v1(proof), "audit-id-mismatch") == {"path[7]"}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda p: p["self"].pop("nonce"), "self.nonce"),  # the leaf needs its nonce
        (lambda p: p["path"][2].pop("hash"), "path[2]"),  # a missing field
        (lambda p: p["path"][2].update(extra=1), "path[2]"),  # an unknown field
        (lambda p: p["path"][2].update(hash="AB" * 32), "path[2].hash"),  # uppercase hex
        (lambda p: p["path"][2].update(hash="ab" * 31), "path[2].hash"),  # short hash
        (lambda p: p["path"][2].update(type=5), "path[2].type"),  # no such type
        (lambda p: p["path"][2].update(type=True), "path[2].type"),  # a boolean
        (lambda p: p["path"][2].update(height="3"), "path[2].height"),  # a string
        (lambda p: p["path"][2]["balances"].update(BTC=0.1), "path[2].balances.BTC"),  # float
        (lambda p: p["path"][2]["balances"].pop("ETH"), "path[2].balances"),  # an asset missing
        (lambda p: p["path"][2]["balances"].update(SOL="1"), "path[2].balances"),  # one too many
        (lambda p: p["path"][2].update(type=3), "path[2].type"),  # a root before the end
        (lambda p: p["path"].pop(), "path[22].type"),  # no root at the end
        (lambda p: p["path"][2].update(nonce=nonce(1)), "path[2].nonce"),  # nonce above a leaf
        (lambda p: p.update(path=[]), "path"),  # an empty path
        (lambda p: p.pop("self"), "proof"),  # no leaf
    ],
)
def test_malformed_v1_proofs_raise_invalid_input_naming_the_field(change, field):
    proof = load_json(V1_FILE)
    change(proof)
    with pytest.raises(InvalidInput) as caught:
        verify_okx_v1(proof, source="p.json")
    assert caught.value.field == field
    assert caught.value.message.startswith(f"p.json: {field}")


def test_load_json_names_the_file_and_position_of_a_syntax_error(tmp_path):
    broken = tmp_path / "proof.json"
    broken.write_text('{"self": {}\n  "path": []}')
    with pytest.raises(InvalidInput, match=r"proof.json: file: not JSON \(line 2 column 3"):
        load_json(broken)


@pytest.mark.parametrize(
    "text",
    [
        b'{"self": 1, "self": 2}',  # a duplicate key (which one would the user have checked?)
        b'{"a": NaN}',  # not a JSON number
        b'{"a": "\xff"}',  # not UTF-8
    ],
)
def test_strict_json_refuses_what_a_verifier_should_not_guess_about(text):
    with pytest.raises(InvalidInput):
        strict_json(text, source="s", where="file")


# --- V2 user file: forged ----------------------------------------------------------------------


def test_v2_user_leaf_missing_from_the_tree_is_reported():
    user = load_json(USER_FILE)
    first, second = user["nodes"]
    tree = build_tree(
        [*random_leaves(6), (first["hash"], units_of(first["balances"])), *random_leaves(3, 1)]
    )
    report = verify_okx_v2_user(user, tree)
    assert codes(report) == {"leaf-not-in-tree"}
    assert at(report, "leaf-not-in-tree") == {"nodes[1]"}
    assert second["hash"] in report.problems[0].message


def test_v2_user_path_through_a_tampered_tree_line_fails_at_that_line():
    # line 35 is the sibling of the user's leaf on line 34; its parent is line 19
    tree = replace_line(tree_lines(), 35, '"USDT":"0.95774123"', '"USDT":"0.95774124"')
    report = verify_okx_v2_user(load_json(USER_FILE), tree)
    assert {"line 19"} <= at(report, "sum-mismatch")
    assert {"root-mismatch", "total-mismatch"} <= codes(report)


def test_v2_user_whose_leaves_do_not_add_up_to_the_total_is_reported():
    user = load_json(USER_FILE)
    user["totalBalances"]["BTC"] = "0.00006"
    user["hash"] = salted_hash(user["nonce"], texts(user["totalBalances"]))
    for node in user["nodes"]:
        node["hash"] = v2_leaf_hash(user["hash"], texts(node["balances"]))
    report = verify_okx_v2_user(user, tree_lines())
    assert "total-mismatch" in codes(report)
    assert at(report, "total-mismatch") == {"totalBalances"}


def test_v2_leaf_shown_with_a_digit_moved_between_assets_fails_the_user_check():
    # OKX hashes amounts back to back: "0.1234567" + "15000" reads also as "0.12345671" + "5000",
    # so the tree can show this leaf owing 10,000 USDT less under the very same hash
    owed = ("0", "0.1234567", "15000")
    user_hash = salted_hash(nonce(7), owed)
    leaf = v2_leaf_hash(user_hash, owed)
    assert leaf == v2_leaf_hash(user_hash, ("0", "0.12345671", "5000"))
    user = {
        "hash": user_hash,
        "nodes": [{"balances": dict(zip(("BTC", "ETH", "USDT"), owed, strict=True)), "hash": leaf}],
        "nonce": nonce(7),
        "totalBalances": dict(zip(("BTC", "ETH", "USDT"), owed, strict=True)),
    }
    tree = build_tree([*random_leaves(4), (leaf, (0, 12345671, 5000 * BTC)), *random_leaves(3)])
    assert audit_okx_v2_tree(tree).ok  # every parent adds up: the auditor cannot see it
    report = verify_okx_v2_user(user, tree)
    leaf_line = next(n for n, line in enumerate(tree, 1) if line.startswith(leaf))
    assert f"line {leaf_line}" in at(report, "sum-mismatch")
    assert codes(report) <= {"sum-mismatch", "hash-mismatch", "total-mismatch"}
    assert "USDT 5000" in report.problems[0].message


def test_v2_user_file_against_a_truncated_tree_raises_naming_the_file(tmp_path):
    cut = tmp_path / "tree.txt"
    cut.write_text("\n".join(tree_lines()[:40]) + "\n")
    with pytest.raises(InvalidInput, match=r"tree.txt: line 41: the file ends inside height 1"):
        verify_okx_v2_user(load_json(USER_FILE), cut)


# --- V2 tree audit: forged ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "old", "new"),
    [
        (19, "3132365e", "3132365f"),  # a level-2 parent's hash
        (8, "fba0a264", "fba0a265"),  # a padding copy's source at height 3
        (2, "b812559c", "b812559d"),  # a child of the root
    ],
)
def test_audit_flags_a_tampered_parent_hash_with_its_line(line, old, new):
    audit = audit_okx_v2_tree(replace_line(tree_lines(), line, old, new))
    assert not audit.ok
    flagged = at(audit, "hash-mismatch") | at(audit, "root-mismatch")
    assert f"line {line}" in flagged
    assert len(flagged) == 2  # the line itself, and its parent, which hashed the original


def test_audit_flags_tampered_parent_sums_with_its_line():
    audit = audit_okx_v2_tree(replace_line(tree_lines(), 19, '"USDT":"0.95774123"', '"USDT":"9"'))
    assert "line 19" in at(audit, "sum-mismatch")
    assert "USDT 0.95774123" in next(p.message for p in audit.problems if p.where == "line 19")


def test_audit_flags_a_tampered_root_total_while_its_hash_still_recomputes():
    audit = audit_okx_v2_tree(replace_line(tree_lines(), 1, '"ETH":"0.1"', '"ETH":"0.2"'))
    assert codes(audit) == {"total-mismatch"}  # against its children, and against all leaves
    assert len(audit.problems) == 2
    assert audit.totals["ETH"] == Decimal("0.2")
    assert audit.leaf_totals["ETH"] == Decimal("0.1")


def test_audit_flags_a_negative_node_even_when_every_hash_recomputes():
    leaves = random_leaves(9)
    leaves[4] = (leaves[4][0], (0, -5 * 10**7, 0))
    tree = build_tree(leaves)
    negative = next(i for i, ln in enumerate(tree, 1) if '"-0.5"' in ln)
    audit = audit_okx_v2_tree(tree)
    assert codes(audit) == {"negative-balance"}
    assert f"line {negative}" in at(audit, "negative-balance")


def test_audit_flags_padding_that_holds_a_balance():
    # line 26 copies line 27 (the leaf level's odd end) and must hold zero
    audit = audit_okx_v2_tree(replace_line(tree_lines(), 26, '"USDT":"0"', '"USDT":"0.1"'))
    assert at(audit, "padding-mismatch") == {"line 26"}


def test_audit_flags_a_line_whose_height_is_not_its_place():
    audit = audit_okx_v2_tree(replace_line(tree_lines(), 30, ",1,", ",2,"))
    assert codes(audit) == {"height-mismatch"}
    assert at(audit, "height-mismatch") == {"line 30"}


def test_audit_compares_the_root_with_the_published_one():
    assert codes(audit_okx_v2_tree(TREE_FILE, root="00" * 32)) == {"root-mismatch"}


@pytest.mark.parametrize("count", [1, 2, 3, 5, 8, 13, 21, 33, 40])
def test_audit_recomputes_generated_trees_of_every_padding_shape(count):
    leaves = random_leaves(count)
    audit = audit_okx_v2_tree(build_tree(leaves))
    assert audit.ok, audit.problems
    assert audit.leaf_count == count
    assert audit.leaf_totals["USDT"] == sum(Decimal(u) / 10**8 for _, (_, _, u) in leaves)


def test_audit_keeps_the_first_problems_and_counts_the_rest():
    tree = [line.replace(",2,{", ",3,{") for line in build_tree(random_leaves(200))]
    audit = audit_okx_v2_tree(tree, max_problems=10)
    assert len(audit.problems) == 10
    assert audit.problems_omitted == 100 - 10  # 200 leaves make 100 nodes at height 2
    assert not audit.ok


def test_audit_reports_progress_in_bytes_of_the_file():
    seen: list[tuple[int, int | None]] = []
    audit_okx_v2_tree(TREE_FILE, progress=lambda done, total: seen.append((done, total)))
    assert seen[-1] == (TREE_FILE.stat().st_size, TREE_FILE.stat().st_size)


@pytest.mark.parametrize(
    ("keep", "message"),
    [
        (44, r"line 45: the file ends inside height 1"),  # cut at a line end
        (20, r"line 21: the file ends inside height 2"),  # a whole level missing
    ],
)
def test_audit_raises_on_a_truncated_tree_file_naming_file_and_line(tmp_path, keep, message):
    cut = tmp_path / "cut.txt"
    cut.write_text("\n".join(tree_lines()[:keep]) + "\n")
    with pytest.raises(InvalidInput, match=f"cut.txt: {message}"):
        audit_okx_v2_tree(cut)


def test_audit_raises_on_a_file_cut_in_the_middle_of_a_line(tmp_path):
    cut = tmp_path / "cut.txt"
    cut.write_bytes(TREE_FILE.read_bytes()[:-30])
    with pytest.raises(InvalidInput, match=r"cut.txt: line 47 balances: not JSON"):
        audit_okx_v2_tree(cut)


def test_audit_raises_on_lines_after_the_leaf_level():
    with pytest.raises(InvalidInput, match="line 48: the tree ends at line 47"):
        audit_okx_v2_tree([*tree_lines(), tree_lines()[-1]])


@pytest.mark.parametrize(
    ("line", "old", "new", "field"),
    [
        (5, "ff321ea1", "FF321EA1", "line 5 hash"),  # uppercase hex
        (5, ",4,", ",x,", "line 5 height"),  # a height that is not a number
        (5, '"BTC"', '"BTX"', "line 5 balances"),  # an unknown asset
        (5, "{", "[", "line 5 balances"),  # not an object
        (1, ",6,", ",0,", "line 1 height"),  # the root at height 0
    ],
)
def test_audit_raises_on_a_malformed_line_naming_its_field(line, old, new, field):
    with pytest.raises(InvalidInput) as caught:
        audit_okx_v2_tree(replace_line(tree_lines(), line, old, new), name="t.txt")
    assert caught.value.field == field


def test_audit_refuses_an_empty_file(tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    with pytest.raises(InvalidInput, match=r"empty.txt: line 1: the tree file is empty"):
        audit_okx_v2_tree(empty)


# --- any single byte -------------------------------------------------------------------------


def _mutated(data: bytes, index: int, byte: int) -> bytes:
    return data[:index] + bytes([byte]) + data[index + 1 :]


V1_BYTES = V1_FILE.read_bytes()
USER_BYTES = json.dumps(json.loads(USER_FILE.read_bytes()), separators=(",", ":")).encode()
TREE_BYTES = TREE_FILE.read_bytes()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_any_single_byte_change_in_a_v1_proof_is_refused_or_fails(data):
    index = data.draw(st.integers(0, len(V1_BYTES) - 1))
    byte = data.draw(st.integers(0, 255).filter(lambda b: b != V1_BYTES[index]))
    with contextlib.suppress(InvalidInput):
        proof = strict_json(_mutated(V1_BYTES, index, byte), source="p", where="file")
        assert not verify_okx_v1(proof).ok


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_any_single_byte_change_in_a_v2_user_file_is_refused_or_fails(data):
    index = data.draw(st.integers(0, len(USER_BYTES) - 1))
    byte = data.draw(st.integers(0, 255).filter(lambda b: b != USER_BYTES[index]))
    with contextlib.suppress(InvalidInput):
        user = strict_json(_mutated(USER_BYTES, index, byte), source="u", where="file")
        assert not verify_okx_v2_user(user, TREE_FILE).ok


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_any_single_byte_change_inside_a_tree_file_is_refused_or_flagged(data):
    # the final newline is left alone: a file may end with or without one
    index = data.draw(st.integers(0, len(TREE_BYTES) - 2))
    byte = data.draw(st.integers(0, 255).filter(lambda b: b != TREE_BYTES[index]))
    lines = _mutated(TREE_BYTES, index, byte).split(b"\n")
    with contextlib.suppress(InvalidInput):
        assert not audit_okx_v2_tree(lines).ok


def test_reports_are_frozen():
    report = verify_okx_v1(load_json(V1_FILE))
    with pytest.raises(AttributeError):
        report.ok = False  # type: ignore[misc]
    assert copy.copy(report) == report
