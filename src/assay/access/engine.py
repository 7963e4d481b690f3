"""The compiled decision engine: the reference evaluator's answers, looked up instead of computed.

Compiling a (catalogue, register) pair finds every day on which any answer can change (status
changes, passports, rule dates, transition ends, group memberships), every asset a rule names and
every amount threshold. Between two such days, and within one asset class and one amount class,
the answer to a (jurisdiction, client, product) question cannot change, so the engine evaluates
each such cell once, with the reference evaluator, and then answers from a dictionary: a decision
is a tuple, a bisection and a lookup. ``decide_batch`` does the same for whole columns with numpy.

An engine is immutable: a new catalogue or register version means a new engine.
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Sequence
from decimal import Decimal

import numpy as np
import numpy.typing as npt

from assay.access.decision import Decision, Request, Verdict
from assay.access.evaluate import amount_reaches, evaluate
from assay.access.register import Register
from assay.regulation.geography import area_dates
from assay.regulation.model import Catalogue, Rule

_EPOCH = dt.date(1970, 1, 1)
_DAWN = dt.date(1900, 1, 1)
_ONE_DAY = dt.timedelta(days=1)

CellKey = tuple[str, str, str, int, int, int]


class Engine:
    """Decisions for one catalogue version and one register version."""

    def __init__(self, catalogue: Catalogue, register: Register) -> None:
        self.catalogue = catalogue
        self.register = register
        self.breaks: list[dt.date] = sorted(_change_days(catalogue, register))
        assets = sorted({a for r in _rules(catalogue) for a in (*r.assets, *r.assets_except)})
        self._asset_class = {asset: i + 1 for i, asset in enumerate(assets)}
        self._asset_of_class: list[str | None] = [None, *assets]
        self._thresholds = sorted(
            {
                (r.amount_from.value, r.amount_from.currency)
                for r in _rules(catalogue)
                if r.amount_from
            }
        )
        self._cells: dict[CellKey, Verdict] = {}

    @property
    def versions(self) -> tuple[str, int]:
        """The catalogue and register versions this engine answers for."""
        return self.catalogue.version, self.register.version

    def decide(self, request: Request) -> Decision:
        """The decision for one validated request."""
        key = self.cell(request)
        verdict = self._cells.get(key)
        if verdict is None:
            verdict = self._compute(key, request.amount, request.currency)
        return Decision(verdict, request.as_of)

    def cell(self, request: Request) -> CellKey:
        """The cell a request falls in: questions in one cell share one answer."""
        amount_class = 0
        for bit, (value, currency) in enumerate(self._thresholds):
            if amount_reaches(request.amount, request.currency, value, currency):
                amount_class |= 1 << bit
        return (
            request.jurisdiction,
            request.client,
            request.product,
            self._asset_class.get(request.asset, 0) if request.asset else 0,
            amount_class,
            bisect.bisect_right(self.breaks, request.as_of),
        )

    def period(self, segment: int) -> tuple[dt.date, dt.date | None]:
        """The days of a segment: from its first day until (excluding) the next change."""
        start = self.breaks[segment - 1] if segment > 0 else _DAWN
        end = self.breaks[segment] if segment < len(self.breaks) else None
        return start, end

    def verdict_on(self, jurisdiction: str, client: str, product: str, day: dt.date) -> Verdict:
        """The answer for a cell with no asset and no amount (coverage maps, impact analysis)."""
        return self.decide(Request(jurisdiction, client, product, day)).verdict

    def decide_batch(
        self,
        jurisdictions: npt.NDArray[np.str_],
        clients: npt.NDArray[np.str_],
        products: npt.NDArray[np.str_],
        days: npt.NDArray[np.datetime64],
    ) -> tuple[list[Verdict], npt.NDArray[np.intp]]:
        """Decide validated columns at once (no asset, no amount).

        Returns the distinct verdicts, and for each row the index of its verdict in that list.
        """
        day_numbers = days.astype("datetime64[D]").astype(np.int64)
        break_numbers = np.array([(b - _EPOCH).days for b in self.breaks], dtype=np.int64)
        segments = np.searchsorted(break_numbers, day_numbers, side="right")
        j_values, j_index = np.unique(jurisdictions, return_inverse=True)
        c_values, c_index = np.unique(clients, return_inverse=True)
        p_values, p_index = np.unique(products, return_inverse=True)
        width = len(self.breaks) + 1
        combined = (
            (j_index * len(c_values) + c_index) * len(p_values) + p_index
        ) * width + segments
        keys, inverse = np.unique(combined, return_inverse=True)
        unknown = (1 << len(self._thresholds)) - 1  # no amount: every threshold counts as reached
        verdicts: list[Verdict] = []
        for key in keys.tolist():
            rest, segment = divmod(int(key), width)
            rest, p = divmod(rest, len(p_values))
            j, c = divmod(rest, len(c_values))
            cell: CellKey = (
                str(j_values[j]),
                str(c_values[c]),
                str(p_values[p]),
                0,
                unknown,
                segment,
            )
            verdict = self._cells.get(cell)
            if verdict is None:
                verdict = self._compute(cell, None, None)
            verdicts.append(verdict)
        return verdicts, inverse.reshape(-1)

    def decide_many(self, requests: Sequence[Request]) -> list[Decision]:
        """Decide a list of requests (the API's list form)."""
        return [self.decide(r) for r in requests]

    def _compute(self, key: CellKey, amount: Decimal | None, currency: str | None) -> Verdict:
        jurisdiction, client, product, asset_class, _, segment = key
        day = self.period(segment)[0]
        representative = Request(
            jurisdiction,
            client,
            product,
            day,
            asset=self._asset_of_class[asset_class],
            amount=amount,
            currency=currency,
        )
        verdict = evaluate(self.catalogue, self.register, representative)
        self._cells[key] = verdict
        return verdict


def _rules(catalogue: Catalogue) -> list[Rule]:
    return [rule for regime in catalogue.regimes.values() for rule in regime.rules]


def _change_days(catalogue: Catalogue, register: Register) -> set[dt.date]:
    """Every day on which some answer may differ from the day before."""
    days: set[dt.date] = set()
    for lic in register.licences:
        days |= lic.dates()
    for regime in catalogue.regimes.values():
        days |= area_dates(catalogue, regime.territory)
        for lt in regime.licence_types:
            if lt.passport is not None:
                days |= area_dates(catalogue, lt.passport.area)
        if regime.transition is not None:
            for code in catalogue.jurisdictions:
                days.add(regime.transition.end_for(code) + _ONE_DAY)
        for rule in regime.rules:
            days.add(rule.effective_from)
            if rule.effective_until is not None:
                days.add(rule.effective_until)
            if rule.where is not None:
                days |= area_dates(catalogue, rule.where)
    return {d for d in days if d > _DAWN}
