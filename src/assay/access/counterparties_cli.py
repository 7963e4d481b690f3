"""``assay access import-esma`` and ``assay access casps``: ESMA's register in, counterparties out.

``import-esma`` exits 2 (``INVALID_INPUT``) when it refuses a file, naming the rows it could not
read; ``--accept-problems`` imports the readable rows and keeps the report. Both take ``--json``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from assay.access import counterparties
from assay.access.counterparties import CounterpartyMatch, ImportReport
from assay.errors import InvalidInput
from assay.platform.cli_support import console, emit_json, operate, table

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]


def add_commands(app: typer.Typer) -> None:
    """Add the ESMA register and counterparty commands to the ``assay access`` group."""

    @app.command("import-esma")
    def import_esma(
        ctx: typer.Context,
        file: Annotated[Path, typer.Argument(help="ESMA's CASP<date>.csv or NCASP<date>.csv")],
        accept_problems: Annotated[
            bool,
            typer.Option(
                "--accept-problems",
                help="Import the readable rows of a file with problems, and keep the report.",
            ),
        ] = False,
        as_json: JsonOpt = False,
    ) -> None:
        """Import an ESMA interim MiCA register file; it becomes the live register of its kind."""
        try:
            data = file.read_bytes()
        except OSError as exc:
            raise InvalidInput(
                f"{file}: cannot be read ({exc.strerror or exc})", field="file", value=str(file)
            ) from exc
        with operate(ctx) as use_case:
            report = counterparties.import_esma(
                use_case, data, file_name=file.name, accept_problems=accept_problems
            )
        if as_json:
            emit_json(ctx, report)
        else:
            _print_report(ctx, report)

    @app.command("casps")
    def casps(
        ctx: typer.Context,
        query: Annotated[str, typer.Argument(help="a name (legal or commercial) or an LEI")],
        jurisdiction: Annotated[
            str | None, typer.Option(help="ISO 3166 code: may it serve there? e.g. FR")
        ] = None,
        limit: Annotated[
            int, typer.Option(help="most matches", min=1, max=counterparties.MAX_MATCHES)
        ] = 20,
        as_json: JsonOpt = False,
    ) -> None:
        """Look a counterparty up among authorised CASPs and listed unauthorised entities."""
        with operate(ctx) as use_case:
            found = counterparties.lookup(use_case, query, jurisdiction=jurisdiction, limit=limit)
        if as_json:
            emit_json(ctx, found)
            return
        if not found:
            console(ctx).print(
                f"nothing in the live ESMA registers matches {query!r}", markup=False
            )
            return
        _print_matches(ctx, query, found)


def _print_report(ctx: typer.Context, report: ImportReport) -> None:
    out = console(ctx)
    kind = report.kind.upper()
    if report.unchanged:
        out.print(
            f"{report.file_name}: already the live {kind} register (import {report.id} of "
            f"{report.imported_at:%Y-%m-%d %H:%M} UTC, SHA-256 {report.sha256[:12]}...); "
            "nothing changed",
            markup=False,
        )
        return
    out.print(
        f"{report.file_name}: {kind} register, {report.rows} rows imported of "
        f"{report.rows_read} read ({len(report.skipped_rows)} skipped), "
        f"{_count(len(report.problems), 'problem')}; now the live {kind} register "
        f"(import {report.id})",
        markup=False,
    )
    if report.problems:
        out.print(
            table(
                f"{_count(len(report.problems), 'problem')}, kept with the import",
                ["row", "field", "value", "what was done"],
                [
                    (
                        f"{p.row} (skipped)" if p.row_skipped else p.row,
                        p.field or "whole row",
                        p.value,
                        p.message,
                    )
                    for p in report.problems
                ],
            )
        )


def _print_matches(ctx: typer.Context, query: str, found: list[CounterpartyMatch]) -> None:
    where = found[0].jurisdiction
    columns = ["status", "match", "name", "commercial name", "LEI", "home", "since", "services"]
    rows = []
    for m in found:
        since = m.authorised_on if m.status == "authorised" else m.listed_on
        row = [m.status, m.match, m.name, m.commercial_name, m.lei, m.home_state, since]
        row.append(",".join(m.services))
        if where is not None:
            row.append("yes" if m.serves_jurisdiction else "no")
        rows.append(row)
    if where is not None:
        columns.append(f"serves {where}")
    console(ctx).print(table(f"{_count(len(found), 'match')} for {query!r}", columns, rows))


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}es" if noun.endswith("ch") else f"{n} {noun}s"
