"""``assay reserves ...``: rounds, customer proofs, audits, and checks that need no stored round.

``round create|publish|show|list|discard`` manage rounds, ``proof`` prints a customer proof,
``audit`` recomputes a round folder (or a stored round) and exits 10 listing every discrepancy,
``link-account`` lets a user fetch the proofs of an account; ``import``, ``report``,
``history``, ``report-key`` and ``check-report`` are the reserves and the solvency report
(``cli_report``).
``verify`` and ``audit-okx`` exit 0 when everything checks, 10 (``VERIFICATION_FAILED``) with the
reasons when something does not, 2 (``INVALID_INPUT``) when a file cannot be read at all.
``verify-addresses`` exits 10 when a claim failed; with ``--strict`` an unverified claim (a chain
Assay cannot check) fails the run too.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from assay.errors import ExitCode, InvalidInput
from assay.platform.cli_support import console, emit_json, operate, table
from assay.reserves import okx, okx_tree, proof, service
from assay.reserves.cli_report import report_commands
from assay.reserves.okx_proof import OkxReport
from assay.reserves.ownership import Status, verify_addresses_file
from assay.reserves.round_audit import AuditReport
from assay.reserves.rounds import FileDigest, RoundFileInvalid, asset_from_text, parse_round_spec

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]


def cli() -> typer.Typer:  # noqa: PLR0915 - one flat list of small commands
    """The ``assay reserves`` command group."""
    app = typer.Typer(help="Proof of reserves.", no_args_is_help=True)
    _round_commands(app)
    report_commands(app)

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

    @app.command("verify")
    def verify(
        ctx: typer.Context,
        files: Annotated[
            list[Path],
            typer.Argument(
                help="proof files: Assay (assay-por-proof/1), OKX v1 proofs, OKX V2 user files"
            ),
        ],
        tree: Annotated[
            Path | None, typer.Option(help="the OKX V2 tree file (for V2 user files)")
        ] = None,
        root: Annotated[
            str | None, typer.Option(help="the root hash published for the round")
        ] = None,
        as_json: JsonOpt = False,
    ) -> None:
        """Verify proofs; several OKX proofs of one round are also cross-checked (sum-of-max)."""
        results = [_verify_one(path, tree, root) for path in files]
        okx_reports = [r for r in results if isinstance(r, OkxReport)]
        findings = okx.cross_check(okx_reports) if len(okx_reports) > 1 else []
        rows = [_row(path, r) for path, r in zip(files, results, strict=True)]
        ok = all(row["ok"] for row in rows) and not findings
        if as_json:
            emit_json(
                ctx,
                {
                    "ok": ok,
                    "proofs": rows,
                    "cross_check": [
                        {
                            "code": f.code,
                            "message": f.message,
                            "node": f.node,
                            "sources": list(f.sources),
                        }
                        for f in findings
                    ],
                },
            )
        else:
            for row in rows:
                verdict = "[green]valid[/]" if row["ok"] else "[red]INVALID[/]"
                console(ctx).print(f"{row['file']}: {row['kind']} {verdict}")
                for problem in row["problems"]:
                    console(ctx).print(f"  {problem['code']}: {problem['message']}", markup=False)
            for finding in findings:
                console(ctx).print(f"cross-check {finding.code}: {finding.message}", markup=False)
        if not ok:
            raise typer.Exit(ExitCode.VERIFICATION_FAILED)

    @app.command("audit-okx")
    def audit_okx(
        ctx: typer.Context,
        tree_file: Annotated[Path, typer.Argument(help="full-liabilities-merkle-tree.txt")],
        root: Annotated[str | None, typer.Option(help="the root hash OKX published")] = None,
        as_json: JsonOpt = False,
    ) -> None:
        """Recompute every parent of an OKX V2 tree file; check root, totals and negatives."""
        with Progress(
            TextColumn("auditing"),
            BarColumn(),
            TextColumn("{task.percentage:>3.0f}%"),
            TimeElapsedColumn(),
            console=console(ctx),
            transient=True,
            disable=as_json,
        ) as bar:
            task = bar.add_task("audit", total=None)

            def progress(done: int, total: int | None) -> None:
                bar.update(task, completed=done, total=total)

            audit = okx_tree.audit_okx_v2_tree(tree_file, root=root, progress=progress)
        summary = {
            "ok": audit.ok,
            "root": audit.root,
            "height": audit.height,
            "totals": {k: str(v) for k, v in audit.totals.items()},
            "leaf_totals": {k: str(v) for k, v in audit.leaf_totals.items()},
            "leaves": audit.leaf_count,
            "nodes": audit.node_count,
            "padding": audit.padding_count,
            "problems": [
                {"code": p.code, "message": p.message, "where": p.where} for p in audit.problems
            ],
            "problems_omitted": audit.problems_omitted,
        }
        if as_json:
            emit_json(ctx, summary)
        else:
            out = console(ctx)
            verdict = "[green]clean[/]" if audit.ok else "[red]PROBLEMS[/]"
            out.print(
                f"{tree_file.name}: {verdict}; root {audit.root}, height {audit.height}, "
                f"{audit.leaf_count} leaves, {audit.node_count} lines"
            )
            for code, total in audit.totals.items():
                out.print(f"  {code}: {total}")
            for p in audit.problems:
                out.print(f"  {p.where}: {p.code}: {p.message}", markup=False)
        if not audit.ok:
            raise typer.Exit(ExitCode.VERIFICATION_FAILED)

    return app


def _verify_one(path: Path, tree: Path | None, root: str | None) -> object:
    data = okx.load_json(path)
    kind = okx.okx_kind(data)
    if kind == "okx-v1":
        return okx.verify_okx_v1(data, source=path.name, root=root)
    if kind == "okx-v2-user":
        if tree is None:
            raise InvalidInput(
                f"{path.name} is an OKX V2 user file: give its tree file with --tree",
                field="--tree",
            )
        return okx.verify_okx_v2_user(data, tree, source=path.name, root=root)
    parsed = proof.parse_proof(path.read_bytes())
    try:
        return proof.verify(parsed, root=root)
    except InvalidInput as exc:
        return exc


def _row(path: Path, result: object) -> dict[str, Any]:
    if isinstance(result, OkxReport):
        return {
            "file": path.name,
            "kind": result.kind,
            "ok": result.ok,
            "root": result.root,
            "problems": [
                {"code": p.code, "message": p.message, "where": p.where} for p in result.problems
            ],
        }
    if isinstance(result, InvalidInput):
        reason = str(result.details.get("reason", result.code))
        return {
            "file": path.name,
            "kind": "assay-por-proof/1",
            "ok": False,
            "problems": [{"code": reason, "message": result.message, "where": result.field}],
        }
    assert isinstance(result, proof.Verified)  # noqa: S101 - the three kinds above
    return {
        "file": path.name,
        "kind": "assay-por-proof/1",
        "ok": True,
        "root": result.root,
        "round": result.round_id,
        "account": result.account_id,
        "problems": [],
    }


WorkersOpt = Annotated[
    int | None, typer.Option(help="processes building the tree (default: one per CPU if large)")
]


def _stages(out: Console, *, disable: bool) -> Progress:
    return Progress(
        TextColumn("{task.description:<26}"),
        BarColumn(),
        TimeElapsedColumn(),
        console=out,
        transient=True,
        disable=disable,
    )


def _round_spec(
    round_file: Path | None,
    round_id: str | None,
    snapshot: str | None,
    assets: list[str],
    capacity: int | None,
) -> tuple[Any, FileDigest | None]:
    """The round file's fields, the command's options laid over them; and the file's digest."""
    data: dict[str, Any] = {}
    digest = None
    if round_file is not None:
        raw = round_file.read_bytes()
        try:
            loaded = yaml.safe_load(raw)
        except yaml.YAMLError as exc:
            raise RoundFileInvalid(f"{round_file.name}: not YAML or JSON: {exc}") from exc
        if not isinstance(loaded, dict):
            raise RoundFileInvalid(f"{round_file.name}: expected a mapping of fields")
        data = loaded
        digest = FileDigest(source=round_file.name, sha256=hashlib.sha256(raw).hexdigest())
    for key, value in (("id", round_id), ("snapshot_at", snapshot), ("capacity", capacity)):
        if value is not None:
            data[key] = value
    if assets:
        data["assets"] = [asset_from_text(text) for text in assets]
    return parse_round_spec(data, source=round_file.name if round_file else "options"), digest


def _print_round(out: Console, found: service.RoundPublic) -> None:
    published = f", published {found.published_at:%Y-%m-%d %H:%M} UTC" if found.published_at else ""
    out.print(f"round {found.id}: {found.status}{published}", markup=False)
    out.print(
        f"  snapshot {found.snapshot_at.isoformat()}, {found.accounts} accounts, "
        f"capacity {found.capacity}"
    )
    out.print(f"  root {found.root}")
    if found.anchor_leaf is not None:
        out.print(f"  anchored in the trail as leaf {found.anchor_leaf}")
    rows = [(code, t["equity"], t["debt"]) for code, t in found.totals.items()]
    out.print(table("Totals", ["asset", "equity", "debt"], rows))


def _print_audit(out: Console, report: AuditReport) -> None:
    verdict = (
        "[green]clean[/]" if report.ok else f"[red]{len(report.discrepancies)} DISCREPANCIES[/]"
    )
    out.print(
        f"{report.folder}: {verdict}; round {report.round_id}, {report.accounts} accounts, "
        f"root {report.root}"
    )
    for d in report.discrepancies:
        out.print(f"  {d.where}: {d.code}: {d.message}", markup=False)


def _round_commands(app: typer.Typer) -> None:  # noqa: PLR0915 - one flat list of small commands
    rounds = typer.Typer(help="Proof-of-reserves rounds.", no_args_is_help=True)
    app.add_typer(rounds, name="round")

    @rounds.command("create")
    def create(
        ctx: typer.Context,
        liabilities: Annotated[Path, typer.Argument(help="liabilities file (CSV or Parquet)")],
        *,
        round_file: Annotated[
            Path | None, typer.Option("--round-file", help="round file (YAML or JSON)")
        ] = None,
        round_id: Annotated[str | None, typer.Option("--id", help="round id, e.g. 2026-11")] = None,
        snapshot: Annotated[
            str | None, typer.Option(help="snapshot instant, e.g. 2026-11-30T23:59:59Z")
        ] = None,
        asset: Annotated[
            list[str] | None, typer.Option(help="CODE:DECIMALS[:debt], once per asset, in order")
        ] = None,
        capacity: Annotated[
            int | None, typer.Option(help="leaves of the tree (default: next power of two)")
        ] = None,
        workers: WorkersOpt = None,
        as_json: JsonOpt = False,
    ) -> None:
        """Build a round from a liabilities file (status built); nothing is kept on failure."""
        spec, digest = _round_spec(round_file, round_id, snapshot, asset or [], capacity)
        with operate(ctx) as use_case, _stages(console(ctx), disable=as_json) as bar:
            task = bar.add_task("round", total=4)

            def progress(stage: str, step: int, steps: int) -> None:
                bar.update(task, description=stage, completed=step, total=steps)

            built = service.create_round(
                use_case,
                spec,
                liabilities,
                source=liabilities.name,
                round_file=digest,
                workers=workers,
                progress=progress,
            )
        if as_json:
            emit_json(ctx, built)
        else:
            _print_round(console(ctx), built)

    @rounds.command("publish")
    def publish(ctx: typer.Context, round_id: str, as_json: JsonOpt = False) -> None:
        """Publish a built round: immutable from now on, its root anchored in the trail."""
        with operate(ctx) as use_case:
            published = service.publish_round(use_case, round_id)
        if as_json:
            emit_json(ctx, published)
        else:
            _print_round(console(ctx), published)

    @rounds.command("show")
    def show(ctx: typer.Context, round_id: str, as_json: JsonOpt = False) -> None:
        """One round: status, root, totals per asset."""
        with operate(ctx) as use_case:
            found = service.get_round(use_case, round_id)
        if as_json:
            emit_json(ctx, found)
        else:
            _print_round(console(ctx), found)

    @rounds.command("list")
    def list_(ctx: typer.Context, as_json: JsonOpt = False) -> None:
        """Every round, the latest snapshot first."""
        with operate(ctx) as use_case:
            found = service.list_rounds(use_case)
        if as_json:
            emit_json(ctx, found)
            return
        rows = [(r.id, r.status, r.snapshot_at.isoformat(), r.accounts, r.root) for r in found]
        console(ctx).print(
            table("Rounds", ["round", "status", "snapshot", "accounts", "root"], rows)
        )

    @rounds.command("discard")
    def discard(ctx: typer.Context, round_id: str) -> None:
        """Delete a built (unpublished) round, its row and its folder."""
        with operate(ctx) as use_case:
            service.discard_round(use_case, round_id)
        console(ctx).print(f"round {round_id} discarded", markup=False)

    @app.command("proof")
    def proof_(
        ctx: typer.Context,
        round_id: Annotated[str, typer.Argument(metavar="ROUND")],
        account: str,
        out: Annotated[Path | None, typer.Option(help="write the proof to this file")] = None,
    ) -> None:
        """The customer proof of ACCOUNT in ROUND (check it with verify_proof.py)."""
        with operate(ctx) as use_case:
            found = service.customer_proof(use_case, round_id, account)
        if out is None:
            emit_json(ctx, found)
        else:
            out.write_text(found.model_dump_json(indent=2) + "\n")
            console(ctx).print(f"wrote {out}", markup=False)

    @app.command("audit")
    def audit(
        ctx: typer.Context,
        target: Annotated[
            str, typer.Argument(metavar="ROUND_DIR", help="a round folder, or a stored round's id")
        ],
        workers: WorkersOpt = None,
        as_json: JsonOpt = False,
    ) -> None:
        """Recompute a round from its folder; exit 10 listing every discrepancy."""
        with _stages(console(ctx), disable=as_json) as bar:
            task = bar.add_task("audit", total=4)

            def progress(stage: str, step: int, steps: int) -> None:
                bar.update(task, description=stage, completed=step, total=steps)

            if Path(target).is_dir():
                report = service.audit_folder(Path(target), workers=workers, progress=progress)
            else:
                with operate(ctx) as use_case:
                    report = service.audit_round(
                        use_case, target, workers=workers, progress=progress
                    )
        if as_json:
            emit_json(ctx, report.to_json())
        else:
            _print_audit(console(ctx), report)
        if not report.ok:
            raise typer.Exit(ExitCode.VERIFICATION_FAILED)

    @app.command("link-account")
    def link_account(
        ctx: typer.Context,
        email: str,
        account: str,
        remove: Annotated[bool, typer.Option("--remove", help="take the link away")] = False,
    ) -> None:
        """Let the user EMAIL fetch the proofs of exchange account ACCOUNT (admins)."""
        with operate(ctx) as use_case:
            if remove:
                service.unlink_account(use_case, email, account)
            else:
                service.link_account(use_case, email, account)
        verb = "no longer linked to" if remove else "linked to"
        console(ctx).print(f"{email} {verb} account {account}", markup=False)

    @app.command("links")
    def links(ctx: typer.Context, as_json: JsonOpt = False) -> None:
        """Users linked to accounts (admins see all, others their own)."""
        with operate(ctx) as use_case:
            found = service.list_links(use_case)
        if as_json:
            emit_json(ctx, found)
            return
        rows = [(link.email, link.account_id, link.created_at.isoformat()) for link in found]
        console(ctx).print(table("Account links", ["user", "account", "since"], rows))
