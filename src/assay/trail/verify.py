"""Full verification of the stored log: every entry, every hash, the head, every checkpoint.

Nothing stored is trusted: each entry is rebuilt from its audit event and compared with the stored
bytes, each leaf hash and every inner node is recomputed and compared with the tiles, the head is
compared with the recomputed root, and every checkpoint's signature and root are checked against
the roots recomputed at its size. Reads bypass every cache. All problems are reported, the first
bad leaf is named.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from assay.errors import AssayError
from assay.platform.tables import AuditEvent
from assay.trail import store, tiles, tlog
from assay.trail.checkpoint import open_checkpoint
from assay.trail.entry import entry_for
from assay.trail.note import Verifier
from assay.trail.rfc9162 import leaf_hash
from assay.trail.schemas import Problem, VerifyReport
from assay.trail.store import TrailCheckpoint, TrailLeaf
from assay.trail.tiles import TileId

CHUNK = 2000
MAX_PROBLEMS = 100


class _Tiles:
    """Sequential reader of stored tiles, one tile level at a time, uncached."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.current: dict[int, tuple[TileId, int, bytes] | None] = {}

    def node(self, level: int, index: int) -> bytes | None:
        tile, row, position = tiles.locate(level, index)
        held = self.current.get(tile.level)
        if held is None or held[0] != tile:
            found = store.read_tiles(self.session, [tile]).get(tile)
            held = (tile, found.width, found.data) if found else (tile, 0, b"")
            self.current[tile.level] = held
        return tiles.node_in(held[2], held[1], row, position)


def _rows(session: Session) -> Iterator[tuple[TrailLeaf, AuditEvent | None]]:
    start = 0
    while True:
        query = (
            select(TrailLeaf, AuditEvent)
            .outerjoin(AuditEvent, AuditEvent.id == TrailLeaf.event_id)
            .where(TrailLeaf.leaf_index >= start)
            .order_by(TrailLeaf.leaf_index)
            .limit(CHUNK)
        )
        batch = session.execute(query).all()
        if not batch:
            return
        yield from ((leaf, event) for leaf, event in batch)
        start = batch[-1][0].leaf_index + 1


def verify_log(session: Session, verifiers: list[Verifier], origin: str) -> VerifyReport:
    """Recompute and check everything; a database that cannot be read is a problem too."""
    problems: list[Problem] = []
    try:
        checked, checkpoints, size = _verify(session, verifiers, origin, problems)
    except (DBAPIError, AssayError, ValueError) as exc:
        problems.append(Problem(kind="unreadable", message=f"the stored log cannot be read: {exc}"))
        checked, checkpoints, size = 0, 0, 0
    bad = [p.leaf_index for p in problems if p.leaf_index is not None]
    return VerifyReport(
        ok=not problems,
        size=size,
        leaves_checked=checked,
        checkpoints_checked=checkpoints,
        first_bad_leaf=min(bad) if bad else None,
        problems=problems[:MAX_PROBLEMS],
    )


def _verify(
    session: Session, verifiers: list[Verifier], origin: str, problems: list[Problem]
) -> tuple[int, int, int]:
    head = store.head(session)
    checkpoints = session.scalars(select(TrailCheckpoint).order_by(TrailCheckpoint.id)).all()
    wanted_sizes = {c.size for c in checkpoints}
    roots: dict[int, bytes] = {0: tlog.CompactRange().root()}
    stored = _Tiles(session)
    edge = tlog.CompactRange()
    expected = 0
    for leaf, event in _rows(session):
        if leaf.leaf_index != expected:
            problems.append(
                Problem(
                    kind="gap",
                    leaf_index=expected,
                    message=f"leaf {expected} is missing (next is {leaf.leaf_index})",
                )
            )
            break
        data = _as_bytes(leaf.entry)
        _check_entry(leaf.leaf_index, leaf.event_id, data, event, problems)
        for level, index, digest in edge.append(leaf_hash(data)):
            found = stored.node(level, index)
            if found != digest:
                what = "missing" if found is None else f"{found.hex()[:16]}..."
                problems.append(
                    Problem(
                        kind="hash",
                        leaf_index=leaf.leaf_index,
                        message=f"stored hash of tree node (level {level}, index {index}) is "
                        f"{what}, "
                        f"recomputed {digest.hex()[:16]}...",
                    )
                )
        expected += 1
        if expected in wanted_sizes:
            roots[expected] = edge.root()
    if head.size != edge.size or head.root != edge.root():
        problems.append(
            Problem(
                kind="head",
                message=f"the head says {head.size} entries with root "
                f"{head.root.hex()[:16]}..., the "
                f"stored leaves give {edge.size} with root {edge.root().hex()[:16]}...",
            )
        )
    _check_tile_count(session, edge.size, problems)
    unlogged = (
        session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .outerjoin(TrailLeaf, TrailLeaf.event_id == AuditEvent.id)
            .where(TrailLeaf.event_id.is_(None))
        )
        or 0
    )
    if unlogged:
        problems.append(
            Problem(
                kind="unlogged",
                message=f"{unlogged} recorded change(s) are not in the trail "
                "(recorded before the trail existed, or written around it)",
            )
        )
    for row in checkpoints:
        _check_checkpoint(row, roots, verifiers, origin, problems)
    return expected, len(checkpoints), head.size


def _as_bytes(value: object) -> bytes:
    # A tampered row may hold text where bytes belong (SQLite keeps whatever it is given).
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    return str(value).encode("utf-8", "surrogateescape")


def _check_entry(
    leaf_index: int, event_id: int, data: bytes, event: AuditEvent | None, problems: list[Problem]
) -> None:
    if event is None:
        problems.append(
            Problem(
                kind="entry",
                leaf_index=leaf_index,
                message=f"leaf {leaf_index}: its audit event {event_id} is gone",
            )
        )
        return
    derived = entry_for(
        event=event.id,
        at=event.at,
        actor=event.actor,
        action=event.action,
        object_type=event.object_type,
        object_id=event.object_id,
        before=event.before,
        after=event.after,
    ).to_bytes()
    if derived != data:
        problems.append(
            Problem(
                kind="entry",
                leaf_index=leaf_index,
                message=f"leaf {leaf_index}: the stored entry and audit event {event.id} "
                "no longer "
                "agree (the event or the entry was changed)",
            )
        )


def _check_tile_count(session: Session, size: int, problems: list[Problem]) -> None:
    expected: dict[int, int] = defaultdict(int)
    level = 0
    while (count := size >> (tiles.HEIGHT * level)) > 0:
        expected[level] = -(-count // tiles.WIDTH)
        level += 1
    found = dict(
        session.execute(
            select(store.TrailTile.level, func.count()).group_by(store.TrailTile.level)
        ).all()
    )
    if {k: v for k, v in found.items() if v} != dict(expected):
        problems.append(
            Problem(
                kind="tiles",
                message=f"stored tiles per level {dict(sorted(found.items()))} do not match the "
                f"{dict(sorted(expected.items()))} a tree of {size} entries has",
            )
        )


def _check_checkpoint(
    row: TrailCheckpoint,
    roots: dict[int, bytes],
    verifiers: list[Verifier],
    origin: str,
    problems: list[Problem],
) -> None:
    try:
        signed = open_checkpoint(row.note, verifiers, origin=origin)
    except AssayError as exc:
        problems.append(Problem(kind="checkpoint", message=f"checkpoint {row.id}: {exc.message}"))
        return
    if (signed.size, signed.root) != (row.size, row.root):
        problems.append(
            Problem(
                kind="checkpoint",
                message=f"checkpoint {row.id}: its columns (size {row.size}) differ from its "
                "signed note "
                f"(size {signed.size})",
            )
        )
    recomputed = roots.get(signed.size)
    if recomputed is None:
        problems.append(
            Problem(
                kind="checkpoint",
                message=f"checkpoint {row.id} is for {signed.size} entries, beyond the log",
            )
        )
    elif recomputed != signed.root:
        problems.append(
            Problem(
                kind="checkpoint",
                message=f"checkpoint {row.id} signed root {signed.root.hex()[:16]}... for "
                f"{signed.size} "
                f"entries, the stored log gives {recomputed.hex()[:16]}...",
            )
        )
