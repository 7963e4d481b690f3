"""Market-access decisions: ask one question or many, attach counterparties, replay old answers.

Decisions come from the compiled engine of :func:`assay.access.service.engine` (the shipped
catalogue and the register as it stands). A replay recomputes a stored answer on the register
version and catalogue it cites, so an auditor can check any past answer.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import select

from assay.access import counterparties
from assay.access.decision import Decision, Request, parse_request
from assay.access.engine import Engine
from assay.access.register import Register
from assay.access.service import catalogue, engine
from assay.access.store import CatalogueRow, RegisterVersionRow
from assay.errors import InvalidInput, NotFound
from assay.platform.context import Context
from assay.regulation.model import Catalogue


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
