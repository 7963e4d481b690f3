"""The trail over HTTP: status, proofs, verification, anchors, appended events, C2SP tiles."""

from __future__ import annotations

import hashlib

from fastapi import FastAPI
from fastapi.testclient import TestClient

from assay.platform.roles import Role
from assay.trail import rfc9162, tiles
from tests.conftest import Seed, bearer
from tests.platform.helpers import page_csrf, sign_in


def _sign(client: TestClient, seed: Seed) -> dict[str, object]:
    response = client.post("/api/v1/trail/checkpoints", headers=bearer(seed, Role.SECURITY))
    assert response.status_code == 201
    body: dict[str, object] = response.json()
    return body


def test_status_checkpoint_and_proofs(client: TestClient, seed: Seed) -> None:
    signed = _sign(client, seed)
    status = client.get("/api/v1/trail/status", headers=bearer(seed, Role.VIEWER)).json()
    assert status["size"] == signed["size"] == 12  # the seeded users and tokens
    assert status["latest_checkpoint"]["note"] == signed["note"]
    proof = client.get(
        "/api/v1/trail/proofs/inclusion", params={"index": 4}, headers=bearer(seed, Role.VIEWER)
    ).json()
    assert proof["format"] == "assay-trail-inclusion/1"
    assert proof["checkpoint"] == signed["note"]
    assert rfc9162.verify_inclusion(
        rfc9162.leaf_hash(proof["entry"].encode()),
        4,
        12,
        [bytes.fromhex(h) for h in proof["proof"]],
        bytes.fromhex(proof["root"]),
    )
    consistency = client.get(
        "/api/v1/trail/proofs/consistency",
        params={"old": 5, "new": 12},
        headers=bearer(seed, Role.AUDITOR),
    ).json()
    assert consistency["new_checkpoint"] == signed["note"]


def test_a_proof_past_the_end_is_a_4xx_with_the_valid_range(client: TestClient, seed: Seed) -> None:
    response = client.get(
        "/api/v1/trail/proofs/inclusion", params={"index": 500}, headers=bearer(seed, Role.VIEWER)
    )
    assert response.status_code == 422
    body = response.json()
    assert body["valid_range"] == [0, 11]
    assert "leaf index 500 is outside 0..11" in body["detail"]
    missing = client.get("/api/v1/trail/leaves/500", headers=bearer(seed, Role.VIEWER))
    assert (missing.status_code, missing.json()["valid_range"]) == (404, [0, 11])


def test_verify_reports_ok_for_a_clean_log(client: TestClient, seed: Seed) -> None:
    _sign(client, seed)
    report = client.post("/api/v1/trail/verify", headers=bearer(seed, Role.AUDITOR)).json()
    assert report["ok"] is True
    assert report["leaves_checked"] == 12


def test_anchors_commit_a_digest_and_prove_it(client: TestClient, seed: Seed) -> None:
    digest = hashlib.sha256(b"reserves round 2026-03").hexdigest()
    created = client.post(
        "/api/v1/trail/anchors",
        headers=bearer(seed, Role.TREASURY),
        json={"kind": "reserves.root", "digest": digest, "metadata": {"round": "2026-03"}},
    )
    assert created.status_code == 201
    proof = client.get(
        f"/api/v1/trail/anchors/reserves.root/{digest}", headers=bearer(seed, Role.VIEWER)
    ).json()
    assert proof["leaf_index"] == created.json()["leaf_index"]
    assert proof["checkpoint"] is not None
    bad = client.post(
        "/api/v1/trail/anchors",
        headers=bearer(seed, Role.TREASURY),
        json={"kind": "reserves.root", "digest": "xyz"},
    )
    assert (bad.status_code, bad.json()["errors"][0]["field"]) == (422, "digest")


def test_other_systems_append_events(client: TestClient, seed: Seed) -> None:
    response = client.post(
        "/api/v1/trail/events",
        headers=bearer(seed, Role.COMPLIANCE),
        json=[
            {
                "action": "onboarding.kyc.approve",
                "object_type": "customer",
                "object_id": "C-1",
                "after": {"level": "full"},
            },
            {"action": "onboarding.kyc.approve", "object_type": "customer", "object_id": "C-2"},
        ],
    )
    assert response.status_code == 201
    assert response.json()["leaf_indexes"] == [12, 13]
    leaf = client.get("/api/v1/trail/leaves/13", headers=bearer(seed, Role.VIEWER)).json()
    assert leaf["entry"]["actor"] == f"token:{Seed.email(Role.COMPLIANCE)}"
    empty = client.post("/api/v1/trail/events", headers=bearer(seed, Role.COMPLIANCE), json=[])
    assert empty.status_code == 422


def test_tiles_and_entry_bundles_follow_c2sp(client: TestClient, seed: Seed) -> None:
    signed = _sign(client, seed)
    checkpoint = client.get("/trail/checkpoint", headers=bearer(seed, Role.VIEWER))
    assert checkpoint.text == signed["note"]
    assert checkpoint.headers["content-type"].startswith("text/plain")
    tile = client.get("/trail/tile/0/000.p/12", headers=bearer(seed, Role.VIEWER))
    bundle = client.get("/trail/tile/entries/000.p/12", headers=bearer(seed, Role.VIEWER))
    entries, data = [], bundle.content
    while data:
        size = int.from_bytes(data[:2], "big")
        entries.append(data[2 : 2 + size])
        data = data[2 + size :]
    assert len(entries) == 12
    assert tile.content == b"".join(rfc9162.leaf_hash(e) for e in entries)
    assert tile.headers["cache-control"] == "no-store"  # partial tiles still grow
    assert len(tile.content) == 12 * tiles.HASH_SIZE


def test_tile_requests_beyond_the_log_or_malformed_are_refused(
    client: TestClient, seed: Seed
) -> None:
    full = client.get("/trail/tile/0/000", headers=bearer(seed, Role.VIEWER))
    assert (full.status_code, full.json()["code"]) == (404, "not-found")
    bad = client.get("/trail/tile/0/12", headers=bearer(seed, Role.VIEWER))
    assert (bad.status_code, bad.json()["field"]) == (422, "path")
    anonymous = client.get("/trail/checkpoint")
    assert (anonymous.status_code, anonymous.json()["code"]) == (401, "authentication-required")


def test_only_admins_rotate_the_key(client: TestClient, seed: Seed) -> None:
    before = client.get("/api/v1/trail/keys", headers=bearer(seed, Role.VIEWER)).json()
    denied = client.post("/api/v1/trail/keys/rotate", headers=bearer(seed, Role.SECURITY))
    assert denied.status_code == 403
    after = client.post("/api/v1/trail/keys/rotate", headers=bearer(seed, Role.ADMIN)).json()
    assert after[: len(before)] == before
    assert len(after) == len(before) + 1


def test_the_pages_show_the_timeline_an_entry_and_verification(app: FastAPI) -> None:
    browser = TestClient(app)
    sign_in(browser, Role.SECURITY)
    timeline = browser.get("/trail", params={"capability": "platform"})
    assert "platform.user.add" in timeline.text
    assert 'href="/trail/entries/0"' in timeline.text
    signed = browser.post("/trail/checkpoints", data={"csrf_token": page_csrf(browser, "/trail")})
    assert "covers 13 entries" in signed.text  # the sign-in itself is the 13th
    entry = browser.get("/trail/entries/0")
    assert "Inclusion proof" in entry.text
    assert "— assay.local/trail" in entry.text
    download = browser.get("/trail/entries/0/proof.json")
    assert download.json()["format"] == "assay-trail-inclusion/1"
    verified = browser.post("/trail/verify", data={"csrf_token": page_csrf(browser, "/trail")})
    assert "Verified." in verified.text
    unknown = browser.get("/trail", params={"capability": "nope"})
    assert unknown.status_code == 422
    assert "use one of: access, platform, reserves, trail" in unknown.text
