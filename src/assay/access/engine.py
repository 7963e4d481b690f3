"""The compiled decision engine: the reference evaluator's answers, looked up instead of computed.

Compiling a (catalogue, register) pair finds every day on which any answer can change (status
changes, passports, rule dates, transition ends, group memberships), every asset a rule names and
every amount threshold. Between two such days, and within one asset class and one amount class,
the answer to a (jurisdiction, client, product) question cannot change, so the engine evaluates
each such cell once, with the reference evaluator, and then answers from a dictionary: a decision
is a tuple, a bisection and a lookup. ``decide_batch`` does the same for whole columns with numpy:
each row becomes one integer cell number, and each distinct cell is looked up once.

An engine is immutable: a new catalogue or register version means a new engine.
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Sequence
from decimal import Decimal

import numpy as np
import numpy.typing as npt

from assay.access.decision import EARLIEST, Decision, Request, Verdict
from assay.access.evaluate import amount_reaches, evaluate
from assay.access.register import Register
from assay.errors import InvalidInput
from assay.regulation.geography import area_dates
from assay.regulation.model import CLIENTS, PRODUCTS, Catalogue, Rule

_EPOCH = dt.date(1970, 1, 1)
_DAWN = EARLIEST  # the first period starts on the first day a request may name
_ONE_DAY = dt.timedelta(days=1)
#: Up to this many possible cells, a batch marks the cells it meets in an array (no sort).
_DENSE_CELLS = 1 << 22

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
            {r.amount_from for r in _rules(catalogue) if r.amount_from},
            key=lambda a: (a.currency, a.value, a.exceeding),
        )
        self._cells: dict[CellKey, Verdict] = {}
        # decide_batch: the days of the breaks, sorted vocabularies, verdicts by cell number.
        self._break_days = np.array([(b - _EPOCH).days for b in self.breaks], dtype=np.int64)
        self._vocabularies = (
            np.array(sorted(catalogue.jurisdictions)),
            np.array(sorted(CLIENTS)),
            np.array(sorted(PRODUCTS)),
        )
        self._numbered: dict[int, Verdict] = {}

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
        for bit, threshold in enumerate(self._thresholds):
            if amount_reaches(request.amount, request.currency, threshold):
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

        Returns the distinct verdicts (one per cell met, in the order of jurisdiction, client,
        product and period), and for each row the index of its verdict in that list. Raises
        InvalidInput naming the first value the catalogue does not know.
        """
        j_vocabulary, c_vocabulary, p_vocabulary = self._vocabularies
        width = len(self.breaks) + 1
        day_numbers = days.astype("datetime64[D]").astype(np.int64)
        cells = _positions(j_vocabulary, jurisdictions, "jurisdiction") * len(c_vocabulary)
        cells += _positions(c_vocabulary, clients, "client")
        cells *= len(p_vocabulary)
        cells += _positions(p_vocabulary, products, "product")
        cells *= width
        cells += np.searchsorted(self._break_days, day_numbers, side="right")
        size = len(j_vocabulary) * len(c_vocabulary) * len(p_vocabulary) * width
        if size <= _DENSE_CELLS:
            # Mark the cells met and number them in order: linear time, where a sort is not.
            met = np.zeros(size, dtype=bool)
            met[cells] = True
            keys = np.flatnonzero(met)
            numbers = np.empty(size, dtype=np.intp)
            numbers[keys] = np.arange(len(keys))
            inverse = numbers[cells]
        else:
            keys, inverse = np.unique(cells, return_inverse=True)
        numbered = self._numbered
        verdicts = [numbered.get(key) or self._number(key) for key in keys.tolist()]
        return verdicts, inverse.reshape(-1)

    def _number(self, number: int) -> Verdict:
        """The verdict for a batch cell number (computed, or found among ``decide``'s cells)."""
        j_vocabulary, c_vocabulary, p_vocabulary = self._vocabularies
        rest, segment = divmod(number, len(self.breaks) + 1)
        rest, p = divmod(rest, len(p_vocabulary))
        j, c = divmod(rest, len(c_vocabulary))
        unknown = (1 << len(self._thresholds)) - 1  # no amount: every threshold counts as reached
        cell: CellKey = (
            str(j_vocabulary[j]),
            str(c_vocabulary[c]),
            str(p_vocabulary[p]),
            0,
            unknown,
            segment,
        )
        verdict = self._cells.get(cell)
        if verdict is None:
            verdict = self._compute(cell, None, None)
        self._numbered[number] = verdict
        return verdict

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


def _positions(
    vocabulary: npt.NDArray[np.str_], column: npt.NDArray[np.str_], name: str
) -> npt.NDArray[np.intp]:
    """Each value's position in a sorted vocabulary; InvalidInput for a value outside it."""
    positions = np.searchsorted(vocabulary, column)
    found = vocabulary[np.minimum(positions, len(vocabulary) - 1)] == column
    if not found.all():
        value = str(column[int(np.argmin(found))])
        known: list[str] = vocabulary.tolist()
        listed = ", ".join(known) if len(known) <= 10 else ", ".join([*known[:5], "..."])
        raise InvalidInput(
            f"{name} {value!r} is not one of the catalogue's {len(known)} values ({listed})",
            field=name,
            value=value,
            accepted=known,
        )
    return positions.astype(np.intp, copy=False)


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
