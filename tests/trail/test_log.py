"""The durable log: every recorded change is a leaf, proofs verify, checkpoints sign the truth.

Runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import itertools
import threading

import pytest
from sqlalchemy import func, select, text

from assay.errors import InvalidInput, NotFound, PermissionDenied
from assay.platform.record import Change
from assay.platform.roles import Principal, Role
from assay.platform.runtime import Runtime
from assay.platform.tables import AuditEvent
from assay.trail import appender, rfc9162, service, store, tiles
from assay.trail.checkpoint import open_checkpoint
from assay.trail.errors import TrailTampered
from tests.conftest import T0
from tests.trail.conftest import add_changes


def _entries(runtime: Runtime) -> list[bytes]:
    with runtime.db.uow() as uow:
        return [leaf.entry for leaf in store.leaves(uow.session, 0, 10**9)]


def test_every_recorded_change_is_a_leaf_and_the_head_is_their_merkle_root(
    runtime: Runtime,
) -> None:
    add_changes(runtime, 20)
    entries = _entries(runtime)
    with runtime.db.uow() as uow:
        events = uow.session.scalar(select(func.count()).select_from(AuditEvent))
        head = store.head(uow.session)
    assert len(entries) == events == head.size  # the seeded users' events are there too
    assert head.root == rfc9162.root(entries)


def test_inclusion_proofs_verify_for_every_leaf_and_size(runtime: Runtime, ctx) -> None:
    add_changes(runtime, 9)
    entries = _entries(runtime)
    for size in range(1, len(entries) + 1):
        root = rfc9162.root(entries[:size])
        for index in range(size):
            bundle = service.inclusion(ctx, index, size)
            proof = [bytes.fromhex(h) for h in bundle.proof]
            assert bundle.root == root.hex()
            assert bundle.entry.encode() == entries[index]
            assert rfc9162.verify_inclusion(
                rfc9162.leaf_hash(entries[index]), index, size, proof, root
            )


def test_consistency_proofs_verify_for_every_pair_of_sizes(runtime: Runtime, ctx) -> None:
    add_changes(runtime, 7)
    entries = _entries(runtime)
    for new in range(1, len(entries) + 1):
        for old in range(1, new + 1):
            bundle = service.consistency(ctx, old, new)
            assert bundle.proof == [h.hex() for h in rfc9162.consistency_proof(entries[:new], old)]
            assert rfc9162.verify_consistency(
                old,
                new,
                bytes.fromhex(bundle.old_root),
                bytes.fromhex(bundle.new_root),
                [bytes.fromhex(h) for h in bundle.proof],
            )


@pytest.mark.parametrize(
    ("index", "size", "message"),
    [
        (12, None, r"leaf index 12 is outside 0\.\.11 for a tree of 12 entries"),  # past the end
        (-1, None, r"outside 0\.\.11"),  # negative
        (0, 99, r"tree size 99 is outside 1\.\.12"),  # a tree bigger than the log
    ],
)
def test_proofs_beyond_the_tree_name_the_valid_range(
    ctx,
    index: int,
    size: int | None,
    message: str,
) -> None:
    with pytest.raises(InvalidInput, match=message) as caught:
        service.inclusion(ctx, index, size)
    assert caught.value.details["valid_range"][0] in (0, 1)


def test_checkpoints_are_signed_every_n_entries(runtime: Runtime, ctx) -> None:
    runtime.settings.trail_checkpoint_every = 5
    add_changes(runtime, 11)
    sizes = [c.size for c in reversed(service.list_checkpoints(ctx))]
    assert sizes
    assert all(b - a >= 5 for a, b in itertools.pairwise(sizes))
    latest = service.status(ctx).latest_checkpoint
    assert latest is not None
    keys = service.keystore(runtime.settings).verifiers()
    signed = open_checkpoint(latest.note, keys, origin=runtime.settings.trail_origin)
    assert signed.root == rfc9162.root(_entries(runtime)[: signed.size])


def test_a_checkpoint_on_demand_covers_the_whole_log(runtime: Runtime, ctx) -> None:
    add_changes(runtime, 3)
    signed = service.sign_now(ctx)
    assert signed.size == len(_entries(runtime))
    assert service.sign_now(ctx).id == signed.id  # nothing new: the same checkpoint


def test_a_viewer_cannot_sign_or_anchor(runtime: Runtime) -> None:
    with runtime.db.uow() as uow:
        viewer = runtime.context(uow, Principal("v@test.example", Role.VIEWER, 6))
        with pytest.raises(PermissionDenied, match=r"trail\.checkpoint"):
            service.sign_now(viewer)
        with pytest.raises(PermissionDenied, match=r"trail\.anchor"):
            service.anchor(viewer, "reserves.root", b"\x01" * 32)


def test_the_clean_log_verifies(runtime: Runtime, ctx) -> None:
    add_changes(runtime, 30)
    service.sign_now(ctx)
    report = service.verify(ctx)
    assert report.ok, report.problems
    assert report.leaves_checked == report.size
    assert report.checkpoints_checked == 1


TAMPERING = [
    # (what is changed, SQL, the leaf verify must name, or None when the damage is log-wide)
    ("an event's state", "UPDATE audit_events SET after = '{\"n\": 99}' WHERE id = 15", 14),
    ("an event's actor", "UPDATE audit_events SET actor = 'cli:mallory' WHERE id = 16", 15),
    ("an entry", "UPDATE trail_leaves SET entry = entry || ' ' WHERE leaf_index = 16", 16),
    ("a leaf's event", "UPDATE trail_leaves SET event_id = event_id WHERE leaf_index = 3", None),
    ("a stored hash", None, 0),
    ("the head", "UPDATE trail_state SET size = size - 1", None),
    ("a checkpoint", "UPDATE trail_checkpoints SET note = replace(note, '\n20\n', '\n19\n')", None),
]


def _tamper_tile(runtime: Runtime, node: tuple[int, int] = (0, 0)) -> None:
    """Flip a bit of the stored hash of tree node (level, index)."""
    level, index = node
    with runtime.db.uow() as uow:
        row = uow.session.scalars(select(store.TrailTile).where(store.TrailTile.level == 0)).one()
        offset = (tiles.row_offsets(row.width)[level] + index) * tiles.HASH_SIZE
        row.data = row.data[:offset] + bytes([row.data[offset] ^ 1]) + row.data[offset + 1 :]
        uow.commit()


@pytest.mark.parametrize(("what", "sql", "leaf"), TAMPERING, ids=[t[0] for t in TAMPERING])
def test_verify_catches_every_kind_of_change(
    runtime: Runtime,
    ctx,
    what: str,
    sql: str | None,
    leaf: int | None,
) -> None:
    add_changes(runtime, 8)
    signed = service.sign_now(ctx)
    assert signed.size == 20
    if sql is None:
        _tamper_tile(runtime)
    else:
        if runtime.db.backend == "postgresql":
            sql = sql.replace("entry || ' '", "entry || '\\x20'::bytea").replace(
                "'{\"n\": 99}'", "'{\"n\": 99}'::json"
            )
        with runtime.db.engine.begin() as connection:
            connection.execute(text(sql))
    report = service.verify(ctx)
    if what == "a leaf's event":  # a no-op update: nothing changed, nothing reported
        assert report.ok
        return
    assert not report.ok, what
    if leaf is not None:
        assert report.first_bad_leaf == leaf


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        ("tile", "the stored tiles give root"),  # the stored hash of leaves 0..15 changed
        ("checkpoint", "but checkpoint 1 signed"),  # the checkpoint's root no longer matches
    ],
)
def test_appending_to_a_log_that_no_longer_matches_its_checkpoint_is_refused(
    runtime: Runtime,
    ctx,
    damage: str,
    message: str,
) -> None:
    add_changes(runtime, 4)
    assert service.sign_now(ctx).size == 16
    add_changes(runtime, 2)
    if damage == "tile":
        _tamper_tile(runtime, node=(4, 0))
    else:
        with runtime.db.uow() as uow:
            row = uow.session.scalars(select(store.TrailCheckpoint)).one()
            row.root = bytes(32)
            uow.commit()
    with runtime.db.uow() as uow:
        before = uow.session.scalar(select(func.count()).select_from(AuditEvent))
    with pytest.raises(TrailTampered, match=message):
        add_changes(runtime, 1)
    with runtime.db.uow() as uow:  # the refused change left nothing behind
        assert uow.session.scalar(select(func.count()).select_from(AuditEvent)) == before


def test_an_anchor_is_proven_against_a_signed_checkpoint(runtime: Runtime, ctx) -> None:
    digest = bytes.fromhex("ab" * 32)
    receipt = service.anchor(ctx, "reserves.root", digest, {"round": "2026-03"})
    ctx.commit()
    assert receipt.leaf_index == len(_entries(runtime)) - 1
    bundle = service.anchor_proof(ctx, "reserves.root", digest.hex())
    assert bundle.leaf_index == receipt.leaf_index
    assert bundle.checkpoint is not None
    assert '"action":"trail.anchor"' in bundle.entry
    with pytest.raises(NotFound, match=r"no reserves\.root anchor"):
        service.find_anchor(ctx, "reserves.root", "cd" * 32)


@pytest.mark.parametrize(
    ("kind", "digest", "message"),
    [
        ("reserves root", b"\x00" * 32, "anchor kind"),  # a space in the kind
        ("reserves.root", b"\x00" * 20, "20 bytes"),  # a SHA-1 sized digest
    ],
)
def test_bad_anchors_are_refused(ctx, kind: str, digest: bytes, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        service.anchor(ctx, kind, digest)


def test_rotating_the_key_keeps_old_checkpoints_verifiable(runtime: Runtime, ctx) -> None:
    service.sign_now(ctx)
    old_keys = service.verifier_keys(runtime.settings)
    new_key = service.rotate_key(ctx)
    assert service.verifier_keys(runtime.settings) == [*old_keys, new_key]
    report = service.verify(ctx)
    assert report.ok, report.problems
    assert report.checkpoints_checked == 2
    latest = service.status(ctx).latest_checkpoint
    assert latest is not None
    assert latest.key_id == new_key.split("+")[1]


def test_group_commit_gives_concurrent_writers_distinct_contiguous_leaves(runtime: Runtime) -> None:
    start = len(_entries(runtime))
    results: list[int] = []
    lock = threading.Lock()

    def writer(number: int) -> None:
        for i in range(25):
            index = appender.appender(runtime).append(
                Change(
                    at=T0,
                    actor=f"writer:{number}",
                    action="bench.write",
                    object_type="item",
                    object_id=f"{number}-{i}",
                    before=None,
                    after=None,
                )
            )
            with lock:
                results.append(index)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    appender.close(runtime)
    assert sorted(results) == list(range(start, start + 200))
    with runtime.db.uow() as uow:
        ctx = runtime.context(uow, Principal("op", Role.ADMIN, via="cli"))
        assert service.verify(ctx).ok
