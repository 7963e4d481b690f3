"""``assay trail ...``: checkpoints, proofs, verification, entries, anchors, keys.

Every read command takes ``--json`` (the same data as the API). ``assay trail verify`` exits with
code 10 (``VERIFICATION_FAILED``) and names the first bad entry when anything stored was changed.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Annotated

import typer

from assay.errors import ExitCode, InvalidInput
from assay.platform.cli_support import console, emit_json, operate, table
from assay.trail import service

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]

app = typer.Typer(help="The tamper-evident trail.", no_args_is_help=True)


@app.command("status")
def status(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """Size, root, latest checkpoint and verifier keys of the log."""
    with operate(ctx) as use_case:
        found = service.status(use_case)
    if as_json:
        emit_json(ctx, found)
        return
    latest = found.latest_checkpoint
    rows = [
        ("origin", found.origin),
        ("size", found.size),
        ("root", found.root),
        (
            "latest checkpoint",
            f"{latest.size} entries, {latest.created_at:%Y-%m-%d %H:%M} UTC" if latest else None,
        ),
        *(("verifier key", key) for key in found.verifier_keys),
    ]
    console(ctx).print(table("Trail", ["", ""], rows))


@app.command("checkpoint")
def checkpoint(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """Sign a checkpoint of the log now and print it (a C2SP signed note)."""
    with operate(ctx) as use_case:
        signed = service.sign_now(use_case)
    if as_json:
        emit_json(ctx, signed)
    else:
        console(ctx).print(signed.note, markup=False, highlight=False, end="", soft_wrap=True)


@app.command("checkpoints")
def checkpoints(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 20,
    as_json: JsonOpt = False,
) -> None:
    """The most recent checkpoints."""
    with operate(ctx) as use_case:
        found = service.list_checkpoints(use_case, limit=limit)
    if as_json:
        emit_json(ctx, found)
        return
    rows = [
        (c.id, c.size, c.root[:16] + "...", c.key_id, f"{c.created_at:%Y-%m-%d %H:%M:%S}")
        for c in found
    ]
    console(ctx).print(table("Checkpoints", ["id", "size", "root", "key", "signed (UTC)"], rows))


@app.command("prove")
def prove(
    ctx: typer.Context,
    index: int,
    size: Annotated[int | None, typer.Option(help="Tree size (default: last checkpoint).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """The inclusion proof of leaf INDEX (a bundle for verify_trail.py)."""
    with operate(ctx) as use_case:
        bundle = service.inclusion(use_case, index, size)
    if as_json:
        emit_json(ctx, bundle)
        return
    out = console(ctx)
    out.print(f"leaf {bundle.leaf_index} of {bundle.tree_size}, root {bundle.root}")
    for step, digest in enumerate(bundle.proof):
        out.print(f"  {step:2d} {digest}")
    if bundle.checkpoint is None:
        out.print("[yellow]no signed checkpoint at this size[/yellow]")


@app.command("consistency")
def consistency(ctx: typer.Context, old: int, new: int, as_json: JsonOpt = False) -> None:
    """The consistency proof that the log of OLD entries is a prefix of the log of NEW."""
    with operate(ctx) as use_case:
        bundle = service.consistency(use_case, old, new)
    if as_json:
        emit_json(ctx, bundle)
        return
    out = console(ctx)
    out.print(f"{bundle.old_size} -> {bundle.new_size}: {bundle.old_root} -> {bundle.new_root}")
    for step, digest in enumerate(bundle.proof):
        out.print(f"  {step:2d} {digest}")


@app.command("verify")
def verify(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """Recompute every entry, hash and checkpoint; exit 10 naming the first bad entry if any."""
    with operate(ctx) as use_case:
        report = service.verify(use_case)
    if as_json:
        emit_json(ctx, report)
    else:
        out = console(ctx)
        if report.ok:
            out.print(
                f"[green]ok[/green]: {report.leaves_checked} entries and "
                f"{report.checkpoints_checked} checkpoints verified"
            )
        else:
            where = (
                f" first bad entry: {report.first_bad_leaf}."
                if report.first_bad_leaf is not None
                else ""
            )
            out.print(f"[red]FAILED[/red]: {len(report.problems)} problem(s).{where}")
            for problem in report.problems:
                out.print(f"  [{problem.kind}] {problem.message}", markup=False, highlight=False)
    if not report.ok:
        raise typer.Exit(ExitCode.VERIFICATION_FAILED)


@app.command("show")
def show(ctx: typer.Context, index: int, as_json: JsonOpt = False) -> None:
    """Leaf INDEX: its entry and the change it records."""
    with operate(ctx) as use_case:
        leaf = service.show(use_case, index)
    if as_json:
        emit_json(ctx, leaf)
        return
    out = console(ctx)
    out.print(f"leaf {leaf.leaf_index}  hash {leaf.leaf_hash}")
    out.print_json(json.dumps(leaf.entry))
    if leaf.event is not None:
        out.print_json(leaf.event.model_dump_json(include={"before", "after"}))


@app.command("anchor")
def anchor(
    ctx: typer.Context,
    kind: Annotated[str, typer.Argument(help="What the value is, e.g. reserves.root.")],
    digest: Annotated[str | None, typer.Option(help="Hex SHA-256 (or -384/-512) digest.")] = None,
    file: Annotated[Path | None, typer.Option(help="Anchor the SHA-256 of this file.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Commit a digest (or a file's SHA-256) to the log."""
    if (digest is None) == (file is None):
        raise InvalidInput("give exactly one of --digest and --file", field="--digest")
    if file is not None:
        value = hashlib.sha256(file.read_bytes()).digest()
    else:
        try:
            value = bytes.fromhex(digest or "")
        except ValueError:
            raise InvalidInput(
                f"--digest {digest!r} is not hex", field="--digest", value=digest
            ) from None
    with operate(ctx) as use_case:
        receipt = service.anchor(use_case, kind, value, {"file": file.name} if file else None)
        use_case.commit()
    if as_json:
        emit_json(ctx, receipt)
    else:
        console(ctx).print(f"anchored {receipt.kind} {receipt.digest} as leaf {receipt.leaf_index}")


@app.command("anchor-proof")
def anchor_proof(ctx: typer.Context, kind: str, digest: str) -> None:
    """The inclusion proof (JSON bundle) of an anchored digest."""
    with operate(ctx) as use_case:
        bundle = service.anchor_proof(use_case, kind, digest)
    emit_json(ctx, bundle)


@app.command("keys")
def keys(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """The verifier keys of every key that signed checkpoints here (newest last)."""
    with operate(ctx) as use_case:
        use_case.require_actor()
        found = service.verifier_keys(use_case.settings)
    if as_json:
        emit_json(ctx, found)
    else:
        for key in found:
            console(ctx).print(key, markup=False, highlight=False)


@app.command("rotate-key")
def rotate_key(ctx: typer.Context) -> None:
    """Sign with a new key from now on; the old key still verifies old checkpoints."""
    with operate(ctx) as use_case:
        new = service.rotate_key(use_case)
    console(ctx).print(f"new verifier key: {new}", markup=False, highlight=False)


def cli() -> typer.Typer:
    """The command group mounted as `assay trail`."""
    return app
