"""Access declared as a capability: the licence register and market-access decisions."""

from __future__ import annotations

from typing import TYPE_CHECKING

from assay.access import permissions
from assay.platform.capabilities import Capability, NavItem

if TYPE_CHECKING:
    import typer
    from fastapi import APIRouter

    from assay.platform.context import Context


def _api() -> APIRouter:
    from assay.access.api import router  # noqa: PLC0415 - factories import lazily

    return router()


def _pages() -> APIRouter:
    from assay.access.pages import router  # noqa: PLC0415

    return router()


def _cli() -> typer.Typer:
    from assay.access.cli import cli  # noqa: PLC0415

    return cli()


def _demo(ctx: Context) -> None:
    from assay.access.service import load_demo  # noqa: PLC0415

    load_demo(ctx)


CAPABILITY = Capability(
    name="access",
    title="Market access",
    summary="The regulatory catalogue, the licence register and market-access decisions.",
    order=10,
    api=_api,
    pages=_pages,
    cli=_cli,
    nav=(NavItem("Access", "/access"),),
    permissions=permissions.ALL,
    tables="assay.access.store",
    demo=_demo,
)
