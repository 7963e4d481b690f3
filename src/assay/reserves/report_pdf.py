"""The solvency report as a PDF (fpdf2): the same figures as the JSON, for people who file it.

It is a rendering of the report dict, nothing more: every figure comes from the JSON, whose
SHA-256 the PDF prints, so a reader can tie the two together; the signed note
(``report.sig``) covers both files. Output is reproducible: the document dates are the report's
issue time, so one report always gives the same bytes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from fpdf import FPDF
from fpdf.enums import XPos, YPos

from assay.reserves.solvency import percent

_INK = (33, 37, 41)
_MUTED = (108, 117, 125)
_GOOD = (25, 135, 84)
_BAD = (200, 35, 51)
_GRID = (206, 212, 218)


def _safe(value: object) -> str:
    """Core PDF fonts are Latin-1: anything else is shown as '?' rather than failing."""
    return str(value).encode("latin-1", "replace").decode("latin-1")


def render_pdf(report: Mapping[str, Any], json_sha256: str) -> bytes:
    """The PDF of ``report`` (an issued ``assay-solvency-report/1`` dict)."""
    issued = dt.datetime.fromisoformat(report["issued_at"])
    pdf = FPDF(orientation="portrait", unit="mm", format="A4")
    pdf.set_creation_date(issued)
    pdf.set_title(_safe(f"Solvency report, round {report['round']['id']}"))
    pdf.set_author(_safe(report.get("issuer", "Assay")))
    pdf.set_creator("Assay")
    pdf.set_producer("Assay (fpdf2)")
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_page()
    rnd = report["round"]
    pdf.set_text_color(*_INK)
    pdf.set_font("Helvetica", "B", 18)
    pdf.cell(
        0, 10, _safe(f"Solvency report: round {rnd['id']}"), new_x=XPos.LMARGIN, new_y=YPos.NEXT
    )
    pdf.set_font("Helvetica", "", 10)
    verdict = "Solvent: every asset covered" if report["solvent"] else "NOT solvent"
    pdf.set_text_color(*(_GOOD if report["solvent"] else _BAD))
    pdf.set_font("Helvetica", "B", 12)
    pdf.cell(0, 8, verdict, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_text_color(*_INK)
    pdf.set_font("Helvetica", "", 9)
    facts = [
        ("Snapshot", rnd["snapshot_at"]),
        ("Published", rnd.get("published_at") or "-"),
        ("Issued", report["issued_at"]),
        ("Liabilities root", rnd["root"]),
        ("Root anchored at trail leaf", rnd.get("anchor_leaf")),
        ("Accounts (capacity)", f"{rnd['accounts']:,} ({rnd['capacity']:,})"),
        ("Liabilities file SHA-256", rnd["liabilities_sha256"]),
        ("This report's JSON SHA-256", json_sha256),
    ]
    for label, value in facts:
        pdf.set_text_color(*_MUTED)
        pdf.cell(55, 5, _safe(label))
        pdf.set_text_color(*_INK)
        pdf.cell(0, 5, _safe(value), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(3)
    _assets_table(pdf, report["assets"])
    pdf.ln(3)
    _ratio_chart(pdf, report["assets"])
    pdf.ln(3)
    _chains_table(pdf, report["chains"])
    if report["flags"]:
        pdf.ln(2)
        pdf.set_font("Helvetica", "B", 11)
        pdf.cell(0, 7, "Findings", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.set_font("Helvetica", "", 9)
        for flag in report["flags"]:
            pdf.multi_cell(
                0,
                5,
                _safe(f"{flag['code']}: {flag['detail']}"),
                new_x=XPos.LMARGIN,
                new_y=YPos.NEXT,
            )
    pdf.ln(2)
    pdf.set_font("Helvetica", "I", 8)
    pdf.set_text_color(*_MUTED)
    pdf.multi_cell(
        0,
        4,
        "Reserves count only at addresses whose ownership signature was verified; customer "
        "debt is shown but never netted against liabilities; ratios are rounded down. The "
        "signed note report.sig covers this PDF and the JSON. Customers check their own "
        "balance with their proof file (python verify_proof.py proof.json).",
        new_x=XPos.LMARGIN,
        new_y=YPos.NEXT,
    )
    return bytes(pdf.output())


def _assets_table(pdf: FPDF, assets: Sequence[Mapping[str, Any]]) -> None:
    pdf.set_font("Helvetica", "B", 11)
    pdf.cell(0, 7, "Per asset", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font("Helvetica", "", 8)
    with pdf.table(
        col_widths=(16, 34, 34, 30, 30, 18, 28),
        text_align=("LEFT", "RIGHT", "RIGHT", "RIGHT", "RIGHT", "RIGHT", "LEFT"),
        line_height=5,
    ) as table:
        table.row(
            [
                "Asset",
                "Liabilities",
                "Reserves (verified)",
                "Not counted",
                "Customer debt",
                "Ratio",
                "Flags",
            ]
        )
        for a in assets:
            not_counted = Decimal(a["reserves_unverified"]) + Decimal(a["reserves_excluded"])
            table.row(
                [
                    a["asset"],
                    a["liabilities"],
                    a["reserves"],
                    _safe(not_counted.normalize() if not_counted else 0),
                    a["customer_debt"],
                    percent(a["ratio"]),
                    ", ".join(a["flags"]) or "covered",
                ]
            )


def _ratio_chart(pdf: FPDF, assets: Sequence[Mapping[str, Any]]) -> None:
    """Horizontal bars of each asset's ratio, with the 100% line (the scale stops at 200%)."""
    rated = [a for a in assets if a["ratio"] is not None]
    if not rated:
        return
    pdf.set_font("Helvetica", "B", 11)
    pdf.cell(0, 7, "Reserves / liabilities", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    left, width, bar = pdf.l_margin + 20, 130.0, 5.0
    top = pdf.get_y() + 1
    scale = width / 2.0
    pdf.set_font("Helvetica", "", 8)
    for i, a in enumerate(rated):
        y = top + i * (bar + 2)
        ratio = min(float(Decimal(a["ratio"])), 2.0)
        pdf.set_text_color(*_INK)
        pdf.set_xy(pdf.l_margin, y)
        pdf.cell(20, bar, _safe(a["asset"]))
        pdf.set_fill_color(*(_GOOD if a["covered"] else _BAD))
        if ratio > 0:
            pdf.rect(left, y, ratio * scale, bar, style="F")
        pdf.set_xy(left + width + 2, y)
        pdf.cell(25, bar, percent(a["ratio"]))
    bottom = top + len(rated) * (bar + 2)
    pdf.set_draw_color(*_GRID)
    pdf.line(left + scale, top - 1, left + scale, bottom)
    pdf.set_text_color(*_MUTED)
    pdf.set_xy(left + scale - 6, bottom)
    pdf.cell(12, 4, "100%", align="C")
    pdf.set_xy(pdf.l_margin, bottom + 5)


def _chains_table(pdf: FPDF, chains: Sequence[Mapping[str, Any]]) -> None:
    if not chains:
        return
    pdf.set_text_color(*_INK)
    pdf.set_font("Helvetica", "B", 11)
    pdf.cell(0, 7, "Chains", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font("Helvetica", "", 8)
    with pdf.table(
        col_widths=(30, 60, 25, 25, 25, 25),
        text_align=("LEFT", "LEFT", "RIGHT", "RIGHT", "RIGHT", "RIGHT"),
        line_height=5,
    ) as table:
        table.row(["Chain", "Block height(s)", "Addresses", "Verified", "Unverified", "Failed"])
        for c in chains:
            table.row(
                [
                    c["chain"],
                    ", ".join(str(h) for h in c["block_heights"]) or "-",
                    str(c["addresses"]),
                    str(c["verified"]),
                    str(c["unverified"]),
                    str(c["failed"]),
                ]
            )
