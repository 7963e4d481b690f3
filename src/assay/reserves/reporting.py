"""Reserves and solvency use cases: import a round's reserves, issue its signed report, history.

- ``import_reserves``: the address claims (ownership signatures, checked here) and the balances
  at their block heights, for a round that is still ``built``. All or nothing, and it replaces
  the round's previous reserves: a refused file leaves what was stored untouched.
- ``issue_report``: once a round is published, its solvency report (``solvency.assess``) is
  written as JSON and PDF into ``<round folder>/report/``, signed (a C2SP signed note over both
  files' SHA-256, by the reserves report key), its JSON digest anchored in the trail, and its
  row stored: one report per round, never changed.
- ``draft_report``: the same figures for any round, unsigned, for the pages before publishing.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import secrets
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy import select

from assay.errors import Conflict, InvalidInput, NotFound
from assay.platform.context import Context
from assay.platform.record import ObjectRef, record
from assay.reserves import permissions
from assay.reserves.chaindata import BalanceSource, CsvBalanceSource
from assay.reserves.ownership import verify_addresses_file
from assay.reserves.report_pdf import render_pdf
from assay.reserves.rounds import RoundPublished
from assay.reserves.service import PUBLISHED, delete_reserves, round_folder
from assay.reserves.solvency import REPORT_FORMAT, Claim, Holding, RoundFigures, assess, summary
from assay.reserves.store import AddressRow, BalanceRow, ReportRow, RoundRow
from assay.settings import Settings
from assay.trail.keys import FileKeyStore
from assay.trail.note import Verifier, open_note, sign

REPORT_ANCHOR_KIND = "reserves.report"
REPORT_DIR = "report"
REPORT_JSON = "report.json"
REPORT_PDF = "report.pdf"
REPORT_SIG = "report.sig"


class ReportNotReady(Conflict):
    """A report is issued for published rounds only."""

    code = "report-not-ready"
    title = "Round not published"


class ReportIssued(Conflict):
    """A round's report is issued once."""

    code = "report-issued"
    title = "Report already issued"


class ReservesPublic(BaseModel):
    """What an import stored: counts, and the report's figures as they now stand (unsigned)."""

    model_config = ConfigDict(extra="forbid")
    round: str
    addresses: dict[str, int]
    balances: int
    draft: dict[str, Any]


class ReportPublic(BaseModel):
    """An issued report's row: when, by whom, its verdict, digests, signed note, anchor."""

    model_config = ConfigDict(extra="forbid")
    round_id: str
    issued_at: dt.datetime
    issued_by: str
    solvent: bool
    summary: dict[str, Any]
    json_sha256: str
    pdf_sha256: str
    note: str
    anchor_leaf: int | None


@dataclass(frozen=True)
class ReportFiles:
    """Where an issued report's three files are."""

    json: Path
    pdf: Path
    sig: Path


def _round(ctx: Context, round_id: str) -> RoundRow:
    row = ctx.session.get(RoundRow, round_id)
    if row is None:
        raise NotFound(f"no round {round_id!r}", field="round", value=round_id)
    return row


def _clip(value: str | None, size: int) -> str:
    value = value or ""
    return value if len(value) <= size else value[: size - 1] + "…"


# --- reserves -----------------------------------------------------------------------------------


def import_reserves(
    ctx: Context,
    round_id: str,
    addresses: Path,
    balances: Path,
    *,
    message: str | None = None,
    confirm_with: BalanceSource | None = None,
) -> ReservesPublic:
    """Check the address claims, read the balances, and store both as the round's reserves.

    ``message`` is the round message every claim must have signed (default: the first row's,
    see docs/formats/reserves-addresses.md). ``confirm_with`` is an independent balance source
    (an auditor's node, say): every balance must match it at the same height, or nothing is stored.

    Raises:
        InvalidInput: a file that cannot be read, a malformed balances row, or a balance the
            independent source disagrees with (the line, both figures).
        RoundPublished: the round is published (its reserves are part of what was published).
    """
    ctx.require(permissions.ROUNDS_WRITE)
    row = _round(ctx, round_id)
    if row.status == PUBLISHED:
        raise RoundPublished(
            f"round {round_id!r} is published: its reserves cannot change", field="round"
        )
    results = verify_addresses_file(addresses, message)
    book = CsvBalanceSource(balances)
    lines = book.rows()
    if confirm_with is not None:
        for line in lines:
            other = confirm_with.balance(line.chain, line.address, line.asset, line.block_height)
            if other.amount != line.balance:
                raise InvalidInput(
                    f"{balances.name}: line {line.line}: {line.asset} of {line.address} on "
                    f"{line.chain} at block {line.block_height} is {line.balance} in the file "
                    f"but {other.amount} by {other.source}",
                    field="balance",
                    value=str(line.balance),
                )
    session = ctx.session
    before = _counts(ctx, round_id)
    delete_reserves(ctx, round_id)
    for number, result in enumerate(results, start=1):
        claim = result.claim
        session.add(
            AddressRow(
                round_id=round_id,
                line=claim.line or number,
                network=_clip(claim.network.upper(), 40),
                address=_clip(claim.address, 200),
                asset=_clip(claim.digital_asset.upper(), 40),
                status=result.status.value,
                scheme=result.scheme,
                reason=_clip(result.reason, 500),
                message=_clip(claim.message, 500),
            )
        )
    for line in lines:
        session.add(
            BalanceRow(
                round_id=round_id,
                line=line.line,
                chain=_clip(line.chain, 40),
                asset=_clip(line.asset, 40),
                address=_clip(line.address, 200),
                block_height=line.block_height,
                balance=str(line.balance),
                source=_clip(f"{balances.name}:{line.line}", 200),
            )
        )
    session.flush()
    after = _counts(ctx, round_id)
    record(
        ctx,
        "reserves.reserves.import",
        ObjectRef("reserves_round", round_id),
        before=before,
        after=after | {"addresses_file": addresses.name, "balances_file": balances.name},
    )
    ctx.commit()
    return ReservesPublic(
        round=round_id,
        addresses=after["addresses"],
        balances=after["balances"],
        draft=draft_report(ctx, round_id),
    )


def _counts(ctx: Context, round_id: str) -> dict[str, Any]:
    statuses: dict[str, int] = {"verified": 0, "unverified": 0, "failed": 0}
    for status in ctx.session.scalars(
        select(AddressRow.status).where(AddressRow.round_id == round_id)
    ):
        statuses[status] = statuses.get(status, 0) + 1
    balances = len(
        ctx.session.scalars(select(BalanceRow.line).where(BalanceRow.round_id == round_id)).all()
    )
    return {"addresses": statuses, "balances": balances}


def claims_of(ctx: Context, round_id: str) -> list[AddressRow]:
    """The round's address claims, in file order."""
    query = select(AddressRow).where(AddressRow.round_id == round_id).order_by(AddressRow.line)
    return list(ctx.session.scalars(query))


def balances_of(ctx: Context, round_id: str) -> list[BalanceRow]:
    """The round's reserve balances, in file order."""
    query = select(BalanceRow).where(BalanceRow.round_id == round_id).order_by(BalanceRow.line)
    return list(ctx.session.scalars(query))


# --- reports ------------------------------------------------------------------------------------


def _figures(row: RoundRow) -> RoundFigures:
    return RoundFigures(
        id=row.id,
        snapshot_at=row.snapshot_at.isoformat(),
        root=row.root,
        accounts=row.accounts,
        capacity=row.capacity,
        assets=row.assets,
        totals=row.totals,
        liabilities_sha256=row.liabilities_sha256,
        anchor_leaf=row.anchor_leaf,
        published_at=row.published_at.isoformat() if row.published_at else None,
    )


def _assess(ctx: Context, row: RoundRow) -> dict[str, Any]:
    claims = [
        Claim(
            network=a.network,
            address=a.address,
            status=a.status,
            reason=a.reason,
            scheme=a.scheme,
            message=a.message,
            asset=a.asset,
            line=a.line,
        )
        for a in claims_of(ctx, row.id)
    ]
    holdings = [
        Holding(
            chain=b.chain,
            asset=b.asset,
            address=b.address,
            block_height=b.block_height,
            balance=Decimal(b.balance),
            source=b.source,
            line=b.line,
        )
        for b in balances_of(ctx, row.id)
    ]
    return assess(_figures(row), claims, holdings)


def draft_report(ctx: Context, round_id: str) -> dict[str, Any]:
    """The report's figures as they stand now (not signed, not stored)."""
    ctx.require_actor()
    return _assess(ctx, _round(ctx, round_id))


@functools.cache
def _keystore(directory: Path, origin: str) -> FileKeyStore:
    return FileKeyStore(directory, origin)


def report_keys(settings: Settings) -> FileKeyStore:
    """The key that signs solvency reports: ``<data_dir>/reserves/keys``, created on first use."""
    origin = f"{settings.trail_origin}/solvency-report"
    return _keystore((settings.data_dir / "reserves" / "keys").resolve(), origin)


def note_text(
    report_json: bytes, report_pdf: bytes, round_id: str, root: str, solvent: bool
) -> str:
    """The text the report's signed note signs: the format, the round, both files' digests."""
    return (
        f"{REPORT_FORMAT}\n"
        f"round {round_id}\n"
        f"root {root}\n"
        f"solvent {'yes' if solvent else 'no'}\n"
        f"{REPORT_JSON} sha256 {hashlib.sha256(report_json).hexdigest()}\n"
        f"{REPORT_PDF} sha256 {hashlib.sha256(report_pdf).hexdigest()}\n"
    )


def issue_report(ctx: Context, round_id: str) -> ReportPublic:
    """Issue the solvency report of a published round: files, signature, anchor, row.

    Raises:
        ReportNotReady: the round is not published yet.
        ReportIssued: the round already has its report (it is never reissued).
    """
    from assay.trail import service as trail  # noqa: PLC0415 - another capability, used lazily

    actor = ctx.require(permissions.ROUNDS_WRITE)
    row = _round(ctx, round_id)
    if row.status != PUBLISHED:
        raise ReportNotReady(
            f"round {round_id!r} is {row.status}: publish it first "
            "(`assay reserves round publish`), then issue its report",
            field="round",
            value=round_id,
        )
    if ctx.session.get(ReportRow, round_id) is not None:
        raise ReportIssued(
            f"round {round_id!r} already has its report; reports are issued once",
            field="round",
            value=round_id,
        )
    issued_at = ctx.clock.now()
    report = _assess(ctx, row)
    report["issued_at"] = issued_at.isoformat()
    report["issuer"] = ctx.settings.trail_origin
    body = (json.dumps(report, indent=2, sort_keys=True) + "\n").encode()
    json_sha = hashlib.sha256(body).hexdigest()
    pdf = render_pdf(report, json_sha)
    keys = report_keys(ctx.settings)
    note = sign(note_text(body, pdf, row.id, row.root, report["solvent"]), [keys.signer()])
    receipt = trail.anchor(
        ctx,
        REPORT_ANCHOR_KIND,
        bytes.fromhex(json_sha),
        {"round": row.id, "pdf_sha256": hashlib.sha256(pdf).hexdigest()},
    )
    stored = ReportRow(
        round_id=row.id,
        issued_at=issued_at,
        issued_by=actor.label,
        solvent=report["solvent"],
        summary=summary(report),
        json_sha256=json_sha,
        pdf_sha256=hashlib.sha256(pdf).hexdigest(),
        note=note,
        anchor_leaf=receipt.leaf_index,
    )
    ctx.session.add(stored)
    ctx.session.flush()
    record(
        ctx,
        "reserves.report.issue",
        ObjectRef("reserves_round", row.id),
        after={"solvent": stored.solvent, "json_sha256": json_sha, "pdf_sha256": stored.pdf_sha256},
    )
    folder = round_folder(ctx.settings, row.id)
    final = folder / REPORT_DIR
    staging = folder / f".report-{secrets.token_hex(6)}"
    staging.mkdir()
    try:
        (staging / REPORT_JSON).write_bytes(body)
        (staging / REPORT_PDF).write_bytes(pdf)
        (staging / REPORT_SIG).write_text(note, encoding="utf-8")
        if final.exists():  # left by a report whose commit failed; nothing refers to it
            shutil.rmtree(final)
        staging.rename(final)
        try:
            ctx.commit()
        except BaseException:
            shutil.rmtree(final, ignore_errors=True)
            raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return ReportPublic.model_validate(stored, from_attributes=True)


def get_report(ctx: Context, round_id: str) -> ReportPublic:
    """The issued report of a round; NotFound if none was issued."""
    ctx.require_actor()
    _round(ctx, round_id)
    found = ctx.session.get(ReportRow, round_id)
    if found is None:
        raise NotFound(
            f"round {round_id!r} has no report yet (`assay reserves report {round_id}` issues it)",
            field="round",
            value=round_id,
        )
    return ReportPublic.model_validate(found, from_attributes=True)


def report_files(ctx: Context, round_id: str) -> ReportFiles:
    """The issued report's files; NotFound if none was issued."""
    get_report(ctx, round_id)
    folder = round_folder(ctx.settings, round_id) / REPORT_DIR
    return ReportFiles(folder / REPORT_JSON, folder / REPORT_PDF, folder / REPORT_SIG)


def history(ctx: Context) -> list[ReportPublic]:
    """Every issued report, oldest snapshot first: solvency and ratios over time."""
    ctx.require_actor()
    query = (
        select(ReportRow)
        .join(RoundRow, RoundRow.id == ReportRow.round_id)
        .order_by(RoundRow.snapshot_at, RoundRow.id)
    )
    return [
        ReportPublic.model_validate(r, from_attributes=True) for r in ctx.session.scalars(query)
    ]


def check_report(
    note: str, report_json: bytes, report_pdf: bytes, verifiers: Sequence[Verifier]
) -> str:
    """Check a report's signed note with ``verifiers`` and the two files' digests against it.

    Returns the note's text.

    Raises:
        InvalidInput: a file whose SHA-256 is not the one the note signs (named).
        MalformedNote, BadSignature, UnknownKey: the note itself does not check.
    """
    opened = open_note(note, verifiers)
    lines = opened.text.splitlines()
    if not lines or lines[0] != REPORT_FORMAT:
        raise InvalidInput(
            f"the signed note is not a solvency report (its first line is {lines[0]!r})"
            if lines
            else "the signed note is empty",
            field="report.sig",
        )
    signed = dict(line.split(" ", 1) for line in lines[1:] if " " in line)
    for name, data in ((REPORT_JSON, report_json), (REPORT_PDF, report_pdf)):
        want = signed.get(name, "").removeprefix("sha256 ")
        got = hashlib.sha256(data).hexdigest()
        if want != got:
            raise InvalidInput(
                f"{name} does not match the signed report: its SHA-256 is {got}, "
                f"the note signs {want or 'nothing'}",
                field=name,
            )
    return opened.text
