"""The demo group's market access, scenario by scenario, each checked against its article.

The demo group (``access/demo_data/licences.yaml``) holds a MiCA CASP in Malta (authorised
2025-01-27, passported from 2025-02-14), a MiFID II investment firm in Malta (2025-03-01), a VARA
VASP in Dubai (2024-01-16) and a MAS Major Payment Institution licence in Singapore (2024-09-02).
Every test asks the compiled engine through ``parse_request``, as the API and the CLI do; the
transition tests build a small register of national licences in memory. Pure: no database.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from assay.access.decision import Decision
from assay.access.engine import Engine
from assay.access.register import Licence, Register, StatusChange
from assay.regulation.model import Catalogue
from tests.access.conftest import ask

MICA = "Regulation (EU) 2023/1114 (MiCA)"
MIFID = "Directive 2014/65/EU (MiFID II)"
ESMA_CFD = (
    "ESMA Decision (EU) 2018/796, made permanent by national measures under Regulation (EU) "
    "No 600/2014 (MiFIR) Art 42"
)
TFR = "Regulation (EU) 2023/1113 (Transfer of Funds Regulation)"
PS_G03 = "MAS Guidelines on Consumer Protection Measures by DPT Service Providers (PS-G03)"

CASP = "MFSA-CASP-0127"
INVEST = "MFSA-IF-0301"
VASP = "VARA-VASP-0116"
MPI = "MAS-MPI-0902"

#: The 29 EEA states other than Malta, to which both Maltese licences are passported.
EEA_HOSTS = (
    *("AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE"),
    *("IT", "LV", "LT", "LU", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE"),
    *("IS", "LI", "NO"),
)


def reasons(decision: Decision) -> list[str]:
    """The refusal reason codes, in the engine's order."""
    return [r.code for r in decision.verdict.reasons]


def reason_articles(decision: Decision) -> list[tuple[str, str | None]]:
    """Each reason code with the article of its basis."""
    return [(r.code, r.basis.article if r.basis else None) for r in decision.verdict.reasons]


def basis(decision: Decision) -> list[tuple[str, str]]:
    """The legal basis of an allowed decision, as (instrument, article)."""
    return [(c.instrument, c.article) for c in decision.verdict.basis]


def articles(decision: Decision) -> list[str]:
    """The articles of the legal basis of an allowed decision."""
    return [c.article for c in decision.verdict.basis]


def obligations(decision: Decision) -> dict[str, tuple[float | None, str | None, str]]:
    """The obligations of an allowed decision: code -> (value, currency, article)."""
    return {o.code: (o.value, o.currency, o.basis.article) for o in decision.verdict.obligations}


def served_by(decision: Decision) -> tuple[str | None, str | None, bool | None]:
    """(entity, licence reference, passported) of the serving licence."""
    lic = decision.verdict.licence
    return (
        decision.verdict.entity,
        lic.reference if lic else None,
        lic.passported if lic else None,
    )


# --- MiCA: authorisation (Art 59), services (Art 3(1)(16)), passport (Art 65) ------------------


def test_maltese_retail_spot_is_served_at_home_by_the_casp_from_its_authorisation_day(
    engine: Engine,
) -> None:
    # MiCA Art 59: the MFSA authorisation of 2025-01-27 lets the CASP serve Malta at once.
    decision = ask(engine, "MT", "retail", "spot", "2025-01-27")
    assert decision.allowed
    assert served_by(decision) == ("kestrel-eu-casp", CASP, False)
    assert basis(decision) == [
        (MICA, "Art 59"),
        (MICA, "Art 3(1)(16)(b)"),
        (MICA, "Art 3(1)(16)(c)"),
        (MICA, "Art 3(1)(16)(d)"),
        (MICA, "Art 3(1)(16)(e)"),
    ]
    assert obligations(decision) == {"risk-warning": (None, None, "Art 66(3)")}


def test_maltese_spot_the_day_before_authorisation_is_refused_as_not_in_force(
    engine: Engine,
) -> None:
    # MiCA Art 59: no service before authorisation; the only licence for spot is not yet in force.
    decision = ask(engine, "MT", "retail", "spot", "2025-01-26")
    assert not decision.allowed
    assert reason_articles(decision) == [("licence-not-in-force", "Art 59")]
    assert "granted on 2025-01-27" in decision.verdict.reasons[0].message


def test_french_retail_spot_is_served_by_passport_with_art_59_art_65_and_service_c(
    engine: Engine,
) -> None:
    # MiCA Art 65: the passport to France is live from 2025-02-14; exchange for funds is (c).
    decision = ask(engine, "FR", "retail", "spot", "2025-03-01")
    assert decision.allowed
    assert served_by(decision) == ("kestrel-eu-casp", CASP, True)
    assert articles(decision)[:2] == ["Art 59", "Art 65"]
    assert (MICA, "Art 3(1)(16)(c)") in basis(decision)
    assert decision.verdict.licence is not None
    assert decision.verdict.licence.regime == "mica"
    assert decision.verdict.licence.home == "MT"
    assert decision.verdict.licence.client_category == "client"


@pytest.mark.parametrize("state", [pytest.param(s, id=f"{s}-MiCA-Art65") for s in EEA_HOSTS])
def test_the_casp_passport_reaches_every_other_eea_state_from_14_february_2025(
    engine: Engine, state: str
) -> None:
    # MiCA Art 65: cross-border provision to every EEA host state, Iceland, Liechtenstein and
    # Norway included, from the day the passport went live.
    decision = ask(engine, state, "retail", "spot", "2025-02-14")
    assert decision.allowed
    assert served_by(decision) == ("kestrel-eu-casp", CASP, True)
    assert "Art 65" in articles(decision)


@pytest.mark.parametrize("state", [pytest.param(s, id=f"{s}-MiCA-Art65") for s in EEA_HOSTS])
def test_the_day_before_the_passport_every_eea_host_is_refused_as_not_passported(
    engine: Engine, state: str
) -> None:
    # MiCA Art 65(4): services in a host state only once the notification has been forwarded.
    decision = ask(engine, state, "retail", "spot", "2025-02-13")
    assert not decision.allowed
    assert reason_articles(decision) == [("not-passported", "Art 65")]


def test_french_spot_before_the_passport_lists_every_reason_and_only_the_casp(
    engine: Engine,
) -> None:
    # MiCA Art 65: the one licence that could serve is authorised but not yet passported; the
    # MiFID II firm does not license spot at all, so it adds no reason.
    decision = ask(engine, "FR", "retail", "spot", "2025-02-01")
    assert reasons(decision) == ["not-passported"]
    (reason,) = decision.verdict.reasons
    assert CASP in reason.message
    assert "2025-02-14" in reason.message
    assert reason.basis is not None
    assert (reason.basis.instrument, reason.basis.article) == (MICA, "Art 65")


def test_advice_is_refused_because_the_casp_does_not_hold_service_h(engine: Engine) -> None:
    # MiCA Art 3(1)(16)(h): the CASP holds (a)-(g), (i), (j); advice needs (h).
    decision = ask(engine, "FR", "retail", "advice", "2026-03-01")
    assert reason_articles(decision) == [("service-not-in-scope", "Art 59")]
    assert "service h" in decision.verdict.reasons[0].message


def test_custody_is_served_with_segregation_of_client_assets(engine: Engine) -> None:
    # MiCA Art 3(1)(16)(a) custody; Art 75(7) segregation; Art 66(3) risk warning.
    decision = ask(engine, "DE", "retail", "custody", "2026-03-01")
    assert decision.allowed
    assert (MICA, "Art 3(1)(16)(a)") in basis(decision)
    assert obligations(decision) == {
        "asset-segregation": (None, None, "Art 75(7)"),
        "risk-warning": (None, None, "Art 66(3)"),
    }


def test_staking_is_offered_as_part_of_custody_service_a(engine: Engine) -> None:
    # MiCA Art 3(1)(16)(a): custodial staking rides on custody and administration (catalogue note).
    decision = ask(engine, "IT", "professional", "staking", "2026-03-01")
    assert decision.allowed
    assert served_by(decision) == ("kestrel-eu-casp", CASP, True)
    assert "asset-segregation" in obligations(decision)


def test_portfolio_management_needs_a_suitability_assessment(engine: Engine) -> None:
    # MiCA Art 3(1)(16)(i) portfolio management; Art 81(1) suitability.
    decision = ask(engine, "ES", "retail", "portfolio-management", "2026-03-01")
    assert decision.allowed
    assert (MICA, "Art 3(1)(16)(i)") in basis(decision)
    assert obligations(decision)["suitability-test"] == (None, None, "Art 81(1)")


# --- non-EEA Europe: no EU passport reaches Switzerland or the United Kingdom -----------------


@pytest.mark.parametrize(
    ("jurisdiction", "article"),
    [
        # Switzerland is outside the EEA and the catalogue has no Swiss regime: deny by default.
        pytest.param("CH", "deny unless a licence in force covers it", id="CH-no-passport"),
        # The UK left the EEA on 2021-01-01: MLR 2017 reg 56 registration is needed instead.
        pytest.param("GB", "reg 56", id="GB-MLR-reg56"),
    ],
)
def test_non_eea_europe_is_refused_for_want_of_a_licence(
    engine: Engine, jurisdiction: str, article: str
) -> None:
    decision = ask(engine, jurisdiction, "retail", "spot", "2026-03-01")
    assert reason_articles(decision) == [("no-licence", article)]


def test_uk_retail_crypto_derivatives_are_prohibited_as_well_as_unlicensed(engine: Engine) -> None:
    # FCA COBS 22.6 (PS20/10): no crypto derivatives for UK retail clients since 2021-01-06.
    decision = ask(engine, "GB", "retail", "perpetual-future", "2026-03-01")
    assert reason_articles(decision) == [
        ("prohibited", "COBS 22.6"),
        ("no-licence", "s 19 and Part 4A"),
    ]


def test_uk_professional_derivatives_are_refused_only_for_want_of_a_licence(
    engine: Engine,
) -> None:
    # COBS 22.6 binds retail clients only; a professional is still unserved without a UK licence.
    decision = ask(engine, "GB", "professional", "perpetual-future", "2026-03-01")
    assert reasons(decision) == ["no-licence"]


# --- MiFID II: crypto derivatives (Art 5 authorisation, Art 34 passport) -------------------------


def test_french_retail_perpetual_futures_carry_every_esma_cfd_protection(engine: Engine) -> None:
    # MiFID II Art 25(3) appropriateness; ESMA Decision 2018/796 Art 2(a)-(e) as made permanent
    # nationally: leverage 2:1, close-out at 50%, negative balance protection, no incentives,
    # the standard risk warning.
    decision = ask(engine, "FR", "retail", "perpetual-future", "2025-03-01")
    assert decision.allowed
    assert served_by(decision) == ("kestrel-eu-invest", INVEST, True)
    assert basis(decision) == [
        (MIFID, "Art 5"),
        (MIFID, "Art 34"),
        (MIFID, "Annex I Section A(2)"),
        (MIFID, "Annex I Section A(3)"),
    ]
    assert obligations(decision) == {
        "appropriateness-test": (None, None, "Art 25(3)"),
        "leverage-cap": (2.0, None, "Art 2(a) and Annex I(1)(e)"),
        "margin-close-out": (50.0, None, "Art 2(b)"),
        "negative-balance-protection": (None, None, "Art 2(c)"),
        "no-incentives": (None, None, "Art 2(d)"),
        "risk-warning": (None, None, "Art 2(e)"),
    }
    assert all(o.basis.instrument == ESMA_CFD for o in decision.verdict.obligations[1:])


def test_french_perpetual_futures_the_day_before_the_mifid_licence_list_both_reasons(
    engine: Engine,
) -> None:
    # MiFID II Art 5 (not yet authorised) and Art 34 (passport from 2025-03-01): every reason.
    decision = ask(engine, "FR", "retail", "perpetual-future", "2025-02-28")
    assert reason_articles(decision) == [
        ("licence-not-in-force", "Art 5"),
        ("not-passported", "Art 34"),
    ]


def test_maltese_perpetual_futures_the_day_before_the_mifid_licence_are_not_in_force(
    engine: Engine,
) -> None:
    # MiFID II Art 5: at home no passport is needed, so only the missing authorisation counts.
    decision = ask(engine, "MT", "retail", "perpetual-future", "2025-02-28")
    assert reason_articles(decision) == [("licence-not-in-force", "Art 5")]


def test_maltese_perpetual_futures_are_served_at_home_without_art_34(engine: Engine) -> None:
    # MiFID II Art 5: home-state authorisation, no passport in the basis.
    decision = ask(engine, "MT", "retail", "perpetual-future", "2025-03-01")
    assert served_by(decision) == ("kestrel-eu-invest", INVEST, False)
    assert articles(decision) == ["Art 5", "Annex I Section A(2)", "Annex I Section A(3)"]


@pytest.mark.parametrize(
    "state",
    [
        # The three EEA EFTA states take MiFID II through the EEA Agreement.
        pytest.param("IS", id="IS-MiFID-Art34"),
        pytest.param("LI", id="LI-MiFID-Art34"),
        pytest.param("NO", id="NO-MiFID-Art34"),
        # An EU host state, for comparison.
        pytest.param("DE", id="DE-MiFID-Art34"),
    ],
)
def test_the_investment_firm_passport_reaches_eea_hosts_from_1_march_2025(
    engine: Engine, state: str
) -> None:
    # MiFID II Art 34: freedom to provide investment services in another EEA state.
    decision = ask(engine, state, "professional", "dated-future", "2025-03-01")
    assert served_by(decision) == ("kestrel-eu-invest", INVEST, True)
    assert "Art 34" in articles(decision)


def test_professional_perpetual_futures_carry_no_retail_protections(engine: Engine) -> None:
    # MiFID II Art 4(1)(10) and Annex II: the CFD measures and Art 25(3) bind retail only.
    decision = ask(engine, "FR", "professional", "perpetual-future", "2026-03-01")
    assert decision.allowed
    assert decision.verdict.obligations == ()
    assert decision.verdict.licence is not None
    assert decision.verdict.licence.client_category == "professional"


def test_institutional_clients_fall_into_the_mifid_professional_category(engine: Engine) -> None:
    # MiFID II Annex II Section I: institutions are per se professional clients.
    decision = ask(engine, "NL", "institutional", "dated-future", "2026-03-01")
    assert decision.allowed
    assert decision.verdict.licence is not None
    assert decision.verdict.licence.client_category == "professional"


def test_retail_dated_futures_need_only_the_appropriateness_test(engine: Engine) -> None:
    # MiFID II Art 25(3); the CFD measures are encoded for margin and perpetual futures only.
    decision = ask(engine, "FR", "retail", "dated-future", "2026-03-01")
    assert obligations(decision) == {"appropriateness-test": (None, None, "Art 25(3)")}


@pytest.mark.parametrize(
    "product",
    [
        # A CFD (margin) is an Annex I Section C derivative, but not among the licence's products.
        pytest.param("margin", id="margin-MiFID-Art5"),
        # Options likewise: the firm was acquired for futures only.
        pytest.param("option", id="option-MiFID-Art5"),
    ],
)
def test_derivatives_outside_the_firms_listed_products_are_out_of_scope(
    engine: Engine, product: str
) -> None:
    # MiFID II Art 5: the authorisation covers the services and instruments it names.
    decision = ask(engine, "FR", "retail", product, "2026-03-01")
    assert reason_articles(decision) == [("service-not-in-scope", "Art 5")]


# --- TFR: the travel rule and self-hosted addresses ------------------------------------------


def test_a_french_transfer_of_unknown_amount_carries_the_travel_rule_and_self_hosted_check(
    engine: Engine,
) -> None:
    # TFR Art 14(1)-(3) and 16(1): no minimum amount; Art 14(5) and 16(2): an unknown amount may
    # exceed EUR 1,000, so the self-hosted address check applies.
    decision = ask(engine, "FR", "retail", "transfer", "2026-03-01")
    assert served_by(decision) == ("kestrel-eu-casp", CASP, True)
    assert (MICA, "Art 3(1)(16)(j)") in basis(decision)
    assert obligations(decision) == {
        "risk-warning": (None, None, "Art 66(3)"),
        "self-hosted-wallet-verification": (1000.0, "EUR", "Art 14(5) and Art 16(2)"),
        "travel-rule": (0.0, "EUR", "Art 14(1)-(3) and Art 16(1)"),
    }
    assert all(
        o.basis.instrument == TFR for o in decision.verdict.obligations if o.code != "risk-warning"
    )


@pytest.mark.parametrize(
    ("amount", "currency", "checked"),
    [
        # TFR Art 14(5): more than EUR 1,000 to a self-hosted address needs the ownership check.
        pytest.param("1000.01", "EUR", True, id="EUR-1000.01-Art14(5)"),
        # Art 14(5): a large transfer, well above the threshold.
        pytest.param("250000", "EUR", True, id="EUR-250000-Art14(5)"),
        # Art 14(5): below the threshold, no ownership check.
        pytest.param("999.99", "EUR", False, id="EUR-999.99-Art14(5)"),
        # Art 14(5): a zero amount is below the threshold.
        pytest.param("0", "EUR", False, id="EUR-0-Art14(5)"),
        # Another currency: Assay holds no exchange rates, so the amount may exceed EUR 1,000.
        pytest.param("10", "USD", True, id="USD-10-Art14(5)"),
        # Likewise in Singapore dollars.
        pytest.param("999", "SGD", True, id="SGD-999-Art14(5)"),
    ],
)
def test_the_self_hosted_address_check_follows_the_eur_1000_threshold(
    engine: Engine, amount: str, currency: str, checked: bool
) -> None:
    decision = ask(
        engine, "FR", "retail", "transfer", "2026-03-01", amount=amount, currency=currency
    )
    due = obligations(decision)
    assert ("self-hosted-wallet-verification" in due) is checked
    # Art 14(1)-(3): the travel rule itself has no minimum amount.
    assert due["travel-rule"] == (0.0, "EUR", "Art 14(1)-(3) and Art 16(1)")


def test_a_transfer_of_exactly_eur_1000_does_not_need_the_self_hosted_address_check(
    engine: Engine,
) -> None:
    # TFR Art 14(5) and Art 16(2) apply to transfers "exceeding EUR 1 000" (the rule's own title
    # says "above EUR 1,000"): EUR 1,000.00 itself does not exceed it.
    decision = ask(engine, "FR", "retail", "transfer", "2026-03-01", amount="1000", currency="EUR")
    assert decision.allowed
    assert "self-hosted-wallet-verification" not in obligations(decision)
    assert "travel-rule" in obligations(decision)


def test_the_travel_rule_applies_at_home_in_malta_too(engine: Engine) -> None:
    # TFR Art 14: it binds every CASP transfer in the EEA, home state included.
    decision = ask(engine, "MT", "professional", "transfer", "2025-01-27")
    assert served_by(decision) == ("kestrel-eu-casp", CASP, False)
    assert obligations(decision)["travel-rule"] == (0.0, "EUR", "Art 14(1)-(3) and Art 16(1)")


# --- VARA: Dubai outside the DIFC --------------------------------------------------------------


def test_dubai_retail_spot_is_served_by_the_vara_licence_from_16_january_2024(
    engine: Engine,
) -> None:
    # VARA Regulations 2023 Part III (licence) and Schedule 1 (Exchange, Broker-Dealer).
    decision = ask(engine, "AE-DU", "retail", "spot", "2024-01-16")
    assert served_by(decision) == ("kestrel-dubai", VASP, False)
    assert articles(decision) == ["Part III", "Schedule 1", "Schedule 1"]
    assert decision.verdict.obligations == ()


def test_dubai_spot_the_day_before_the_vara_licence_is_not_in_force(engine: Engine) -> None:
    # VARA Regulations 2023 Part III: no activity before the licence is granted.
    decision = ask(engine, "AE-DU", "retail", "spot", "2024-01-15")
    assert reason_articles(decision) == [("licence-not-in-force", "Part III")]


@pytest.mark.parametrize(
    ("day", "warned"),
    [
        # The day before the Marketing Regulations' risk disclosures apply.
        pytest.param("2024-09-30", False, id="2024-09-30-before-Regulation-III"),
        # VARA Marketing Regulations 2024, Regulation III: from 2024-10-01.
        pytest.param("2024-10-01", True, id="2024-10-01-Regulation-III"),
    ],
)
def test_vara_risk_disclosures_attach_from_1_october_2024(
    engine: Engine, day: str, warned: bool
) -> None:
    decision = ask(engine, "AE-DU", "retail", "spot", day)
    assert decision.allowed
    assert ("risk-warning" in obligations(decision)) is warned


def test_a_professional_in_dubai_is_a_vara_qualified_investor(engine: Engine) -> None:
    # VARA Market Conduct Rulebook Rule IV.A.3: the qualified investor category.
    decision = ask(engine, "AE-DU", "professional", "spot", "2026-03-01")
    assert decision.verdict.licence is not None
    assert decision.verdict.licence.client_category == "qualified"


@pytest.mark.parametrize(
    ("jurisdiction", "expected"),
    [
        # Dubai Law No. 4 of 2022: the DIFC is the DFSA's, not VARA's; no licence reaches it.
        pytest.param("AE-DU-DIFC", ["no-licence"], id="AE-DU-DIFC-DFSA"),
        # Abu Dhabi is the FSRA's (ADGM) or the federal regulators'; VARA stops at Dubai.
        pytest.param("AE-AZ", ["no-licence"], id="AE-AZ-outside-VARA"),
        # ADGM, a zone inside Abu Dhabi.
        pytest.param("AE-AZ-ADGM", ["no-licence"], id="AE-AZ-ADGM-FSRA"),
        # The UAE licenses per emirate: a request must name one.
        pytest.param("AE", ["subdivision-required"], id="AE-per-emirate"),
    ],
)
def test_the_uae_outside_vara_territory_is_refused(
    engine: Engine, jurisdiction: str, expected: list[str]
) -> None:
    decision = ask(engine, jurisdiction, "retail", "spot", "2026-03-01")
    assert reasons(decision) == expected


def test_plain_ae_asks_for_an_emirate_and_names_dubai(engine: Engine) -> None:
    # The catalogue marks AE subdivisions_required: licences are granted per emirate.
    decision = ask(engine, "AE", "professional", "spot", "2026-03-01")
    assert "AE-DU" in decision.verdict.reasons[0].message


def test_dubai_retail_margin_is_refused_for_the_client_and_for_the_missing_approval(
    engine: Engine,
) -> None:
    # VARA Exchange Services Rulebook Rule IV.A.1-4 (never retail) and Rule IV.A.1 (the licence
    # must expressly authorise margin): both reasons, in the engine's order.
    decision = ask(engine, "AE-DU", "retail", "margin", "2026-03-01")
    assert reason_articles(decision) == [
        ("client-category-excluded", "Rule IV.A.1-4"),
        ("condition-not-met", "Rule IV.A.1"),
    ]


@pytest.mark.parametrize(
    "client",
    [
        # A qualified investor may trade on margin, but the licence carries no margin approval.
        pytest.param("professional", id="qualified-Rule-IV.A.1"),
        # Likewise an institutional investor.
        pytest.param("institutional", id="institutional-Rule-IV.A.1"),
    ],
)
def test_dubai_margin_for_eligible_clients_still_needs_the_approval(
    engine: Engine, client: str
) -> None:
    decision = ask(engine, "AE-DU", client, "margin", "2026-03-01")
    assert reason_articles(decision) == [("condition-not-met", "Rule IV.A.1")]


def test_dubai_perpetual_futures_need_varas_derivatives_approval(engine: Engine) -> None:
    # VARA Exchange Services Rulebook v2.1 Part V G: derivatives only with explicit approval.
    decision = ask(engine, "AE-DU", "retail", "perpetual-future", "2026-04-01")
    assert reason_articles(decision) == [("condition-not-met", "Part V G")]


@pytest.mark.parametrize(
    ("product", "service"),
    [
        # VARA Schedule 1: custody is its own activity, which the licence does not name.
        pytest.param("custody", "custody", id="custody-Schedule-1"),
        # VARA Schedule 1: VA Transfer and Settlement Services, likewise.
        pytest.param("transfer", "transfer-settlement", id="transfer-Schedule-1"),
    ],
)
def test_dubai_activities_the_licence_does_not_name_are_out_of_scope(
    engine: Engine, product: str, service: str
) -> None:
    decision = ask(engine, "AE-DU", "retail", product, "2026-03-01")
    assert reason_articles(decision) == [("service-not-in-scope", "Part III")]
    assert service in decision.verdict.reasons[0].message


# --- Singapore: Payment Services Act, PS-G03 ---------------------------------------------------


def test_singapore_retail_spot_is_served_from_the_mpi_licence_day(engine: Engine) -> None:
    # PS Act 2019 s 5, s 6(4) and s 6(5): the MPI licence of 2024-09-02; DPT service.
    decision = ask(engine, "SG", "retail", "spot", "2024-09-02")
    assert served_by(decision) == ("kestrel-sg", MPI, False)
    assert articles(decision) == ["s 5, s 6(4) and s 6(5)", "First Schedule Part 1 para 1(f)"]
    assert decision.verdict.obligations == ()


def test_singapore_spot_the_day_before_the_mpi_licence_is_not_in_force(engine: Engine) -> None:
    # PS Act 2019 s 5: no DPT service without a licence.
    decision = ask(engine, "SG", "retail", "spot", "2024-09-01")
    assert reason_articles(decision) == [("licence-not-in-force", "s 5, s 6(4) and s 6(5)")]


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        # Before the 2024 amendments to the Payment Services Regulations: nothing attaches.
        pytest.param("2024-10-03", set(), id="2024-10-03-before-reg-16C"),
        # PS Regulations reg 16C (in force 2024-10-04): customer assets segregated on trust.
        pytest.param("2024-10-04", {"asset-segregation"}, id="2024-10-04-reg-16C"),
        # The day before PS-G03 Chapter 4's consumer access measures.
        pytest.param("2025-06-18", {"asset-segregation"}, id="2025-06-18-before-PS-G03-ch4"),
        # PS-G03 Chapter 4 (from 2025-06-19): risk awareness assessment and no incentives.
        pytest.param(
            "2025-06-19",
            {"asset-segregation", "risk-awareness-assessment", "no-incentives"},
            id="2025-06-19-PS-G03-ch4",
        ),
    ],
)
def test_singapore_retail_spot_gains_consumer_protections_on_their_dates(
    engine: Engine, day: str, expected: set[str]
) -> None:
    decision = ask(engine, "SG", "retail", "spot", day)
    assert decision.allowed
    assert set(obligations(decision)) == expected


def test_the_risk_awareness_assessment_is_for_retail_customers_only(engine: Engine) -> None:
    # PS-G03 Chapter 4: an accredited investor (opted in) skips the assessment.
    decision = ask(engine, "SG", "professional", "spot", "2026-03-01")
    assert decision.verdict.licence is not None
    assert decision.verdict.licence.client_category == "accredited"
    assert set(obligations(decision)) == {"asset-segregation"}


@pytest.mark.parametrize(
    ("client", "day", "allowed"),
    [
        # Before the 2024 amendments, retail staking was not barred.
        pytest.param("retail", "2024-10-03", True, id="retail-2024-10-03-before-PSR-2024"),
        # PS Regulations as amended 2024 (from 2024-10-04): no staking for retail customers.
        pytest.param("retail", "2024-10-04", False, id="retail-2024-10-04-PSR-2024"),
        # ... and still so later.
        pytest.param("retail", "2026-03-01", False, id="retail-2026-03-01-PSR-2024"),
        # An accredited investor (SFA s 4A(1)(a)) may stake; the licence serves them.
        pytest.param("professional", "2024-10-04", True, id="accredited-SFA-s4A(1)(a)"),
        # An institutional investor (SFA s 4A(1)(c)) likewise.
        pytest.param("institutional", "2024-10-04", True, id="institutional-SFA-s4A(1)(c)"),
    ],
)
def test_singapore_staking_is_barred_for_retail_from_4_october_2024(
    engine: Engine, client: str, day: str, allowed: bool
) -> None:
    decision = ask(engine, "SG", client, "staking", day)
    assert decision.allowed is allowed
    if not allowed:
        assert reason_articles(decision) == [
            ("client-category-excluded", "lending and staking for retail customers")
        ]


def test_a_singapore_transfer_carries_the_sgd_1500_travel_rule(engine: Engine) -> None:
    # MAS Notice PSN02 para 13: travel rule on every DPT transfer, full data above S$1,500.
    decision = ask(engine, "SG", "retail", "transfer", "2026-03-01")
    assert served_by(decision) == ("kestrel-sg", MPI, False)
    assert obligations(decision)["travel-rule"] == (1500.0, "SGD", "para 13")
    # The EU Transfer of Funds Regulation does not reach Singapore.
    assert "self-hosted-wallet-verification" not in obligations(decision)


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        # Before PS-G03 Chapter 4, margin is refused only because the PSA licenses no margin.
        pytest.param("2025-06-18", ["service-not-in-scope"], id="2025-06-18-PSA-Part-2"),
        # PS-G03 Chapter 4 (credit and leverage) also forbids it for retail, wherever served from.
        pytest.param(
            "2025-06-19", ["prohibited", "service-not-in-scope"], id="2025-06-19-PS-G03-ch4"
        ),
    ],
)
def test_singapore_retail_margin_is_refused_with_every_reason(
    engine: Engine, day: str, expected: list[str]
) -> None:
    decision = ask(engine, "SG", "retail", "margin", day)
    assert reasons(decision) == expected


def test_the_singapore_leverage_ban_cites_ps_g03(engine: Engine) -> None:
    # PS-G03 Chapter 4 (credit and leverage).
    decision = ask(engine, "SG", "retail", "perpetual-future", "2026-03-01")
    prohibited = decision.verdict.reasons[0]
    assert prohibited.code == "prohibited"
    assert prohibited.basis is not None
    assert (prohibited.basis.instrument, prohibited.basis.article) == (
        PS_G03,
        "Chapter 4 (credit and leverage)",
    )


# --- jurisdictions where the group holds no licence -------------------------------------------


@pytest.mark.parametrize(
    ("jurisdiction", "client", "product", "article"),
    [
        # AMLO (Cap. 615) s 53ZRD: a VATP licence is needed in Hong Kong.
        pytest.param("HK", "retail", "spot", "s 53ZRD", id="HK-AMLO-s53ZRD"),
        # HK professional investors need the same licence.
        pytest.param("HK", "professional", "custody", "s 53ZRD", id="HK-pro-AMLO-s53ZRD"),
        # US state money transmission laws: a non-US exchange without them refuses US persons.
        pytest.param("US", "retail", "spot", "per state", id="US-state-MTL"),
        # New York is in the United States: the same refusal.
        pytest.param("US-NY", "institutional", "transfer", "per state", id="US-NY-state-MTL"),
        # Japan PSA Art 63-2: crypto-asset exchange services need FSA registration.
        pytest.param("JP", "retail", "spot", "Art 63-2", id="JP-PSA-Art63-2"),
    ],
)
def test_markets_without_a_group_licence_are_refused_citing_the_local_requirement(
    engine: Engine, jurisdiction: str, client: str, product: str, article: str
) -> None:
    decision = ask(engine, jurisdiction, client, product, "2026-03-01")
    assert reason_articles(decision) == [("no-licence", article)]


def test_japanese_crypto_derivatives_are_refused_citing_the_fiea_registration(
    engine: Engine,
) -> None:
    # FIEA Art 29: crypto-asset derivatives need financial instruments business registration,
    # not the Payment Services Act registration of exchanges (the catalogue maps them to fieb).
    decision = ask(engine, "JP", "retail", "perpetual-future", "2026-03-01")
    (reason,) = decision.verdict.reasons
    assert reason.code == "no-licence"
    assert reason.basis is not None
    assert (reason.basis.instrument, reason.basis.article) == (
        "Financial Instruments and Exchange Act (Japan)",
        "Art 29",
    )


# --- sanctions: refused wherever, whoever serves ----------------------------------------------


@pytest.mark.parametrize(
    ("jurisdiction", "day", "article"),
    [
        # UNSCR 1718 (2006); Council Regulation (EU) 2017/1509.
        pytest.param("KP", "2006-10-14", "Art 1", id="KP-UNSCR-1718"),
        # ITSR 31 CFR 560.204.
        pytest.param("IR", "2012-03-23", "31 CFR 560.204", id="IR-31CFR560.204"),
        # CACR 31 CFR 515.201.
        pytest.param("CU", "2026-03-01", "31 CFR 515.201", id="CU-31CFR515.201"),
        # Council Regulation (EU) No 692/2014 Art 2b; EO 13685: Crimea.
        pytest.param("UA-43", "2014-12-20", "Art 2b", id="UA-43-Reg692/2014-Art2b"),
        # ... and Sevastopol, which has its own ISO code.
        pytest.param("UA-40", "2026-03-01", "Art 2b", id="UA-40-Reg692/2014-Art2b"),
        # Council Regulation (EU) 2022/263 Art 4; EO 14065: Donetsk.
        pytest.param("UA-14", "2022-02-24", "Art 4", id="UA-14-Reg2022/263-Art4"),
        # ... and Luhansk.
        pytest.param("UA-09", "2026-03-01", "Art 4", id="UA-09-Reg2022/263-Art4"),
        # Reg 2022/263 as extended by Reg 2022/1903: Zaporizhzhia.
        pytest.param("UA-23", "2022-10-07", "Art 1", id="UA-23-Reg2022/1903"),
        # ... and Kherson.
        pytest.param("UA-65", "2026-03-01", "Art 1", id="UA-65-Reg2022/1903"),
        # Council Regulation (EU) No 833/2014 Art 5b(2), threshold removed by Reg 2022/1904.
        pytest.param("RU", "2022-10-07", "Art 5b(2)", id="RU-Reg833/2014-Art5b(2)"),
        # Russia, years later.
        pytest.param("RU", "2026-03-01", "Art 5b(2)", id="RU-2026-Reg833/2014-Art5b(2)"),
        # Council Regulation (EC) No 765/2006 as amended by Reg 2025/392 (in force by 2025-02-25).
        pytest.param(
            "BY",
            "2025-02-25",
            "crypto-asset wallet, account and custody services",
            id="BY-Reg765/2006-Reg2025/392",
        ),
    ],
)
def test_sanctioned_destinations_are_refused_as_sanctioned_first(
    engine: Engine, jurisdiction: str, day: str, article: str
) -> None:
    decision = ask(engine, jurisdiction, "retail", "spot", day)
    assert not decision.allowed
    assert reasons(decision) == ["sanctioned", "no-licence"]
    assert reason_articles(decision)[0] == ("sanctioned", article)


@pytest.mark.parametrize(
    "product",
    [
        # Reg 833/2014 Art 5b(2) names wallet, account and custody services...
        pytest.param("custody", id="custody-Art5b(2)"),
        # ... and the group applies it to every product, transfers included.
        pytest.param("transfer", id="transfer-Art5b(2)"),
        # ... and to derivatives for institutions.
        pytest.param("perpetual-future", id="perpetual-future-Art5b(2)"),
    ],
)
def test_the_russian_ban_covers_every_product_and_client(engine: Engine, product: str) -> None:
    decision = ask(engine, "RU", "institutional", product, "2026-03-01")
    assert reasons(decision)[0] == "sanctioned"


@pytest.mark.parametrize(
    ("jurisdiction", "day"),
    [
        # Before the annexation and Reg 692/2014: Crimea was ordinary Ukrainian territory.
        pytest.param("UA-43", "2014-01-01", id="UA-43-before-Reg692/2014"),
        # Before Reg 2022/1903 extended the territorial measures to Zaporizhzhia.
        pytest.param("UA-23", "2022-09-01", id="UA-23-before-Reg2022/1903"),
        # Before Reg 2022/576 first inserted Art 5b into Reg 833/2014.
        pytest.param("RU", "2022-01-01", id="RU-before-Art5b"),
        # Before any EU crypto-asset restriction on Belarus.
        pytest.param("BY", "2021-06-01", id="BY-before-Reg765/2006-crypto"),
        # Government-controlled Ukraine is not sanctioned at all.
        pytest.param("UA", "2026-03-01", id="UA-not-sanctioned"),
        # Syria: the US programme ended 2025-07-01 (EO 14312), EU economic measures 2025-05-28.
        pytest.param("SY", "2026-03-01", id="SY-EO14312"),
    ],
)
def test_places_not_under_a_comprehensive_programme_are_refused_only_for_want_of_a_licence(
    engine: Engine, jurisdiction: str, day: str
) -> None:
    decision = ask(engine, jurisdiction, "retail", "spot", day)
    assert reasons(decision) == ["no-licence"]


# --- MiCA Art 143(3): the transitional period for national licences ---------------------------


def _national_vasp(reference: str, home: str) -> Licence:
    """A national registration kept under MiCA's transitional period (granted in 2021)."""
    return Licence(
        reference=reference,
        entity=f"vasp-{home.lower()}",
        entity_name=f"National VASP {home}",
        regime="mica",
        licence_type="national-vasp",
        regulator=f"{home} national authority",
        home=home,
        services=frozenset({"a", "c", "d", "j"}),
        clients=frozenset({"client"}),
        history=(StatusChange("granted", dt.date(2021, 5, 1), "national registration"),),
    )


@pytest.fixture(scope="module")
def transitional(catalogue: Catalogue) -> Engine:
    """A register of two national licences: one in France, one in the Netherlands."""
    register = Register(
        version=3,
        licences=(_national_vasp("FR-PSAN-0001", "FR"), _national_vasp("NL-DNB-0001", "NL")),
    )
    return Engine(catalogue, register)


@pytest.mark.parametrize(
    ("jurisdiction", "day", "allowed"),
    [
        # France kept the Art 143(3) default: 1 July 2026 is the last day.
        pytest.param("FR", "2026-06-30", True, id="FR-2026-06-30-Art143(3)"),
        # Art 143(3): "until 1 July 2026", that day included.
        pytest.param("FR", "2026-07-01", True, id="FR-2026-07-01-Art143(3)"),
        # Art 143(3): the day after, only MiCA-authorised CASPs may serve.
        pytest.param("FR", "2026-07-02", False, id="FR-2026-07-02-Art143(3)"),
        # The Netherlands shortened the period to six months (AFM): the day before its end.
        pytest.param("NL", "2025-06-29", True, id="NL-2025-06-29-Art143(3)"),
        # NL: 30 June 2025 is the last day.
        pytest.param("NL", "2025-06-30", True, id="NL-2025-06-30-Art143(3)"),
        # NL: from 1 July 2025 the national licence no longer serves.
        pytest.param("NL", "2025-07-01", False, id="NL-2025-07-01-Art143(3)"),
    ],
)
def test_a_national_licence_serves_until_its_states_transition_ends(
    transitional: Engine, jurisdiction: str, day: str, allowed: bool
) -> None:
    decision = ask(transitional, jurisdiction, "retail", "spot", day)
    assert decision.allowed is allowed
    if allowed:
        assert decision.verdict.licence is not None
        assert decision.verdict.licence.home == jurisdiction
        assert decision.verdict.licence.licence_type == "national-vasp"
        assert articles(decision)[0] == "Art 143(3)"
    else:
        assert reason_articles(decision) == [("transition-ended", "Art 143(3)")]


def test_the_transition_ended_reason_names_the_states_end_date(transitional: Engine) -> None:
    # MiCA Art 143(3): the member state's shortened period ends on its own date.
    decision = ask(transitional, "NL", "professional", "custody", "2026-01-01")
    (reason,) = decision.verdict.reasons
    assert reason.code == "transition-ended"
    assert "NL-DNB-0001" in reason.message
    assert "2025-06-30" in reason.message


def test_a_national_licence_cannot_be_passported_to_another_state(transitional: Engine) -> None:
    # MiCA Art 143(3) with ESMA Q&A 2086 and 2295: transitional firms are not CASPs and have no
    # Art 65 passport, so a French registration does not reach German customers.
    decision = ask(transitional, "DE", "retail", "spot", "2025-03-01")
    assert reason_articles(decision) == [("no-licence", "Art 59")]


# --- the answer's JSON shape -------------------------------------------------------------------


def test_an_allowed_answer_has_the_documented_json_shape(
    engine: Engine, catalogue: Catalogue
) -> None:
    # MiCA Art 59, Art 65 and Art 3(1)(16)(c) appear in the basis of an allowed French spot answer.
    answer: dict[str, Any] = ask(engine, "FR", "retail", "spot", "2025-03-01").to_json()
    assert set(answer) == {
        "allowed",
        "entity",
        "licence",
        "basis",
        "obligations",
        "reasons",
        "catalogue_version",
        "register_version",
        "as_of",
    }
    assert answer["allowed"] is True
    assert answer["entity"] == "kestrel-eu-casp"
    assert answer["licence"] == {
        "regime": "mica",
        "regime_name": "Markets in Crypto-Assets Regulation",
        "reference": CASP,
        "type": "casp",
        "regulator": "Malta Financial Services Authority (MFSA)",
        "entity": "kestrel-eu-casp",
        "home": "MT",
        "passported": True,
        "client_category": "client",
    }
    assert {"instrument": MICA, "article": "Art 59"} in answer["basis"]
    assert {"instrument": MICA, "article": "Art 65"} in answer["basis"]
    assert {"instrument": MICA, "article": "Art 3(1)(16)(c)"} in answer["basis"]
    assert all(set(c) == {"instrument", "article"} for c in answer["basis"])
    assert answer["obligations"] == [
        {"code": "risk-warning", "basis": {"instrument": MICA, "article": "Art 66(3)"}}
    ]
    assert answer["reasons"] == []
    assert answer["catalogue_version"] == catalogue.version
    assert answer["register_version"] == 1
    assert answer["as_of"] == "2025-03-01"


def test_obligation_values_and_currencies_appear_in_json_only_when_set(engine: Engine) -> None:
    # TFR Art 14(1)-(3): value 0 EUR is a value, so it is written; the risk warning has none.
    answer = ask(engine, "FR", "retail", "transfer", "2026-03-01").to_json()
    by_code = {o["code"]: o for o in answer["obligations"]}
    assert by_code["travel-rule"] == {
        "code": "travel-rule",
        "value": 0.0,
        "currency": "EUR",
        "basis": {"instrument": TFR, "article": "Art 14(1)-(3) and Art 16(1)"},
    }
    assert set(by_code["risk-warning"]) == {"code", "basis"}


def test_a_refused_answer_has_the_documented_json_shape(engine: Engine) -> None:
    # MiFID II Art 5 and Art 34: a refusal carries every reason with its basis, and no licence.
    answer = ask(engine, "FR", "retail", "perpetual-future", "2025-02-28").to_json()
    assert answer["allowed"] is False
    assert answer["entity"] is None
    assert answer["licence"] is None
    assert answer["basis"] == []
    assert answer["obligations"] == []
    assert [r["code"] for r in answer["reasons"]] == ["licence-not-in-force", "not-passported"]
    assert all(set(r) == {"code", "message", "basis"} for r in answer["reasons"])
    assert answer["reasons"][1]["basis"] == {"instrument": MIFID, "article": "Art 34"}
    assert answer["as_of"] == "2025-02-28"


def test_a_reason_without_a_rule_has_no_basis_in_json(engine: Engine) -> None:
    # The UAE's per-emirate licensing is a catalogue fact, not an article: no basis is written.
    answer = ask(engine, "AE", "retail", "spot", "2026-03-01").to_json()
    assert answer["reasons"] == [
        {
            "code": "subdivision-required",
            "message": answer["reasons"][0]["message"],
        }
    ]
