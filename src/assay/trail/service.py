"""The trail's use cases: status, checkpoints, proofs, entries, tiles, anchors, keys.

Routes, pages and commands call these; each checks its permission. Reads are open to every
signed-in role. The signing key lives in files (``ASSAY_TRAIL_KEY_DIR``), never in the database.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from assay.errors import InvalidInput, NotFound
from assay.platform.clock import Clock
from assay.platform.context import Context, RecordHook
from assay.platform.record import Change, ObjectRef, RecordedEvent, record
from assay.platform.schemas import event_public
from assay.platform.tables import AuditEvent
from assay.settings import Settings
from assay.trail import log, permissions, store, tiles, tlog
from assay.trail.checkpoint import Checkpoint, sign_checkpoint
from assay.trail.entry import entry_parts
from assay.trail.errors import TrailTampered
from assay.trail.keys import FileKeyStore
from assay.trail.rfc9162 import leaf_hash
from assay.trail.schemas import (
    AnchorReceipt,
    CheckpointPublic,
    ConsistencyBundle,
    InclusionBundle,
    LeafPublic,
    TrailStatus,
    VerifyReport,
)
from assay.trail.store import TileCache, TrailCheckpoint, TrailLeaf
from assay.trail.verify import verify_log

ANCHOR_ACTION = "trail.anchor"
_CACHES: dict[str, TileCache] = {}


@functools.cache
def _keys(directory: Path, origin: str) -> FileKeyStore:
    return FileKeyStore(directory, origin)


def keystore(settings: Settings) -> FileKeyStore:
    """The key store of this installation (the key is created on first use)."""
    return _keys(settings.effective_trail_key_dir.resolve(), settings.trail_origin)


def tile_cache(settings: Settings) -> TileCache:
    """This process's tile cache for the installation's database."""
    return _CACHES.setdefault(settings.effective_database_url, TileCache())


class AppendToTrail:
    """The hook the platform calls with every batch of recorded events: append, maybe sign.

    A preparing hook (``record.PreparingHook``): the group commit has the entries' bytes built
    before it takes the write lock.
    """

    def prepare(self, changes: Sequence[Change]) -> list[tuple[bytes, bytes]]:
        """Each change's entry bytes but for its event id (``entry.entry_parts``)."""
        return [entry_parts(change) for change in changes]

    def __call__(
        self,
        ctx: Context,
        events: Sequence[RecordedEvent],
        prepared: list[tuple[bytes, bytes]] | None = None,
    ) -> None:
        """Append ``events`` to the log; sign the head when enough entries are unsigned."""
        head = log.append(ctx.session, events, prepared)
        if head.size - head.checkpoint_size >= ctx.settings.trail_checkpoint_every:
            _sign_head(ctx.session, ctx.settings, ctx.clock, head)


def record_hook(_settings: Settings) -> RecordHook:
    """The trail's record hook (:class:`AppendToTrail`)."""
    return AppendToTrail()


def _sign(session: Session, settings: Settings, clock: Clock) -> TrailCheckpoint:
    """Lock and check the log (TrailTampered if it is not right), then sign its head."""
    return _sign_head(session, settings, clock, log.lock(session))


def _sign_head(
    session: Session, settings: Settings, clock: Clock, head: log.Head
) -> TrailCheckpoint:
    """Sign and store a checkpoint of ``head``, locked and checked in this transaction."""
    keys = keystore(settings)
    signer = keys.signer()
    note = sign_checkpoint(Checkpoint(settings.trail_origin, head.size, head.root), [signer])
    row = TrailCheckpoint(
        size=head.size,
        root=head.root,
        note=note,
        key_id=f"{signer.key_id:08x}",
        created_at=clock.now(),
    )
    session.add(row)
    session.flush()
    log.checkpointed(session, head, row.id)
    return row


def checkpoint_public(row: TrailCheckpoint) -> CheckpointPublic:
    """The public view of a checkpoint row."""
    return CheckpointPublic(
        id=row.id,
        size=row.size,
        root=row.root.hex(),
        key_id=row.key_id,
        created_at=row.created_at,
        note=row.note,
    )


def sign_now(ctx: Context) -> CheckpointPublic:
    """Sign a checkpoint of the log as it is now (unless the latest one already covers it)."""
    ctx.require(permissions.CHECKPOINT)
    latest = store.latest_checkpoint(ctx.session)
    if latest is not None and latest.size == store.head(ctx.session).size:
        return checkpoint_public(latest)
    row = _sign(ctx.session, ctx.settings, ctx.clock)
    ctx.commit()
    return checkpoint_public(row)


def sign_if_grown(session: Session, settings: Settings, clock: Clock) -> CheckpointPublic | None:
    """The periodic checkpoint of `assay serve`: sign when the log grew since the last one."""
    latest = store.latest_checkpoint(session)
    if latest is not None and latest.size == store.head(session).size:
        return None
    row = _sign(session, settings, clock)
    session.commit()
    return checkpoint_public(row)


def status(ctx: Context) -> TrailStatus:
    """The head, the latest checkpoint and the verifier keys."""
    ctx.require_actor()
    head = store.head(ctx.session)
    latest = store.latest_checkpoint(ctx.session)
    return TrailStatus(
        origin=ctx.settings.trail_origin,
        size=head.size,
        root=head.root.hex(),
        latest_checkpoint=checkpoint_public(latest) if latest else None,
        verifier_keys=verifier_keys(ctx.settings),
    )


def verifier_keys(settings: Settings) -> list[str]:
    """Every key that ever signed this installation's checkpoints, as verifier key strings."""
    return [v.verifier_key for v in keystore(settings).verifiers()]


def list_checkpoints(ctx: Context, *, limit: int = 100) -> list[CheckpointPublic]:
    """The most recent checkpoints, newest first."""
    ctx.require_actor()
    query = select(TrailCheckpoint).order_by(TrailCheckpoint.id.desc()).limit(limit)
    return [checkpoint_public(row) for row in ctx.session.scalars(query)]


def _checkpoint_at(session: Session, size: int) -> TrailCheckpoint | None:
    query = (
        select(TrailCheckpoint)
        .where(TrailCheckpoint.size == size)
        .order_by(TrailCheckpoint.id.desc())
        .limit(1)
    )
    return session.scalars(query).first()


def _tree_size(ctx: Context, size: int | None) -> int:
    head = store.head(ctx.session).size
    if size is None:
        latest = store.latest_checkpoint(ctx.session)
        return latest.size if latest else head
    if not 1 <= size <= head:
        raise InvalidInput(
            f"tree size {size} is outside 1..{head} (the log holds {head} entries)",
            field="size",
            value=size,
            valid_range=[1, head],
        )
    return size


def inclusion(ctx: Context, index: int, size: int | None = None) -> InclusionBundle:
    """The inclusion proof of leaf ``index`` in the tree of ``size`` (default: last checkpoint)."""
    ctx.require_actor()
    tree_size = _tree_size(ctx, size)
    if not 0 <= index < tree_size:
        raise InvalidInput(
            f"leaf index {index} is outside 0..{tree_size - 1} for a tree of {tree_size} entries",
            field="index",
            value=index,
            valid_range=[0, tree_size - 1],
        )
    reader = log.StoreReader(ctx.session, tile_cache(ctx.settings))
    leaf = ctx.session.get(TrailLeaf, index)
    if leaf is None:
        raise TrailTampered(f"leaf {index} is missing from the stored log")
    checkpoint = _checkpoint_at(ctx.session, tree_size)
    return InclusionBundle(
        origin=ctx.settings.trail_origin,
        leaf_index=index,
        tree_size=tree_size,
        entry=leaf.entry.decode("utf-8"),
        leaf_hash=leaf_hash(leaf.entry).hex(),
        root=tlog.tree_root(tree_size, reader).hex(),
        proof=[h.hex() for h in tlog.prove_inclusion(index, tree_size, reader)],
        checkpoint=checkpoint.note if checkpoint else None,
        verifier_keys=verifier_keys(ctx.settings),
    )


def consistency(ctx: Context, old_size: int, new_size: int) -> ConsistencyBundle:
    """The consistency proof that the tree of ``old_size`` is a prefix of the ``new_size`` one."""
    ctx.require_actor()
    head = store.head(ctx.session).size
    if not 1 <= old_size <= new_size <= head:
        raise InvalidInput(
            f"sizes {old_size} and {new_size} must satisfy 1 <= old <= new <= {head} "
            f"(the log holds {head} entries)",
            field="old_size" if old_size < 1 or old_size > new_size else "new_size",
            value=old_size if old_size < 1 or old_size > new_size else new_size,
            valid_range=[1, head],
        )
    reader = log.StoreReader(ctx.session, tile_cache(ctx.settings))
    old_cp, new_cp = _checkpoint_at(ctx.session, old_size), _checkpoint_at(ctx.session, new_size)
    return ConsistencyBundle(
        origin=ctx.settings.trail_origin,
        old_size=old_size,
        new_size=new_size,
        old_root=tlog.tree_root(old_size, reader).hex(),
        new_root=tlog.tree_root(new_size, reader).hex(),
        proof=[h.hex() for h in tlog.prove_consistency(old_size, new_size, reader)],
        old_checkpoint=old_cp.note if old_cp else None,
        new_checkpoint=new_cp.note if new_cp else None,
        verifier_keys=verifier_keys(ctx.settings),
    )


def show(ctx: Context, index: int) -> LeafPublic:
    """Leaf ``index`` with the change it records."""
    ctx.require_actor()
    leaf = ctx.session.get(TrailLeaf, index)
    if leaf is None:
        size = store.head(ctx.session).size
        raise NotFound(
            f"no leaf {index}: the log holds leaves 0..{size - 1}" if size else "the log is empty",
            field="index",
            value=index,
            valid_range=[0, max(size - 1, 0)],
        )
    event = ctx.session.get(AuditEvent, leaf.event_id)
    return LeafPublic(
        leaf_index=leaf.leaf_index,
        entry=json.loads(leaf.entry),
        leaf_hash=leaf_hash(leaf.entry).hex(),
        event=event_public(event) if event else None,
    )


def leaf_of_event(ctx: Context, event_id: int) -> int | None:
    """The leaf index of an audit event, if it is in the log."""
    query = select(TrailLeaf.leaf_index).where(TrailLeaf.event_id == event_id)
    return ctx.session.scalar(query)


def anchor(
    ctx: Context, kind: str, digest: bytes, metadata: Mapping[str, Any] | None = None
) -> AnchorReceipt:
    """Commit ``digest`` (of a PoR root, an SoA version...) to the log, within ``ctx``'s work.

    The caller commits; the receipt names the leaf that proves the value was recorded then.
    """
    ctx.require(permissions.ANCHOR)
    if not kind or not kind.replace("-", "").replace(".", "").isalnum():
        raise InvalidInput(
            f"anchor kind {kind!r} must be letters, digits, '-' or '.' (e.g. reserves.root)",
            field="kind",
            value=kind,
        )
    if len(digest) not in (32, 48, 64):
        raise InvalidInput(
            f"anchor digest has {len(digest)} bytes; a SHA-256/384/512 digest is expected",
            field="digest",
        )
    event = record(
        ctx,
        ANCHOR_ACTION,
        ObjectRef(kind, digest.hex()),
        after={"kind": kind, "digest": digest.hex(), "metadata": dict(metadata or {})},
    )
    index = leaf_of_event(ctx, event.id)
    if index is None:
        raise TrailTampered("the anchor was recorded but not appended to the trail")
    return AnchorReceipt(kind=kind, digest=digest.hex(), event_id=event.id, leaf_index=index)


def find_anchor(ctx: Context, kind: str, digest: str) -> AnchorReceipt:
    """The receipt of an anchored value; NotFound when it was never anchored."""
    ctx.require_actor()
    query = (
        select(AuditEvent.id, TrailLeaf.leaf_index)
        .join(TrailLeaf, TrailLeaf.event_id == AuditEvent.id)
        .where(
            AuditEvent.action == ANCHOR_ACTION,
            AuditEvent.object_type == kind,
            AuditEvent.object_id == digest.lower(),
        )
        .order_by(AuditEvent.id)
        .limit(1)
    )
    found = ctx.session.execute(query).first()
    if found is None:
        raise NotFound(f"no {kind} anchor with digest {digest}", field="digest", value=digest)
    return AnchorReceipt(kind=kind, digest=digest.lower(), event_id=found[0], leaf_index=found[1])


def anchor_proof(ctx: Context, kind: str, digest: str) -> InclusionBundle:
    """The inclusion proof of an anchor, against a signed checkpoint that covers it."""
    receipt = find_anchor(ctx, kind, digest)
    latest = store.latest_checkpoint(ctx.session)
    if latest is None or latest.size <= receipt.leaf_index:
        latest = _sign(ctx.session, ctx.settings, ctx.clock)
        ctx.commit()
    return inclusion(ctx, receipt.leaf_index, latest.size)


def rotate_key(ctx: Context) -> str:
    """Start signing with a new key; the old one stays among the verifiers. Recorded."""
    ctx.require(permissions.KEYS)
    keys = keystore(ctx.settings)
    old = keys.signer().verifier_key
    new = keys.rotate().verifier_key
    record(
        ctx,
        "trail.key.rotate",
        ObjectRef("trail_key", ctx.settings.trail_origin),
        before={"verifier_key": old},
        after={"verifier_key": new},
    )
    _sign(ctx.session, ctx.settings, ctx.clock)
    ctx.commit()
    return new


def tile(ctx: Context, level: int, index: int, width: int) -> bytes:
    """The C2SP tile ``level/index`` of ``width`` hashes (its bottom row)."""
    ctx.require_actor()
    head = store.head(ctx.session).size
    available = (head >> (tiles.HEIGHT * level)) - index * tiles.WIDTH
    if available < width:
        raise NotFound(f"tile {level}/{index} does not have {width} hashes yet", field="path")
    row = store.read_tiles(ctx.session, [tiles.TileId(level, index)]).get(
        tiles.TileId(level, index)
    )
    if row is None or row.width < width:
        raise TrailTampered(f"tile {level}/{index} is missing from the stored log")
    return tiles.bottom_row(row.data, row.width)[: width * tiles.HASH_SIZE]


def entry_bundle(ctx: Context, index: int, width: int) -> bytes:
    """The C2SP entry bundle ``index`` of ``width`` entries (big-endian uint16 length prefixes)."""
    ctx.require_actor()
    start = index * tiles.WIDTH
    if store.head(ctx.session).size - start < width:
        raise NotFound(f"entry bundle {index} does not have {width} entries yet", field="path")
    rows = store.leaves(ctx.session, start, start + width)
    return b"".join(len(r.entry).to_bytes(2, "big") + r.entry for r in rows)


def latest_note(ctx: Context) -> str:
    """The latest signed checkpoint, as served at /trail/checkpoint."""
    ctx.require_actor()
    latest = store.latest_checkpoint(ctx.session)
    if latest is None:
        raise NotFound("no checkpoint has been signed yet (run `assay trail checkpoint`)")
    return latest.note


def verify(ctx: Context) -> VerifyReport:
    """Recompute the whole log and check every stored hash, entry and checkpoint."""
    ctx.require(permissions.VERIFY)
    keys = keystore(ctx.settings)
    report = verify_log(ctx.session, keys.verifiers(), ctx.settings.trail_origin)
    if not report.ok:
        tile_cache(ctx.settings).clear()
    return report


def leaves_of_events(ctx: Context, event_ids: list[int]) -> dict[int, int]:
    """The leaf index of each of ``event_ids`` that is in the log."""
    if not event_ids:
        return {}
    query = select(TrailLeaf.event_id, TrailLeaf.leaf_index).where(
        TrailLeaf.event_id.in_(event_ids)
    )
    return {int(event_id): int(index) for event_id, index in ctx.session.execute(query)}
