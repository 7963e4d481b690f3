"""The reserves API under ``/api/v1/reserves``: rounds, customer proofs, audits, account links.

Thin: authenticate, check the permission, call ``service``. A round is created from a
``multipart/form-data`` upload: the round file (``round``, YAML or JSON text) and the
liabilities file (``liabilities``, CSV or Parquet).
"""

from __future__ import annotations

import hashlib
import secrets
import shutil
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Response, UploadFile, status
from pydantic import BaseModel, ConfigDict, Field

from assay.platform.context import Context
from assay.platform.web.deps import ApiCtx, api_permission
from assay.reserves import permissions, service
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


def router() -> APIRouter:
    """The reserves API routes (mounted under /api/v1)."""
    api = APIRouter(prefix="/reserves", tags=["reserves"])

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
