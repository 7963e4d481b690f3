"""The proof check page in Chromium: its verdict is verify_proof.py's, and the file never leaves.

Proofs are built with Assay's own tree and proof code and written to files. The page checks each
file the customer's way (choose it, or drop it) and ``verify_proof.py`` checks the same file the
way the page tells the customer to run it; the two must give the same verdict, reason code and
message. ``AssayVerify.verifyProof`` (what the page runs) is also held to ``verify_proof.check``
on every alteration the proof tests make, on every one-byte change of a proof, and on every proof
of a few random rounds, with the browser's SHA-256 and with the script's own.
"""

from __future__ import annotations

import copy
import hashlib
import json
import random
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, Route, expect

from assay.reserves import proof, verify_proof
from assay.reserves.layout import Asset, Round
from tests.pages.conftest import sign_in
from tests.reserves.test_proof import CASES_REJECTED, _other_hex, _plus_one, _set
from tests.reserves.test_sumtree import ACCOUNTS, CASES, _build
from tests.samples import OKX

pytestmark = pytest.mark.browser

SCRIPT = Path(verify_proof.__file__)
URL = "/reserves/verify"
KNOWN_FIELDS = {"root": "Published root hash", "salt": "Your salt"}
VERIFY = "([input, known, digest]) => AssayVerify.verifyProof(input, known || {}, {digest})"
# What the page's verifyProof gives, reduced to what verify_proof.py prints.
OUTCOMES = """async ([texts, digest]) => {
  const out = [];
  for (const text of texts) {
    const r = await AssayVerify.verifyProof(text, {}, {digest});
    out.push(r.ok ? ["verified", r.summary] : [r.problems[0].code, r.problems[0].message]);
  }
  return out;
}"""


def _tree() -> Any:
    return _build(*CASES["round-4-accounts-padded"], ACCOUNTS)


def _document(account: str = "bob") -> dict[str, Any]:
    built: dict[str, Any] = json.loads(proof.build_proof(_tree(), account).model_dump_json())
    return built


def _script(path: Path, *args: str) -> tuple[str, str]:
    """What verify_proof.py, run as the page says, prints first: (code or "verified", message)."""
    done = subprocess.run(
        [sys.executable, "-I", str(SCRIPT), str(path), *args],
        capture_output=True,
        text=True,
        check=False,
    )
    first = done.stdout.splitlines()[0]
    if first.startswith("verified: "):
        assert done.returncode == 0
        return "verified", first.removeprefix("verified: ")
    assert done.returncode == 1, done.stderr
    code, message = first.removeprefix("NOT VERIFIED (").split("): ", 1)
    return code, message


def _script_check(document: Any, given: dict[str, Any] | None = None) -> list[str | None]:
    """verify_proof.check's outcome as [code or "verified", message or summary]."""
    try:
        return ["verified", verify_proof.check(document, **(given or {}))]
    except verify_proof.Rejected as exc:
        return [exc.code, exc.message]


def _open(page: Page) -> list[str]:
    """Open the page; from then on, every request it makes is listed in what this returns."""
    page.goto(URL)
    expect(page.get_by_role("heading", name="Check your proof of reserves")).to_be_visible()
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    return requests


def _choose(page: Page, path: Path, **known: str) -> None:
    """Enter what the customer knows, choose the file, wait for the verdict."""
    if known:
        page.get_by_text("Compare with what you know").click()
    for key, value in known.items():
        page.get_by_label(KNOWN_FIELDS[key]).fill(value)
    page.get_by_label("Proof file").set_input_files(path)
    expect(page.locator("#verdict-heading")).to_be_visible()


def _shown_problem(page: Page) -> tuple[str, str]:
    item = page.locator("#verdict-problems li")
    expect(item).to_have_count(1)
    return (
        item.locator(".problem-code").text_content() or "",
        item.locator(".problem-message").text_content() or "",
    )


def _write(tmp_path: Path, name: str, document: Any) -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(document, indent=2), encoding="utf-8")
    return path


def test_a_valid_proof_shows_proof_valid_with_the_account_s_balances(page: Page, tmp_path) -> None:
    document = _document("bob")
    path = _write(tmp_path, "bob.json", document)
    requests = _open(page)
    _choose(page, path)
    verdict = page.get_by_role("status")
    expect(verdict.get_by_role("heading", level=2)).to_have_text("Proof valid")
    assert _script(path)[0] == "verified"
    expect(verdict.locator("#verdict-round")).to_have_text(document["round"]["id"])
    expect(verdict.locator("#verdict-root")).to_have_text(document["root"]["hash"])
    expect(verdict).to_contain_text("leaf 0 of 6")
    expect(verdict).to_contain_text("3 levels above the leaves; 3 siblings on your path")
    mine = verdict.locator("#verdict-balances")
    for code in ("BTC", "USDT"):
        row = mine.locator(f'tr[data-asset="{code}"] td')
        expect(row.nth(0)).to_have_text(document["account"]["equity"][code])
        expect(row.nth(1)).to_have_text(document["account"]["debt"][code])
    expect(mine.locator('tr[data-asset="USDT"] td').nth(1)).to_have_text("250")
    expect(verdict).to_contain_text("comes from the proof itself")
    assert requests == []


def _okx(tmp_path: Path) -> Path:
    return OKX / "merkle_proof_file.json"


def _not_json(tmp_path: Path) -> Path:
    path = tmp_path / "garbage.json"
    path.write_text('{"format": "assay-por-proof/1", ', encoding="utf-8")
    return path


def _altered(change: Callable[[dict[str, Any]], None]) -> Callable[[Path], Path]:
    def write(tmp_path: Path) -> Path:
        document = _document()
        change(document)
        return _write(tmp_path, "proof.json", document)

    return write


def _as_is(tmp_path: Path) -> Path:
    return _write(tmp_path, "proof.json", _document())


NOT_VALID = "Proof not valid"
NOT_ASSAY = "Not an Assay proof"
BAD_FILES = [
    # a sibling's hash was tampered with
    pytest.param(_altered(_set("path.1.hash", _other_hex)), {}, NOT_VALID, id="sibling-hash"),
    # the salt in the file is not the one the leaf was made with
    pytest.param(_altered(_set("account.salt", _other_hex)), {}, NOT_VALID, id="salt-in-file"),
    # the customer enters a salt other than the file's
    pytest.param(_as_is, {"salt": "00" * 32}, NOT_VALID, id="salt-entered"),
    # a negative sibling sum
    pytest.param(_altered(_set("path.0.equity.0", "-5")), {}, NOT_VALID, id="negative-sum"),
    # a sibling sum beyond BTC's 8 bytes
    pytest.param(_altered(_set("path.0.equity.0", str(2**64))), {}, NOT_VALID, id="overflow"),
    # a sibling sum that fits, but not once added to the leaf's
    pytest.param(
        _altered(_set("path.0.equity.0", str(2**64 - 1))), {}, NOT_VALID, id="sum-overflow"
    ),
    # the root stated in the proof is not the one its path leads to
    pytest.param(_altered(_set("root.hash", _other_hex)), {}, NOT_VALID, id="root-stated"),
    # the root's totals were changed, not its hash
    pytest.param(_altered(_set("root.equity.0", _plus_one)), {}, NOT_VALID, id="root-totals"),
    # the published root the customer enters is another
    pytest.param(_as_is, {"root": "ab" * 32}, NOT_VALID, id="published-root"),
    # debt in BTC, which allows none
    pytest.param(_altered(_set("account.debt.BTC", "1")), {}, NOT_VALID, id="debt"),
    # a file that is not JSON
    pytest.param(_not_json, {}, NOT_ASSAY, id="not-json"),
    # an OKX proof of liabilities (v1), OKX's own sample
    pytest.param(_okx, {}, NOT_ASSAY, id="okx-v1"),
]


@pytest.mark.parametrize(("write", "known", "heading"), BAD_FILES)
def test_a_bad_file_shows_the_reason_verify_proof_py_gives(
    page: Page, tmp_path: Path, write, known: dict[str, str], heading: str
) -> None:
    path = write(tmp_path)
    code, message = _script(path, *[a for k, v in known.items() for a in (f"--{k}", v)])
    assert code != "verified"
    requests = _open(page)
    _choose(page, path, **known)
    expect(page.get_by_role("status").get_by_role("heading", level=2)).to_have_text(heading)
    shown_code, shown_message = _shown_problem(page)
    assert shown_code == code
    if message.startswith("cannot read"):  # Python's own JSON error, which the page words itself
        expect(page.locator("#verdict-foreign")).to_contain_text("not JSON")
    else:
        assert shown_message == message
    if path.parent == OKX:
        expect(page.locator("#verdict-foreign")).to_contain_text("OKX proof of liabilities")
    assert requests == []


def test_a_dropped_file_is_checked_like_a_chosen_one(page: Page) -> None:
    requests = _open(page)
    transfer = page.evaluate_handle(
        """([name, text]) => {
          const transfer = new DataTransfer();
          transfer.items.add(new File([text], name, {type: "application/json"}));
          return transfer;
        }""",
        ["bob.json", json.dumps(_document("bob"))],
    )
    page.locator("#drop-zone").dispatch_event("drop", {"dataTransfer": transfer})
    expect(page.locator("#verdict-heading")).to_have_text("Proof valid")
    expect(page.locator("#verdict-file")).to_have_text("bob.json")
    assert requests == []


def test_entering_the_published_root_checks_the_file_again(page: Page, tmp_path: Path) -> None:
    document = _document("carol")
    path = _write(tmp_path, "carol.json", document)
    _open(page)
    _choose(page, path)
    expect(page.locator("#verdict-heading")).to_have_text("Proof valid")
    page.get_by_text("Compare with what you know").click()
    page.get_by_label("Published root hash").fill("cd" * 32)
    page.get_by_label("Published root hash").press("Tab")
    expect(page.locator("#verdict-heading")).to_have_text("Proof not valid")
    assert _shown_problem(page)[0] == _script(path, "--root", "cd" * 32)[0]
    page.get_by_label("Published root hash").fill(document["root"]["hash"].upper())
    page.get_by_label("Published root hash").press("Tab")
    expect(page.locator("#verdict-heading")).to_have_text("Proof valid")
    expect(page.get_by_role("status")).to_contain_text("the published root you entered")


@pytest.mark.parametrize(("reason", "change", "given"), CASES_REJECTED)
def test_each_alteration_gets_the_script_s_reason_and_message(
    page: Page, reason: str, change, given: dict[str, Any]
) -> None:
    document = _document("carol")
    if change is not None:
        change(document)
    expected = _script_check(copy.deepcopy(document), given)
    assert expected[0] == reason
    _open(page)
    for digest in ("auto", "js"):
        result = page.evaluate(VERIFY, [json.dumps(document), given, digest])
        assert [result["problems"][0]["code"], result["problems"][0]["message"]] == expected


def _flips(text: str, mask: int) -> list[str]:
    return [text[:i] + chr(ord(text[i]) ^ mask) + text[i + 1 :] for i in range(len(text))]


@pytest.mark.parametrize("mask", [0x01, 0x20])
def test_every_one_byte_change_gets_the_script_s_reason_and_message(page: Page, mask: int) -> None:
    texts = _flips(json.dumps(_document("carol"), separators=(",", ":")), mask)
    _open(page)
    shown = page.evaluate(OUTCOMES, [texts, "auto"])
    for text, (code, message) in zip(texts, shown, strict=True):
        try:
            document = json.loads(text)
        except ValueError:  # not JSON to Python either: the code only, the words are its own
            assert code == "malformed-proof", text
            continue
        assert [code, message] == _script_check(document), text


ASSETS = (Asset("BTC", 8, 8), Asset("ETH", 18, 16, debt_allowed=True), Asset("USDT", 6, 16, True))
IDS = ["alice", "bob b", "zoë", "💰-7", "ACC/0001", "x" * 128, "ünï", "carol", "d", "e", "f", "g"]


def _random_rounds() -> list[dict[str, Any]]:
    """Every proof of rounds of 1 to 13 leaves (carried nodes, padding), with random balances."""
    rng = random.Random(20261125)  # noqa: S311 - test data, not secrets
    documents = []
    for capacity in (1, 2, 3, 5, 7, 8, 13):
        accounts = []
        for account in rng.sample(IDS, rng.randint(1, min(capacity, len(IDS)))):
            equity = [rng.choice([0, rng.randrange(2**50)]) for _ in ASSETS]
            debt = [0] + [rng.choice([0, rng.randrange(2**50)]) for _ in ASSETS[1:]]
            accounts.append((account, equity, debt))
        rnd = Round(f"random/{capacity}", ASSETS, capacity)
        tree = _build(rnd, bytes(range(capacity, capacity + 32)), accounts)
        for account, _, _ in accounts:
            documents.append(json.loads(proof.build_proof(tree, account).model_dump_json()))
    return documents


@pytest.mark.parametrize("digest", ["auto", "js"])
def test_every_proof_of_random_rounds_verifies_with_the_script_s_summary(
    page: Page, digest: str
) -> None:
    documents = _random_rounds()
    _open(page)
    shown = page.evaluate(OUTCOMES, [[json.dumps(d) for d in documents], digest])
    assert shown == [_script_check(d) for d in documents]


def test_the_own_sha256_matches_hashlib(page: Page) -> None:
    rng = random.Random(256)  # noqa: S311 - test data, not secrets
    messages = [bytes(rng.randrange(256) for _ in range(n)) for n in range(300)]
    messages += [b"abc", b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"]
    _open(page)
    hexes = page.evaluate(
        """(messages) => messages.map((m) => Array.from(
          AssayVerify._sha256js(Uint8Array.from(m)), (b) => b.toString(16).padStart(2, "0")
        ).join(""))""",
        [list(m) for m in messages],
    )
    assert hexes == [hashlib.sha256(m).hexdigest() for m in messages]
    million = page.evaluate(
        """() => Array.from(AssayVerify._sha256js(new Uint8Array(1000000).fill(97)),
          (b) => b.toString(16).padStart(2, "0")).join("")"""
    )
    assert million == hashlib.sha256(b"a" * 1_000_000).hexdigest()
    # 127.0.0.1 is a secure context: the page itself uses the browser's SHA-256
    result = page.evaluate(VERIFY, [json.dumps(_document()), None, "auto"])
    assert (result["ok"], result["digest"]) == (True, "web-crypto")


def test_a_page_that_is_not_a_secure_context_checks_with_its_own_sha256(
    page: Page, server: str, tmp_path: Path
) -> None:
    # The same server under a name that is not loopback: plain http there is not a secure
    # context, so the browser offers no Web Crypto.
    insecure = "http://verify.test"

    def forward(route: Route) -> None:
        route.fulfill(response=route.fetch(url=route.request.url.replace(insecure, server)))

    page.route(f"{insecure}/**", forward)
    page.goto(insecure + URL)
    assert page.evaluate("[isSecureContext, Boolean(crypto.subtle)]") == [False, False]
    document = _document()
    good = _write(tmp_path, "good.json", document)
    _set("path.0.hash", _other_hex)(document)
    bad = _write(tmp_path, "bad.json", document)
    for path in (good, bad):
        code, message = _script(path)
        page.get_by_label("Proof file").set_input_files(path)
        expect(page.locator("#verdict-file")).to_have_text(path.name)
        if code == "verified":
            expect(page.locator("#verdict-heading")).to_have_text("Proof valid")
        else:
            assert _shown_problem(page) == (code, message)
    result = page.evaluate(VERIFY, [good.read_text(), None, "auto"])
    assert (result["ok"], result["digest"]) == (True, "own")


def _serve_page_naming(page: Page, url: str) -> None:
    """The page as a route that names a proof would render it (``#proof-source``)."""

    def with_source(route: Route) -> None:
        response = route.fetch()
        source = f'<div id="proof-source" data-url="{url}" hidden></div>'
        html = response.text().replace('<div class="verify">', '<div class="verify">' + source, 1)
        route.fulfill(response=response, body=html)

    page.route(f"**{URL}", with_source)


def test_a_proof_the_page_names_on_our_server_is_fetched_and_checked(page: Page) -> None:
    asked: list[dict[str, str]] = []

    def serve(route: Route) -> None:
        asked.append({"method": route.request.method, **route.request.all_headers()})
        route.fulfill(status=200, content_type="application/json", body=json.dumps(_document()))

    sign_in(page, "viewer@kestrel.example")  # a customer's own proof needs their session
    _serve_page_naming(page, "/reserves/proofs/mine.json")
    page.route("**/reserves/proofs/mine.json", serve)
    page.goto(URL)
    expect(page.locator("#verdict-heading")).to_have_text("Proof valid")
    expect(page.locator("#verdict-file")).to_have_text("mine.json")
    assert [a["method"] for a in asked] == ["GET"]
    assert "assay_session" in asked[0].get("cookie", ""), asked[0]


def test_a_proof_named_on_another_site_is_not_fetched(page: Page) -> None:
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    _serve_page_naming(page, "https://elsewhere.example/proof.json")
    page.goto(URL)
    expect(page.get_by_role("status")).to_contain_text("not on this site")
    assert not [u for u in requests if "elsewhere" in u]
