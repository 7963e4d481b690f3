"""Reserves declared as a capability: proof of reserves for customers and auditors.

So far it contributes commands that need no stored round: address-ownership verification and
(as they land) the OKX proof verifiers. Rounds, their tables, API and pages come next.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from assay.platform.capabilities import Capability

if TYPE_CHECKING:
    import typer


def _cli() -> typer.Typer:
    from assay.reserves.cli import cli  # noqa: PLC0415 - factories import lazily

    return cli()


CAPABILITY = Capability(
    name="reserves",
    title="Proof of reserves",
    summary="Liabilities sum tree, customer proofs, address ownership and solvency.",
    order=30,
    cli=_cli,
)
