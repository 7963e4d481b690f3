"""``assay reserves ...``: checks that need no stored round (proof files, OKX trees, addresses).

``verify`` and ``audit-okx`` exit 0 when everything checks, 10 (``VERIFICATION_FAILED``) with the
reasons when something does not, 2 (``INVALID_INPUT``) when a file cannot be read at all.
``verify-addresses`` exits 10 when a claim failed; with ``--strict`` an unverified claim (a chain
Assay cannot check) fails the run too.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from assay.errors import ExitCode, InvalidInput
from assay.platform.cli_support import console, emit_json, table
from assay.reserves import okx, okx_tree, proof
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
        okx_reports = [r for r in results if isinstance(r, okx.OkxReport)]
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
    if isinstance(result, okx.OkxReport):
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
