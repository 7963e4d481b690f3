"""The trail's HTTP API under ``/api/v1/trail``, and the C2SP tiles under ``/trail``.

Thin: authenticate, check the permission, call ``service``. The tiles and the checkpoint are
served as the C2SP tlog-tiles layout expects (``/trail/checkpoint``, ``/trail/tile/<L>/<N>``,
``/trail/tile/entries/<N>``), to a bearer token or a signed-in browser.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query, status
from fastapi.responses import PlainTextResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from assay.errors import InvalidInput
from assay.platform.context import Context
from assay.platform.record import Change
from assay.platform.web.deps import ApiCtx, ReaderCtx, RuntimeDep, api_permission
from assay.trail import appender, permissions, service, tiles
from assay.trail.schemas import (
    AnchorReceipt,
    CheckpointPublic,
    ConsistencyBundle,
    InclusionBundle,
    LeafPublic,
    TrailStatus,
    VerifyReport,
)

TILE_MEDIA_TYPE = "application/octet-stream"


class AnchorCreate(BaseModel):
    """A value to commit to the log."""

    model_config = ConfigDict(extra="forbid")
    kind: str = Field(min_length=1, max_length=100, examples=["reserves.root"])
    digest: str = Field(pattern=r"^[0-9a-fA-F]{64}([0-9a-fA-F]{32}){0,2}$", description="hex")
    metadata: dict[str, Any] = Field(default_factory=dict)


class EventIn(BaseModel):
    """An event from another system of the exchange, to record in the log."""

    model_config = ConfigDict(extra="forbid")
    action: str = Field(min_length=3, max_length=100, examples=["onboarding.kyc.approve"])
    object_type: str = Field(min_length=1, max_length=100)
    object_id: str = Field(min_length=1, max_length=200)
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None


class EventsAppended(BaseModel):
    """Where the appended events landed."""

    leaf_indexes: list[int]
    size: int


def router() -> APIRouter:
    """The trail's API routes (mounted under /api/v1)."""
    api = APIRouter(prefix="/trail", tags=["trail"])

    @api.get("/status")
    def trail_status(ctx: ApiCtx) -> TrailStatus:
        """The log's size and root, its latest checkpoint and its verifier keys."""
        return service.status(ctx)

    @api.get("/checkpoints")
    def checkpoints(
        ctx: ApiCtx, limit: Annotated[int, Query(ge=1, le=1000)] = 100
    ) -> list[CheckpointPublic]:
        """Signed checkpoints, newest first."""
        return service.list_checkpoints(ctx, limit=limit)

    @api.post("/checkpoints", status_code=status.HTTP_201_CREATED)
    def sign(
        ctx: Annotated[Context, Depends(api_permission(permissions.CHECKPOINT))],
    ) -> CheckpointPublic:
        """Sign a checkpoint now (returns the latest if it already covers the log)."""
        return service.sign_now(ctx)

    @api.get("/leaves/{index}")
    def leaf(index: int, ctx: ApiCtx) -> LeafPublic:
        """One leaf with the change it records."""
        return service.show(ctx, index)

    @api.get("/proofs/inclusion")
    def inclusion(
        ctx: ApiCtx,
        index: Annotated[int, Query(ge=0)],
        size: Annotated[int | None, Query(ge=1, description="default: last checkpoint")] = None,
    ) -> InclusionBundle:
        """The inclusion proof of a leaf (docs/formats/trail-proof.md)."""
        return service.inclusion(ctx, index, size)

    @api.get("/proofs/consistency")
    def consistency(
        ctx: ApiCtx,
        old: Annotated[int, Query(ge=1)],
        new: Annotated[int, Query(ge=1)],
    ) -> ConsistencyBundle:
        """The consistency proof between two tree sizes."""
        return service.consistency(ctx, old, new)

    @api.post("/verify")
    def verify(
        ctx: Annotated[Context, Depends(api_permission(permissions.VERIFY))],
    ) -> VerifyReport:
        """Recompute the whole log and check it (ok is false when anything was changed)."""
        return service.verify(ctx)

    @api.post("/anchors", status_code=status.HTTP_201_CREATED)
    def anchor(
        body: AnchorCreate,
        ctx: Annotated[Context, Depends(api_permission(permissions.ANCHOR))],
    ) -> AnchorReceipt:
        """Commit a digest to the log."""
        receipt = service.anchor(ctx, body.kind, bytes.fromhex(body.digest), body.metadata)
        ctx.commit()
        return receipt

    @api.get("/anchors/{kind}/{digest}")
    def anchor_proof(kind: str, digest: str, ctx: ApiCtx) -> InclusionBundle:
        """The inclusion proof of an anchored digest, against a checkpoint that covers it."""
        return service.anchor_proof(ctx, kind, digest)

    @api.post("/events", status_code=status.HTTP_201_CREATED)
    def append_events(
        body: Annotated[list[EventIn], Body(min_length=1, max_length=1000)],
        ctx: Annotated[Context, Depends(api_permission(permissions.APPEND))],
        runtime: RuntimeDep,
    ) -> EventsAppended:
        """Record events of other systems (group-committed with concurrent callers)."""
        actor = ctx.require_actor()
        now = ctx.clock.now()
        changes = [
            Change(
                at=now,
                actor=actor.label,
                action=e.action,
                object_type=e.object_type,
                object_id=e.object_id,
                before=e.before,
                after=e.after,
            )
            for e in body
        ]
        indexes = appender.appender(runtime).append_many(changes)
        return EventsAppended(leaf_indexes=indexes, size=max(indexes) + 1)

    @api.get("/keys")
    def keys(ctx: ApiCtx) -> list[str]:
        """Verifier keys of every key that signed checkpoints here (note format)."""
        ctx.require_actor()
        return service.verifier_keys(ctx.settings)

    @api.post("/keys/rotate")
    def rotate(ctx: Annotated[Context, Depends(api_permission(permissions.KEYS))]) -> list[str]:
        """Start signing with a new key; returns every verifier key, the new one last."""
        service.rotate_key(ctx)
        return service.verifier_keys(ctx.settings)

    return api


def tiles_router() -> APIRouter:
    """``/trail/checkpoint`` and ``/trail/tile/...`` in the C2SP tlog-tiles layout."""
    files = APIRouter(prefix="/trail", include_in_schema=False)

    @files.get("/checkpoint")
    def checkpoint(ctx: ReaderCtx) -> Response:
        return PlainTextResponse(service.latest_note(ctx), headers={"Cache-Control": "no-store"})

    @files.get("/tile/{path:path}")
    def tile(path: str, ctx: ReaderCtx) -> Response:
        try:
            level, index, width = tiles.parse_tile_path(path)
        except ValueError as exc:
            raise InvalidInput(f"tile path {path!r}: {exc}", field="path", value=path) from exc
        if level == "entries":
            body = service.entry_bundle(ctx, index, width)
        else:
            assert isinstance(level, int)  # noqa: S101 - parse_tile_path returns int or "entries"
            body = service.tile(ctx, level, index, width)
        immutable = width == tiles.WIDTH
        cache = "public, max-age=31536000, immutable" if immutable else "no-store"
        return Response(body, media_type=TILE_MEDIA_TYPE, headers={"Cache-Control": cache})

    return files
