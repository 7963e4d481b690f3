"""``assay reserves ...``: checks that need no stored round (address ownership, proof files).

``verify-addresses`` exits 0 when no claim failed, 10 (``VERIFICATION_FAILED``) when one did;
with ``--strict`` an unverified claim (a chain Assay cannot check) fails the run too.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from assay.errors import ExitCode
from assay.platform.cli_support import console, emit_json, table
from assay.reserves.ownership import Status, verify_addresses_file

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]


def cli() -> typer.Typer:
    """The ``assay reserves`` command group."""
    app = typer.Typer(help="Proof of reserves.", no_args_is_help=True)

    @app.command("verify-addresses")
    def verify_addresses(
        ctx: typer.Context,
        file: Annotated[
            Path, typer.Argument(help="address claims CSV (docs/formats/reserves-addresses.md)")
        ],
        message: Annotated[
            str | None, typer.Option(help="the round's message (default: the file's first)")
        ] = None,
        strict: Annotated[bool, typer.Option(help="an unverified claim fails too")] = False,
        as_json: JsonOpt = False,
    ) -> None:
        """Check every address-ownership signature of a claims file."""
        results = verify_addresses_file(file, message)
        counts = {s.value: sum(1 for r in results if r.status is s) for s in Status}
        if as_json:
            emit_json(
                ctx,
                {
                    "counts": counts,
                    "results": [
                        {
                            "line": r.claim.line,
                            "network": r.claim.network,
                            "asset": r.claim.digital_asset,
                            "address": r.claim.address,
                            "status": r.status.value,
                            "scheme": r.scheme,
                            "reason": r.reason,
                        }
                        for r in results
                    ],
                },
            )
        else:
            rows = [
                (r.claim.line, r.claim.network, r.claim.address, r.status.value, r.reason)
                for r in results
            ]
            console(ctx).print(
                table(
                    "Address ownership",
                    ["line", "network", "address", "status", "why"],
                    rows,
                )
            )
            console(ctx).print(", ".join(f"{n} {s}" for s, n in counts.items()))
        failed = counts[Status.FAILED.value] + (counts[Status.UNVERIFIED.value] if strict else 0)
        if failed:
            raise typer.Exit(ExitCode.VERIFICATION_FAILED)

    return app
