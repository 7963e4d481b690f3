"""The reserves pages: rounds, their reserves and solvency report, history, the proof check.

``/reserves/verify`` is public: anyone with a proof file checks it there, in the browser, and the
file never leaves it (``static/verify.js`` does the whole check). The other pages are for
signed-in users: everyone reads rounds and reports; treasury creates, imports, publishes and
issues (forms through ``page_form``: session, CSRF, permission); a customer sees the proofs of
the accounts linked to them, and checks them in the browser.

Thin handlers over ``service`` and ``reporting``; the charts are plain SVG computed here.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import FileResponse, RedirectResponse, Response

from assay.errors import AssayError, NotFound
from assay.platform import signin
from assay.platform.context import Context
from assay.platform.web.deps import Ctx, PageCtx, page_form
from assay.platform.web.security import SESSION_COOKIE, add_flash
from assay.platform.web.templating import render
from assay.reserves import permissions, reporting, service, verify_proof
from assay.reserves.api import uploaded
from assay.reserves.rounds import FileDigest, asset_from_text, parse_round_spec
from assay.reserves.solvency import percent

WriteForm = Annotated[Context, Depends(page_form(permissions.ROUNDS_WRITE))]

#: Colours of the assets' lines in the history chart, in order.
PALETTE = ("#0b7285", "#e67700", "#5f3dc4", "#2b8a3e", "#c2255c", "#1864ab", "#862e9c")
#: Ratios are drawn up to this (150%); above it the bar or line stops at the edge.
CHART_MAX = Decimal("1.5")


def history_chart(reports: Sequence[reporting.ReportPublic]) -> dict[str, Any]:
    """Lines of each asset's ratio over the issued reports, in a 600 x 220 box (0..150%)."""
    width, height, left, top, bottom = 600, 220, 48, 12, 28
    assets = sorted({a for r in reports for a in r.summary["ratios"]})
    span = max(len(reports) - 1, 1)

    def x(i: int) -> float:
        return left + (width - left - 16) * (i / span if len(reports) > 1 else 0.5)

    def y(ratio: Decimal) -> float:
        shown = min(max(ratio, Decimal(0)), CHART_MAX)
        return top + (height - top - bottom) * float(1 - shown / CHART_MAX)

    lines = []
    for k, asset in enumerate(assets):
        points = [
            (x(i), y(Decimal(r.summary["ratios"][asset])), r.summary["ratios"][asset], r.round_id)
            for i, r in enumerate(reports)
            if asset in r.summary["ratios"]
        ]
        lines.append(
            {
                "asset": asset,
                "colour": PALETTE[k % len(PALETTE)],
                "points": " ".join(f"{px:.1f},{py:.1f}" for px, py, _, _ in points),
                "dots": [
                    {"x": px, "y": py, "label": f"{asset} {percent(v)} in {rid}"}
                    for px, py, v, rid in points
                ],
            }
        )
    ticks = [{"y": y(Decimal(v) / 100), "label": f"{v}%"} for v in (0, 50, 100, 150)]
    labels = [{"x": x(i), "label": r.round_id} for i, r in enumerate(reports)]
    return {
        "width": width,
        "height": height,
        "left": left,
        "right": width - 16,
        "full": y(Decimal(1)),
        "ticks": ticks,
        "labels": labels,
        "baseline": height - bottom,
        "lines": lines,
    }


def ratio_bars(assets: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """One bar per owed asset: its ratio as a share of a 150% scale, and where 100% is."""
    bars = []
    for a in assets:
        if a["ratio"] is None:
            continue
        ratio = Decimal(a["ratio"])
        bars.append(
            {
                "asset": a["asset"],
                "percent": percent(a["ratio"]),
                "width": float(min(ratio, CHART_MAX) / CHART_MAX * 100),
                "covered": a["covered"],
            }
        )
    return bars


def _back(
    request: Request, ctx: Context, url: str, message: str, level: str = "success"
) -> Response:
    response = RedirectResponse(url, status_code=303)
    add_flash(request, response, ctx.settings, level, message)  # type: ignore[arg-type]
    return response


def _round_url(round_id: str) -> str:
    return f"/reserves/rounds/{quote(round_id, safe='')}"


def _linked_accounts(ctx: Context) -> list[str]:
    actor = ctx.require_actor()
    return sorted(
        link.account_id
        for link in service.list_links(ctx)
        if actor.user_id is not None and link.email == actor.name
    )


def router() -> APIRouter:  # noqa: PLR0915 - one flat list of small handlers reads best
    """The reserves page routes."""
    pages = APIRouter(prefix="/reserves", include_in_schema=False)

    def overview_page(
        request: Request, ctx: Context, *, error: str | None = None, form: Any = None
    ) -> Response:
        rounds = service.list_rounds(ctx)
        reports = reporting.history(ctx)
        issued = {r.round_id: r for r in reports}
        page = {
            "rounds": rounds,
            "issued": issued,
            "chart": history_chart(reports) if reports else None,
            "can_write": ctx.require_actor().can(permissions.ROUNDS_WRITE),
            "accounts": _linked_accounts(ctx),
            "error": error,
            "form": form or {"assets": "BTC:8, ETH:9, USDT:6:debt"},
        }
        return render(request, "reserves/overview.html", page, status_code=422 if error else 200)

    @pages.get("")
    def overview(request: Request, ctx: PageCtx) -> Response:
        return overview_page(request, ctx)

    @pages.post("/rounds")
    def create(
        *,
        request: Request,
        ctx: WriteForm,
        round_id: Annotated[str, Form()],
        snapshot_at: Annotated[str, Form()],
        assets: Annotated[str, Form()],
        liabilities: Annotated[UploadFile, File()],
    ) -> Response:
        form = {"round_id": round_id, "snapshot_at": snapshot_at, "assets": assets}
        try:
            spec = parse_round_spec(
                {
                    "id": round_id.strip(),
                    "snapshot_at": snapshot_at.strip(),
                    "assets": [
                        asset_from_text(t, field="assets") for t in assets.split(",") if t.strip()
                    ],
                },
                source="the form",
            )
            summary = f"page form: id={round_id} snapshot={snapshot_at} assets={assets}"
            digest = FileDigest(source="form", sha256=hashlib.sha256(summary.encode()).hexdigest())
            with uploaded(ctx, liabilities, "liabilities") as path:
                built = service.create_round(
                    ctx, spec, path, source=liabilities.filename or path.name, round_file=digest
                )
        except AssayError as exc:
            return overview_page(request, ctx, error=exc.message, form=form)
        return _back(
            request,
            ctx,
            _round_url(built.id),
            f"Round {built.id} built: {built.accounts} accounts.",
        )

    def round_page(
        request: Request, ctx: Context, round_id: str, error: str | None = None
    ) -> Response:
        found = service.get_round(ctx, round_id)
        try:
            issued: reporting.ReportPublic | None = reporting.get_report(ctx, round_id)
        except NotFound:
            issued = None
        if issued is not None:
            report = json.loads(reporting.report_files(ctx, round_id).json.read_text())
        else:
            report = reporting.draft_report(ctx, round_id)
        actor = ctx.require_actor()
        accounts = _linked_accounts(ctx) if found.status == service.PUBLISHED else []
        page = {
            "round": found,
            "report": report,
            "issued": issued,
            "bars": ratio_bars(report["assets"]),
            "claims": reporting.claims_of(ctx, round_id),
            "balances": reporting.balances_of(ctx, round_id),
            "can_write": actor.can(permissions.ROUNDS_WRITE),
            "can_any_proof": actor.can(permissions.PROOFS_ANY),
            "accounts": accounts,
            "error": error,
            "url": _round_url(round_id),
        }
        return render(request, "reserves/round.html", page, status_code=422 if error else 200)

    @pages.get("/rounds/{round_id}")
    def round_(request: Request, ctx: PageCtx, round_id: str) -> Response:
        return round_page(request, ctx, round_id)

    @pages.post("/rounds/{round_id}/reserves")
    def import_reserves(
        *,
        request: Request,
        ctx: WriteForm,
        round_id: str,
        addresses: Annotated[UploadFile, File()],
        balances: Annotated[UploadFile, File()],
        message: Annotated[str, Form()] = "",
    ) -> Response:
        try:
            with (
                uploaded(ctx, addresses, "addresses") as claims,
                uploaded(ctx, balances, "balances") as book,
            ):
                done = reporting.import_reserves(
                    ctx, round_id, claims, book, message=message.strip() or None
                )
        except AssayError as exc:
            return round_page(request, ctx, round_id, error=exc.message)
        counts = ", ".join(f"{n} {s}" for s, n in done.addresses.items())
        return _back(
            request,
            ctx,
            _round_url(round_id),
            f"Reserves imported: {sum(done.addresses.values())} addresses ({counts}), "
            f"{done.balances} balances.",
        )

    @pages.post("/rounds/{round_id}/publish")
    def publish(request: Request, ctx: WriteForm, round_id: str) -> Response:
        try:
            service.publish_round(ctx, round_id)
        except AssayError as exc:
            return round_page(request, ctx, round_id, error=exc.message)
        return _back(request, ctx, _round_url(round_id), f"Round {round_id} published.")

    @pages.post("/rounds/{round_id}/report")
    def issue(request: Request, ctx: WriteForm, round_id: str) -> Response:
        try:
            done = reporting.issue_report(ctx, round_id)
        except AssayError as exc:
            return round_page(request, ctx, round_id, error=exc.message)
        verdict = "solvent" if done.solvent else "NOT solvent"
        return _back(request, ctx, _round_url(round_id), f"Report issued and signed: {verdict}.")

    @pages.post("/rounds/{round_id}/discard")
    def discard(request: Request, ctx: WriteForm, round_id: str) -> Response:
        try:
            service.discard_round(ctx, round_id)
        except AssayError as exc:
            return round_page(request, ctx, round_id, error=exc.message)
        return _back(request, ctx, "/reserves", f"Round {round_id} discarded.")

    @pages.get("/rounds/{round_id}/report.{kind}")
    def report_file(ctx: PageCtx, round_id: str, kind: str) -> Response:
        files = reporting.report_files(ctx, round_id)
        found = {"json": files.json, "pdf": files.pdf, "sig": files.sig}.get(kind)
        if found is None:
            raise NotFound(f"no report.{kind}: json, pdf or sig", field="kind", value=kind)
        media = {"json": "application/json", "pdf": "application/pdf"}.get(kind, "text/plain")
        return FileResponse(found, media_type=media, filename=f"{round_id}-report.{kind}")

    @pages.get("/rounds/{round_id}/proofs/{account_id}.json")
    def proof(ctx: PageCtx, round_id: str, account_id: str) -> Response:
        found = service.customer_proof(ctx, round_id, account_id)
        return Response(
            found.model_dump_json(indent=2) + "\n",
            media_type="application/json",
            headers={
                "Content-Disposition": f'attachment; filename="proof-{round_id}-{account_id}.json"',
                "Cache-Control": "no-store",
            },
        )

    @pages.get("/verify_proof.py")
    def verifier_script() -> Response:
        # Public: the standalone verifier customers run, served from the installed package.
        return FileResponse(
            Path(verify_proof.__file__),
            media_type="text/x-python; charset=utf-8",
            filename="verify_proof.py",
        )

    @pages.get("/verify")
    def verify(request: Request, ctx: Ctx, round: str = "", account: str = "") -> Response:
        # Public; a signed-in customer also gets the navigation, and their proof fetched.
        cookie = request.cookies.get(SESSION_COOKIE)
        principal = signin.resume(ctx, cookie) if cookie else None
        request.state.principal = principal
        proof_url = None
        if round and account and principal is not None:
            proof_url = f"{_round_url(round)}/proofs/{quote(account, safe='')}.json"
        return render(request, "reserves/verify.html", {"proof_url": proof_url})

    return pages
