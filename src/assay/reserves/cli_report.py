"""``assay reserves import|report|history|report-key|check-report``: reserves and solvency.

``import`` checks a round's address claims and stores them with the balances; ``report`` issues
the signed report of a published round (or shows it, or the draft of a round not yet published);
``check-report`` checks a report folder's signature and digests, exit 10 when they do not hold.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from assay.errors import AssayError, ExitCode, NotFound
from assay.platform.cli_support import console, emit_json, operate, table
from assay.reserves import reporting
from assay.reserves.chaindata import CsvBalanceSource
from assay.reserves.service import PUBLISHED, get_round
from assay.reserves.solvency import percent
from assay.trail.note import Verifier

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]


def print_report(out: Console, report: dict[str, Any], *, draft: bool) -> None:
    """The report's verdict, its table per asset, and its findings."""
    rnd = report["round"]
    state = "DRAFT (round not published; not signed)" if draft else f"issued {report['issued_at']}"
    verdict = "[green]solvent[/]" if report["solvent"] else "[red]NOT solvent[/]"
    out.print(f"round {rnd['id']}: {verdict}; {state}")
    rows = [
        (
            a["asset"],
            a["liabilities"],
            a["reserves"],
            a["reserves_unverified"],
            a["customer_debt"],
            percent(a["ratio"]),
            ", ".join(a["flags"]) or "covered",
        )
        for a in report["assets"]
    ]
    headers = ["asset", "liabilities", "reserves", "unverified", "debt", "ratio", "flags"]
    out.print(table("Solvency per asset", headers, rows))
    for flag in report["flags"]:
        out.print(f"  {flag['code']}: {flag['detail']}", markup=False)


def report_commands(app: typer.Typer) -> None:  # noqa: PLR0915 - one flat list of small commands
    """Add the reserves and report commands to ``assay reserves``."""

    @app.command("import")
    def import_(
        ctx: typer.Context,
        round_id: Annotated[str, typer.Argument(metavar="ROUND")],
        *,
        addresses: Annotated[
            Path, typer.Option(help="address claims CSV (docs/formats/reserves-addresses.md)")
        ],
        balances: Annotated[Path, typer.Option(help="balances CSV at their block heights")],
        message: Annotated[
            str | None, typer.Option(help="the round message (default: the file's first)")
        ] = None,
        confirm_with: Annotated[
            Path | None,
            typer.Option(help="an independent balances CSV every balance must match"),
        ] = None,
        as_json: JsonOpt = False,
    ) -> None:
        """Check ROUND's address claims and store them with their balances (replaces any)."""
        other = CsvBalanceSource(confirm_with) if confirm_with else None
        with operate(ctx) as use_case:
            done = reporting.import_reserves(
                use_case, round_id, addresses, balances, message=message, confirm_with=other
            )
        if as_json:
            emit_json(ctx, done)
            return
        out = console(ctx)
        counts = ", ".join(f"{n} {s}" for s, n in done.addresses.items())
        out.print(
            f"round {round_id}: {sum(done.addresses.values())} addresses ({counts}), "
            f"{done.balances} balances",
            markup=False,
        )
        print_report(out, done.draft, draft=True)

    @app.command("report")
    def report(
        ctx: typer.Context,
        round_id: Annotated[str, typer.Argument(metavar="ROUND")],
        out: Annotated[
            Path | None, typer.Option(help="copy report.json, report.pdf, report.sig here")
        ] = None,
        as_json: JsonOpt = False,
    ) -> None:
        """The solvency report of ROUND: issued (signed, anchored) on first call once published."""
        with operate(ctx) as use_case:
            found = get_round(use_case, round_id)
            if found.status != PUBLISHED:
                data = reporting.draft_report(use_case, round_id)
                if as_json:
                    emit_json(ctx, data)
                else:
                    print_report(console(ctx), data, draft=True)
                return
            try:
                issued = reporting.get_report(use_case, round_id)
            except NotFound:
                issued = reporting.issue_report(use_case, round_id)
            files = reporting.report_files(use_case, round_id)
        body = files.json.read_bytes()
        if out is not None:
            out.mkdir(parents=True, exist_ok=True)
            for path in (files.json, files.pdf, files.sig):
                (out / path.name).write_bytes(path.read_bytes())
        if as_json:
            typer.echo(body.decode(), nl=False)
            return
        printer = console(ctx)
        print_report(printer, json.loads(body), draft=False)
        printer.print(f"  JSON sha256 {issued.json_sha256}; trail leaf {issued.anchor_leaf}")
        if out is not None:
            printer.print(f"wrote {out}/{{report.json,report.pdf,report.sig}}", markup=False)

    @app.command("history")
    def history(ctx: typer.Context, as_json: JsonOpt = False) -> None:
        """Every issued report, oldest first: solvency and ratios per asset over time."""
        with operate(ctx) as use_case:
            found = reporting.history(use_case)
        if as_json:
            emit_json(ctx, found)
            return
        assets = sorted({a for r in found for a in r.summary["ratios"]})
        rows = [
            (
                r.round_id,
                r.summary["snapshot_at"][:10],
                "yes" if r.solvent else "NO",
                *(percent(r.summary["ratios"].get(a)) for a in assets),
            )
            for r in found
        ]
        console(ctx).print(
            table("Solvency history", ["round", "snapshot", "solvent", *assets], rows)
        )

    @app.command("report-key")
    def report_key(ctx: typer.Context) -> None:
        """The verifier keys of solvency reports (publish them; check-report takes them)."""
        with operate(ctx) as use_case:
            keys = reporting.report_keys(use_case.settings).verifiers()
        for key in keys:
            typer.echo(key.verifier_key)

    @app.command("check-report")
    def check_report(
        ctx: typer.Context,
        folder: Annotated[Path, typer.Argument(help="a folder with report.json, .pdf and .sig")],
        key: Annotated[
            list[str] | None,
            typer.Option(
                help="a verifier key (`assay reserves report-key`); default: this installation's"
            ),
        ] = None,
    ) -> None:
        """Check a report's signature and both files' digests; exit 10 when they do not hold."""
        try:
            if key:
                verifiers = [Verifier.parse(k) for k in key]
            else:
                with operate(ctx) as use_case:
                    verifiers = reporting.report_keys(use_case.settings).verifiers()
            files = [folder / n for n in ("report.sig", "report.json", "report.pdf")]
            missing = [str(p) for p in files if not p.is_file()]
            if missing:
                console(ctx).print(f"missing: {', '.join(missing)}", markup=False)
                raise typer.Exit(ExitCode.INVALID_INPUT)
            text = reporting.check_report(
                files[0].read_text(encoding="utf-8"),
                files[1].read_bytes(),
                files[2].read_bytes(),
                verifiers,
            )
        except AssayError as exc:
            console(ctx).print(f"NOT VALID: {exc.message}", markup=False)
            raise typer.Exit(ExitCode.VERIFICATION_FAILED) from exc
        console(ctx).print("valid: " + "; ".join(text.splitlines()[1:4]), markup=False)
