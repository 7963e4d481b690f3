"""The trail's pages: the timeline of changes, an entry with its proof, checkpoints, verification.

Thin handlers over ``service``; forms go through ``page_form`` (session, CSRF, permission).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from assay.errors import InvalidInput
from assay.platform import record
from assay.platform.context import Context
from assay.platform.web.deps import PageCtx, RuntimeDep, page_form
from assay.platform.web.security import add_flash
from assay.platform.web.templating import render
from assay.trail import permissions, service


def _day(value: str, field: str) -> dt.datetime | None:
    if not value:
        return None
    try:
        return dt.datetime.combine(dt.date.fromisoformat(value), dt.time(), tzinfo=dt.UTC)
    except ValueError:
        raise InvalidInput(
            f"{field} {value!r} is not a date (expected YYYY-MM-DD)", field=field, value=value
        ) from None


def router() -> APIRouter:
    """The trail's page routes."""
    pages = APIRouter(prefix="/trail", include_in_schema=False)

    @pages.get("")
    def timeline(
        *,
        request: Request,
        ctx: PageCtx,
        runtime: RuntimeDep,
        capability: str = "",
        object_type: str = "",
        object_id: str = "",
        actor: str = "",
        since: str = "",
        until: str = "",
    ) -> Response:
        names = [c.name for c in runtime.capabilities]
        if capability and capability not in names:
            raise InvalidInput.not_one_of("capability", capability, names)
        where = record.EventFilter(
            action_prefix=f"{capability}." if capability else None,
            object_type=object_type or None,
            object_id=object_id or None,
            actor=actor or None,
            since=_day(since, "since"),
            until=_day(until, "until"),
        )
        events = record.list_events(ctx, where, limit=300)
        page = {
            "events": events,
            "leaf_of": service.leaves_of_events(ctx, [e.id for e in events]),
            "status": service.status(ctx),
            "capability_names": names,
            "filters": {
                "capability": capability,
                "object_type": object_type,
                "object_id": object_id,
                "actor": actor,
                "since": since,
                "until": until,
            },
        }
        return render(request, "trail/timeline.html", page)

    @pages.get("/entries/{index}")
    def entry(request: Request, index: int, ctx: PageCtx) -> Response:
        leaf = service.show(ctx, index)
        status = service.status(ctx)
        covered = status.latest_checkpoint is not None and status.latest_checkpoint.size > index
        bundle = service.inclusion(ctx, index) if covered else None
        page = {"leaf": leaf, "bundle": bundle, "status": status}
        return render(request, "trail/entry.html", page)

    @pages.get("/entries/{index}/proof.json")
    def entry_proof(index: int, ctx: PageCtx) -> Response:
        bundle = service.inclusion(ctx, index)
        return JSONResponse(
            bundle.model_dump(mode="json"),
            headers={"Content-Disposition": f'attachment; filename="trail-proof-{index}.json"'},
        )

    @pages.get("/checkpoints")
    def checkpoints(request: Request, ctx: PageCtx) -> Response:
        page = {
            "checkpoints": service.list_checkpoints(ctx, limit=200),
            "status": service.status(ctx),
        }
        return render(request, "trail/checkpoints.html", page)

    @pages.post("/checkpoints")
    def sign(
        request: Request, ctx: Annotated[Context, Depends(page_form(permissions.CHECKPOINT))]
    ) -> Response:
        signed = service.sign_now(ctx)
        response = RedirectResponse("/trail/checkpoints", status_code=303)
        add_flash(
            request,
            response,
            ctx.settings,
            "success",
            f"Checkpoint {signed.id} covers {signed.size} entries.",
        )
        return response

    @pages.post("/verify")
    def verify(
        request: Request, ctx: Annotated[Context, Depends(page_form(permissions.VERIFY))]
    ) -> Response:
        report = service.verify(ctx)
        page = {"report": report, "status": service.status(ctx)}
        return render(request, "trail/verify.html", page, status_code=200)

    return pages
