"""Access use cases: the licence register (recorded changes, versions) and market-access decisions.

Every register change goes through :func:`assay.platform.record.record` and writes a new register
version (the whole register as JSON, with its digest) in the same transaction. Decisions come from
a compiled :class:`Engine` cached per (catalogue digest, register digest), so a decision after the
first is a lookup; any role may ask, only ``access.register.write`` may change the register.
"""

from __future__ import annotations

import datetime as dt
import functools
import gzip
import hashlib
import io
import json
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from sqlalchemy import select

from assay.access import counterparties, permissions
from assay.access.analysis import (
    CellChange,
    ScreenSummary,
    coverage,
    impact,
    read_customers,
    screen,
)
from assay.access.decision import Decision, Request, parse_request
from assay.access.engine import Engine
from assay.access.licences import check_licence, read_licence_file, to_facts
from assay.access.register import IN_FORCE, STATUSES, Register, StatusChange
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
    ScreeningRow,
    StatusRow,
)
from assay.errors import AssayError, Conflict, InvalidInput, NotFound
from assay.platform.context import Context
from assay.platform.record import ObjectRef, record
from assay.platform.tables import LegalEntity
from assay.regulation.loader import DATA_DIR, load_catalogue
from assay.regulation.model import CLIENTS, Catalogue

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


# --- decisions ---------------------------------------------------------------------------------


def decide(ctx: Context, fields: Mapping[str, object]) -> Decision:
    """Answer one market-access question (fields as the API or the CLI received them)."""
    compiled = engine(ctx)
    request = parse_request(compiled.catalogue, fields, today=ctx.clock.now().date())
    return compiled.decide(request)


def decide_many(ctx: Context, items: Sequence[Mapping[str, object]]) -> list[Decision]:
    """Answer a list of questions; a bad item names its position (``requests[3].product``)."""
    compiled = engine(ctx)
    today = ctx.clock.now().date()
    requests = [
        parse_request(compiled.catalogue, item, today=today, prefix=f"requests[{i}].")
        for i, item in enumerate(items)
    ]
    return compiled.decide_many(requests)


def answer(decision: Decision, request: Request) -> dict[str, Any]:
    """The documented answer with the request it answers (so it can be replayed)."""
    return {
        **decision.to_json(),
        "request": {
            "jurisdiction": request.jurisdiction,
            "client": request.client,
            "product": request.product,
            "asset": request.asset,
            "amount": str(request.amount) if request.amount is not None else None,
            "currency": request.currency,
            "as_of": request.as_of.isoformat(),
        },
    }


def with_counterparty(
    ctx: Context,
    answered: dict[str, Any],
    counterparty: str | None,
    counterparty_jurisdiction: str | None = None,
) -> dict[str, Any]:
    """Attach what ESMA's registers say of a transfer's receiving provider (name or LEI).

    The decision itself does not change: a counterparty ESMA lists as unauthorised, or one the
    registers cannot identify, adds a warning for the compliance officer.
    """
    if not counterparty:
        return answered
    if answered["request"]["product"] != "transfer":
        raise InvalidInput(
            "counterparty applies to transfers only (product 'transfer')",
            field="counterparty",
            value=counterparty,
        )
    check = counterparties.counterparty_check(ctx, counterparty, counterparty_jurisdiction)
    warnings = list(answered.get("warnings", []))
    if check["status"] == "unauthorised":
        warnings.append(
            f"the counterparty {check['name']!r} is listed by ESMA as providing crypto-asset "
            "services without authorisation"
        )
    elif check["status"] == "unknown":
        warnings.append(
            f"the counterparty {counterparty!r} is not in ESMA's register of authorised "
            "crypto-asset service providers"
        )
    elif check["serves_jurisdiction"] is False:
        warnings.append(
            f"the counterparty {check['name']!r} is authorised in {check['home']} but not "
            f"passported to {check['jurisdiction']}"
        )
    return {**answered, "counterparty": check, "warnings": warnings}


def replay(ctx: Context, past: Mapping[str, Any]) -> dict[str, Any]:
    """Recompute a past answer on the register version and catalogue it cites, and compare."""
    ctx.require_actor()
    request_fields = past.get("request")
    version = past.get("register_version")
    if not isinstance(request_fields, Mapping) or not isinstance(version, int):
        raise InvalidInput(
            "a past answer to replay needs its 'request' and 'register_version' "
            "(as returned by the API or `assay access check --json`)",
            field="request",
        )
    cat = _catalogue_for(ctx, str(past.get("catalogue_version", "")))
    register = _register_at(ctx, version)
    request = parse_request(cat, request_fields, today=ctx.clock.now().date())
    replayed = answer(Engine(cat, register).decide(request), request)
    differences = sorted(
        key
        for key in ("allowed", "entity", "licence", "obligations", "reasons", "basis")
        if replayed.get(key) != past.get(key)
    )
    return {"matches": not differences, "differences": differences, "replayed": replayed}


def _catalogue_for(ctx: Context, version: str) -> Catalogue:
    cat = catalogue()
    if version in ("", cat.version):
        return cat
    row = ctx.session.scalar(select(CatalogueRow).where(CatalogueRow.version == version))
    if row is None:
        raise NotFound(
            f"catalogue version {version!r} was never used by this installation "
            f"(the installed one is {cat.version})",
            field="catalogue_version",
            value=version,
        )
    return Catalogue.model_validate(row.content)


def _register_at(ctx: Context, version: int) -> Register:
    if version == 0:
        return Register(version=0)
    row = ctx.session.get(RegisterVersionRow, version)
    if row is None:
        raise NotFound(
            f"register version {version} does not exist", field="register_version", value=version
        )
    return Register.from_json(row.snapshot)


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


# --- bulk: screening, impact, coverage ---------------------------------------------------------


def screen_file(
    ctx: Context, source: Path, out: Path, *, progress: Callable[[int], None] | None = None
) -> ScreenSummary:
    """Screen a customer CSV file into a result CSV file, streaming."""
    compiled = engine(ctx)
    try:
        with (
            source.open(encoding="utf-8-sig", newline="") as inp,
            out.open("w", encoding="utf-8", newline="") as result,
        ):
            rows = read_customers(inp, source=source.name)
            return screen(compiled, rows, result, today=ctx.clock.now().date(), progress=progress)
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInput(
            f"{source}: cannot be read: {exc}", field="file", value=str(source)
        ) from exc


def submit_screening(ctx: Context, file_name: str, data: bytes) -> int:
    """Queue a screening job for the API; returns its id (run it with :func:`run_screening`)."""
    actor = ctx.require(permissions.SCREEN)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"{file_name}: is not UTF-8 text ({exc})", field="file") from exc
    read_customers(io.StringIO(text), source=file_name)  # refuses a file without the columns
    row = ScreeningRow(
        status="queued",
        submitted_by=actor.label,
        submitted_at=ctx.clock.now(),
        file_name=file_name[:200],
        source=gzip.compress(data),
    )
    ctx.session.add(row)
    ctx.session.flush()
    record(
        ctx,
        "access.screening.submit",
        ObjectRef("screening", row.id),
        after={"file_name": row.file_name, "bytes": len(data)},
    )
    ctx.commit()
    return row.id


def run_screening(ctx: Context, job_id: int) -> None:
    """Run a queued screening job and store its result."""
    row = ctx.session.get(ScreeningRow, job_id)
    if row is None or row.status != "queued" or row.source is None:
        return
    row.status = "running"
    ctx.commit()
    try:
        out = io.StringIO()
        rows = read_customers(
            io.StringIO(gzip.decompress(row.source).decode("utf-8-sig")), source=row.file_name
        )
        summary = screen(engine(ctx), rows, out, today=ctx.clock.now().date())
        row.rows, row.allowed = summary.rows, summary.allowed
        row.refused, row.invalid = summary.refused, summary.invalid
        row.result, row.status = gzip.compress(out.getvalue().encode()), "done"
    except AssayError as exc:
        row.status, row.error = "failed", exc.message
    row.finished_at = ctx.clock.now()
    ctx.commit()


def get_screening(ctx: Context, job_id: int) -> ScreeningRow:
    """A screening job (its result is ``gzip.decompress(row.result)``)."""
    ctx.require_actor()
    row = ctx.session.get(ScreeningRow, job_id)
    if row is None:
        raise NotFound(f"no screening job {job_id}", field="id", value=job_id)
    return row


def impact_between(ctx: Context, day_before: dt.date, day_after: dt.date) -> list[CellChange]:
    """Cells whose answer changes between two dates, on the register as it stands."""
    compiled = engine(ctx)
    return impact(compiled, compiled, day_before, day_after)


def what_if(ctx: Context, reference: str, status: str, day: dt.date) -> list[CellChange]:
    """Cells whose answer on ``day`` would change if licence ``reference`` took ``status`` then.

    Nothing is stored: the change is applied to a copy of the register.
    """
    compiled = engine(ctx)
    current = compiled.register
    target = next((lic for lic in current.licences if lic.reference == reference), None)
    if target is None:
        raise NotFound(f"no licence with reference {reference!r}", field="licence", value=reference)
    if status not in STATUSES:
        raise InvalidInput.not_one_of("status", status, STATUSES)
    changed = replace(
        target,
        history=(*target.history, StatusChange(status, day, "what-if")),  # type: ignore[arg-type]
    )
    licences = tuple(changed if lic is target else lic for lic in current.licences)
    hypothetical = Engine(compiled.catalogue, Register(current.version, licences))
    return impact(compiled, hypothetical, day, day)


def coverage_map(ctx: Context, day: dt.date, client: str) -> dict[str, list[str]]:
    """For each jurisdiction, the products a ``client`` customer may get on ``day``."""
    if client not in CLIENTS:
        raise InvalidInput.not_one_of("client", client, CLIENTS)
    return coverage(engine(ctx), day, client)
