"""Reserves declared as a capability: proof of reserves for customers and auditors.

It contributes rounds (a liabilities snapshot built into a sum tree, stored, published and
anchored in the trail), reserves and the solvency report, customer proofs and the auditor's
recomputation, as API routes under ``/api/v1/reserves``, pages under ``/reserves`` and commands
under ``assay reserves``; and the checks that need no stored round: proof files (also in the
browser, at ``/reserves/verify``), OKX trees, address ownership.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from assay.platform.capabilities import Capability, NavItem
from assay.reserves import permissions

if TYPE_CHECKING:
    import typer
    from fastapi import APIRouter

    from assay.platform.context import Context


def _api() -> APIRouter:
    from assay.reserves.api import router  # noqa: PLC0415 - factories import lazily

    return router()


def _pages() -> APIRouter:
    from assay.reserves.pages import router  # noqa: PLC0415

    return router()


def _demo(ctx: Context) -> None:
    from assay.reserves.demo import load_demo  # noqa: PLC0415

    load_demo(ctx)


def _cli() -> typer.Typer:
    from assay.reserves.cli import cli  # noqa: PLC0415 - factories import lazily

    return cli()


CAPABILITY = Capability(
    name="reserves",
    title="Proof of reserves",
    summary="Liabilities sum tree, customer proofs, address ownership and solvency.",
    order=30,
    api=_api,
    pages=_pages,
    cli=_cli,
    nav=(NavItem("Reserves", "/reserves"),),
    permissions=permissions.ALL,
    tables="assay.reserves.store",
    demo=_demo,
)
