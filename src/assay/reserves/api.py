"""The reserves API under ``/api/v1/reserves``: rounds, reserves, reports, proofs, audits, links.

Thin: authenticate, check the permission, call ``service``. A round is created from a
``multipart/form-data`` upload: the round file (``round``, YAML or JSON text) and the
liabilities file (``liabilities``, CSV or Parquet).
"""

from __future__ import annotations

import hashlib
import json
import secrets
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Response, UploadFile, status
from fastapi.responses import FileResponse
from pydantic import BaseModel, ConfigDict, Field

from assay.errors import NotFound
from assay.platform.context import Context
from assay.platform.web.deps import ApiCtx, api_permission
from assay.reserves import permissions, reporting, service
from assay.reserves.proof import CustomerProof
from assay.reserves.rounds import FileDigest, read_round_file
from assay.reserves.service import LinkPublic, RoundPublic

WriteCtx = Annotated[Context, Depends(api_permission(permissions.ROUNDS_WRITE))]
AuditCtx = Annotated[Context, Depends(api_permission(permissions.AUDIT))]
LinksCtx = Annotated[Context, Depends(api_permission(permissions.LINKS_WRITE))]


class LinkIn(BaseModel):
    """A user (by email) who may fetch the proofs of an exchange account."""

    model_config = ConfigDict(extra="forbid")
    email: str = Field(min_length=3, max_length=254)
    account_id: str = Field(min_length=1, max_length=128)


_ADDRESS_FIELDS = ("line", "network", "address", "asset", "status", "scheme", "reason", "message")
_BALANCE_FIELDS = ("line", "chain", "asset", "address", "block_height", "balance", "source")


@contextmanager
def uploaded(ctx: Context, upload: UploadFile, what: str) -> Iterator[Path]:
    """An uploaded file spooled to a private temporary file, removed afterwards."""
    base = service.reserves_dir(ctx.settings)
    base.mkdir(parents=True, exist_ok=True, mode=0o700)
    name = Path(upload.filename or f"{what}.csv").name
    path = base / f".upload-{secrets.token_hex(8)}-{name}"
    try:
        with path.open("wb") as out:
            shutil.copyfileobj(upload.file, out, 1 << 20)
        yield path
    finally:
        path.unlink(missing_ok=True)


def router() -> APIRouter:
    """The reserves API routes (mounted under /api/v1)."""
    api = APIRouter(prefix="/reserves", tags=["reserves"])
    _reserves_routes(api)

    @api.get("/rounds")
    def rounds(ctx: ApiCtx) -> list[RoundPublic]:
        """Every round, the latest snapshot first."""
        return service.list_rounds(ctx)

    @api.get("/rounds/{round_id}")
    def round_(ctx: ApiCtx, round_id: str) -> RoundPublic:
        """One round: status, root, totals per asset, capacity, accounts, anchor."""
        return service.get_round(ctx, round_id)

    @api.post("/rounds", status_code=status.HTTP_201_CREATED)
    def create(
        ctx: WriteCtx,
        round_file: Annotated[str, Form(alias="round", description="the round file (YAML/JSON)")],
        liabilities: Annotated[UploadFile, File(description="the liabilities (CSV or Parquet)")],
    ) -> RoundPublic:
        """Build a round from its round file and liabilities file (status ``built``)."""
        spec = read_round_file(round_file, source="round")
        digest = FileDigest(source="round", sha256=hashlib.sha256(round_file.encode()).hexdigest())
        name = Path(liabilities.filename or "liabilities.csv").name
        suffix = ".parquet" if name.lower().endswith(".parquet") else ".csv"
        base = service.reserves_dir(ctx.settings)
        base.mkdir(parents=True, exist_ok=True, mode=0o700)
        upload = base / f".upload-{secrets.token_hex(8)}{suffix}"
        try:
            with upload.open("wb") as out:
                shutil.copyfileobj(liabilities.file, out, 1 << 20)
            return service.create_round(ctx, spec, upload, source=name, round_file=digest)
        finally:
            upload.unlink(missing_ok=True)

    @api.post("/rounds/{round_id}/publish")
    def publish(ctx: WriteCtx, round_id: str) -> RoundPublic:
        """Publish a built round: immutable from now on, its root anchored in the trail."""
        return service.publish_round(ctx, round_id)

    @api.delete("/rounds/{round_id}", status_code=status.HTTP_204_NO_CONTENT)
    def discard(ctx: WriteCtx, round_id: str) -> Response:
        """Discard a built (unpublished) round: its row and its folder."""
        service.discard_round(ctx, round_id)
        return Response(status_code=status.HTTP_204_NO_CONTENT)

    @api.get("/rounds/{round_id}/proofs/{account_id:path}")
    def proof(ctx: ApiCtx, round_id: str, account_id: str) -> CustomerProof:
        """The customer proof of an account (docs/formats/reserves-proof.md).

        Treasury, auditors and admins may fetch any account's; other users only those of
        accounts linked to them, of published rounds.
        """
        return service.customer_proof(ctx, round_id, account_id)

    @api.post("/rounds/{round_id}/audit")
    def audit(ctx: AuditCtx, round_id: str) -> dict[str, Any]:
        """Recompute the round from its folder; every discrepancy, with its code."""
        return service.audit_round(ctx, round_id).to_json()

    @api.get("/links")
    def links(ctx: ApiCtx) -> list[LinkPublic]:
        """Users linked to accounts: all of them for admins, one's own for everyone else."""
        return service.list_links(ctx)

    @api.post("/links", status_code=status.HTTP_201_CREATED)
    def link(ctx: LinksCtx, body: LinkIn) -> LinkPublic:
        """Let a user fetch the proofs of an account."""
        return service.link_account(ctx, body.email, body.account_id)

    @api.delete("/links/{email}/{account_id:path}", status_code=status.HTTP_204_NO_CONTENT)
    def unlink(ctx: LinksCtx, email: str, account_id: str) -> Response:
        """Take a link away."""
        service.unlink_account(ctx, email, account_id)
        return Response(status_code=status.HTTP_204_NO_CONTENT)

    return api


def _reserves_routes(api: APIRouter) -> None:
    """A round's reserves and its solvency report."""

    @api.post("/rounds/{round_id}/reserves")
    def import_reserves(
        ctx: WriteCtx,
        round_id: str,
        addresses: Annotated[UploadFile, File(description="address claims CSV")],
        balances: Annotated[UploadFile, File(description="balances CSV at block heights")],
        message: Annotated[str | None, Form(description="the round message")] = None,
    ) -> reporting.ReservesPublic:
        """Check a built round's address claims and store them with their balances."""
        with (
            uploaded(ctx, addresses, "addresses") as claims,
            uploaded(ctx, balances, "balances") as book,
        ):
            return reporting.import_reserves(ctx, round_id, claims, book, message=message)

    @api.get("/rounds/{round_id}/reserves")
    def reserves(ctx: ApiCtx, round_id: str) -> dict[str, Any]:
        """A round's address claims (with their verdicts) and balances."""
        service.get_round(ctx, round_id)
        return {
            "addresses": [
                {c: getattr(a, c) for c in _ADDRESS_FIELDS}
                for a in reporting.claims_of(ctx, round_id)
            ],
            "balances": [
                {c: getattr(b, c) for c in _BALANCE_FIELDS}
                for b in reporting.balances_of(ctx, round_id)
            ],
        }

    @api.get("/rounds/{round_id}/report")
    def report(ctx: ApiCtx, round_id: str) -> Response:
        """The issued report's JSON (docs/formats/solvency-report.md); else the unsigned draft."""
        try:
            files = reporting.report_files(ctx, round_id)
        except NotFound:
            draft = reporting.draft_report(ctx, round_id) | {"draft": True}
            return Response(json.dumps(draft), media_type="application/json")
        return FileResponse(files.json, media_type="application/json")

    @api.post("/rounds/{round_id}/report", status_code=status.HTTP_201_CREATED)
    def issue(ctx: WriteCtx, round_id: str) -> reporting.ReportPublic:
        """Issue a published round's report: signed, anchored in the trail, never changed."""
        return reporting.issue_report(ctx, round_id)

    @api.get("/rounds/{round_id}/report.pdf")
    def report_pdf(ctx: ApiCtx, round_id: str) -> FileResponse:
        """The issued report as a PDF."""
        files = reporting.report_files(ctx, round_id)
        return FileResponse(files.pdf, media_type="application/pdf", filename=f"{round_id}.pdf")

    @api.get("/rounds/{round_id}/report.sig")
    def report_sig(ctx: ApiCtx, round_id: str) -> FileResponse:
        """The issued report's signed note (covers the JSON and the PDF)."""
        files = reporting.report_files(ctx, round_id)
        return FileResponse(files.sig, media_type="text/plain; charset=utf-8")

    @api.get("/reports")
    def reports(ctx: ApiCtx) -> list[reporting.ReportPublic]:
        """Every issued report, oldest snapshot first: solvency and ratios over time."""
        return reporting.history(ctx)

    @api.get("/report-keys")
    def report_keys(ctx: ApiCtx) -> list[str]:
        """The verifier keys that sign solvency reports (C2SP note verifier keys)."""
        return [k.verifier_key for k in reporting.report_keys(ctx.settings).verifiers()]
