"""Rounds: built from a liabilities file, published and anchored, proved, audited, all or nothing.

Runs on SQLite and PostgreSQL. A round of 50 accounts and three assets (USDT allows debt) goes
from the command line to a proof that the standalone verifier accepts against the published
root; bad files, interrupted builds and tampered folders are each refused by name.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy import func, select

from assay.cli import run
from assay.errors import ExitCode, InvalidInput, NotFound, PermissionDenied
from assay.platform import record
from assay.platform.context import Context
from assay.platform.roles import Role, system_principal
from assay.platform.runtime import Runtime
from assay.reserves import proof, round_build, rounds, service, stored_tree, sumtree, verify_proof
from assay.reserves.rounds import LiabilitiesRejected, RoundExists, RoundPublished
from assay.reserves.store import RoundRow
from tests.conftest import acting

VERIFIER = Path(verify_proof.__file__)
SECRET = bytes(range(32))
ROUND_FILE = """\
format: assay-por-round/1
id: 2026-11
snapshot_at: 2026-11-30T23:59:59Z
assets:
  - {code: BTC, decimals: 8}
  - {code: ETH, decimals: 18}
  - {code: USDT, decimals: 6, debt_allowed: true}
"""
HEADER = "account_id,BTC,ETH,USDT"


def _decimal(units: int, decimals: int) -> str:
    sign, units = ("-", -units) if units < 0 else ("", units)
    whole, fraction = divmod(units, 10**decimals)
    return f"{sign}{whole}.{fraction:0{decimals}d}".rstrip("0").rstrip(".")


def liabilities_rows(count: int = 50, seed: int = 7) -> list[str]:
    """``count`` accounts: BTC and ETH balances, USDT balances or (one in five) USDT debt."""
    rng = random.Random(seed)  # noqa: S311 - test data, not secrets
    rows = []
    for i in range(count):
        usdt = rng.randrange(0, 10**10) * (-1 if i % 5 == 3 else 1)
        btc, eth = rng.randrange(0, 5 * 10**8), rng.randrange(0, 5 * 10**18)
        rows.append(f"acct-{i:03d},{_decimal(btc, 8)},{_decimal(eth, 18)},{_decimal(usdt, 6)}")
    return rows


def write_liabilities(folder: Path, rows: list[str] | None = None, name: str = "l.csv") -> Path:
    path = folder / name
    path.write_text("\n".join([HEADER, *(liabilities_rows() if rows is None else rows)]) + "\n")
    return path


def spec(round_id: str = "2026-11") -> rounds.RoundSpec:
    return rounds.read_round_file(ROUND_FILE.replace("id: 2026-11", f"id: {round_id}"))


@pytest.fixture
def contexts(runtime: Runtime) -> Iterator[Callable[..., Context]]:
    """Make contexts on fresh units of work (as the operator, or as a seeded role)."""
    with ExitStack() as stack:

        def make(role: Role | None = None) -> Context:
            uow = stack.enter_context(runtime.db.uow())
            actor = system_principal("operator") if role is None else acting(runtime, role)
            return runtime.context(uow, actor)

        yield make


@pytest.fixture
def cli_env(runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> Runtime:
    monkeypatch.setenv("ASSAY_DATABASE_URL", runtime.settings.effective_database_url)
    monkeypatch.setenv("ASSAY_DATA_DIR", str(runtime.settings.data_dir))
    return runtime


def _json(capsys: pytest.CaptureFixture[str], *args: str, code: int = 0) -> Any:
    assert run(list(args)) == code, capsys.readouterr()
    return json.loads(capsys.readouterr().out)


def _verify(document: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(VERIFIER), str(document), *args],
        capture_output=True,
        text=True,
        check=False,
    )


def _rounds_stored(runtime: Runtime) -> int:
    with runtime.db.uow() as uow:
        return uow.session.scalar(select(func.count()).select_from(RoundRow)) or 0


def _leftovers(runtime: Runtime) -> list[str]:
    folder = service.reserves_dir(runtime.settings)
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


# --- end to end -------------------------------------------------------------------------------


def test_a_round_goes_from_file_to_published_proof_to_clean_audit(
    cli_env: Runtime, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "round.yaml").write_text(ROUND_FILE)
    liabilities = write_liabilities(tmp_path)
    created = _json(
        capsys,
        *("reserves", "round", "create", str(liabilities)),
        *("--round-file", str(tmp_path / "round.yaml"), "--json"),
    )
    assert (created["id"], created["status"], created["accounts"]) == ("2026-11", "built", 50)
    assert created["capacity"] == 64
    assert set(created["totals"]) == {"BTC", "ETH", "USDT"}
    assert created["totals"]["USDT"]["debt"] != "0"

    published = _json(capsys, "reserves", "round", "publish", "2026-11", "--json")
    assert published["status"] == "published"
    assert published["published_at"] is not None
    assert published["anchor_leaf"] is not None

    out = tmp_path / "proof.json"
    assert run(["reserves", "proof", "2026-11", "acct-007", "--out", str(out)]) == 0
    assert f"wrote {out}" in capsys.readouterr().out
    root = published["root"]
    verified = _verify(out, "--root", root, "--round", "2026-11", "--account", "acct-007")
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "verified: account acct-007 is in round 2026-11" in verified.stdout

    folder = service.round_folder(cli_env.settings, "2026-11")
    audit = _json(capsys, "reserves", "audit", str(folder), "--json")
    assert audit["ok"] is True
    assert (audit["root"], audit["accounts"], audit["discrepancies"]) == (root, 50, [])
    assert audit["totals"] == created["totals"]

    listed = _json(capsys, "reserves", "round", "list", "--json")
    assert [r["id"] for r in listed] == ["2026-11"]
    assert run(["reserves", "round", "show", "2026-11"]) == 0
    assert root in capsys.readouterr().out


def test_the_round_folder_holds_the_copy_the_manifest_the_tree_and_a_private_secret(
    runtime: Runtime, contexts: Callable[..., Context], tmp_path: Path
) -> None:
    liabilities = write_liabilities(tmp_path)
    created = service.create_round(contexts(), spec(), liabilities, secret=SECRET)
    folder = service.round_folder(runtime.settings, "2026-11")
    assert (folder / "liabilities.csv").read_bytes() == liabilities.read_bytes()
    assert (folder / "secret").stat().st_mode & 0o777 == 0o600
    assert (folder / "secret").read_text().strip() == SECRET.hex()
    manifest = json.loads((folder / "round.json").read_text())
    assert manifest["format"] == "assay-por-round-folder/1"
    assert manifest["root"]["hash"] == created.root
    assert manifest["liabilities"] == {"source": "l.csv", "sha256": created.liabilities_sha256}
    assert manifest["totals"] == created.totals
    assert [a["width"] for a in manifest["assets"]] == [8, 16, 8]  # ETH's sum passes 2^64
    assert sorted(p.name for p in (folder / "tree").iterdir()) == [
        "accounts.npy",
        "debt.npy",
        "equity.npy",
        "keys.npy",
        "level-05.npy",
        "level-06.npy",
    ]
    assert _leftovers(runtime) == ["2026-11"]
    events = record.list_events(contexts(), record.EventFilter(action_prefix="reserves.round"))
    assert [e.action for e in events] == ["reserves.round.create"]
    assert SECRET.hex() not in json.dumps(events[0].after)


def test_a_round_can_be_given_by_options_and_read_from_parquet(
    cli_env: Runtime, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = [r.split(",") for r in liabilities_rows(12)]
    table = pa.table({name: [r[k] for r in rows] for k, name in enumerate(HEADER.split(","))})
    pq.write_table(table, tmp_path / "l.parquet")
    created = _json(
        capsys,
        *("reserves", "round", "create", str(tmp_path / "l.parquet"), "--id", "2026-12"),
        *("--snapshot", "2026-12-31T23:59:59Z", "--asset", "BTC:8", "--asset", "ETH:18"),
        *("--asset", "USDT:6:debt", "--capacity", "100", "--json"),
    )
    assert (created["accounts"], created["capacity"]) == (12, 100)
    folder = service.round_folder(cli_env.settings, "2026-12")
    assert (folder / "liabilities.parquet").is_file()
    assert _json(capsys, "reserves", "audit", "2026-12", "--json")["ok"] is True


@pytest.mark.parametrize(("accounts", "capacity"), [(1, 1), (3, None), (33, 33), (40, 1000)])
def test_the_stored_tree_is_the_tree_built_in_memory(
    tmp_path: Path, accounts: int, capacity: int | None
) -> None:
    liabilities = write_liabilities(tmp_path, liabilities_rows(accounts))
    round_spec = spec().model_copy(update={"capacity": capacity})
    manifest = round_build.build_folder(
        round_spec, liabilities, tmp_path / "r", SECRET, created_at=dt.datetime.now(dt.UTC)
    )
    stored = stored_tree.open_tree(tmp_path / "r")
    read = round_build.read_checked(liabilities, round_spec.asset_specs())
    built = sumtree.build(manifest.layout_round(), SECRET, read.account_ids, read.equity, read.debt)
    assert stored.levels() == built.levels()
    for account in read.account_ids:
        assert stored.position(account) == built.position(account)
        assert stored.path(account) == built.path(account)


# --- bad input leaves nothing -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "reason", "words"),
    [
        # a malformed amount, named by line and column
        (f"{HEADER}\na1,1,0,0\na2,1.5x,0,0\n", "malformed-amount", "line 3, column BTC"),
        # a row with a field missing
        (f"{HEADER}\na1,1,0\n", "malformed-row", "line 2"),
        # the same account twice
        (f"{HEADER}\na1,1,0,0\na1,2,0,0\n", "duplicate-account", "repeats the id of line 2"),
        # a negative balance of an asset that allows no debt
        (f"{HEADER}\na1,-1,0,0\n", "negative-amount", "line 2, column BTC"),
        # more decimals than the asset has
        (f"{HEADER}\na1,0.000000001,0,0\n", "too-many-decimals", "more than 8 decimals"),
        # a column for an asset the round does not have
        ("account_id,BTC,ETH,DOGE\na1,1,0,0\n", "unknown-asset", "unknown column(s) DOGE"),
        # a file cut off in its last line
        (f"{HEADER}\na1,1,0,0\na2,1,0", "truncated-file", "looks truncated"),
        # a header and nothing else
        (f"{HEADER}\n", "no-accounts", "no accounts"),
    ],
)
def test_a_refused_file_leaves_no_row_no_folder_and_no_record(
    *,
    runtime: Runtime,
    contexts: Callable[..., Context],
    tmp_path: Path,
    text: str,
    reason: str,
    words: str,
) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(LiabilitiesRejected) as caught:
        service.create_round(contexts(), spec(), path)
    assert caught.value.details["reason"] == reason
    assert words in caught.value.message
    assert _rounds_stored(runtime) == 0
    assert _leftovers(runtime) == []
    assert not record.list_events(contexts(), record.EventFilter(action_prefix="reserves."))


def test_every_problem_of_a_file_is_listed_with_its_reason(
    contexts: Callable[..., Context], tmp_path: Path
) -> None:
    rows = ["a1,1,0,0", "a2,-1,0,0", "a3,0,0.1234567890123456789,0", "a1,0,0,-5"]
    with pytest.raises(LiabilitiesRejected) as caught:
        service.create_round(contexts(), spec(), write_liabilities(tmp_path, rows))
    found = [(p["line"], p["column"], p["reason"]) for p in caught.value.details["problems"]]
    assert found == [
        (3, "BTC", "negative-amount"),
        (4, "ETH", "too-many-decimals"),
        (5, "account_id", "duplicate-account"),
    ]


def test_a_refused_file_exits_2_from_the_cli_naming_line_and_column(
    cli_env: Runtime, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "round.yaml").write_text(ROUND_FILE)
    bad = write_liabilities(tmp_path, ["a1,1,0,0", "a2,1,-3,0"])
    args = ["reserves", "round", "create", str(bad), "--round-file", str(tmp_path / "round.yaml")]
    assert run(args) == ExitCode.INVALID_INPUT
    assert "liabilities-rejected" in capsys.readouterr().err
    assert _rounds_stored(cli_env) == 0
    assert _leftovers(cli_env) == []


def test_an_interrupted_build_leaves_no_folder_and_no_row(
    runtime: Runtime, contexts: Callable[..., Context], tmp_path: Path
) -> None:
    def interrupt(stage: str, _step: int, _steps: int) -> None:
        if stage == "checking a proof":  # the folder is written, the row not yet stored
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        service.create_round(contexts(), spec(), write_liabilities(tmp_path), progress=interrupt)
    assert _rounds_stored(runtime) == 0
    assert _leftovers(runtime) == []


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        # a round id that could not be a folder name
        ({"id": "../2026-11"}, "id: Value error"),
        # a snapshot without a time zone
        ({"snapshot_at": "2026-11-30T23:59:59"}, "snapshot_at"),
        # an asset code that is not one
        ({"assets": [{"code": "btc", "decimals": 8}]}, "not an asset code"),
        # the same asset twice
        ({"assets": [{"code": "BTC", "decimals": 8}] * 2}, "listed twice"),
        # a field the format does not have
        ({"owner": "treasury"}, "owner: Extra inputs are not permitted"),
    ],
)
def test_a_bad_round_file_is_refused_by_field(fields: dict[str, Any], words: str) -> None:
    data = {"id": "2026-11", "snapshot_at": "2026-11-30T23:59:59Z", **fields}
    data.setdefault("assets", [{"code": "BTC", "decimals": 8}])
    with pytest.raises(rounds.RoundFileInvalid, match=words.replace("(", r"\(")):
        rounds.parse_round_spec(data)


def test_a_capacity_below_the_accounts_is_refused(
    runtime: Runtime, contexts: Callable[..., Context], tmp_path: Path
) -> None:
    with pytest.raises(InvalidInput, match="capacity 10 is below the file's 50 accounts"):
        service.create_round(
            contexts(), spec().model_copy(update={"capacity": 10}), write_liabilities(tmp_path)
        )
    assert _leftovers(runtime) == []


# --- publishing, discarding ---------------------------------------------------------------------


def test_publishing_anchors_the_root_in_the_trail(
    contexts: Callable[..., Context], tmp_path: Path
) -> None:
    # Imported here: at collection time the trail's error classes would join the error tree
    # that tests/platform/test_errors.py checks against docs/api.md, which does not list them.
    from assay.trail import service as trail

    service.create_round(contexts(), spec(), write_liabilities(tmp_path))
    published = service.publish_round(contexts(Role.TREASURY), "2026-11")
    receipt = trail.find_anchor(contexts(Role.VIEWER), service.ANCHOR_KIND, published.root)
    assert receipt.leaf_index == published.anchor_leaf
    leaf = trail.show(contexts(Role.VIEWER), receipt.leaf_index)
    assert leaf.event is not None
    assert leaf.event.after is not None
    assert leaf.event.after["metadata"]["round"] == "2026-11"
    events = record.list_events(contexts(), record.EventFilter(action_prefix="reserves.round"))
    assert [e.action for e in events] == ["reserves.round.publish", "reserves.round.create"]
    assert events[0].before is not None
    assert events[0].after is not None
    assert (events[0].before["status"], events[0].after["status"]) == ("built", "published")


def test_a_published_round_can_be_neither_discarded_nor_rebuilt(
    runtime: Runtime, contexts: Callable[..., Context], tmp_path: Path
) -> None:
    liabilities = write_liabilities(tmp_path)
    service.create_round(contexts(), spec(), liabilities)
    service.publish_round(contexts(), "2026-11")
    with pytest.raises(RoundPublished, match="never discarded"):
        service.discard_round(contexts(), "2026-11")
    with pytest.raises(RoundPublished, match="immutable"):
        service.create_round(contexts(), spec(), liabilities)
    with pytest.raises(RoundPublished, match="already published"):
        service.publish_round(contexts(), "2026-11")
    assert service.get_round(contexts(), "2026-11").status == "published"
    assert _leftovers(runtime) == ["2026-11"]


def test_a_built_round_can_be_discarded_and_built_again(
    cli_env: Runtime, contexts: Callable[..., Context], tmp_path: Path
) -> None:
    liabilities = write_liabilities(tmp_path)
    first = service.create_round(contexts(), spec(), liabilities)
    with pytest.raises(RoundExists, match="discard it first"):
        service.create_round(contexts(), spec(), liabilities)
    assert run(["reserves", "round", "discard", "2026-11"]) == 0
    assert _rounds_stored(cli_env) == 0
    assert _leftovers(cli_env) == []
    again = service.create_round(contexts(), spec(), liabilities)
    assert again.root != first.root  # a fresh secret: fresh salts, a fresh root
    events = record.list_events(contexts(), record.EventFilter(action_prefix="reserves.round"))
    assert [e.action for e in events] == [
        "reserves.round.create",
        "reserves.round.discard",
        "reserves.round.create",
    ]


def test_a_viewer_cannot_create_a_round(
    runtime: Runtime, contexts: Callable[..., Context], tmp_path: Path
) -> None:
    with pytest.raises(PermissionDenied, match=r"reserves\.rounds\.write"):
        service.create_round(contexts(Role.VIEWER), spec(), write_liabilities(tmp_path))
    assert _leftovers(runtime) == []


# --- proofs -------------------------------------------------------------------------------------


def _proof(contexts: Callable[..., Context], round_id: str, account: str) -> dict[str, Any]:
    found = service.customer_proof(contexts(), round_id, account)
    document: dict[str, Any] = json.loads(found.model_dump_json())
    return document


def test_a_proof_for_another_round_is_refused_by_the_verifier(
    contexts: Callable[..., Context], tmp_path: Path
) -> None:
    liabilities = write_liabilities(tmp_path)
    november = service.create_round(contexts(), spec("2026-11"), liabilities)
    december = service.create_round(contexts(), spec("2026-12"), liabilities)
    document = tmp_path / "proof.json"
    document.write_text(json.dumps(_proof(contexts, "2026-11", "acct-001")))
    assert _verify(document, "--root", november.root).returncode == 0
    other_root = _verify(document, "--root", december.root)
    assert other_root.returncode == 1
    assert "published-root-mismatch" in other_root.stdout + other_root.stderr
    other_round = _verify(document, "--round", "2026-12")
    assert other_round.returncode == 1
    assert "round-mismatch" in other_round.stdout + other_round.stderr


@pytest.mark.parametrize(
    ("tamper", "given", "reason"),
    [
        # a sibling's hash changed: the recomputed root is another
        (lambda d: d["path"][0].update(hash="00" * 32), {}, "root-mismatch"),
        # a sibling's sum raised: the recomputed root is another too
        (lambda d: d["path"][1]["equity"].__setitem__(0, "1"), {}, "root-mismatch"),
        # the proof checked with a salt the customer was not shown
        (lambda _: None, {"salt": "11" * 32}, "salt-mismatch"),
        # the proof checked against balances that are not the customer's
        (lambda _: None, {"balances": {"equity": {"BTC": "1000"}}}, "balance-mismatch"),
        # another customer's proof
        (lambda _: None, {"account": "acct-002"}, "account-mismatch"),
    ],
)
def test_a_stored_proof_tampered_or_misapplied_is_refused_with_its_reason(
    contexts: Callable[..., Context],
    tmp_path: Path,
    tamper: Callable[[dict[str, Any]], None],
    given: dict[str, Any],
    reason: str,
) -> None:
    built = service.create_round(contexts(), spec(), write_liabilities(tmp_path))
    document = _proof(contexts, "2026-11", "acct-001")
    tamper(document)
    with pytest.raises(verify_proof.Rejected) as caught:
        verify_proof.check(document, root=built.root, **given)
    assert caught.value.code == reason
    mine = {("account_id" if k == "account" else k): v for k, v in given.items()}
    with pytest.raises(InvalidInput) as ours:
        proof.verify(proof.parse_proof(json.dumps(document)), root=built.root, **mine)
    assert ours.value.details["reason"] == reason


def test_an_account_outside_the_round_has_no_proof(
    contexts: Callable[..., Context], tmp_path: Path
) -> None:
    service.create_round(contexts(), spec(), write_liabilities(tmp_path))
    with pytest.raises(NotFound, match="not in round 2026-11"):
        service.customer_proof(contexts(), "2026-11", "acct-999")


# --- the auditor's recomputation ----------------------------------------------------------------


def _change_a_balance(folder: Path) -> None:
    path = folder / "liabilities.csv"
    path.write_text(path.read_text().replace("\nacct-004,", "\nacct-004,1", 1))


def _change_the_root(folder: Path) -> None:
    manifest = json.loads((folder / "round.json").read_text())
    manifest["root"]["hash"] = "ab" * 32
    (folder / "round.json").write_text(json.dumps(manifest))


def _remove_the_secret(folder: Path) -> None:
    (folder / "secret").unlink()


def _repeat_an_account(folder: Path) -> None:
    path = folder / "liabilities.csv"
    path.write_text(path.read_text() + "acct-001,0,0,0\n")


def _change_a_stored_node(folder: Path) -> None:
    level = np.load(folder / "tree" / "level-05.npy")
    level[0, 0] ^= 1
    np.save(folder / "tree" / "level-05.npy", level)


def _change_a_total(folder: Path) -> None:
    manifest = json.loads((folder / "round.json").read_text())
    manifest["totals"]["BTC"]["equity"] = "21000000"
    (folder / "round.json").write_text(json.dumps(manifest))


@pytest.mark.parametrize(
    ("tampers", "codes"),
    [
        # a balance changed in the liabilities copy: digest, totals, root and stored arrays
        (
            [_change_a_balance],
            {
                "liabilities-digest-mismatch",
                "totals-mismatch",
                "root-mismatch",
                "root-totals-mismatch",
                "stored-tree-mismatch",
            },
        ),
        # round.json's root changed
        ([_change_the_root], {"root-mismatch"}),
        # a total changed in round.json
        ([_change_a_total], {"totals-mismatch"}),
        # the secret removed: nothing can be rebuilt, and the audit says so
        ([_remove_the_secret], {"secret-missing"}),
        # an account appended twice: the duplicate is named by line
        ([_repeat_an_account], {"liabilities-digest-mismatch", "duplicate-account"}),
        # a node of the stored tree changed: proofs served from it would not verify
        ([_change_a_stored_node], {"stored-tree-mismatch"}),
        # several at once: every one is reported, not only the first
        (
            [_change_the_root, _change_a_total, _change_a_stored_node],
            {"root-mismatch", "totals-mismatch", "stored-tree-mismatch"},
        ),
    ],
)
def test_the_audit_reports_every_discrepancy_of_a_tampered_folder(
    *,
    cli_env: Runtime,
    contexts: Callable[..., Context],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    tampers: list[Callable[[Path], None]],
    codes: set[str],
) -> None:
    service.create_round(contexts(), spec(), write_liabilities(tmp_path))
    folder = service.round_folder(cli_env.settings, "2026-11")
    copy = tmp_path / "copy"  # the auditor works on a copy of the folder
    copy.mkdir()
    for item in folder.rglob("*"):
        target = copy / item.relative_to(folder)
        if item.is_dir():
            target.mkdir()
        else:
            target.write_bytes(item.read_bytes())
    for tamper in tampers:
        tamper(copy)
    report = _json(capsys, "reserves", "audit", str(copy), "--json", code=10)
    assert report["ok"] is False
    assert {d["code"] for d in report["discrepancies"]} == codes
    assert all(d["message"] and d["where"] for d in report["discrepancies"])
    assert service.audit_folder(folder).ok  # the stored folder itself is untouched


def test_auditing_a_stored_round_compares_its_row_too(
    runtime: Runtime, contexts: Callable[..., Context], tmp_path: Path
) -> None:
    service.create_round(contexts(), spec(), write_liabilities(tmp_path))
    assert service.audit_round(contexts(Role.AUDITOR), "2026-11").ok
    _change_the_root(service.round_folder(runtime.settings, "2026-11"))
    report = service.audit_round(contexts(Role.AUDITOR), "2026-11")
    assert {d.code for d in report.discrepancies} == {"root-mismatch", "database-mismatch"}
    with pytest.raises(PermissionDenied, match=r"reserves\.audit"):
        service.audit_round(contexts(Role.VIEWER), "2026-11")
