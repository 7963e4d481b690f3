"""Properties of the access decision: deny by default, answers constant between breakpoints, and the
compiled engine equal to the reference evaluator, on the demo register and on random registers.

Random registers are built from random licences: a random regime, services and client categories
of that regime, a home inside its territory, passports where its licence type may passport, and a
random status history. Hypothesis runs derandomized so that every run checks the same examples.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from decimal import Decimal
from typing import cast

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assay.access.decision import Request, Verdict
from assay.access.engine import Engine
from assay.access.evaluate import evaluate
from assay.access.register import (
    IN_FORCE,
    STATUSES,
    Licence,
    PassportGrant,
    Register,
    Status,
    StatusChange,
)
from assay.regulation.geography import covers
from assay.regulation.model import CLIENTS, PRODUCTS, Catalogue, LicenceType, Regime

DETERMINISTIC = settings(
    max_examples=300,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
FEWER = settings(DETERMINISTIC, max_examples=100)

#: A day on which every regime's territory and every passport area has its current members.
REFERENCE_DAY = dt.date(2025, 6, 1)
#: Jurisdictions where something happens: homes, hosts, excluded zones, sanctions, no licence.
INTERESTING = (
    *("MT", "FR", "DE", "NL", "IS", "LI", "NO", "GB", "CH"),
    *("AE", "AE-DU", "AE-DU-DIFC", "AE-AZ", "SG", "HK", "US", "US-NY", "JP"),
    *("KP", "IR", "CU", "RU", "BY", "UA", "UA-43", "UA-40", "UA-14", "UA-23", "SY"),
)
ASSETS = (None, "BTC", "ETH", "XRP")
CURRENCIES = ("EUR", "SGD", "USD")
APPROVALS = ("margin-trading", "derivatives")

days = st.dates(min_value=dt.date(2014, 1, 1), max_value=dt.date(2029, 12, 31))
amounts = st.one_of(
    st.sampled_from([Decimal("0"), Decimal("999.99"), Decimal("1000"), Decimal("1000.01")]),
    st.decimals(min_value=0, max_value=10**7, places=2, allow_nan=False, allow_infinity=False),
)
early = st.dates(min_value=dt.date(2014, 1, 1), max_value=dt.date(2022, 12, 31))
money = st.one_of(st.just((None, None)), st.tuples(amounts, st.sampled_from(CURRENCIES)))


class Shapes:
    """Strategies for one catalogue, built once: building strategies is what costs in Hypothesis."""

    def __init__(self, catalogue: Catalogue) -> None:
        self.catalogue = catalogue
        self.jurisdictions = st.one_of(
            st.sampled_from(INTERESTING), st.sampled_from(sorted(catalogue.jurisdictions))
        )
        self._licences: dict[str | None, st.SearchStrategy[Licence]] = {}

    def inside(self, regime: Regime, licence_type: LicenceType | None = None) -> list[str]:
        """The jurisdictions in a regime's territory (and its licence type's passport area)."""
        area = licence_type.passport.area if licence_type and licence_type.passport else None
        return sorted(
            code
            for code in self.catalogue.jurisdictions
            if covers(self.catalogue, regime.territory, code, REFERENCE_DAY)
            and (area is None or covers(self.catalogue, area, code, REFERENCE_DAY))
        )

    def licences(self, without: str | None = None) -> st.SearchStrategy[Licence]:
        """A random licence; with ``without``, one holding none of the services licensing it."""
        if without not in self._licences:
            options = []
            for regime in self.catalogue.regimes.values():
                if not regime.licence_types:
                    continue  # sanctions and the TFR license nothing
                needed = set(regime.products.get(without, ())) if without else set()  # type: ignore[call-overload]
                pool = sorted(s.code for s in regime.services if s.code not in needed)
                if pool:
                    options.append(self._regime_licences(regime, pool))
            self._licences[without] = st.one_of(options)
        return self._licences[without]

    def _regime_licences(self, regime: Regime, pool: list[str]) -> st.SearchStrategy[Licence]:
        hosts = {
            t.code: self.inside(regime, t) for t in regime.licence_types if t.passport is not None
        }
        grants = {
            code: st.lists(
                st.tuples(
                    st.sampled_from(found),
                    early,
                    st.one_of(st.none(), st.integers(min_value=1, max_value=2000)),
                ),
                max_size=4,
            )
            for code, found in hosts.items()
        }
        no_grants: st.SearchStrategy[list[tuple[str, dt.date, int | None]]] = st.just([])
        # Mostly granted first, then anything (a suspension, a variation, a revocation...).
        history = st.tuples(
            st.tuples(st.sampled_from(("granted", "granted", "varied", "applied")), early),
            st.lists(st.tuples(st.sampled_from(STATUSES), days), max_size=2),
        ).map(
            lambda drawn: tuple(
                StatusChange(cast(Status, s), on)
                for s, on in sorted([drawn[0], *drawn[1]], key=by_day)
            )
        )

        types = st.sampled_from(regime.licence_types)
        homes = st.sampled_from(self.inside(regime))
        services = st.frozensets(st.sampled_from(pool), min_size=1)
        clients = st.frozensets(
            st.sampled_from([c.code for c in regime.client_categories]), min_size=1
        )
        # Usually whatever the services allow; sometimes a list of products narrows it.
        products: st.SearchStrategy[frozenset[str]] = st.one_of(
            st.just(frozenset()),
            st.just(frozenset()),
            st.frozensets(st.sampled_from(PRODUCTS), min_size=1),
        )
        approvals = st.frozensets(st.sampled_from(APPROVALS))

        @st.composite
        def build(draw: st.DrawFn) -> Licence:
            licence_type = draw(types)
            home = draw(homes)
            passports = tuple(
                PassportGrant(code, since, None if span is None else since + dt.timedelta(span))
                for code, since, span in draw(grants.get(licence_type.code, no_grants))
                if code != home
            )
            return Licence(
                reference="",
                entity="",
                entity_name="",
                regime=regime.code,
                licence_type=licence_type.code,
                regulator="a regulator",
                home=home,
                services=draw(services),
                clients=draw(clients),
                history=draw(history),
                products=draw(products),
                approvals=draw(approvals),
                passports=passports,
            )

        return build()

    def registers(self, without: str | None = None, least: int = 1) -> st.SearchStrategy[Register]:
        """A register of ``least`` to four random licences, with distinct references."""
        return st.tuples(
            st.lists(self.licences(without), min_size=least, max_size=4),
            st.integers(min_value=1, max_value=99),
        ).map(lambda drawn: Register(drawn[1], tuple(named(i, x) for i, x in enumerate(drawn[0]))))

    def requests(
        self, product: str | None = None, on: dt.date | None = None
    ) -> st.SearchStrategy[Request]:
        """A random, valid request, asset and amount included."""
        return st.builds(
            lambda j, c, p, d, a, m: Request(j, c, p, d, a, m[0], m[1]),
            self.jurisdictions,
            st.sampled_from(CLIENTS),
            st.just(product) if product else st.sampled_from(PRODUCTS),
            st.just(on) if on else days,
            st.sampled_from(ASSETS),
            money,
        )

    def requests_for(
        self, register: Register, product: str | None = None
    ) -> st.SearchStrategy[Request]:
        """A random request, mostly where the register's licences reach and on their change days
        (and the days either side), so that many are allowed and boundaries are hit."""
        places = sorted(
            {lic.home for lic in register.licences}
            | {p.jurisdiction for lic in register.licences for p in lic.passports}
        )
        edges = sorted(
            {
                day + dt.timedelta(days=shift)
                for lic in register.licences
                for day in lic.dates()
                for shift in (-1, 0, 1)
            }
        )
        licensed = sorted(
            {
                product
                for lic in register.licences
                for product, needed in self.catalogue.regimes[lic.regime].products.items()
                if lic.services & set(needed)
            }
        )
        offered = [st.sampled_from(licensed)] if licensed else []
        return st.builds(
            lambda j, c, p, d, a, m: Request(j, c, p, d, a, m[0], m[1]),
            st.one_of(st.sampled_from(places), st.sampled_from(places), self.jurisdictions)
            if places
            else self.jurisdictions,
            st.sampled_from(CLIENTS),
            st.just(product) if product else st.one_of(st.sampled_from(PRODUCTS), *offered),
            st.one_of(st.sampled_from(edges), days) if edges else days,
            st.sampled_from(ASSETS),
            money,
        )


_SHAPES: dict[str, Shapes] = {}


def shapes(catalogue: Catalogue) -> Shapes:
    """The strategies for ``catalogue`` (built on first use)."""
    if catalogue.digest not in _SHAPES:
        _SHAPES[catalogue.digest] = Shapes(catalogue)
    return _SHAPES[catalogue.digest]


def by_day(change: tuple[str, dt.date]) -> dt.date:
    """Sort key of a drawn status change."""
    return change[1]


def named(i: int, lic: Licence) -> Licence:
    """``lic`` with the ``i``-th reference and entity of a register."""
    return replace(lic, reference=f"L{i}", entity=f"entity-l{i}", entity_name=f"Entity L{i}")


def assert_refused(verdict: Verdict) -> None:
    """A refusal: not allowed, nobody serves, nothing attaches, and at least one reason."""
    assert not verdict.allowed
    assert (verdict.entity, verdict.licence, verdict.basis, verdict.obligations) == (
        None,
        None,
        (),
        (),
    )
    assert verdict.reasons


# --- (a) deny by default -----------------------------------------------------------------------


@DETERMINISTIC
@given(data=st.data())
def test_a_product_that_no_licence_covers_is_always_refused(
    catalogue: Catalogue, data: st.DataObject
) -> None:
    product = data.draw(st.sampled_from(PRODUCTS), label="product")
    register = data.draw(shapes(catalogue).registers(product, least=0), label="register")
    engine = Engine(catalogue, register)
    for request in data.draw(
        st.lists(shapes(catalogue).requests_for(register, product), min_size=1, max_size=5)
    ):
        assert_refused(evaluate(catalogue, register, request))
        assert_refused(engine.decide(request).verdict)


@DETERMINISTIC
@given(data=st.data())
def test_a_register_with_no_licences_refuses_everything(
    catalogue: Catalogue, data: st.DataObject
) -> None:
    register = Register(version=1)
    engine = Engine(catalogue, register)
    for request in data.draw(st.lists(shapes(catalogue).requests(), min_size=1, max_size=5)):
        verdict = engine.decide(request).verdict
        assert_refused(verdict)
        assert verdict == evaluate(catalogue, register, request)


# --- (b) answers are constant between breakpoints -----------------------------------------------


@st.composite
def two_days_in_one_segment(draw: st.DrawFn, engine: Engine) -> tuple[dt.date, dt.date]:
    """Two days between the same pair of consecutive breakpoints of ``engine``."""
    segment = draw(st.integers(min_value=0, max_value=len(engine.breaks)))
    start, end = engine.period(segment)
    last = (end or start + dt.timedelta(days=3650)) - dt.timedelta(days=1)
    inside_segment = st.dates(min_value=start, max_value=last)
    return draw(inside_segment), draw(inside_segment)


@DETERMINISTIC
@given(data=st.data())
def test_demo_answers_do_not_change_between_consecutive_breakpoints(
    catalogue: Catalogue, demo_register: Register, engine: Engine, data: st.DataObject
) -> None:
    first, second = data.draw(two_days_in_one_segment(engine), label="days")
    request = data.draw(shapes(catalogue).requests(on=first), label="request")
    later = Request(
        request.jurisdiction,
        request.client,
        request.product,
        second,
        request.asset,
        request.amount,
        request.currency,
    )
    assert evaluate(catalogue, demo_register, request) == evaluate(catalogue, demo_register, later)
    assert engine.decide(later).verdict == evaluate(catalogue, demo_register, later)


@FEWER
@given(data=st.data())
def test_random_register_answers_do_not_change_between_consecutive_breakpoints(
    catalogue: Catalogue, data: st.DataObject
) -> None:
    register = data.draw(shapes(catalogue).registers(), label="register")
    engine = Engine(catalogue, register)
    first, second = data.draw(two_days_in_one_segment(engine), label="days")
    request = data.draw(shapes(catalogue).requests(on=first), label="request")
    later = Request(request.jurisdiction, request.client, request.product, second, request.asset)
    earlier = Request(request.jurisdiction, request.client, request.product, first, request.asset)
    assert evaluate(catalogue, register, earlier) == evaluate(catalogue, register, later)


@pytest.mark.parametrize(
    ("reference", "granted"),
    [
        # MiCA Art 59: the Maltese CASP's authorisation.
        pytest.param("MFSA-CASP-0127", dt.date(2025, 1, 27), id="MiCA-CASP-2025-01-27"),
        # MiFID II Art 5: the Maltese investment firm.
        pytest.param("MFSA-IF-0301", dt.date(2025, 3, 1), id="MiFID-firm-2025-03-01"),
        # VARA Regulations Part III: the Dubai VASP licence.
        pytest.param("VARA-VASP-0116", dt.date(2024, 1, 16), id="VARA-VASP-2024-01-16"),
        # PS Act s 6(5): the Singapore MPI licence.
        pytest.param("MAS-MPI-0902", dt.date(2024, 9, 2), id="MAS-MPI-2024-09-02"),
    ],
)
def test_no_demo_licence_serves_anyone_the_day_before_it_was_granted(
    catalogue: Catalogue, engine: Engine, reference: str, granted: dt.date
) -> None:
    eve = granted - dt.timedelta(days=1)
    served_on_the_day = 0
    for jurisdiction in catalogue.jurisdictions:
        for client in CLIENTS:
            for product in PRODUCTS:
                before = engine.verdict_on(jurisdiction, client, product, eve)
                assert before.licence is None or before.licence.reference != reference
                on_the_day = engine.verdict_on(jurisdiction, client, product, granted)
                if on_the_day.licence and on_the_day.licence.reference == reference:
                    served_on_the_day += 1
    # ... and it does serve somebody on the day itself, so the check above is not vacuous.
    assert served_on_the_day > 0


@DETERMINISTIC
@given(data=st.data())
def test_a_random_licence_never_serves_on_a_day_it_is_not_in_force(
    catalogue: Catalogue, data: st.DataObject
) -> None:
    register = data.draw(shapes(catalogue).registers(), label="register")
    engine = Engine(catalogue, register)
    for request in data.draw(
        st.lists(shapes(catalogue).requests_for(register), min_size=1, max_size=5)
    ):
        verdict = engine.decide(request).verdict
        if verdict.licence is None:
            continue
        serving = next(x for x in register.licences if x.reference == verdict.licence.reference)
        status = serving.status_on(request.as_of)
        assert status is not None
        assert status.status in IN_FORCE


# --- (c) the compiled engine gives exactly the reference evaluator's verdict -------------------


@DETERMINISTIC
@given(data=st.data())
def test_the_engine_agrees_with_the_reference_evaluator_on_the_demo_register(
    catalogue: Catalogue, demo_register: Register, data: st.DataObject
) -> None:
    engine = Engine(catalogue, demo_register)
    for request in data.draw(
        st.lists(shapes(catalogue).requests_for(demo_register), min_size=1, max_size=8)
    ):
        assert engine.decide(request).verdict == evaluate(catalogue, demo_register, request)


@DETERMINISTIC
@given(data=st.data())
def test_the_engine_agrees_with_the_reference_evaluator_on_random_registers(
    catalogue: Catalogue, data: st.DataObject
) -> None:
    register = data.draw(shapes(catalogue).registers(), label="register")
    engine = Engine(catalogue, register)
    for request in data.draw(
        st.lists(shapes(catalogue).requests_for(register), min_size=1, max_size=8)
    ):
        decision = engine.decide(request)
        assert decision.verdict == evaluate(catalogue, register, request)
        assert decision.as_of == request.as_of


# --- (d) batches agree with single decisions ---------------------------------------------------


@st.composite
def columns(draw: st.DrawFn, catalogue: Catalogue) -> list[tuple[str, str, str, dt.date]]:
    """Rows of (jurisdiction, client, product, day) for a batch, with repeats."""
    row = st.tuples(
        shapes(catalogue).jurisdictions,
        st.sampled_from(CLIENTS),
        st.sampled_from(PRODUCTS),
        days,
    )
    rows = draw(st.lists(row, min_size=1, max_size=30))
    return rows + draw(st.lists(st.sampled_from(rows), max_size=10))


def assert_batch_matches_single_decisions(
    catalogue: Catalogue, register: Register, rows: list[tuple[str, str, str, dt.date]]
) -> None:
    """``decide_batch`` on a fresh engine equals ``decide`` on another fresh engine, row by row."""
    batch_engine, single_engine = Engine(catalogue, register), Engine(catalogue, register)
    verdicts, index = batch_engine.decide_batch(
        np.array([r[0] for r in rows]),
        np.array([r[1] for r in rows]),
        np.array([r[2] for r in rows]),
        np.array([np.datetime64(r[3], "D") for r in rows]),
    )
    assert len(index) == len(rows)
    assert len({v.key() for v in verdicts}) <= len(verdicts)
    for (jurisdiction, client, product, day), i in zip(rows, index.tolist(), strict=True):
        single = single_engine.decide(Request(jurisdiction, client, product, day)).verdict
        assert verdicts[i] == single


@DETERMINISTIC
@given(data=st.data())
def test_decide_batch_agrees_with_decide_row_by_row_on_the_demo_register(
    catalogue: Catalogue, demo_register: Register, data: st.DataObject
) -> None:
    assert_batch_matches_single_decisions(catalogue, demo_register, data.draw(columns(catalogue)))


@FEWER
@given(data=st.data())
def test_decide_batch_agrees_with_decide_row_by_row_on_random_registers(
    catalogue: Catalogue, data: st.DataObject
) -> None:
    register = data.draw(shapes(catalogue).registers(), label="register")
    assert_batch_matches_single_decisions(catalogue, register, data.draw(columns(catalogue)))
