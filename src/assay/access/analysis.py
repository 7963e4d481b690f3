"""Answers in bulk: batch screening of customer files, change impact, and the coverage map.

Pure functions over compiled engines and rows of text; the service and the CLI supply the files.
Screening streams: one row in, one row out, never the whole file in memory. A row that cannot be
read is written out with its error and counted, never dropped.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import IO, Any

from assay.access.decision import Decision, Verdict, parse_request
from assay.access.engine import Engine
from assay.errors import InvalidInput
from assay.regulation.model import CLIENTS, PRODUCTS

#: Columns a customer file must have (others are optional or ignored).
REQUIRED_COLUMNS = ("customer_id", "jurisdiction", "client", "product")
OPTIONAL_COLUMNS = ("asset", "amount", "currency", "as_of")
#: Columns of a screening result (docs/formats/access-screening.md).
RESULT_COLUMNS = (
    "customer_id",
    "jurisdiction",
    "client",
    "product",
    "as_of",
    "allowed",
    "entity",
    "regime",
    "licence",
    "obligations",
    "reasons",
    "catalogue_version",
    "register_version",
    "error",
)


@dataclass
class ScreenSummary:
    """What a screening run did."""

    rows: int = 0
    allowed: int = 0
    refused: int = 0
    invalid: int = 0
    by_reason: dict[str, int] = field(default_factory=dict)


def read_customers(stream: IO[str], *, source: str) -> Iterator[dict[str, str]]:
    """Rows of a customer CSV file; InvalidInput naming the missing columns (raised at once)."""
    reader = csv.DictReader(stream)
    header = [h.strip().lower() for h in reader.fieldnames or []]
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        raise InvalidInput(
            f"{source}: missing column(s) {', '.join(missing)}; a customer file needs "
            f"{', '.join(REQUIRED_COLUMNS)} (and may have {', '.join(OPTIONAL_COLUMNS)})",
            field="columns",
            value=header,
        )
    reader.fieldnames = header
    return ({k: (v or "").strip() for k, v in row.items() if k is not None} for row in reader)


def screen(
    engine: Engine,
    rows: Iterable[Mapping[str, str]],
    out: IO[str],
    *,
    today: dt.date,
    progress: Callable[[int], None] | None = None,
) -> ScreenSummary:
    """Decide every row and write one result row each; return the counts."""
    writer = csv.DictWriter(out, fieldnames=RESULT_COLUMNS, lineterminator="\n")
    writer.writeheader()
    summary = ScreenSummary()
    for number, row in enumerate(rows, start=2):  # line 1 is the header
        summary.rows += 1
        base = {k: row.get(k, "") for k in ("customer_id", "jurisdiction", "client", "product")}
        try:
            request = parse_request(engine.catalogue, row, today=today, prefix=f"line {number}: ")
        except InvalidInput as exc:
            summary.invalid += 1
            writer.writerow({**base, "as_of": row.get("as_of", ""), "error": exc.message})
            continue
        decision = engine.decide(request)
        writer.writerow({**base, **result_columns(decision)})
        if decision.allowed:
            summary.allowed += 1
        else:
            summary.refused += 1
            for reason in decision.verdict.reasons:
                summary.by_reason[reason.code] = summary.by_reason.get(reason.code, 0) + 1
        if progress is not None and summary.rows % 1000 == 0:
            progress(1000)
    if progress is not None:
        progress(summary.rows % 1000)
    return summary


def result_columns(decision: Decision) -> dict[str, Any]:
    """A decision as the columns of a screening result."""
    v = decision.verdict
    return {
        "as_of": decision.as_of.isoformat(),
        "allowed": "true" if v.allowed else "false",
        "entity": v.entity or "",
        "regime": v.licence.regime if v.licence else "",
        "licence": v.licence.reference if v.licence else "",
        "obligations": "|".join(
            o.code + (f"={o.value:g}" if o.value is not None else "") + (o.currency or "")
            for o in v.obligations
        ),
        "reasons": "|".join(r.code for r in v.reasons),
        "catalogue_version": v.catalogue_version,
        "register_version": v.register_version,
        "error": "",
    }


@dataclass(frozen=True)
class CellChange:
    """A (jurisdiction, client, product) whose answer differs between two states."""

    jurisdiction: str
    client: str
    product: str
    before: Verdict
    after: Verdict

    def to_json(self) -> dict[str, Any]:
        """The change as the API and ``--json`` report it."""
        return {
            "jurisdiction": self.jurisdiction,
            "client": self.client,
            "product": self.product,
            "before": _summary(self.before),
            "after": _summary(self.after),
        }


def _summary(v: Verdict) -> dict[str, Any]:
    return {
        "allowed": v.allowed,
        "licence": v.licence.reference if v.licence else None,
        "obligations": [
            o.code + (f"={o.value:g}" if o.value is not None else "") for o in v.obligations
        ],
        "reasons": [r.code for r in v.reasons],
    }


def impact(
    before: Engine,
    after: Engine,
    day_before: dt.date,
    day_after: dt.date,
    *,
    jurisdictions: Iterable[str] | None = None,
) -> list[CellChange]:
    """Every cell whose answer differs between (before, day_before) and (after, day_after).

    Pass the same engine twice to see what changes between two dates.
    """
    codes = (
        sorted(jurisdictions)
        if jurisdictions is not None
        else sorted(before.catalogue.jurisdictions)
    )
    changes = []
    for code in codes:
        for client in CLIENTS:
            for product in PRODUCTS:
                old = before.verdict_on(code, client, product, day_before)
                new = after.verdict_on(code, client, product, day_after)
                if old.key() != new.key():
                    changes.append(CellChange(code, client, product, old, new))
    return changes


def affected_customers(
    changes: Iterable[CellChange], customers: Iterable[Mapping[str, str]]
) -> list[dict[str, str]]:
    """The customers of a file whose (jurisdiction, client, product) is among ``changes``."""
    cells = {(c.jurisdiction, c.client, c.product): c for c in changes}
    found = []
    for row in customers:
        key = (
            row.get("jurisdiction", "").upper(),
            row.get("client", "").lower(),
            row.get("product", "").lower(),
        )
        change = cells.get(key)
        if change is not None:
            found.append(
                {
                    "customer_id": row.get("customer_id", ""),
                    "jurisdiction": key[0],
                    "client": key[1],
                    "product": key[2],
                    "before": "allowed" if change.before.allowed else "refused",
                    "after": "allowed" if change.after.allowed else "refused",
                }
            )
    return found


def coverage(engine: Engine, day: dt.date, client: str) -> dict[str, list[str]]:
    """For each jurisdiction, the products ``client`` customers may get on ``day``."""
    return {
        code: [p for p in PRODUCTS if engine.verdict_on(code, client, p, day).allowed]
        for code in sorted(engine.catalogue.jurisdictions)
    }
