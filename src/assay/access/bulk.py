"""Answers in bulk, as use cases: screening files and jobs, change impact, what-if, coverage.

The pure work is in :mod:`assay.access.analysis`; this module feeds it the engine, files and
stored jobs, and checks who may ask.
"""

from __future__ import annotations

import datetime as dt
import gzip
import io
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from assay.access import permissions
from assay.access.analysis import (
    CellChange,
    ScreenSummary,
    coverage,
    impact,
    read_customers,
    screen,
)
from assay.access.engine import Engine
from assay.access.register import STATUSES, Register, StatusChange
from assay.access.service import engine
from assay.access.store import ScreeningRow
from assay.errors import AssayError, InvalidInput, NotFound
from assay.platform.context import Context
from assay.platform.record import ObjectRef, record
from assay.regulation.model import CLIENTS


def screen_file(
    ctx: Context, source: Path, out: Path, *, progress: Callable[[int], None] | None = None
) -> ScreenSummary:
    """Screen a customer CSV file into a result CSV file, streaming."""
    compiled = engine(ctx)
    try:
        with (
            source.open(encoding="utf-8-sig", newline="") as inp,
            out.open("w", encoding="utf-8", newline="") as result,
        ):
            rows = read_customers(inp, source=source.name)
            return screen(compiled, rows, result, today=ctx.clock.now().date(), progress=progress)
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInput(
            f"{source}: cannot be read: {exc}", field="file", value=str(source)
        ) from exc


def submit_screening(ctx: Context, file_name: str, data: bytes) -> int:
    """Queue a screening job for the API; returns its id (run it with :func:`run_screening`)."""
    actor = ctx.require(permissions.SCREEN)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"{file_name}: is not UTF-8 text ({exc})", field="file") from exc
    read_customers(io.StringIO(text), source=file_name)  # refuses a file without the columns
    row = ScreeningRow(
        status="queued",
        submitted_by=actor.label,
        submitted_at=ctx.clock.now(),
        file_name=file_name[:200],
        source=gzip.compress(data),
    )
    ctx.session.add(row)
    ctx.session.flush()
    record(
        ctx,
        "access.screening.submit",
        ObjectRef("screening", row.id),
        after={"file_name": row.file_name, "bytes": len(data)},
    )
    ctx.commit()
    return row.id


def run_screening(ctx: Context, job_id: int) -> None:
    """Run a queued screening job and store its result."""
    row = ctx.session.get(ScreeningRow, job_id)
    if row is None or row.status != "queued" or row.source is None:
        return
    row.status = "running"
    ctx.commit()
    try:
        out = io.StringIO()
        rows = read_customers(
            io.StringIO(gzip.decompress(row.source).decode("utf-8-sig")), source=row.file_name
        )
        summary = screen(engine(ctx), rows, out, today=ctx.clock.now().date())
        row.rows, row.allowed = summary.rows, summary.allowed
        row.refused, row.invalid = summary.refused, summary.invalid
        row.result, row.status = gzip.compress(out.getvalue().encode()), "done"
    except AssayError as exc:
        row.status, row.error = "failed", exc.message
    row.finished_at = ctx.clock.now()
    ctx.commit()


def get_screening(ctx: Context, job_id: int) -> ScreeningRow:
    """A screening job (its result is ``gzip.decompress(row.result)``)."""
    ctx.require_actor()
    row = ctx.session.get(ScreeningRow, job_id)
    if row is None:
        raise NotFound(f"no screening job {job_id}", field="id", value=job_id)
    return row


def impact_between(ctx: Context, day_before: dt.date, day_after: dt.date) -> list[CellChange]:
    """Cells whose answer changes between two dates, on the register as it stands."""
    compiled = engine(ctx)
    return impact(compiled, compiled, day_before, day_after)


def what_if(ctx: Context, reference: str, status: str, day: dt.date) -> list[CellChange]:
    """Cells whose answer on ``day`` would change if licence ``reference`` took ``status`` then.

    Nothing is stored: the change is applied to a copy of the register.
    """
    compiled = engine(ctx)
    current = compiled.register
    target = next((lic for lic in current.licences if lic.reference == reference), None)
    if target is None:
        raise NotFound(f"no licence with reference {reference!r}", field="licence", value=reference)
    if status not in STATUSES:
        raise InvalidInput.not_one_of("status", status, STATUSES)
    changed = replace(
        target,
        history=(*target.history, StatusChange(status, day, "what-if")),  # type: ignore[arg-type]
    )
    licences = tuple(changed if lic is target else lic for lic in current.licences)
    hypothetical = Engine(compiled.catalogue, Register(current.version, licences))
    return impact(compiled, hypothetical, day, day)


def coverage_map(ctx: Context, day: dt.date, client: str) -> dict[str, list[str]]:
    """For each jurisdiction, the products a ``client`` customer may get on ``day``."""
    if client not in CLIENTS:
        raise InvalidInput.not_one_of("client", client, CLIENTS)
    return coverage(engine(ctx), day, client)
