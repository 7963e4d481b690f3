"""The reference evaluator: the decision rules written out plainly, one request at a time.

Deny by default. A request is allowed only when some licence in the register is in force on the
day, reaches the customer's jurisdiction (home, or a live passport), covers the product through one
of the regime's services, covers the client's category in that regime, meets every condition, and
no prohibition applies, neither of the licence's regime nor of any regime where the customer lives.
A refusal lists every reason, from every licence that could have served.

The compiled engine (``engine.py``) must give the same answer as this module for every request;
a property test holds it to that. Pure: no database, no clock.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from assay.access.decision import LicenceUsed, ObligationDue, Reason, Request, Verdict
from assay.access.register import IN_FORCE, Licence, Register
from assay.regulation.geography import covers, lineage
from assay.regulation.model import Amount, Area, Catalogue, Citation, LicenceType, Regime, Rule

NO_LICENCE_BASIS = Citation(
    instrument="Assay market-access policy", article="deny unless a licence in force covers it"
)


def evaluate(catalogue: Catalogue, register: Register, request: Request) -> Verdict:
    """Decide ``request`` from the catalogue and the register (the reference semantics)."""
    day, where = request.as_of, request.jurisdiction
    forbidden: list[Reason] = []
    location_obligations: list[ObligationDue] = []
    for rule in _location_rules(catalogue, request):
        if rule.kind == "prohibition":
            forbidden.append(
                Reason(rule.reason, _rule_message(catalogue, rule, request), rule.basis)
            )
        elif rule.kind == "obligation":
            location_obligations.append(_due(rule))
    if catalogue.jurisdictions[where].subdivisions_required:
        children = ", ".join(_children(catalogue, where))
        return _refused(
            catalogue,
            register,
            [
                *forbidden,
                Reason(
                    "subdivision-required",
                    f"{where} licenses per subdivision: ask again with one of {children}",
                ),
            ],
        )
    candidates = [lic for lic in register.licences if _reaches(catalogue, lic, where, day)]
    if not candidates:
        name = catalogue.jurisdictions[where].name
        message = f"no licence in the register can serve customers in {name} ({where})"
        return _refused(
            catalogue,
            register,
            [*forbidden, Reason("no-licence", message, _licence_requirement(catalogue, request))],
        )
    # A licence whose regime never licenses the product only matters when no other could.
    relevant = [
        lic for lic in candidates if request.product in catalogue.regimes[lic.regime].products
    ]
    candidates = relevant or candidates
    served: list[tuple[bool, str, Verdict]] = []
    problems: list[Reason] = []
    for lic in candidates:
        verdict, why_not = _through(catalogue, register, lic, request, location_obligations)
        if verdict is not None and verdict.licence is not None:
            served.append((verdict.licence.passported, lic.reference, verdict))
        problems.extend(why_not)
    if served and not forbidden:
        return min(served, key=lambda s: (s[0], s[1]))[2]
    # Either nothing can serve (every reason counts), or a location rule forbids what could.
    return _refused(catalogue, register, forbidden if served else [*forbidden, *problems])


def _through(
    catalogue: Catalogue,
    register: Register,
    lic: Licence,
    request: Request,
    location_obligations: list[ObligationDue],
) -> tuple[Verdict | None, list[Reason]]:
    """Whether ``lic`` can serve ``request``: its verdict, or every reason it cannot."""
    regime = catalogue.regimes[lic.regime]
    licence_type = next(t for t in regime.licence_types if t.code == lic.licence_type)
    name = f"{regime.short} licence {lic.reference} ({lic.entity})"
    passport_basis, not_passported = _territory(catalogue, lic, licence_type, request, name)
    held, out_of_scope = _scope(regime, licence_type, lic, request, name)
    category = next((c for c in regime.client_categories if request.client in c.maps_from), None)
    obligations, breaches = _licence_rules(catalogue, regime, lic, request, name)
    problems = [
        *_standing(regime, licence_type, lic, request.as_of, name),
        *not_passported,
        *out_of_scope,
        *breaches,
    ]
    if category is None or category.code not in lic.clients:
        label = category.name if category else f"no {regime.short} category"
        cite = category.basis if category and category.basis else licence_type.basis
        message = f"{name} does not serve {request.client} clients ({label})"
        problems.append(Reason("client-category-excluded", message, cite))
    if problems or category is None:
        return None, problems
    basis = [licence_type.basis]
    if passport_basis is not None:
        basis.append(passport_basis)
    basis.extend(s.basis for s in regime.services if s.code in held)
    used = LicenceUsed(
        regime=regime.code,
        regime_name=regime.name,
        reference=lic.reference,
        licence_type=lic.licence_type,
        regulator=lic.regulator,
        entity=lic.entity,
        home=lic.home,
        passported=passport_basis is not None,
        client_category=category.code,
    )
    everything = sorted(
        [*obligations, *location_obligations], key=lambda o: (o.code, o.rule, o.value or 0)
    )
    verdict = Verdict(
        allowed=True,
        entity=lic.entity,
        entity_name=lic.entity_name,
        licence=used,
        basis=tuple(basis),
        obligations=tuple(everything),
        reasons=(),
        catalogue_version=catalogue.version,
        register_version=register.version,
    )
    return verdict, []


def _standing(
    regime: Regime, licence_type: LicenceType, lic: Licence, day: dt.date, name: str
) -> list[Reason]:
    """Whether the licence is in force on ``day`` (and, if transitional, not past its end)."""
    problems = []
    status = lic.status_on(day)
    if status is None or status.status not in IN_FORCE:
        state = f"{status.status} since {status.on}" if status else "not yet licensed"
        granted = [c.on for c in lic.history if c.status == "granted"]
        hint = f" (granted on {granted[0]})" if granted and granted[0] > day else ""
        problems.append(
            Reason("licence-not-in-force", f"{name} is {state}{hint}", licence_type.basis)
        )
    if licence_type.transitional and regime.transition is not None:
        end = regime.transition.end_for(lic.home)
        if day > end:
            problems.append(
                Reason(
                    "transition-ended",
                    f"{name} is a national licence under the transitional period, which ended "
                    f"in {lic.home} on {end}",
                    regime.transition.basis,
                )
            )
    return problems


def _territory(
    catalogue: Catalogue,
    lic: Licence,
    licence_type: LicenceType,
    request: Request,
    name: str,
) -> tuple[Citation | None, list[Reason]]:
    """The passport basis when the licence serves ``where`` by passport; why not, if it cannot."""
    day, where = request.as_of, request.jurisdiction
    regime = catalogue.regimes[lic.regime]
    if _at_home(catalogue, lic, regime, where, day):
        return None, []
    grants = [p for p in lic.passports if p.jurisdiction in lineage(catalogue, where)]
    if licence_type.passport is not None and any(p.holds_on(day) for p in grants):
        return licence_type.passport.basis, []
    if grants:
        until = f" until {grants[0].until}" if grants[0].until else ""
        when = f"its passport to {where} runs from {grants[0].since}{until}"
    else:
        when = f"it has no passport to {where}"
    basis = licence_type.passport.basis if licence_type.passport else licence_type.basis
    return None, [Reason("not-passported", f"{name}: {when}", basis)]


def _scope(
    regime: Regime, licence_type: LicenceType, lic: Licence, request: Request, name: str
) -> tuple[list[str], list[Reason]]:
    """The licence's services that cover the product; why it does not cover it, if it does not."""
    needed = regime.products.get(request.product, ())  # type: ignore[call-overload]
    held = sorted(lic.services & set(needed))
    if not needed:
        message = f"{regime.short} does not license {request.product}, so {name} cannot offer it"
        return held, [Reason("service-not-in-scope", message, regime.instrument)]
    if held and (not lic.products or request.product in lic.products):
        return held, []
    listed = f" and {request.product} among the licence's products" if lic.products else ""
    message = (
        f"{name} does not cover {request.product} (it needs {regime.short} service "
        f"{', '.join(needed)}{listed})"
    )
    return held, [Reason("service-not-in-scope", message, licence_type.basis)]


def _licence_rules(
    catalogue: Catalogue, regime: Regime, lic: Licence, request: Request, name: str
) -> tuple[list[ObligationDue], list[Reason]]:
    """The obligations the licence's regime attaches, and its prohibitions and unmet conditions."""
    obligations: list[ObligationDue] = []
    problems: list[Reason] = []
    for rule in _matching(catalogue, regime, request, binds="licence"):
        if rule.kind == "prohibition":
            message = f"{name}: {_rule_message(catalogue, rule, request)}"
            problems.append(Reason(rule.reason, message, rule.basis))
        elif rule.kind == "condition" and rule.requires not in lic.approvals:
            message = f"{name} lacks the approval {rule.requires!r}: {rule.title}"
            problems.append(Reason("condition-not-met", message, rule.basis))
        elif rule.kind == "obligation":
            obligations.append(_due(rule))
    return obligations, problems


def _licence_requirement(catalogue: Catalogue, request: Request) -> Citation:
    """The local law that requires a licence for the product (MiCA Art 59, MiFID II Art 5...).

    Where the catalogue knows none, the group's deny-by-default policy.
    """
    local = [
        regime
        for regime in catalogue.regimes.values()
        if regime.licence_types
        and covers(catalogue, regime.territory, request.jurisdiction, request.as_of)
    ]
    for regime in sorted(local, key=lambda r: request.product not in r.products):
        needed = set(regime.products.get(request.product, ()))  # type: ignore[call-overload]
        fitting = [t for t in regime.licence_types if not t.services or needed & set(t.services)]
        return (fitting or list(regime.licence_types))[0].basis
    return NO_LICENCE_BASIS


def _reaches(catalogue: Catalogue, lic: Licence, where: str, day: dt.date) -> bool:
    """Whether ``lic`` could ever serve ``where``: its home, or a place its type passports to."""
    regime = catalogue.regimes[lic.regime]
    if _at_home(catalogue, lic, regime, where, day):
        return True
    licence_type = next(t for t in regime.licence_types if t.code == lic.licence_type)
    if licence_type.passport is None:
        return False
    return covers(catalogue, licence_type.passport.area, where, day) and covers(
        catalogue, regime.territory, where, day
    )


def _at_home(catalogue: Catalogue, lic: Licence, regime: Regime, where: str, day: dt.date) -> bool:
    home = Area(codes=(lic.home,))
    return covers(catalogue, home, where, day) and covers(catalogue, regime.territory, where, day)


def _location_rules(catalogue: Catalogue, request: Request) -> list[Rule]:
    """Rules that bind wherever the customer lives, whoever serves them."""
    return [
        rule
        for regime in catalogue.regimes.values()
        for rule in _matching(catalogue, regime, request, binds="location")
    ]


def _matching(catalogue: Catalogue, regime: Regime, request: Request, *, binds: str) -> list[Rule]:
    found = []
    for rule in regime.rules:
        if rule.binds != binds or not rule.in_force_on(request.as_of):
            continue
        if rule.products and request.product not in rule.products:
            continue
        if rule.clients and request.client not in rule.clients:
            continue
        if rule.assets and request.asset not in rule.assets:
            continue
        if rule.assets_except and request.asset in rule.assets_except:
            continue
        if rule.amount_from is not None and not amount_reaches(
            request.amount, request.currency, rule.amount_from
        ):
            continue
        area = rule.where or regime.territory
        if not covers(catalogue, area, request.jurisdiction, request.as_of):
            continue
        found.append(rule)
    return found


def amount_reaches(amount: Decimal | None, currency: str | None, threshold: Amount) -> bool:
    """Whether an amount reaches a threshold (or, for an ``exceeding`` one, goes above it).

    An unknown amount, or one in another currency (Assay holds no exchange rates), is taken to
    reach it: the obligation applies.
    """
    if amount is None or currency != threshold.currency:
        return True
    limit = Decimal(str(threshold.value))
    return amount > limit if threshold.exceeding else amount >= limit


def _due(rule: Rule) -> ObligationDue:
    assert rule.obligation is not None  # noqa: S101 - the loader checks obligation rules
    return ObligationDue(
        code=rule.obligation.code,
        basis=rule.basis,
        value=rule.obligation.value,
        currency=rule.obligation.currency,
        rule=rule.id,
    )


def _rule_message(catalogue: Catalogue, rule: Rule, request: Request) -> str:
    where = catalogue.jurisdictions[request.jurisdiction].name
    return f"[{rule.id}] {rule.title} ({where}, {request.client}, {request.product})"


def _children(catalogue: Catalogue, code: str) -> list[str]:
    return sorted(j.code for j in catalogue.jurisdictions.values() if j.parent == code)


def _refused(catalogue: Catalogue, register: Register, reasons: list[Reason]) -> Verdict:
    unique: list[Reason] = []
    for r in reasons:
        if r not in unique:
            unique.append(r)
    return Verdict(
        allowed=False,
        entity=None,
        entity_name=None,
        licence=None,
        basis=(),
        obligations=(),
        reasons=tuple(sorted(unique, key=lambda r: _ORDER.index(r.code))),
        catalogue_version=catalogue.version,
        register_version=register.version,
    )


_ORDER = (
    "sanctioned",
    "prohibited",
    "subdivision-required",
    "no-licence",
    "transition-ended",
    "licence-not-in-force",
    "not-passported",
    "service-not-in-scope",
    "client-category-excluded",
    "condition-not-met",
)
