"""``assay access ...``: decisions, the licence register, screening, impact, the catalogue.

``assay access check`` exits 0 when the offer is allowed, 11 (``REFUSED``) when it is refused and
2 (``INVALID_INPUT``) when the question itself is wrong; every read command takes ``--json``.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from assay.access import analysis, bulk, counterparties_cli, decisions, service
from assay.access.decision import parse_request
from assay.access.schemas import StatusChangeIn, validated
from assay.errors import ExitCode, InvalidInput
from assay.platform.cli_support import console, emit_json, operate, table
from assay.regulation.model import CLIENTS, PRODUCTS

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]
DateOpt = Annotated[str | None, typer.Option("--as-of", help="YYYY-MM-DD (default: today).")]


def cli() -> typer.Typer:  # noqa: PLR0915 - one flat list of small commands reads best
    """The ``assay access`` command group."""
    app = typer.Typer(
        help="Market access: decisions and the licence register.", no_args_is_help=True
    )
    licences = typer.Typer(help="The licence register.", no_args_is_help=True)
    app.add_typer(licences, name="licences")

    @app.command("check")
    def check(
        ctx: typer.Context,
        *,
        jurisdiction: Annotated[str, typer.Option(help="ISO 3166 code: FR, AE-DU, SG...")],
        client: Annotated[str, typer.Option(help=", ".join(CLIENTS))],
        product: Annotated[str, typer.Option(help=", ".join(PRODUCTS))],
        asset: Annotated[str | None, typer.Option(help="e.g. BTC")] = None,
        amount: Annotated[str | None, typer.Option(help="decimal amount; needs --currency")] = None,
        currency: Annotated[str | None, typer.Option(help="ISO 4217 code, e.g. EUR")] = None,
        as_of: DateOpt = None,
        counterparty: Annotated[
            str | None, typer.Option(help="transfers: the receiving provider's name or LEI")
        ] = None,
        counterparty_jurisdiction: Annotated[
            str | None, typer.Option(help="where the receiving provider should serve")
        ] = None,
        as_json: JsonOpt = False,
    ) -> None:
        """May PRODUCT be offered to a CLIENT living in JURISDICTION? Exit 0 yes, 11 no."""
        fields = {
            "jurisdiction": jurisdiction,
            "client": client,
            "product": product,
            "asset": asset,
            "amount": amount,
            "currency": currency,
            "as_of": as_of,
        }
        with operate(ctx) as use_case:
            compiled = service.engine(use_case)
            request = parse_request(compiled.catalogue, fields, today=use_case.clock.now().date())
            decision = compiled.decide(request)
            answered = decisions.with_counterparty(
                use_case,
                decisions.answer(decision, request),
                counterparty,
                counterparty_jurisdiction,
            )
        if as_json:
            emit_json(ctx, answered)
        else:
            _print_decision(ctx, answered)
        if not decision.allowed:
            raise typer.Exit(ExitCode.REFUSED)

    @app.command("replay")
    def replay(ctx: typer.Context, file: Path, as_json: JsonOpt = False) -> None:
        """Recompute a past answer (a JSON file from `check --json` or the API).

        Exits 10 when the answer recomputed today no longer matches.
        """
        past = _read_json(file)
        with operate(ctx) as use_case:
            result = decisions.replay(use_case, past)
        if as_json:
            emit_json(ctx, result)
        else:
            verdict = (
                "matches" if result["matches"] else "DIFFERS in " + ", ".join(result["differences"])
            )
            console(ctx).print(
                f"replayed on register version {past['register_version']}: {verdict}"
            )
        if not result["matches"]:
            raise typer.Exit(ExitCode.VERIFICATION_FAILED)

    @app.command("screen")
    def screen(
        ctx: typer.Context,
        file: Annotated[
            Path,
            typer.Argument(
                help="customer CSV (customer_id, jurisdiction, "
                "client, product[, asset, amount, currency, as_of])"
            ),
        ],
        out: Annotated[Path, typer.Option("--out", help="where to write the decisions CSV")],
        as_json: JsonOpt = False,
    ) -> None:
        """Decide every row of a customer file, streaming, into a decisions file."""
        with (
            operate(ctx) as use_case,
            Progress(
                TextColumn("screening"),
                BarColumn(),
                TextColumn("{task.completed:,} rows"),
                TimeElapsedColumn(),
                console=console(ctx),
                transient=True,
                disable=as_json,
            ) as bar,
        ):
            task = bar.add_task("screen", total=None)
            summary = bulk.screen_file(use_case, file, out, progress=lambda n: bar.advance(task, n))
        data = {
            "rows": summary.rows,
            "allowed": summary.allowed,
            "refused": summary.refused,
            "invalid": summary.invalid,
            "by_reason": summary.by_reason,
            "out": str(out),
        }
        if as_json:
            emit_json(ctx, data)
            return
        console(ctx).print(
            f"{summary.rows:,} rows: {summary.allowed:,} allowed, {summary.refused:,} refused, "
            f"{summary.invalid:,} invalid -> {out}"
        )

    @app.command("impact")
    def impact(
        ctx: typer.Context,
        *,
        from_: Annotated[str, typer.Option("--from", help="YYYY-MM-DD")],
        to: Annotated[str | None, typer.Option("--to", help="YYYY-MM-DD")] = None,
        licence: Annotated[str | None, typer.Option(help="what if this licence...")] = None,
        status: Annotated[
            str | None, typer.Option(help="...took this status (suspended...)")
        ] = None,
        customers: Annotated[
            Path | None, typer.Option(help="customer CSV: list who is affected")
        ] = None,
        as_json: JsonOpt = False,
    ) -> None:
        """What changes between two dates, or if a licence's status changed on --from."""
        day_from = _day(from_, "--from")
        with operate(ctx) as use_case:
            if licence is not None or status is not None:
                if licence is None or status is None:
                    raise InvalidInput("--licence and --status go together", field="--status")
                changes = bulk.what_if(use_case, licence, status, day_from)
            else:
                if to is None:
                    raise InvalidInput("give --to (or --licence and --status)", field="--to")
                changes = bulk.impact_between(use_case, day_from, _day(to, "--to"))
        affected: list[dict[str, str]] = []
        if customers is not None:
            with customers.open(encoding="utf-8-sig", newline="") as f:
                affected = analysis.affected_customers(
                    changes, analysis.read_customers(f, source=customers.name)
                )
        if as_json:
            emit_json(ctx, {"changes": [c.to_json() for c in changes], "customers": affected})
            return
        rows = [
            (
                c.jurisdiction,
                c.client,
                c.product,
                "allowed" if c.before.allowed else "refused",
                "allowed" if c.after.allowed else "refused",
                ", ".join(r.code for r in c.after.reasons)
                or ", ".join(o.code for o in c.after.obligations),
            )
            for c in changes
        ]
        console(ctx).print(
            table(
                f"{len(changes)} answers change",
                ["jurisdiction", "client", "product", "before", "after", "why / obligations"],
                rows,
            )
        )
        if customers is not None:
            console(ctx).print(f"{len(affected)} customers affected")

    @app.command("coverage")
    def coverage(
        ctx: typer.Context,
        client: Annotated[str, typer.Option(help=", ".join(CLIENTS))] = "retail",
        as_of: DateOpt = None,
        as_json: JsonOpt = False,
    ) -> None:
        """Where the group may serve CLIENT customers, and with what."""
        with operate(ctx) as use_case:
            day = _day(as_of, "--as-of") if as_of else use_case.clock.now().date()
            found = bulk.coverage_map(use_case, day, client)
        served = {code: products for code, products in found.items() if products}
        if as_json:
            emit_json(ctx, {"as_of": day.isoformat(), "client": client, "jurisdictions": served})
            return
        rows = [(code, ", ".join(products)) for code, products in served.items()]
        console(ctx).print(
            table(
                f"{client} customers on {day}: {len(served)} jurisdictions",
                ["jurisdiction", "products"],
                rows,
            )
        )

    @app.command("jurisdictions")
    def jurisdictions(ctx: typer.Context, as_json: JsonOpt = False) -> None:
        """Every jurisdiction of the catalogue."""
        cat = service.catalogue()
        items = [
            {
                "code": j.code,
                "name": j.name,
                "parent": j.parent,
                "groups": sorted({m.group for m in j.memberships}),
            }
            for j in cat.jurisdictions.values()
        ]
        if as_json:
            emit_json(ctx, items)
            return
        console(ctx).print(
            table(
                "Jurisdictions",
                ["code", "name", "groups"],
                [
                    (j.code, j.name, ", ".join(sorted({m.group for m in j.memberships})))
                    for j in cat.jurisdictions.values()
                ],
            )
        )

    @app.command("regimes")
    def regimes(ctx: typer.Context, as_json: JsonOpt = False) -> None:
        """The regimes of the catalogue and how many rules each has."""
        cat = service.catalogue()
        items = [
            {
                "code": r.code,
                "name": r.name,
                "instrument": r.instrument.instrument,
                "rules": len(r.rules),
                "licence_types": [t.code for t in r.licence_types],
            }
            for r in cat.regimes.values()
        ]
        if as_json:
            emit_json(ctx, {"version": cat.version, "digest": cat.digest, "regimes": items})
            return
        console(ctx).print(
            table(
                f"Catalogue {cat.version}",
                ["code", "name", "rules", "licence types"],
                [
                    (r.code, r.name, len(r.rules), ", ".join(t.code for t in r.licence_types))
                    for r in cat.regimes.values()
                ],
            )
        )

    @app.command("catalogue-schema")
    def catalogue_schema() -> None:
        """Print the catalogue's JSON Schema (docs/formats/catalogue.schema.json)."""
        from assay.regulation.schema import catalogue_schema as schema  # noqa: PLC0415

        typer.echo(json.dumps(schema(), indent=2, sort_keys=True))

    @licences.command("list")
    def licence_list(ctx: typer.Context, as_json: JsonOpt = False) -> None:
        """Every licence of the register."""
        with operate(ctx) as use_case:
            found = service.list_licences(use_case)
        if as_json:
            emit_json(ctx, found)
            return
        rows = [
            (
                lic.reference,
                lic.entity,
                lic.regime,
                lic.licence_type,
                lic.home,
                f"{lic.status} {lic.status_since}",
                len(lic.passports),
            )
            for lic in found
        ]
        console(ctx).print(
            table(
                "Licences",
                ["reference", "entity", "regime", "type", "home", "status", "passports"],
                rows,
            )
        )

    @licences.command("show")
    def licence_show(ctx: typer.Context, reference: str, as_json: JsonOpt = False) -> None:
        """One licence with its history, passports and deadlines."""
        with operate(ctx) as use_case:
            lic = service.get_licence(use_case, reference)
        if as_json:
            emit_json(ctx, lic)
            return
        out = console(ctx)
        out.print(
            f"[bold]{lic.reference}[/] {lic.regime} {lic.licence_type} held by "
            f"{lic.entity_name} ({lic.entity}), home {lic.home}, regulator {lic.regulator}"
        )
        out.print(
            f"services: {', '.join(lic.services)}; clients: {', '.join(lic.clients)}"
            + (f"; products: {', '.join(lic.products)}" if lic.products else "")
        )
        out.print(
            table(
                "History",
                ["date", "status", "note"],
                [(h.date, h.status, h.note) for h in lic.history],
            )
        )
        if lic.passports:
            out.print(
                f"passported to {len(lic.passports)}: "
                + ", ".join(p.jurisdiction for p in lic.passports)
            )
        out.print(
            table(
                "Deadlines",
                ["due", "kind", "title", "done"],
                [(d.due, d.kind, d.title, d.done_on) for d in lic.deadlines],
            )
        )

    @licences.command("import")
    def licence_import(ctx: typer.Context, file: Path, as_json: JsonOpt = False) -> None:
        """Add or update the licences of a YAML/JSON file (all or nothing)."""
        with operate(ctx) as use_case:
            report = service.import_licences(use_case, file)
        if as_json:
            emit_json(ctx, report)
            return
        console(ctx).print(", ".join(f"{len(v)} {k}" for k, v in report.items()))

    @licences.command("status")
    def licence_status(
        ctx: typer.Context,
        reference: str,
        status: str,
        *,
        on: Annotated[str, typer.Option("--on", help="YYYY-MM-DD the status takes effect")],
        note: Annotated[str, typer.Option(help="why")] = "",
        as_json: JsonOpt = False,
    ) -> None:
        """Record a status change: granted, varied, suspended, revoked, lapsed, withdrawn."""
        change = validated(StatusChangeIn, {"status": status, "date": on, "note": note})
        with operate(ctx) as use_case:
            lic = service.change_status(use_case, reference, change)
        if as_json:
            emit_json(ctx, lic)
            return
        console(ctx).print(f"{lic.reference}: {lic.status} from {lic.status_since}")

    @app.command("deadlines")
    def deadlines(
        ctx: typer.Context,
        within: Annotated[int, typer.Option(help="days ahead", min=1, max=3650)] = 120,
        as_json: JsonOpt = False,
    ) -> None:
        """Open licence deadlines due soon (and overdue ones)."""
        with operate(ctx) as use_case:
            found = service.upcoming_deadlines(use_case, within_days=within)
        if as_json:
            emit_json(ctx, found)
            return
        console(ctx).print(
            table(
                "Deadlines",
                ["due", "licence", "kind", "title", "days left"],
                [(d["due"], d["licence"], d["kind"], d["title"], d["days_left"]) for d in found],
            )
        )

    counterparties_cli.add_commands(app)
    return app


def _print_decision(ctx: typer.Context, data: dict[str, Any]) -> None:
    out = console(ctx)
    req = data["request"]
    question = (
        f"{req['product']} for a {req['client']} client in {req['jurisdiction']} on {data['as_of']}"
    )
    if data["allowed"]:
        lic = data["licence"]
        out.print(f"[bold green]ALLOWED[/] {question}")
        out.print(
            f"  served by {data['entity']} under {lic['regime_name']} licence "
            f"{lic['reference']}" + (" (passported)" if lic["passported"] else "")
        )
        for b in data["basis"]:
            out.print(f"  basis: {b['instrument']}, {b['article']}", markup=False)
        for o in data["obligations"]:
            value = (
                f" = {o['value']:g}{' ' + o['currency'] if 'currency' in o else ''}"
                if "value" in o
                else ""
            )
            out.print(
                f"  obligation: {o['code']}{value} ({o['basis']['instrument']}, "
                f"{o['basis']['article']})",
                markup=False,
            )
    else:
        out.print(f"[bold red]REFUSED[/] {question}")
        for r in data["reasons"]:
            cite = f" ({r['basis']['instrument']}, {r['basis']['article']})" if "basis" in r else ""
            out.print(f"  {r['code']}: {r['message']}{cite}", markup=False)
    if "counterparty" in data:
        c = data["counterparty"]
        found = f" ({c['name']}, {c['home']})" if c["found"] else ""
        out.print(f"  counterparty: {c['status']}{found}", markup=False)
    for warning in data.get("warnings", []):
        out.print(f"  warning: {warning}", style="bold yellow", markup=False)
    out.print(
        f"  catalogue {data['catalogue_version']}, register version {data['register_version']}",
        style="dim",
    )


def _day(value: str | None, option: str) -> dt.date:
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise InvalidInput(
            f"{option} {value!r} is not a date; use YYYY-MM-DD", field=option, value=value
        ) from None


def _read_json(file: Path) -> dict[str, Any]:
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidInput(f"{file}: not a readable JSON file ({exc})", field="file") from exc
    if not isinstance(data, dict):
        raise InvalidInput(f"{file}: expected a JSON object (one past answer)", field="file")
    return data
