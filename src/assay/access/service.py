"""Access use cases: the licence register (recorded changes, versions) and market-access decisions.

Every register change goes through :func:`assay.platform.record.record` and writes a new register
version (the whole register as JSON, with its digest) in the same transaction. Decisions come from
a compiled :class:`Engine` cached per (catalogue digest, register digest), so a decision after the
first is a lookup; any role may ask, only ``access.register.write`` may change the register.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any

from sqlalchemy import select

from assay.access import permissions
from assay.access.engine import Engine
from assay.access.licences import check_licence, read_licence_file, to_facts
from assay.access.register import IN_FORCE, Register
from assay.access.schemas import (
    DeadlinePublic,
    LicenceIn,
    LicencePublic,
    PassportPublic,
    StatusChangeIn,
    StatusIn,
)
from assay.access.store import (
    CatalogueRow,
    DeadlineRow,
    LicenceRow,
    PassportRow,
    RegisterVersionRow,
    StatusRow,
)
from assay.errors import Conflict, InvalidInput, NotFound
from assay.platform.context import Context
from assay.platform.record import ObjectRef, record
from assay.platform.tables import LegalEntity
from assay.regulation.loader import DATA_DIR, load_catalogue
from assay.regulation.model import Catalogue

DEMO_LICENCES = Path(__file__).parent / "demo_data" / "licences.yaml"
_FINAL = frozenset({"revoked", "withdrawn"})


@functools.lru_cache(maxsize=4)
def catalogue(folder: Path = DATA_DIR) -> Catalogue:
    """The catalogue shipped with this version of Assay (loaded once per process)."""
    return load_catalogue(folder)


# --- engines -----------------------------------------------------------------------------------

_ENGINES: OrderedDict[tuple[str, str], Engine] = OrderedDict()
_ENGINES_LOCK = threading.Lock()


def engine(ctx: Context) -> Engine:
    """The compiled engine for the shipped catalogue and the register as it stands."""
    ctx.require_actor()
    head = ctx.session.scalar(
        select(RegisterVersionRow).order_by(RegisterVersionRow.version.desc()).limit(1)
    )
    cat = catalogue()
    if head is None:
        return _cached(cat, Register(version=0), "empty")
    key = (cat.digest, head.digest)
    with _ENGINES_LOCK:
        found = _ENGINES.get(key)
        if found is not None and found.register.version == head.version:
            _ENGINES.move_to_end(key)
            return found
    return _cached(cat, Register.from_json(head.snapshot), head.digest)


def _cached(cat: Catalogue, register: Register, digest: str) -> Engine:
    built = Engine(cat, register)
    with _ENGINES_LOCK:
        _ENGINES[(cat.digest, digest)] = built
        while len(_ENGINES) > 8:
            _ENGINES.popitem(last=False)
    return built


def register_versions(ctx: Context, *, limit: int = 50) -> list[dict[str, Any]]:
    """The most recent register versions, newest first."""
    ctx.require_actor()
    rows = ctx.session.scalars(
        select(RegisterVersionRow).order_by(RegisterVersionRow.version.desc()).limit(limit)
    )
    return [
        {
            "version": r.version,
            "created_at": r.created_at,
            "digest": r.digest,
            "licences": len(r.snapshot.get("licences", [])),
        }
        for r in rows
    ]


# --- the register ------------------------------------------------------------------------------


def list_licences(ctx: Context) -> list[LicencePublic]:
    """Every licence, by entity then reference."""
    ctx.require_actor()
    rows = ctx.session.scalars(select(LicenceRow).order_by(LicenceRow.reference))
    return sorted((_public(ctx, r) for r in rows), key=lambda p: (p.entity, p.reference))


def get_licence(ctx: Context, reference: str) -> LicencePublic:
    """The licence ``reference``; NotFound otherwise."""
    ctx.require_actor()
    return _public(ctx, _row(ctx, reference))


def add_licence(ctx: Context, lic: LicenceIn) -> LicencePublic:
    """Add a licence to the register (recorded; a new register version)."""
    ctx.require(permissions.REGISTER_WRITE)
    check_licence(catalogue(), lic)
    if ctx.session.scalar(select(LicenceRow).where(LicenceRow.reference == lic.reference)):
        raise Conflict(
            f"licence {lic.reference!r} is already in the register; update it instead",
            field="reference",
            value=lic.reference,
        )
    row = LicenceRow(reference=lic.reference, entity_id=_entity(ctx, lic.entity).id)
    ctx.session.add(row)
    _fill(row, lic)
    ctx.session.flush()
    public = _public(ctx, row)
    version = _new_version(ctx)
    record(
        ctx,
        "access.licence.add",
        ObjectRef("licence", lic.reference),
        after={**_dump(public), **version},
    )
    ctx.commit()
    return public


def update_licence(ctx: Context, reference: str, lic: LicenceIn) -> LicencePublic:
    """Replace a licence's scope, passports, history and deadlines (recorded, before and after)."""
    ctx.require(permissions.REGISTER_WRITE)
    if lic.reference != reference:
        raise InvalidInput(
            f"reference {lic.reference!r} does not match the licence being updated ({reference})",
            field="reference",
            value=lic.reference,
        )
    check_licence(catalogue(), lic)
    row = _row(ctx, reference)
    before = _dump(_public(ctx, row))
    row.entity_id = _entity(ctx, lic.entity).id
    _fill(row, lic)
    ctx.session.flush()
    ctx.session.expire(row)
    public = _public(ctx, row)
    after = _dump(public)
    if after == before:
        return public
    version = _new_version(ctx)
    record(
        ctx,
        "access.licence.update",
        ObjectRef("licence", reference),
        before=before,
        after={**after, **version},
    )
    ctx.commit()
    return public


def change_status(ctx: Context, reference: str, change: StatusChangeIn) -> LicencePublic:
    """Record a status change (granted, varied, suspended, revoked, lapsed...) on a date."""
    ctx.require(permissions.REGISTER_WRITE)
    row = _row(ctx, reference)
    before = _dump(_public(ctx, row))
    last = row.history[-1] if row.history else None
    if last is not None and change.date < last.date:
        raise InvalidInput(
            f"status date {change.date} is before the licence's latest change "
            f"({last.status} on {last.date}); status history only moves forward",
            field="date",
            value=change.date.isoformat(),
        )
    if last is not None and last.status in _FINAL:
        raise Conflict(
            f"licence {reference} was {last.status} on {last.date}; a {last.status} licence "
            "cannot change status (add a new licence instead)",
            field="status",
            value=change.status,
        )
    if change.status == "varied" and (last is None or last.status not in IN_FORCE):
        raise Conflict(
            f"only a licence in force can be varied; {reference} is "
            f"{last.status if last else 'not yet granted'}",
            field="status",
            value=change.status,
        )
    row.history.append(StatusRow(status=change.status, date=change.date, note=change.note))
    ctx.session.flush()
    public = _public(ctx, row)
    version = _new_version(ctx)
    record(
        ctx,
        f"access.licence.{change.status}",
        ObjectRef("licence", reference),
        before=before,
        after={**_dump(public), **version},
    )
    ctx.commit()
    return public


def complete_deadline(
    ctx: Context, reference: str, deadline_id: int, day: dt.date
) -> LicencePublic:
    """Mark a licence's deadline as met on ``day``."""
    ctx.require(permissions.REGISTER_WRITE)
    row = _row(ctx, reference)
    deadline = next((d for d in row.deadlines if d.id == deadline_id), None)
    if deadline is None:
        raise NotFound(
            f"licence {reference} has no deadline {deadline_id}",
            field="deadline",
            value=deadline_id,
        )
    before = {"id": deadline.id, "title": deadline.title, "done_on": deadline.done_on}
    deadline.done_on = day
    ctx.session.flush()
    record(
        ctx,
        "access.deadline.done",
        ObjectRef("licence", reference),
        before=before,
        after={**before, "done_on": day},
    )
    ctx.commit()
    return _public(ctx, row)


def upcoming_deadlines(ctx: Context, *, within_days: int = 120) -> list[dict[str, Any]]:
    """Open deadlines due within ``within_days`` (overdue ones included), soonest first."""
    ctx.require_actor()
    today = ctx.clock.now().date()
    horizon = today + dt.timedelta(days=within_days)
    rows = ctx.session.execute(
        select(DeadlineRow, LicenceRow.reference)
        .join(LicenceRow, LicenceRow.id == DeadlineRow.licence_id)
        .where(DeadlineRow.done_on.is_(None), DeadlineRow.due <= horizon)
        .order_by(DeadlineRow.due)
    ).all()
    return [
        {
            "licence": reference,
            "id": d.id,
            "kind": d.kind,
            "due": d.due,
            "title": d.title,
            "overdue": d.due < today,
            "days_left": (d.due - today).days,
        }
        for d, reference in rows
    ]


def import_licences(ctx: Context, path: Path) -> dict[str, list[str]]:
    """Add or update every licence of a file; all or nothing (one transaction)."""
    ctx.require(permissions.REGISTER_WRITE)
    parsed = read_licence_file(path)
    cat = catalogue()
    for i, lic in enumerate(parsed.licences):
        check_licence(cat, lic, where=f"{path.name}: licences[{i}].")
        _entity(ctx, lic.entity, where=f"{path.name}: licences[{i}].")
    report: dict[str, list[str]] = {"added": [], "updated": [], "unchanged": []}
    for lic in parsed.licences:
        row = ctx.session.scalar(select(LicenceRow).where(LicenceRow.reference == lic.reference))
        if row is None:
            row = LicenceRow(reference=lic.reference, entity_id=_entity(ctx, lic.entity).id)
            ctx.session.add(row)
            before = None
        else:
            before = _dump(_public(ctx, row))
            row.entity_id = _entity(ctx, lic.entity).id
        _fill(row, lic)
        ctx.session.flush()
        ctx.session.expire(row)
        after = _dump(_public(ctx, row))
        if after == before:
            report["unchanged"].append(lic.reference)
            continue
        report["added" if before is None else "updated"].append(lic.reference)
        action = "access.licence.add" if before is None else "access.licence.update"
        record(ctx, action, ObjectRef("licence", lic.reference), before=before, after=after)
    if report["added"] or report["updated"]:
        version = _new_version(ctx)
        record(
            ctx,
            "access.register.version",
            ObjectRef("register", version["register_version"]),
            after={**version, "licences": report["added"] + report["updated"]},
        )
    ctx.commit()
    return report


def load_demo(ctx: Context) -> None:
    """The demo group's licences (``assay demo load``)."""
    import_licences(ctx, DEMO_LICENCES)


# --- helpers -----------------------------------------------------------------------------------


def _row(ctx: Context, reference: str) -> LicenceRow:
    row = ctx.session.scalar(select(LicenceRow).where(LicenceRow.reference == reference))
    if row is None:
        raise NotFound(
            f"no licence with reference {reference!r}", field="reference", value=reference
        )
    return row


def _entity(ctx: Context, code: str, *, where: str = "") -> LegalEntity:
    entity = ctx.session.scalar(select(LegalEntity).where(LegalEntity.code == code))
    if entity is None:
        known = ctx.session.scalars(select(LegalEntity.code)).all()
        raise (
            InvalidInput.not_one_of(f"{where}entity", code, known)
            if known
            else NotFound(
                f"{where}entity {code!r}: the group has no legal entities yet (add one first)",
                field=f"{where}entity",
                value=code,
            )
        )
    return entity


def _fill(row: LicenceRow, lic: LicenceIn) -> None:
    row.regime, row.licence_type, row.regulator = lic.regime, lic.licence_type, lic.regulator
    row.home, row.conditions = lic.home, lic.conditions
    row.services, row.products = sorted(set(lic.services)), sorted(set(lic.products))
    row.clients, row.approvals = sorted(set(lic.clients)), sorted(set(lic.approvals))
    row.history = [StatusRow(status=h.status, date=h.date, note=h.note) for h in lic.history]
    row.passports = [
        PassportRow(jurisdiction=code, since=block.since, until=block.until)
        for block in lic.passports
        for code in dict.fromkeys(block.to)
    ]
    done = {(d.kind, d.due, d.title): d.done_on for d in row.deadlines}
    row.deadlines = [
        DeadlineRow(
            kind=d.kind,
            due=d.due,
            title=d.title,
            done_on=d.done_on or done.get((d.kind, d.due, d.title)),
        )
        for d in lic.deadlines
    ]


def _public(ctx: Context, row: LicenceRow) -> LicencePublic:
    entity = ctx.session.get(LegalEntity, row.entity_id)
    last = row.history[-1] if row.history else None
    return LicencePublic(
        id=row.id,
        reference=row.reference,
        entity=entity.code if entity else "",
        entity_name=entity.name if entity else "",
        regime=row.regime,
        licence_type=row.licence_type,
        regulator=row.regulator,
        home=row.home,
        services=list(row.services),
        products=list(row.products),
        clients=list(row.clients),
        approvals=list(row.approvals),
        conditions=row.conditions,
        status=last.status if last else None,
        status_since=last.date if last else None,
        history=[StatusIn(status=h.status, date=h.date, note=h.note) for h in row.history],
        passports=[
            PassportPublic(jurisdiction=p.jurisdiction, since=p.since, until=p.until)
            for p in row.passports
        ],
        deadlines=[
            DeadlinePublic(
                id=d.id,
                kind=d.kind,
                due=d.due,
                title=d.title,
                done_on=d.done_on,
            )
            for d in row.deadlines
        ],
    )


def _dump(public: LicencePublic) -> dict[str, Any]:
    data = public.model_dump(mode="json", exclude={"id"})
    for deadline in data["deadlines"]:
        deadline.pop("id", None)
    return data


def _snapshot(ctx: Context, version: int) -> Register:
    rows = ctx.session.scalars(select(LicenceRow).order_by(LicenceRow.reference)).all()
    facts = []
    for row in rows:
        public = _public(ctx, row)
        lic = LicenceIn.model_validate(
            {
                **public.model_dump(
                    include=set(LicenceIn.model_fields) - {"passports", "deadlines"}
                ),
                "passports": [
                    {"to": [p.jurisdiction], "since": p.since, "until": p.until}
                    for p in public.passports
                ],
            }
        )
        facts.append(to_facts(lic, public.entity_name))
    return Register(version=version, licences=tuple(facts))


def _new_version(ctx: Context) -> dict[str, Any]:
    """Write the register as it now stands as a new version.

    Returns its number and digest, which the caller records with the change, so that the
    trail commits to every register state.
    """
    ctx.session.flush()
    head = ctx.session.scalar(
        select(RegisterVersionRow.version).order_by(RegisterVersionRow.version.desc()).limit(1)
    )
    version = (head or 0) + 1
    snapshot = _snapshot(ctx, version).to_json()
    body = json.dumps({**snapshot, "version": 0}, sort_keys=True, separators=(",", ":"))
    digest = hashlib.sha256(body.encode()).hexdigest()
    ctx.session.add(
        RegisterVersionRow(
            version=version, created_at=ctx.clock.now(), digest=digest, snapshot=snapshot
        )
    )
    cat = catalogue()
    if ctx.session.get(CatalogueRow, cat.digest) is None:
        ctx.session.add(
            CatalogueRow(
                digest=cat.digest,
                version=cat.version,
                first_used_at=ctx.clock.now(),
                content=cat.model_dump(mode="json"),
            )
        )
    ctx.session.flush()
    return {"register_version": version, "register_digest": digest}
