"""Reserves use cases: rounds (create, publish, discard, read), customer proofs, audits, links.

A round is built into a staging folder, then its row is stored and recorded, the folder moved
into place and the transaction committed; any failure on the way removes the folder and rolls
the row back, so a failed round leaves nothing. Publishing makes a round immutable and anchors
its root in the trail (through the trail's own ``anchor`` service) in the same transaction.
Customer proofs are read from the stored tree (memory-mapped, cached per round); who may fetch
which is decided here. ``audit_folder`` needs no database: an auditor runs it on a copy.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import shutil
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict
from sqlalchemy import delete, select

from assay.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from assay.platform.context import Context
from assay.platform.record import ObjectRef, record
from assay.platform.tables import User
from assay.platform.users import normalise_email
from assay.reserves import layout, permissions, sumtree
from assay.reserves.liabilities import AssetSpec, Liabilities
from assay.reserves.proof import CustomerProof, build_proof
from assay.reserves.round_audit import AuditReport
from assay.reserves.round_build import (
    Progress,
    build_folder,
    leaf_keys,
    level_array,
    read_checked,
    stored_levels,
)
from assay.reserves.round_folder import (
    ROUND_JSON,
    SECRET,
    TREE,
    RoundManifest,
    read_manifest,
    read_secret,
    totals_of,
)
from assay.reserves.rounds import (
    FileDigest,
    LiabilitiesRejected,
    RoundDamaged,
    RoundExists,
    RoundPublished,
    RoundSpec,
)
from assay.reserves.store import AddressRow, BalanceRow, CustomerLinkRow, RoundRow
from assay.reserves.stored_tree import StoredTree
from assay.settings import Settings

BUILT = "built"
PUBLISHED = "published"
ANCHOR_KIND = "reserves.root"


class RoundPublic(BaseModel):
    """A round as the API and the CLI show it."""

    model_config = ConfigDict(extra="forbid")
    id: str
    status: str
    snapshot_at: dt.datetime
    created_at: dt.datetime
    created_by: str
    published_at: dt.datetime | None
    published_by: str | None
    capacity: int
    accounts: int
    root: str
    assets: list[dict[str, Any]]
    totals: dict[str, dict[str, str]]
    liabilities_sha256: str
    anchor_leaf: int | None


class LinkPublic(BaseModel):
    """A user who may fetch the proofs of an exchange account."""

    model_config = ConfigDict(extra="forbid")
    email: str
    account_id: str
    created_at: dt.datetime
    created_by: str


def round_public(row: RoundRow) -> RoundPublic:
    """The public view of a round row."""
    return RoundPublic.model_validate(row, from_attributes=True)


def reserves_dir(settings: Settings) -> Path:
    """Where round folders live: ``<data_dir>/reserves``."""
    return settings.data_dir / "reserves"


def round_folder(settings: Settings, round_id: str) -> Path:
    """The folder of round ``round_id``."""
    return reserves_dir(settings) / round_id


def _ref(round_id: str) -> ObjectRef:
    return ObjectRef("reserves_round", round_id)


def _view(row: RoundRow) -> dict[str, Any]:
    return round_public(row).model_dump(mode="json", exclude={"created_at", "created_by", "assets"})


def _get(ctx: Context, round_id: str) -> RoundRow:
    row = ctx.session.get(RoundRow, round_id)
    if row is None:
        raise NotFound(f"no round {round_id!r}", field="round", value=round_id)
    return row


# --- rounds -------------------------------------------------------------------------------------


def create_round(
    ctx: Context,
    spec: RoundSpec,
    liabilities: Path,
    *,
    source: str | None = None,
    round_file: FileDigest | None = None,
    secret: bytes | None = None,
    workers: int | None = None,
    progress: Progress | None = None,
) -> RoundPublic:
    """Build round ``spec`` from a liabilities file, store its folder and row (status built).

    All or nothing: a refused file, a failed build or a failed commit leaves no folder and no
    row. The secret is fresh (32 random bytes) unless one is given (test vectors).
    """
    actor = ctx.require(permissions.ROUNDS_WRITE)
    existing = ctx.session.get(RoundRow, spec.id)
    if existing is not None:
        _refuse_rebuild(existing)
    base = reserves_dir(ctx.settings)
    base.mkdir(parents=True, exist_ok=True, mode=0o700)
    final = base / spec.id
    if final.exists():
        raise RoundExists(
            f"{final} exists but no round {spec.id!r} is stored: move the folder away first",
            field="id",
            value=spec.id,
        )
    staging = base / f".staging-{spec.id}-{secrets.token_hex(6)}"
    try:
        manifest = build_folder(
            spec,
            liabilities,
            staging,
            secret or secrets.token_bytes(32),
            created_at=ctx.clock.now(),
            source=source,
            round_file=round_file,
            workers=workers,
            progress=progress,
        )
        row = RoundRow(
            id=spec.id,
            status=BUILT,
            snapshot_at=spec.snapshot_at,
            created_at=manifest.created_at,
            created_by=actor.label,
            capacity=manifest.capacity,
            accounts=manifest.accounts,
            root=manifest.root.hash,
            assets=[a.model_dump() for a in manifest.assets],
            totals=manifest.totals,
            liabilities_sha256=manifest.liabilities.sha256,
        )
        ctx.session.add(row)
        ctx.session.flush()
        record(ctx, "reserves.round.create", _ref(spec.id), after=_view(row))
        staging.rename(final)
        try:
            ctx.commit()
        except BaseException:
            shutil.rmtree(final, ignore_errors=True)
            raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return round_public(row)


def _refuse_rebuild(row: RoundRow) -> None:
    if row.status == PUBLISHED:
        raise RoundPublished(
            f"round {row.id!r} is published and immutable; give the new round another id",
            field="id",
            value=row.id,
        )
    raise RoundExists(
        f"round {row.id!r} is already built; discard it first (`assay reserves round discard`)",
        field="id",
        value=row.id,
    )


def publish_round(ctx: Context, round_id: str) -> RoundPublic:
    """Make a built round immutable and anchor its root in the trail, in one transaction."""
    from assay.trail import service as trail  # noqa: PLC0415 - another capability, used lazily

    actor = ctx.require(permissions.ROUNDS_WRITE)
    row = _get(ctx, round_id)
    if row.status == PUBLISHED:
        raise RoundPublished(f"round {round_id!r} is already published", field="round")
    tree = _tree(ctx.settings, row)
    before = _view(row)
    row.status = PUBLISHED
    row.published_at = ctx.clock.now()
    row.published_by = actor.label
    metadata = {
        "round": row.id,
        "snapshot_at": row.snapshot_at.isoformat(),
        "capacity": row.capacity,
        "root_equity": [str(v) for v in tree.root.equity],
        "root_debt": [str(v) for v in tree.root.debt],
    }
    receipt = trail.anchor(ctx, ANCHOR_KIND, bytes.fromhex(row.root), metadata)
    row.anchor_leaf = receipt.leaf_index
    record(ctx, "reserves.round.publish", _ref(round_id), before=before, after=_view(row))
    ctx.commit()
    return round_public(row)


def discard_round(ctx: Context, round_id: str) -> None:
    """Delete a built (unpublished) round: its row and its folder. Recorded."""
    ctx.require(permissions.ROUNDS_WRITE)
    row = _get(ctx, round_id)
    if row.status == PUBLISHED:
        raise RoundPublished(
            f"round {round_id!r} is published: published rounds are kept, never discarded",
            field="round",
            value=round_id,
        )
    before = _view(row)
    # Its reserves go with it (not left to ON DELETE CASCADE: SQLite enforces it only when asked).
    delete_reserves(ctx, round_id)
    ctx.session.delete(row)
    record(ctx, "reserves.round.discard", _ref(round_id), before=before)
    folder = round_folder(ctx.settings, round_id)
    trash = folder.with_name(f".discarded-{round_id}-{secrets.token_hex(6)}")
    moved = folder.exists()
    if moved:
        folder.rename(trash)
    try:
        ctx.commit()
    except BaseException:
        if moved:
            trash.rename(folder)
        raise
    shutil.rmtree(trash, ignore_errors=True)
    with _TREES_LOCK:
        for key in [k for k in _TREES if k[0] == str(folder.resolve())]:
            del _TREES[key]


def delete_reserves(ctx: Context, round_id: str) -> None:
    """Remove a round's address claims and balances within the caller's unit of work."""
    ctx.session.execute(delete(AddressRow).where(AddressRow.round_id == round_id))
    ctx.session.execute(delete(BalanceRow).where(BalanceRow.round_id == round_id))


def list_rounds(ctx: Context) -> list[RoundPublic]:
    """Every round, the latest snapshot first."""
    ctx.require_actor()
    query = select(RoundRow).order_by(RoundRow.snapshot_at.desc(), RoundRow.id.desc())
    return [round_public(row) for row in ctx.session.scalars(query)]


def get_round(ctx: Context, round_id: str) -> RoundPublic:
    """One round; NotFound otherwise."""
    ctx.require_actor()
    return round_public(_get(ctx, round_id))


# --- proofs -------------------------------------------------------------------------------------

_TREES: OrderedDict[tuple[str, str], StoredTree] = OrderedDict()
_TREES_LOCK = threading.Lock()


def _tree(settings: Settings, row: RoundRow) -> StoredTree:
    """The stored tree of ``row``'s round (opened once per process, a few kept)."""
    folder = round_folder(settings, row.id)
    key = (str(folder.resolve()), row.root)
    with _TREES_LOCK:
        found = _TREES.get(key)
        if found is not None:
            _TREES.move_to_end(key)
            return found
    tree = StoredTree(folder, read_manifest(folder), read_secret(folder))
    if tree.root.hash.hex() != row.root:
        raise RoundDamaged(
            f"the stored tree of round {row.id!r} has root {tree.root.hash.hex()}, "
            f"its row {row.root}; run `assay reserves audit {folder}`",
            field="root",
        )
    with _TREES_LOCK:
        _TREES[key] = tree
        while len(_TREES) > 8:
            _TREES.popitem(last=False)
    return tree


def customer_proof(ctx: Context, round_id: str, account_id: str) -> CustomerProof:
    """The proof of ``account_id`` in round ``round_id`` (docs/formats/reserves-proof.md).

    Holders of ``reserves.proofs.any`` (treasury, auditor, admin) get any account's proof of any
    round; everyone else only those of accounts linked to them, of published rounds.
    """
    actor = ctx.require_actor()
    row = _get(ctx, round_id)
    if not actor.can(permissions.PROOFS_ANY):
        link = None
        if actor.user_id is not None:
            link = ctx.session.get(CustomerLinkRow, (actor.user_id, account_id))
        if link is None:
            raise PermissionDenied(
                f"{actor.name} may fetch only the proofs of accounts linked to them, and "
                f"{account_id!r} is not (an admin links them: `assay reserves link-account`)",
                permission=permissions.PROOFS_ANY.name,
            )
        if row.status != PUBLISHED:
            raise NotFound(f"round {round_id!r} is not published yet", field="round")
    return build_proof(_tree(ctx.settings, row), account_id)


# --- links between users and accounts -----------------------------------------------------------


def _user(ctx: Context, email: str) -> User:
    address = normalise_email(email)
    user = ctx.session.scalar(select(User).where(User.email == address))
    if user is None:
        raise NotFound(f"no user with email {address!r}", field="email", value=address)
    return user


def _link_public(link: CustomerLinkRow, email: str) -> LinkPublic:
    return LinkPublic(
        email=email,
        account_id=link.account_id,
        created_at=link.created_at,
        created_by=link.created_by,
    )


def link_account(ctx: Context, email: str, account_id: str) -> LinkPublic:
    """Let the user ``email`` fetch the proofs of exchange account ``account_id``."""
    actor = ctx.require(permissions.LINKS_WRITE)
    layout.account_id_bytes(account_id)
    user = _user(ctx, email)
    if ctx.session.get(CustomerLinkRow, (user.id, account_id)) is not None:
        raise Conflict(
            f"{user.email} is already linked to account {account_id!r}",
            field="account_id",
            value=account_id,
        )
    link = CustomerLinkRow(
        user_id=user.id, account_id=account_id, created_at=ctx.clock.now(), created_by=actor.label
    )
    ctx.session.add(link)
    ctx.session.flush()
    after = {"email": user.email, "account_id": account_id}
    record(ctx, "reserves.link.add", ObjectRef("reserves_link", user.id), after=after)
    ctx.commit()
    return _link_public(link, user.email)


def unlink_account(ctx: Context, email: str, account_id: str) -> None:
    """Take the link between the user ``email`` and account ``account_id`` away."""
    ctx.require(permissions.LINKS_WRITE)
    user = _user(ctx, email)
    link = ctx.session.get(CustomerLinkRow, (user.id, account_id))
    if link is None:
        raise NotFound(
            f"{user.email} is not linked to account {account_id!r}",
            field="account_id",
            value=account_id,
        )
    ctx.session.delete(link)
    before = {"email": user.email, "account_id": account_id}
    record(ctx, "reserves.link.remove", ObjectRef("reserves_link", user.id), before=before)
    ctx.commit()


def list_links(ctx: Context) -> list[LinkPublic]:
    """Every link (for holders of ``reserves.links.write``), else the caller's own."""
    actor = ctx.require_actor()
    query = (
        select(CustomerLinkRow, User.email)
        .join(User, User.id == CustomerLinkRow.user_id)
        .order_by(User.email, CustomerLinkRow.account_id)
    )
    if not actor.can(permissions.LINKS_WRITE):
        query = query.where(CustomerLinkRow.user_id == (actor.user_id or -1))
    return [_link_public(link, email) for link, email in ctx.session.execute(query)]


# --- audits -------------------------------------------------------------------------------------


def audit_round(
    ctx: Context, round_id: str, *, workers: int | None = None, progress: Progress | None = None
) -> AuditReport:
    """Recompute a stored round from its folder, and compare the folder with its row too."""
    ctx.require(permissions.AUDIT)
    row = _get(ctx, round_id)
    report = audit_folder(round_folder(ctx.settings, round_id), workers=workers, progress=progress)
    try:
        manifest = read_manifest(round_folder(ctx.settings, round_id))
    except RoundDamaged:
        return report  # already reported by the folder audit
    stored = {"root": manifest.root.hash, "totals": manifest.totals, "accounts": manifest.accounts}
    for name, value in stored.items():
        if getattr(row, name) != value:
            report.add(
                "database-mismatch",
                f"round.json's {name} is {value}, the round's row says {getattr(row, name)}",
                name,
            )
    return report


def audit_folder(
    folder: Path, *, workers: int | None = None, progress: Progress | None = None
) -> AuditReport:
    """Recompute the round in ``folder`` from its liabilities copy, round.json and secret.

    Checks the inputs' digest, every row (ids unique, amounts in range and precision), the
    account count, the totals per asset, the root hash and sums, and the stored tree arrays that
    proofs are served from. Reports every discrepancy found, not only the first; what cannot be
    checked because an input is missing or refused is reported as such.
    """
    report = AuditReport(folder=str(folder))
    step = progress or (lambda _stage, _step, _steps: None)
    step("reading round.json", 0, 4)
    try:
        manifest = read_manifest(folder)
        rnd = manifest.layout_round()
    except (RoundDamaged, InvalidInput) as exc:
        report.add("round-file-invalid", exc.message, ROUND_JSON)
        return report
    report.round_id, report.capacity = manifest.id, manifest.capacity
    secret: bytes | None = None
    try:
        secret = read_secret(folder)
    except RoundDamaged as exc:
        missing = not (folder / SECRET).exists()
        report.add("secret-missing" if missing else "secret-invalid", exc.message, SECRET)
    step("reading liabilities", 1, 4)
    read = _audit_liabilities(folder, manifest, report)
    if read is None:
        return report
    _audit_figures(manifest, read, report)
    if secret is None:
        return report
    step("rebuilding the tree", 2, 4)
    try:
        tree = sumtree.build(rnd, secret, read.account_ids, read.equity, read.debt, workers=workers)
    except InvalidInput as exc:
        report.add(str(exc.details.get("reason", "tree-invalid")), exc.message, exc.field or "")
        return report
    report.root, report.totals = tree.root.hash.hex(), totals_of(rnd, tree.root)
    if report.root != manifest.root.hash:
        report.add(
            "root-mismatch",
            f"the recomputed root is {report.root}, round.json says {manifest.root.hash}",
            "root.hash",
        )
    sums = ([str(v) for v in tree.root.equity], [str(v) for v in tree.root.debt])
    if sums != (manifest.root.equity, manifest.root.debt):
        report.add("root-totals-mismatch", "the root's sums are not the recomputed ones", "root")
    step("comparing the stored tree", 3, 4)
    _audit_stored(folder, tree, secret, read, report)
    step("done", 4, 4)
    return report


def _audit_liabilities(
    folder: Path, manifest: RoundManifest, report: AuditReport
) -> Liabilities | None:
    name = manifest.liabilities_file
    path = folder / name
    if not path.is_file():
        report.add("liabilities-missing", f"{path} is missing", name)
        return None
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != manifest.liabilities.sha256:
        report.add(
            "liabilities-digest-mismatch",
            f"the file's SHA-256 is {digest}, round.json says {manifest.liabilities.sha256}",
            name,
        )
    specs = [AssetSpec(a.code, a.decimals, a.debt_allowed) for a in manifest.assets]
    try:
        return read_checked(path, specs)
    except LiabilitiesRejected as exc:
        for p in exc.details["problems"]:
            message = f"line {p['line']}, column {p['column']}: {p['message']} (got {p['value']!r})"
            report.add(p["reason"], message, f"{name}:{p['line']}:{p['column']}")
        if not exc.details["problems"]:
            report.add(exc.details["reason"], exc.message, name)
        return None


def _audit_figures(manifest: RoundManifest, read: Liabilities, report: AuditReport) -> None:
    """Account count, capacity and totals per asset, from the liabilities alone."""
    report.accounts = read.accounts
    if read.accounts != manifest.accounts:
        report.add(
            "account-count-mismatch",
            f"the liabilities hold {read.accounts} accounts, round.json says {manifest.accounts}",
            "accounts",
        )
    if read.accounts > manifest.capacity:
        report.add(
            "capacity-too-small",
            f"{read.accounts} accounts do not fit the capacity {manifest.capacity}",
            "capacity",
        )
    rnd = manifest.layout_round()
    found = {
        a.code: {
            side: layout.format_units(read.totals[a.code][side], a) for side in read.totals[a.code]
        }
        for a in rnd.assets
    }
    for code in sorted(set(found) | set(manifest.totals)):
        for side in ("equity", "debt"):
            theirs, ours = manifest.totals.get(code, {}).get(side), found.get(code, {}).get(side)
            if theirs != ours:
                report.add(
                    "totals-mismatch",
                    f"{code} {side}: round.json says {theirs}, the liabilities add up to {ours}",
                    f"totals.{code}.{side}",
                )


def _audit_stored(
    folder: Path, tree: sumtree.SumTree, secret: bytes, read: Liabilities, report: AuditReport
) -> None:
    """Compare the arrays proofs are served from with the recomputed tree."""
    expected: dict[str, npt.NDArray[Any]] = {
        "keys.npy": leaf_keys(tree.round, secret, read.account_ids),
        "accounts.npy": np.array([a.encode() for a in read.account_ids]),
        "equity.npy": read.equity,
        "debt.npy": read.debt,
    }
    for level in stored_levels(tree):
        expected[f"level-{level:02d}.npy"] = level_array(tree, level)
    for name, ours in expected.items():
        where = f"{TREE}/{name}"
        try:
            theirs = np.load(folder / where, mmap_mode="r", allow_pickle=False)
        except (OSError, ValueError) as exc:
            report.add("stored-tree-unreadable", f"{where}: {exc}", where)
            continue
        if theirs.shape != ours.shape or theirs.dtype.kind != ours.dtype.kind:
            report.add(
                "stored-tree-mismatch",
                f"{where} holds {theirs.shape} {theirs.dtype}, expected {ours.shape} {ours.dtype}",
                where,
            )
            continue
        rows = theirs.reshape(theirs.shape[0], -1) != ours.reshape(ours.shape[0], -1)
        differing = int(rows.any(axis=1).sum()) if rows.size else 0
        if differing:
            report.add(
                "stored-tree-mismatch",
                f"{where}: {differing} of {ours.shape[0]} rows differ from the recomputation "
                "(proofs served from them would not verify)",
                where,
            )
