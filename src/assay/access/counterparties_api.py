"""Routes under ``/api/v1/access`` for ESMA's register and counterparty lookups.

``POST /esma/imports`` takes the CSV as the request body (``access.esma.import``); it answers
201 with the import's report, or 200 when the file already is the live register. Lookups and
the import history are open to every signed-in role.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response, status
from starlette.concurrency import run_in_threadpool

from assay.access import counterparties, permissions
from assay.access.counterparties import CounterpartyMatch, EsmaImport, ImportReport
from assay.errors import InvalidInput
from assay.platform.context import Context
from assay.platform.web.deps import ApiCtx, api_permission

ImportCtx = Annotated[Context, Depends(api_permission(permissions.ESMA_IMPORT))]
#: ESMA's files are a few hundred kilobytes; anything this large is not one of them.
MAX_ESMA_BYTES = 20 * 1024 * 1024


def add_routes(api: APIRouter) -> None:
    """Add the ESMA import and counterparty routes to the ``/access`` router."""

    @api.post("/esma/imports", status_code=status.HTTP_201_CREATED)
    async def import_esma(
        ctx: ImportCtx,
        request: Request,
        response: Response,
        *,
        kind_hint: Annotated[str | None, Query(description="casp or ncasp")] = None,
        accept_problems: bool = False,
        name: Annotated[str, Query(max_length=300, description="the file's name")] = (
            "esma-register.csv"
        ),
    ) -> ImportReport:
        """Import an ESMA register file (the request body, ``text/csv``); it becomes live.

        A file with rows that could not be read fully is refused (422, every problem listed)
        unless ``accept_problems=true``. The same bytes as the live import: 200, ``unchanged``.
        """
        data = await request.body()
        if len(data) > MAX_ESMA_BYTES:
            raise InvalidInput(
                f"{name}: larger than {MAX_ESMA_BYTES:,} bytes, not an ESMA register file",
                field="body",
            )
        report = await run_in_threadpool(
            counterparties.import_esma,
            ctx,
            data,
            file_name=name,
            accept_problems=accept_problems,
            kind_hint=kind_hint or None,
        )
        if report.unchanged:
            response.status_code = status.HTTP_200_OK
        return report

    @api.get("/esma/imports")
    def esma_imports(
        ctx: ApiCtx, limit: Annotated[int, Query(ge=1, le=1000)] = 50
    ) -> list[EsmaImport]:
        """The ESMA imports, newest first, with their problem reports (``live``: in force)."""
        return counterparties.import_history(ctx, limit=limit)

    @api.get("/counterparties")
    def lookup(
        ctx: ApiCtx,
        q: Annotated[str, Query(description="a name (legal or commercial) or an LEI")],
        jurisdiction: Annotated[str | None, Query(description="ISO 3166 code, e.g. FR")] = None,
        limit: Annotated[int, Query(ge=1, le=counterparties.MAX_MATCHES)] = 20,
    ) -> list[CounterpartyMatch]:
        """Authorised CASPs and listed unauthorised entities matching ``q``, best first."""
        return counterparties.lookup(ctx, q, jurisdiction=jurisdiction, limit=limit)
