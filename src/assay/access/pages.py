"""The access pages: coverage map, licence register and timelines, decision explorer, impact.

Thin handlers over ``service``; the one form that changes data (a status change) goes through
``page_form`` (session, CSRF, permission).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import yaml
from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from assay.access import bulk, decisions, permissions, service
from assay.access.analysis import CellChange
from assay.access.decision import parse_request
from assay.access.register import STATUSES
from assay.access.schemas import LicenceIn, LicencePublic, StatusChangeIn, validated
from assay.errors import Conflict, InvalidInput, NotFound
from assay.platform.context import Context
from assay.platform.web.deps import PageCtx, page_form, page_permission
from assay.platform.web.security import add_flash
from assay.platform.web.templating import render
from assay.regulation.model import CLIENTS, PRODUCTS

#: Jurisdictions always shown on the coverage map, served or not, so refusals are visible too.
WATCHED = ("GB", "CH", "US", "HK", "JP", "AE-AZ", "AE-DU-DIFC", "RU", "KP", "IR", "UA-43")


def _day(value: str, field: str, default: dt.date) -> dt.date:
    if not value:
        return default
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(
            f"{field} {value!r} is not a date (expected YYYY-MM-DD)", field=field, value=value
        ) from None


def router() -> APIRouter:  # noqa: PLR0915 - one flat list of small handlers reads best
    """The access page routes."""
    pages = APIRouter(prefix="/access", include_in_schema=False)

    @pages.get("")
    def overview(
        request: Request, ctx: PageCtx, client: str = "retail", as_of: str = ""
    ) -> Response:
        if client not in CLIENTS:
            raise InvalidInput.not_one_of("client", client, CLIENTS)
        day = _day(as_of, "as_of", ctx.clock.now().date())
        grid = bulk.coverage_map(ctx, day, client)
        cat = service.catalogue()
        compiled = service.engine(ctx)
        # Where something is served, where the group holds a licence or passport, and the
        # places people ask about: refusals there are worth seeing too.
        footprint = {lic.home for lic in compiled.register.licences} | {
            p.jurisdiction for lic in compiled.register.licences for p in lic.passports
        }
        shown = [c for c, products in grid.items() if products or c in footprint] + [
            c for c in WATCHED if not grid.get(c) and c not in footprint
        ]
        rows = []
        for code in shown:
            cells = []
            for product in PRODUCTS:
                verdict = compiled.verdict_on(code, client, product, day)
                cells.append(
                    {
                        "product": product,
                        "allowed": verdict.allowed,
                        "reason": verdict.reasons[0].code if verdict.reasons else "",
                        "licence": verdict.licence.reference if verdict.licence else "",
                    }
                )
            rows.append(
                {
                    "code": code,
                    "name": cat.jurisdictions[code].name,
                    "cells": cells,
                    "served": len(grid.get(code, [])),
                }
            )
        page = {
            "rows": rows,
            "products": PRODUCTS,
            "clients": CLIENTS,
            "client": client,
            "as_of": day.isoformat(),
            "served_count": sum(1 for p in grid.values() if p),
            "deadlines": service.upcoming_deadlines(ctx, within_days=120),
            "catalogue": cat,
            "register_version": compiled.register.version,
        }
        return render(request, "access/overview.html", page)

    @pages.get("/licences")
    def licences(request: Request, ctx: PageCtx) -> Response:
        page = {
            "licences": service.list_licences(ctx),
            "deadlines": service.upcoming_deadlines(ctx, within_days=365),
            "can_write": ctx.require_actor().can(permissions.REGISTER_WRITE),
        }
        return render(request, "access/licences.html", page)

    @pages.get("/licences/new")
    def licence_new(
        request: Request,
        _ctx: Annotated[Context, Depends(page_permission(permissions.REGISTER_WRITE))],
    ) -> Response:
        return _editor(request, None, yaml.safe_dump(_TEMPLATE, sort_keys=False), None)

    @pages.post("/licences/new")
    def licence_create(
        request: Request,
        ctx: Annotated[Context, Depends(page_form(permissions.REGISTER_WRITE))],
        text: Annotated[str, Form()],
    ) -> Response:
        try:
            lic = service.add_licence(ctx, _parse_licence(text))
        except (InvalidInput, Conflict, NotFound) as exc:
            return _editor(request, None, text, exc.message, status_code=exc.status)
        response = RedirectResponse(f"/access/licences/{lic.reference}", status_code=303)
        add_flash(request, response, ctx.settings, "success", f"{lic.reference} added.")
        return response

    @pages.get("/licences/{reference}/edit")
    def licence_edit(
        request: Request,
        reference: str,
        ctx: Annotated[Context, Depends(page_permission(permissions.REGISTER_WRITE))],
    ) -> Response:
        lic = service.get_licence(ctx, reference)
        return _editor(request, reference, _as_yaml(lic), None)

    @pages.post("/licences/{reference}/edit")
    def licence_update(
        request: Request,
        reference: str,
        ctx: Annotated[Context, Depends(page_form(permissions.REGISTER_WRITE))],
        text: Annotated[str, Form()],
    ) -> Response:
        try:
            lic = service.update_licence(ctx, reference, _parse_licence(text))
        except (InvalidInput, Conflict, NotFound) as exc:
            return _editor(request, reference, text, exc.message, status_code=exc.status)
        response = RedirectResponse(f"/access/licences/{lic.reference}", status_code=303)
        add_flash(request, response, ctx.settings, "success", f"{lic.reference} updated.")
        return response

    @pages.get("/licences/{reference}")
    def licence(request: Request, reference: str, ctx: PageCtx) -> Response:
        lic = service.get_licence(ctx, reference)
        page = {
            "licence": lic,
            "statuses": STATUSES,
            "today": ctx.clock.now().date().isoformat(),
            "can_write": ctx.require_actor().can(permissions.REGISTER_WRITE),
        }
        return render(request, "access/licence.html", page)

    @pages.post("/licences/{reference}/deadlines/{deadline_id}/done")
    def deadline_done(
        request: Request,
        reference: str,
        deadline_id: int,
        ctx: Annotated[Context, Depends(page_form(permissions.REGISTER_WRITE))],
    ) -> Response:
        service.complete_deadline(ctx, reference, deadline_id, ctx.clock.now().date())
        response = RedirectResponse(f"/access/licences/{reference}", status_code=303)
        add_flash(request, response, ctx.settings, "success", "Deadline marked as met.")
        return response

    @pages.post("/licences/{reference}/status")
    def licence_status(
        request: Request,
        reference: str,
        *,
        ctx: Annotated[Context, Depends(page_form(permissions.REGISTER_WRITE))],
        status: Annotated[str, Form()],
        date: Annotated[str, Form()],
        note: Annotated[str, Form()] = "",
    ) -> Response:
        if status not in STATUSES:
            raise InvalidInput.not_one_of("status", status, STATUSES)
        change = validated(
            StatusChangeIn,
            {"status": status, "date": _day(date, "date", ctx.clock.now().date()), "note": note},
        )
        lic = service.change_status(ctx, reference, change)
        response = RedirectResponse(f"/access/licences/{reference}", status_code=303)
        add_flash(
            request,
            response,
            ctx.settings,
            "success",
            f"{lic.reference} is {lic.status} from {lic.status_since}.",
        )
        return response

    @pages.get("/decide")
    def decide(
        request: Request,
        ctx: PageCtx,
        *,
        jurisdiction: str = "",
        client: str = "retail",
        product: str = "spot",
        asset: str = "",
        amount: str = "",
        currency: str = "",
        as_of: str = "",
    ) -> Response:
        answer: dict[str, Any] | None = None
        error: str | None = None
        if jurisdiction:
            compiled = service.engine(ctx)
            fields = {
                "jurisdiction": jurisdiction,
                "client": client,
                "product": product,
                "asset": asset,
                "amount": amount,
                "currency": currency,
                "as_of": as_of,
            }
            try:
                req = parse_request(compiled.catalogue, fields, today=ctx.clock.now().date())
                answer = decisions.answer(compiled.decide(req), req)
            except InvalidInput as exc:
                error = exc.message
        cat = service.catalogue()
        page = {
            "answer": answer,
            "error": error,
            "form": {
                "jurisdiction": jurisdiction,
                "client": client,
                "product": product,
                "asset": asset,
                "amount": amount,
                "currency": currency,
                "as_of": as_of,
            },
            "jurisdictions": [
                (j.code, f"{j.code} · {j.name}")
                for j in sorted(cat.jurisdictions.values(), key=lambda j: j.code)
            ],
            "clients": CLIENTS,
            "products": PRODUCTS,
        }
        return render(request, "access/decide.html", page)

    @pages.get("/impact")
    def impact(
        request: Request,
        ctx: PageCtx,
        *,
        to: str = "",
        licence: str = "",
        status: str = "",
    ) -> Response:
        start = request.query_params.get("from", "")  # "from" is a keyword in Python
        changes: list[CellChange] | None = None
        title = ""
        if licence and status:
            day = _day(start, "from", ctx.clock.now().date())
            changes = bulk.what_if(ctx, licence, status, day)
            title = f"if {licence} were {status} on {day}"
        elif start and to:
            day_from = _day(start, "from", ctx.clock.now().date())
            day_to = _day(to, "to", ctx.clock.now().date())
            changes = bulk.impact_between(ctx, day_from, day_to)
            title = f"between {day_from} and {day_to}"
        page = {
            "changes": changes,
            "title": title,
            "form": {"from": start, "to": to, "licence": licence, "status": status},
            "licences": [lic.reference for lic in service.list_licences(ctx)],
            "statuses": STATUSES,
        }
        return render(request, "access/impact.html", page)

    return pages


_TEMPLATE: dict[str, Any] = {
    "reference": "NEW-REFERENCE",
    "entity": "kestrel-eu-casp",
    "regime": "mica",
    "licence_type": "casp",
    "regulator": "the competent authority",
    "home": "MT",
    "services": ["a", "c", "d"],
    "products": [],
    "clients": ["client"],
    "approvals": [],
    "conditions": "",
    "history": [{"status": "granted", "date": "2026-01-01", "note": ""}],
    "passports": [{"to": ["FR", "DE"], "since": "2026-01-15"}],
    "deadlines": [{"kind": "reporting", "due": "2026-12-31", "title": "annual report"}],
}


def _editor(
    request: Request, reference: str | None, text: str, error: str | None, *, status_code: int = 200
) -> Response:
    page = {"reference": reference, "text": text, "error": error}
    return render(request, "access/editor.html", page, status_code=status_code)


def _parse_licence(text: str) -> LicenceIn:
    """A licence from the editor's YAML; errors name the field."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InvalidInput(f"the licence is not valid YAML: {exc}", field="text") from exc
    return validated(LicenceIn, data)


def _as_yaml(lic: LicencePublic) -> str:
    data = lic.model_dump(
        mode="json", exclude={"id", "entity_name", "status", "status_since", "passports"}
    )
    for deadline in data["deadlines"]:
        deadline.pop("id", None)
    blocks: dict[tuple[str, str | None], list[str]] = {}
    for p in lic.passports:
        key = (p.since.isoformat(), p.until.isoformat() if p.until else None)
        blocks.setdefault(key, []).append(p.jurisdiction)
    data["passports"] = [
        {"to": codes, "since": since, **({"until": until} if until else {})}
        for (since, until), codes in blocks.items()
    ]
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
