"""Counterparties: ESMA's interim MiCA register imported, and who a counterparty is in it.

:func:`import_esma` stores one ESMA file (``CASP<date>.csv`` or ``NCASP<date>.csv``, read by
:mod:`assay.access.esma`) in one transaction: the import with its problem report, its rows, and
the record of the change. The latest import of each kind is the live register. Older imports keep
their rows, so the register a past counterparty check cited (by file and SHA-256) can still be
read; a file with the same bytes as the live one is not imported again. A file the parser could
not read fully is refused unless the caller accepts its problems: half a register is never
imported silently.

:func:`lookup` and :func:`counterparty_check` answer from the live rows, through an in-memory
index built once per pair of live imports (an import's rows never change once committed), so a
transfer decision pays two small queries, not a scan. Matching itself is the pure
:class:`~assay.access.counterparty_index.Index`: an LEI is the identity; a name is compared under
:func:`assay.access.esma.normalise_name`, exact first, then prefix, then contains. This module
never edits an import's rows after the fact and never guesses a status from a partial name.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any, Literal

from pydantic import BaseModel
from sqlalchemy import insert, select

from assay.access import esma, permissions
from assay.access.counterparty_index import (
    How,
    Index,
    Listing,
    Status,
    name_keys,
    normalise_jurisdiction,
)
from assay.access.esma_rows import AuthorisedCasp, ParsedRegister, UnauthorisedEntity
from assay.access.store import CaspRow, EsmaImportRow, UnauthorisedRow
from assay.errors import InvalidInput
from assay.platform.context import Context
from assay.platform.record import ObjectRef, record

__all__ = [
    "KINDS",
    "CounterpartyMatch",
    "EsmaImport",
    "EsmaProblem",
    "ImportReport",
    "Index",
    "Listing",
    "counterparty_check",
    "import_esma",
    "import_history",
    "lookup",
    "name_keys",
    "normalise_jurisdiction",
]

Kind = Literal["casp", "ncasp"]
#: The two ESMA files imported: authorised providers and unauthorised entities.
KINDS: tuple[Kind, ...] = ("casp", "ncasp")
#: How many problems a refusal quotes in its message (its details carry all of them).
QUOTED_PROBLEMS = 5
#: The most matches one lookup returns.
MAX_MATCHES = 200
_KIND_TITLES = {"casp": "CASP register", "ncasp": "NCASP register"}


# --- schemas -----------------------------------------------------------------------------------


class EsmaProblem(BaseModel):
    """A value of an imported file that was not read as published (see docs/formats)."""

    row: int
    field: str | None
    value: str
    message: str
    row_skipped: bool


class EsmaImport(BaseModel):
    """One imported ESMA file: what it was, what was kept, what could not be read."""

    id: int
    kind: Kind
    file_name: str
    sha256: str
    imported_at: dt.datetime
    rows_read: int
    rows: int
    skipped_rows: list[int]
    problems: list[EsmaProblem]
    live: bool


class ImportReport(EsmaImport):
    """The answer to an import; ``unchanged`` when the file already was the live register."""

    unchanged: bool


class CounterpartyMatch(BaseModel):
    """An entry of the live register that matches a lookup."""

    status: Status
    match: How
    name: str
    commercial_name: str | None
    lei: str | None
    home_state: str
    authority: str
    authorised_on: dt.date | None
    authorisation_ends: dt.date | None
    services: list[str]
    passported_to: list[str]
    websites: list[str]
    listed_on: dt.date | None
    reason: str | None
    jurisdiction: str | None
    serves_jurisdiction: bool | None
    import_id: int


# --- importing ---------------------------------------------------------------------------------


def import_esma(
    ctx: Context,
    data: bytes,
    *,
    file_name: str,
    accept_problems: bool = False,
    kind_hint: str | None = None,
) -> ImportReport:
    """Import one ESMA register file; it becomes the live register of its kind.

    Args:
        ctx: the use case's context (needs ``access.esma.import``).
        data: the file's bytes, as downloaded from ESMA.
        file_name: the name to keep and to quote in problems.
        accept_problems: import the readable rows of a file with problems (and keep the report);
            without it such a file is refused and nothing is stored.
        kind_hint: ``casp`` or ``ncasp`` when the caller knows which file this should be.

    Returns:
        The import's report; ``unchanged`` (nothing stored, nothing recorded) when the bytes are
        those of the live import of the same kind.

    Raises:
        InvalidInput: the header is neither file's, the file is not of ``kind_hint``, it has
            problems and they were not accepted, or it holds no row at all.
    """
    ctx.require(permissions.ESMA_IMPORT)
    if kind_hint is not None and kind_hint not in KINDS:
        raise InvalidInput.not_one_of("kind_hint", kind_hint, KINDS)
    parsed = esma.parse_register(data, file_name=file_name)
    if kind_hint is not None and parsed.kind != kind_hint:
        raise InvalidInput(
            f"{file_name} is ESMA's {_KIND_TITLES[parsed.kind]} (told by its header), not the "
            f"{_KIND_TITLES[kind_hint]} asked for",
            field="kind_hint",
            value=kind_hint,
            file=file_name,
        )
    live = _live(ctx).get(parsed.kind)
    if live is not None and live.sha256 == parsed.file_sha256:
        return ImportReport(**_public(live, live=True).model_dump(), unchanged=True)
    if parsed.problems and not accept_problems:
        raise _refusal(parsed)
    if not parsed.rows:
        raise InvalidInput(
            f"{file_name}: holds no row of the {_KIND_TITLES[parsed.kind]}; an empty register "
            "would make every provider unknown, so it was not imported",
            field="file",
            value=file_name,
            file=file_name,
        )
    row = EsmaImportRow(
        kind=parsed.kind,
        file_name=_clip(file_name, 300),
        sha256=parsed.file_sha256,
        imported_at=ctx.clock.now(),
        rows=len(parsed.rows),
        problems=[p.model_dump() for p in _problems(parsed)],
    )
    ctx.session.add(row)
    ctx.session.flush()
    if parsed.kind == "casp":
        values = [_casp_values(row.id, r) for r in parsed.authorised]
        ctx.session.execute(insert(CaspRow), values)
    else:
        values = [_unauthorised_values(row.id, r) for r in parsed.unauthorised]
        ctx.session.execute(insert(UnauthorisedRow), values)
    record(
        ctx,
        "access.esma.import",
        ObjectRef("esma_import", row.id),
        after={
            "kind": row.kind,
            "file": row.file_name,
            "sha256": row.sha256,
            "rows": row.rows,
            "problems": len(row.problems),
            "replaces": live.id if live is not None else None,
        },
    )
    ctx.commit()
    return ImportReport(**_public(row, live=True).model_dump(), unchanged=False)


def import_history(ctx: Context, *, limit: int = 50) -> list[EsmaImport]:
    """The imports, newest first, each with its problem report and whether it is live."""
    ctx.require_actor()
    live_ids = {row.id for row in _live(ctx).values()}
    rows = ctx.session.scalars(select(EsmaImportRow).order_by(EsmaImportRow.id.desc()).limit(limit))
    return [_public(row, live=row.id in live_ids) for row in rows]


def _refusal(parsed: ParsedRegister) -> InvalidInput:
    problems = _problems(parsed)
    faulty = len({p.row for p in problems})
    quoted = "; ".join(
        f"row {p.row}, {p.field or 'the whole row'}, value {_clip(p.value, 80)!r}: {p.message}"
        for p in problems[:QUOTED_PROBLEMS]
    )
    more = len(problems) - QUOTED_PROBLEMS
    first = f"The first {QUOTED_PROBLEMS}" if more > 0 else "They are"
    return InvalidInput(
        f"{parsed.file_name}: {faulty} of its {_count(parsed.rows_read, 'row')} could not be "
        f"read fully ({len(parsed.skipped_rows)} of them skipped), "
        f"{_count(len(problems), 'problem')}; nothing was imported. {first}: {quoted}"
        + (f" (and {more} more)" if more > 0 else "")
        + ". Pass --accept-problems (API: accept_problems=true) to import the "
        f"{_count(len(parsed.rows), 'readable row')} and keep this report with the import.",
        field="file",
        value=parsed.file_name,
        file=parsed.file_name,
        kind=parsed.kind,
        rows_read=parsed.rows_read,
        rows_with_problems=faulty,
        skipped_rows=list(parsed.skipped_rows),
        problems=[p.model_dump() for p in problems],
    )


def _problems(parsed: ParsedRegister) -> list[EsmaProblem]:
    skipped = set(parsed.skipped_rows)
    return [
        EsmaProblem(
            row=p.row,
            field=p.field,
            value=_clip(p.value, 1000),
            message=p.message,
            row_skipped=p.row in skipped,
        )
        for p in parsed.problems
    ]


def _casp_values(import_id: int, casp: AuthorisedCasp) -> dict[str, Any]:
    return {
        "import_id": import_id,
        "name": _clip(casp.legal_name, 300),
        "name_key": _clip(esma.normalise_name(casp.legal_name), 300),
        "commercial_name": _clip(casp.commercial_name or "", 300),
        "lei": casp.lei,
        "home_state": casp.home_state,
        "authority": _clip(casp.competent_authority, 300),
        "authorised_on": casp.authorised_on,
        "authorisation_ends": casp.authorisation_ends,
        "services": list(casp.services),
        "passported_to": list(casp.passported_to),
        "website": _websites(casp.websites),
    }


def _unauthorised_values(import_id: int, entity: UnauthorisedEntity) -> dict[str, Any]:
    return {
        "import_id": import_id,
        "name": _clip(entity.name, 300),
        "name_key": _clip(esma.normalise_name(entity.name), 300),
        "commercial_name": _clip(entity.commercial_name or "", 300),
        "lei": entity.lei,
        "home_state": entity.home_state,
        "website": _websites(entity.websites),
        "details": {
            "row": entity.row,
            "authority": entity.competent_authority,
            "lei_country": entity.lei_country,
            "websites": list(entity.websites),
            "infringement": entity.infringement,
            "reason": entity.reason,
            "decision_date": _iso(entity.decision_date),
            "comments": entity.comments,
            "last_update": _iso(entity.last_update),
        },
    }


def _websites(websites: Sequence[str]) -> str:
    """As many whole addresses as the 500-character column holds, space-separated."""
    kept: list[str] = []
    for site in websites:
        if len(" ".join([*kept, site])) > 500:
            break
        kept.append(site)
    return " ".join(kept)


def _public(row: EsmaImportRow, *, live: bool) -> EsmaImport:
    problems = [EsmaProblem.model_validate(p) for p in row.problems]
    skipped = sorted({p.row for p in problems if p.row_skipped})
    return EsmaImport(
        id=row.id,
        kind="casp" if row.kind == "casp" else "ncasp",
        file_name=row.file_name,
        sha256=row.sha256,
        imported_at=row.imported_at,
        rows_read=row.rows + len(skipped),
        rows=row.rows,
        skipped_rows=skipped,
        problems=problems,
        live=live,
    )


# --- looking up --------------------------------------------------------------------------------


def lookup(
    ctx: Context, query: str, *, jurisdiction: str | None = None, limit: int = 20
) -> list[CounterpartyMatch]:
    """Authorised CASPs and listed unauthorised entities matching ``query`` (name or LEI).

    With ``jurisdiction``, each match says whether it may serve there. Any signed-in role may
    look up; with no register imported the answer is empty.
    """
    ctx.require_actor()
    where = normalise_jurisdiction(jurisdiction)
    if not 1 <= limit <= MAX_MATCHES:
        raise InvalidInput(f"limit {limit} is outside 1..{MAX_MATCHES}", field="limit", value=limit)
    found = _index(ctx, _live(ctx)).find(query, limit=limit)
    today = ctx.clock.now().date()
    return [_match(listing, how, where, today) for listing, how in found]


def counterparty_check(ctx: Context, query: str, jurisdiction: str | None) -> dict[str, Any]:
    """What a transfer decision attaches about its counterparty, from the live register.

    Only an LEI or an exact (normalised) name identifies a counterparty; a prefix or a partial
    name never does. When the identifying listings disagree (an authorised provider and a listed
    unauthorised entity under one name) the answer is ``unauthorised`` and ``ambiguous``. A
    provider listed more than once (one row per authorisation) serves a jurisdiction when any of
    its rows does. ``source`` is the import the answer comes from: for ``unknown``, the live CASP
    register it was looked for in (None when none was ever imported).
    """
    ctx.require_actor()
    where = normalise_jurisdiction(jurisdiction)
    live = _live(ctx)
    found = [
        (listing, how)
        for listing, how in _index(ctx, live).find(query, limit=MAX_MATCHES)
        if how in ("lei", "exact")
    ]
    identified = [listing for listing, _ in found]
    unauthorised = [x for x in identified if x.status == "unauthorised"]
    chosen = unauthorised or identified
    first = chosen[0] if chosen else None
    by_id = {row.id: row for row in live.values()}
    source = by_id.get(first.import_id) if first else live.get("casp")
    serves: bool | None = None
    if first is not None and where is not None:
        today = ctx.clock.now().date()
        serves = any(listing.serves(where, today) for listing in chosen)
    return {
        "query": query,
        "found": first is not None,
        "status": first.status if first else "unknown",
        "name": first.name if first else None,
        "lei": first.lei if first else None,
        "home": first.home_state if first else None,
        "jurisdiction": where,
        "serves_jurisdiction": serves,
        "match": found[0][1] if found else None,
        "ambiguous": len({_identity(x) for x in identified}) > 1,
        "source": (
            {
                "file": source.file_name,
                "sha256": source.sha256,
                "imported_at": source.imported_at.isoformat(),
            }
            if source is not None
            else None
        ),
    }


def _identity(listing: Listing) -> tuple[str, str]:
    """Who a listing is: its LEI where it has one, else its name (one provider, several rows)."""
    return listing.status, listing.lei or (listing.keys[0] if listing.keys else listing.name)


def _match(listing: Listing, how: How, where: str | None, today: dt.date) -> CounterpartyMatch:
    return CounterpartyMatch(
        status=listing.status,
        match=how,
        name=listing.name,
        commercial_name=listing.commercial_name,
        lei=listing.lei,
        home_state=listing.home_state,
        authority=listing.authority,
        authorised_on=listing.authorised_on,
        authorisation_ends=listing.authorisation_ends,
        services=list(listing.services),
        passported_to=list(listing.passported_to),
        websites=list(listing.websites),
        listed_on=listing.listed_on,
        reason=listing.reason,
        jurisdiction=where,
        serves_jurisdiction=listing.serves(where, today) if where is not None else None,
        import_id=listing.import_id,
    )


def _live(ctx: Context) -> dict[Kind, EsmaImportRow]:
    """The live import of each kind (the latest), for the kinds ever imported."""
    live: dict[Kind, EsmaImportRow] = {}
    for kind in KINDS:
        row = ctx.session.scalar(
            select(EsmaImportRow)
            .where(EsmaImportRow.kind == kind)
            .order_by(EsmaImportRow.id.desc())
            .limit(1)
        )
        if row is not None:
            live[kind] = row
    return live


# One index per pair of live imports. An import's rows never change once committed, so its id
# and digest identify them (the digest too, because tests run many databases in one process).
_IndexKey = tuple[tuple[str, int, str], ...]
_INDEXES: OrderedDict[_IndexKey, Index] = OrderedDict()
_INDEXES_LOCK = threading.Lock()
_INDEXES_KEPT = 4


def _index(ctx: Context, live: dict[Kind, EsmaImportRow]) -> Index:
    key = tuple((kind, row.id, row.sha256) for kind, row in sorted(live.items()))
    with _INDEXES_LOCK:
        found = _INDEXES.get(key)
        if found is not None:
            _INDEXES.move_to_end(key)
            return found
    listings: list[Listing] = []
    if "casp" in live:
        casps = ctx.session.scalars(
            select(CaspRow).where(CaspRow.import_id == live["casp"].id).order_by(CaspRow.id)
        )
        listings.extend(_casp_listing(row) for row in casps)
    if "ncasp" in live:
        listed = ctx.session.scalars(
            select(UnauthorisedRow)
            .where(UnauthorisedRow.import_id == live["ncasp"].id)
            .order_by(UnauthorisedRow.id)
        )
        listings.extend(_unauthorised_listing(row) for row in listed)
    built = Index(listings)
    with _INDEXES_LOCK:
        _INDEXES[key] = built
        while len(_INDEXES) > _INDEXES_KEPT:
            _INDEXES.popitem(last=False)
    return built


def _casp_listing(row: CaspRow) -> Listing:
    return Listing(
        status="authorised",
        import_id=row.import_id,
        name=row.name,
        commercial_name=row.commercial_name or None,
        lei=row.lei,
        home_state=row.home_state,
        authority=row.authority,
        authorised_on=row.authorised_on,
        authorisation_ends=row.authorisation_ends,
        services=tuple(row.services),
        passported_to=tuple(row.passported_to),
        websites=tuple(row.website.split()),
        keys=name_keys(row.name, row.commercial_name),
    )


def _unauthorised_listing(row: UnauthorisedRow) -> Listing:
    details = row.details
    decided = details.get("decision_date")
    return Listing(
        status="unauthorised",
        import_id=row.import_id,
        name=row.name,
        commercial_name=row.commercial_name or None,
        lei=row.lei,
        home_state=row.home_state,
        authority=str(details.get("authority") or ""),
        websites=tuple(details.get("websites") or row.website.split()),
        listed_on=dt.date.fromisoformat(decided) if decided else None,
        reason=details.get("reason"),
        keys=name_keys(row.name, row.commercial_name),
    )


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _clip(text: str, length: int) -> str:
    return text if len(text) <= length else text[: length - 1] + "\u2026"


def _iso(day: dt.date | None) -> str | None:
    return day.isoformat() if day else None
