"""The standalone verifier: one file, stdlib and cryptography only, agreeing with Assay."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assay.platform.runtime import Runtime
from assay.trail import rfc9162, service, verify_trail
from tests.trail.conftest import add_changes

SCRIPT = Path(verify_trail.__file__)


def test_the_script_imports_nothing_but_the_standard_library_and_cryptography() -> None:
    tree = ast.parse(SCRIPT.read_text())
    modules = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            modules.add(node.module.split(".")[0])
    assert modules - {"cryptography", "__future__"} <= set(sys.stdlib_module_names)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.binary(max_size=8), min_size=1, max_size=40), st.data())
def test_its_rfc9162_checks_agree_with_assays(leaves: list[bytes], data: st.DataObject) -> None:
    size = len(leaves)
    index = data.draw(st.integers(0, size - 1))
    old = data.draw(st.integers(1, size))
    root = rfc9162.root(leaves)
    proof = rfc9162.inclusion_proof(leaves, index)
    assert verify_trail.verify_inclusion(rfc9162.leaf_hash(leaves[index]), index, size, proof, root)
    consistency = rfc9162.consistency_proof(leaves, old)
    old_root = rfc9162.root(leaves[:old])
    assert verify_trail.verify_consistency(old, size, old_root, root, consistency)
    if proof:
        bent = [bytes([proof[0][0] ^ 1]) + proof[0][1:], *proof[1:]]
        assert not verify_trail.verify_inclusion(
            rfc9162.leaf_hash(leaves[index]), index, size, bent, root
        )


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-I", str(SCRIPT), *args], capture_output=True, text=True, check=False
    )


@pytest.fixture
def bundles(runtime: Runtime, ctx, tmp_path: Path) -> dict[str, Path]:
    add_changes(runtime, 5)
    service.sign_now(ctx)
    first = service.status(ctx).size
    add_changes(runtime, 4)
    service.sign_now(ctx)
    files = {
        "inclusion": service.inclusion(ctx, 3).model_dump(mode="json"),
        "consistency": service.consistency(ctx, first, first + 4).model_dump(mode="json"),
        "key": service.verifier_keys(runtime.settings)[0],
    }
    paths = {}
    for name, content in files.items():
        paths[name] = tmp_path / f"{name}.json"
        paths[name].write_text(json.dumps(content))
    return paths


def test_it_verifies_bundles_assay_produces(bundles: dict[str, Path]) -> None:
    key = json.loads(bundles["key"].read_text())
    done = _run(str(bundles["inclusion"]), "--key", key, "--origin", "assay.local/trail")
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith("verified: entry 3 is in assay.local/trail at size 21")
    done = _run(str(bundles["consistency"]), "--key", key)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "grew from 17 to 21 entries" in done.stdout


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda b: b.update(entry=b["entry"].replace('"v":1', '"v":2')), "leaf hash"),  # entry
        (lambda b: b.update(proof=[b["proof"][0][::-1], *b["proof"][1:]]), "does not lead"),
        (lambda b: b.update(leaf_index=b["leaf_index"] + 1), "does not lead"),  # another leaf
        (lambda b: b.update(checkpoint=b["checkpoint"].replace("\n21\n", "\n22\n")), "signature"),
        (lambda b: b.update(checkpoint=None), "no signed checkpoint"),
    ],
)
def test_it_rejects_a_tampered_bundle(bundles: dict[str, Path], change, reason: str) -> None:
    bundle = json.loads(bundles["inclusion"].read_text())
    change(bundle)
    bundles["inclusion"].write_text(json.dumps(bundle))
    key = json.loads(bundles["key"].read_text())
    done = _run(str(bundles["inclusion"]), "--key", key)
    assert done.returncode == 1
    assert "NOT VERIFIED" in done.stdout
    assert reason in done.stdout


def test_it_rejects_the_wrong_key_and_the_wrong_origin(bundles: dict[str, Path]) -> None:
    from assay.trail.note import generate_key

    _, stranger = generate_key("assay.local/trail")
    done = _run(str(bundles["inclusion"]), "--key", stranger)
    assert (done.returncode, "not signed by any trusted key" in done.stdout) == (1, True)
    done = _run(str(bundles["inclusion"]), "--origin", "other.example/trail")
    assert (done.returncode, "not 'other.example/trail'" in done.stdout) == (1, True)


def test_unreadable_input_exits_2(tmp_path: Path) -> None:
    (tmp_path / "x.json").write_text("[1, 2]")
    assert _run(str(tmp_path / "x.json")).returncode == 2
    (tmp_path / "y.json").write_text('{"format": "something-else", "proof": []}')
    done = _run(str(tmp_path / "y.json"))
    assert (done.returncode, "unknown bundle format" in done.stderr) == (2, True)
