"""The trail declared as a capability: tamper-evident record of every change."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from assay.platform.capabilities import Capability, NavItem
from assay.trail import permissions

if TYPE_CHECKING:
    import typer
    from fastapi import APIRouter

    from assay.platform.context import RecordHook
    from assay.platform.runtime import Runtime
    from assay.settings import Settings


def _api() -> APIRouter:
    from assay.trail.api import router  # noqa: PLC0415 - factories import lazily

    return router()


def _pages() -> APIRouter:
    from fastapi import APIRouter  # noqa: PLC0415

    from assay.trail.api import tiles_router  # noqa: PLC0415
    from assay.trail.pages import router  # noqa: PLC0415

    both = APIRouter()
    both.include_router(tiles_router())
    both.include_router(router())
    return both


def _cli() -> typer.Typer:
    from assay.trail.cli import cli  # noqa: PLC0415

    return cli()


def _record_hook(settings: Settings) -> RecordHook:
    from assay.trail.service import record_hook  # noqa: PLC0415

    return record_hook(settings)


@asynccontextmanager
async def _lifespan(runtime: Runtime) -> AsyncIterator[None]:
    """While serving: sign a checkpoint every ASSAY_TRAIL_CHECKPOINT_SECONDS if the log grew."""
    from assay.trail import appender  # noqa: PLC0415
    from assay.trail.service import sign_if_grown  # noqa: PLC0415

    def tick() -> None:
        with runtime.db.uow() as uow:
            sign_if_grown(uow.session, runtime.settings, runtime.clock)

    async def loop() -> None:
        while True:
            await asyncio.sleep(runtime.settings.trail_checkpoint_seconds)
            try:
                await asyncio.to_thread(tick)
            except Exception:
                import logging  # noqa: PLC0415

                logging.getLogger("assay.trail").exception("periodic checkpoint failed")

    task = asyncio.create_task(loop())
    try:
        yield
    finally:
        task.cancel()
        await asyncio.to_thread(appender.close, runtime)


CAPABILITY = Capability(
    name="trail",
    title="Trail",
    summary="A tamper-evident log of every change, with signed checkpoints and proofs.",
    order=90,
    api=_api,
    pages=_pages,
    cli=_cli,
    nav=(NavItem("Trail", "/trail"),),
    permissions=permissions.ALL,
    tables="assay.trail.store",
    record_hook=_record_hook,
    machine_paths=("/trail/tile/", "/trail/checkpoint"),
    lifespan=_lifespan,
)
