"""The access API under ``/api/v1/access``: decisions, the register, screening, impact, coverage.

Thin: authenticate, check the permission, call ``service``. Decisions take one question or a
list; a screening is a job (submit a CSV, poll, fetch the result CSV).
"""

from __future__ import annotations

import datetime as dt
import gzip
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Body, Depends, Query, Request, status
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict

from assay.access import bulk, counterparties_api, decisions, permissions, service
from assay.access.decision import parse_request
from assay.access.schemas import DecisionIn, LicenceIn, LicencePublic, StatusChangeIn
from assay.errors import InvalidInput
from assay.platform.context import Context
from assay.platform.web.deps import ApiCtx, RuntimeDep, api_permission
from assay.regulation.model import CLIENTS

DecideCtx = Annotated[Context, Depends(api_permission(permissions.DECIDE))]
RegisterCtx = Annotated[Context, Depends(api_permission(permissions.REGISTER_WRITE))]
ScreenCtx = Annotated[Context, Depends(api_permission(permissions.SCREEN))]
MAX_SCREENING_BYTES = 200 * 1024 * 1024


class WhatIf(BaseModel):
    """A hypothetical status change of a licence."""

    model_config = ConfigDict(extra="forbid")
    licence: str
    status: str
    date: dt.date


class ScreeningPublic(BaseModel):
    """A screening job."""

    id: int
    status: str
    file_name: str
    submitted_by: str
    submitted_at: dt.datetime
    finished_at: dt.datetime | None
    rows: int
    allowed: int
    refused: int
    invalid: int
    error: str | None
    result: str | None


def router() -> APIRouter:  # noqa: PLR0915 - one flat list of small handlers reads best
    """The access API routes (mounted under /api/v1)."""
    api = APIRouter(prefix="/access", tags=["access"])

    @api.post("/decisions")
    def decide(
        ctx: DecideCtx, body: Annotated[DecisionIn | list[DecisionIn], Body()]
    ) -> dict[str, Any] | list[dict[str, Any]]:
        """Answer one market-access question, or a list of them (answers in the same order)."""
        compiled = service.engine(ctx)
        today = ctx.clock.now().date()
        items = body if isinstance(body, list) else [body]
        requests = [
            parse_request(
                compiled.catalogue,
                item.model_dump(),
                today=today,
                prefix=f"requests[{i}]." if isinstance(body, list) else "",
            )
            for i, item in enumerate(items)
        ]
        answers = [
            decisions.with_counterparty(
                ctx,
                decisions.answer(compiled.decide(r), r),
                item.counterparty,
                item.counterparty_jurisdiction,
            )
            for item, r in zip(items, requests, strict=True)
        ]
        return answers if isinstance(body, list) else answers[0]

    @api.post("/replay")
    def replay(ctx: DecideCtx, past: Annotated[dict[str, Any], Body()]) -> dict[str, Any]:
        """Recompute a past answer on the register version and catalogue it cites."""
        return decisions.replay(ctx, past)

    @api.get("/licences")
    def licences(ctx: ApiCtx) -> list[LicencePublic]:
        """Every licence of the register."""
        return service.list_licences(ctx)

    @api.get("/licences/{reference}")
    def licence(ctx: ApiCtx, reference: str) -> LicencePublic:
        """One licence with its history, passports and deadlines."""
        return service.get_licence(ctx, reference)

    @api.post("/licences", status_code=status.HTTP_201_CREATED)
    def add_licence(ctx: RegisterCtx, body: LicenceIn) -> LicencePublic:
        """Add a licence to the register."""
        return service.add_licence(ctx, body)

    @api.put("/licences/{reference}")
    def update_licence(ctx: RegisterCtx, reference: str, body: LicenceIn) -> LicencePublic:
        """Replace a licence's scope, passports, history and deadlines."""
        return service.update_licence(ctx, reference, body)

    @api.post("/licences/{reference}/status")
    def change_status(ctx: RegisterCtx, reference: str, body: StatusChangeIn) -> LicencePublic:
        """Record a status change (granted, varied, suspended, revoked, lapsed, withdrawn)."""
        return service.change_status(ctx, reference, body)

    @api.post("/licences/{reference}/deadlines/{deadline_id}/done")
    def deadline_done(ctx: RegisterCtx, reference: str, deadline_id: int) -> LicencePublic:
        """Mark a deadline as met today."""
        return service.complete_deadline(ctx, reference, deadline_id, ctx.clock.now().date())

    @api.get("/deadlines")
    def deadlines(
        ctx: ApiCtx, within: Annotated[int, Query(ge=1, le=3650)] = 120
    ) -> list[dict[str, Any]]:
        """Open deadlines due within ``within`` days, overdue ones included."""
        return service.upcoming_deadlines(ctx, within_days=within)

    @api.get("/register/versions")
    def register_versions(
        ctx: ApiCtx, limit: Annotated[int, Query(ge=1, le=1000)] = 50
    ) -> list[dict[str, Any]]:
        """Register versions, newest first (decisions cite them)."""
        return service.register_versions(ctx, limit=limit)

    @api.get("/impact")
    def impact(
        ctx: ApiCtx,
        from_: Annotated[dt.date, Query(alias="from")],
        to: dt.date,
    ) -> list[dict[str, Any]]:
        """The (jurisdiction, client, product) cells whose answer changes between two dates."""
        return [c.to_json() for c in bulk.impact_between(ctx, from_, to)]

    @api.post("/impact/what-if")
    def what_if(ctx: DecideCtx, body: WhatIf) -> list[dict[str, Any]]:
        """The cells whose answer would change if a licence took a status on a date."""
        return [c.to_json() for c in bulk.what_if(ctx, body.licence, body.status, body.date)]

    @api.get("/coverage")
    def coverage(
        ctx: ApiCtx, client: str = "retail", as_of: dt.date | None = None
    ) -> dict[str, Any]:
        """For each jurisdiction served, the products a ``client`` customer may get."""
        if client not in CLIENTS:
            raise InvalidInput.not_one_of("client", client, CLIENTS)
        day = as_of or ctx.clock.now().date()
        found = bulk.coverage_map(ctx, day, client)
        return {
            "as_of": day.isoformat(),
            "client": client,
            "jurisdictions": {k: v for k, v in found.items() if v},
        }

    @api.get("/catalogue")
    def catalogue(_ctx: ApiCtx) -> dict[str, Any]:
        """The catalogue's version, digest and regimes."""
        cat = service.catalogue()
        return {
            "version": cat.version,
            "digest": cat.digest,
            "reviewed_on": cat.reviewed_on.isoformat(),
            "regimes": [
                {
                    "code": r.code,
                    "name": r.name,
                    "rules": len(r.rules),
                    "licence_types": [t.code for t in r.licence_types],
                }
                for r in cat.regimes.values()
            ],
        }

    @api.post("/screenings", status_code=status.HTTP_202_ACCEPTED)
    async def submit_screening(
        ctx: ScreenCtx,
        request: Request,
        runtime: RuntimeDep,
        tasks: BackgroundTasks,
        name: str = "customers.csv",
    ) -> ScreeningPublic:
        """Submit a customer CSV (request body, ``text/csv``) to screen; poll the job."""
        data = await request.body()
        if len(data) > MAX_SCREENING_BYTES:
            raise InvalidInput(
                f"the file is larger than {MAX_SCREENING_BYTES:,} bytes", field="body"
            )
        job_id = bulk.submit_screening(ctx, name, data)
        tasks.add_task(_run, runtime, job_id, ctx.actor)
        return _job(bulk.get_screening(ctx, job_id))

    @api.get("/screenings/{job_id}")
    def screening(ctx: ApiCtx, job_id: int) -> ScreeningPublic:
        """A screening job's state and counts."""
        return _job(bulk.get_screening(ctx, job_id))

    @api.get("/screenings/{job_id}/result", response_class=Response)
    def screening_result(ctx: ApiCtx, job_id: int) -> Response:
        """The decisions CSV of a finished screening."""
        job = bulk.get_screening(ctx, job_id)
        if job.result is None:
            raise InvalidInput(
                f"screening {job_id} is {job.status}; no result yet", field="id", value=job_id
            )
        return Response(
            gzip.decompress(job.result),
            media_type="text/csv",
            headers={"Content-Disposition": f'attachment; filename="decisions-{job_id}.csv"'},
        )

    counterparties_api.add_routes(api)
    return api


def _run(runtime: Any, job_id: int, actor: Any) -> None:
    with runtime.db.uow() as uow:
        bulk.run_screening(runtime.context(uow, actor), job_id)


def _job(row: Any) -> ScreeningPublic:
    return ScreeningPublic(
        id=row.id,
        status=row.status,
        file_name=row.file_name,
        submitted_by=row.submitted_by,
        submitted_at=row.submitted_at,
        finished_at=row.finished_at,
        rows=row.rows,
        allowed=row.allowed,
        refused=row.refused,
        invalid=row.invalid,
        error=row.error,
        result=f"/api/v1/access/screenings/{row.id}/result" if row.result is not None else None,
    )
