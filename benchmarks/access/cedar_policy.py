"""The demo access policy in Cedar, generated from the catalogue and a register snapshot.

The benchmark runs cedarpy on the same question as our engine, so the Cedar policy must say what
the catalogue and the register say. It is generated here, never written by hand, so it cannot
drift from the data:

- one ``permit`` per (licence, product, client category) the licence covers: the product through
  one of the regime's services the licence holds (and its product list, if it has one), the
  category among the licence's clients. Its ``when`` holds the licence's reach (home, or a live
  passport, inside the regime's territory and the passport area), its in-force windows (status
  history) and, for a transitional licence, the end of the transition. Its ``unless`` holds the
  licence-bound rules of its regime that stop it: prohibitions, and conditions whose approval the
  licence lacks. These cannot be ``forbid`` policies: they stop one regime's licences, not
  another's (MiCA and MiFID II share the EEA);
- one ``forbid`` per location-bound prohibition (sanctions, the UK's retail derivatives ban,
  Singapore's retail leverage ban...), which stops any licence, and one ``forbid`` for the
  jurisdictions that license per subdivision (``AE``).

Cedar has no dates: a day is a ``Long``, days since 1970-01-01. Cedar has no dated group
membership either: each ``Jurisdiction`` entity carries, per group, the window of its membership
(its own or its country's). A licence's passports with one window form a ``Grant`` entity, the
parent of each jurisdiction it reaches, so a permit asks ``context.where in Grant::"..."`` once
rather than listing 29 states. The request's principal is the client (``Client::"retail"``), whose
parents are the category each regime puts it in; the resource is the product; the context holds
the jurisdiction (an entity, so ``in`` follows subdivisions to their country), the day and the
asset ("" when none). Requests carry no amount: a rule with an amount threshold is taken to
apply, as our engine does for an unknown amount.

Cedar answers Allow or Deny only: the benchmark compares ``allowed`` and nothing else.

    .venv/bin/python benchmarks/access/cedar_policy.py            # print the policy set
    .venv/bin/python benchmarks/access/cedar_policy.py --entities # print the entities (JSON)
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from assay.access.decision import Request
from assay.access.licences import register_from_file
from assay.access.register import IN_FORCE, Licence, Register
from assay.regulation.geography import lineage
from assay.regulation.loader import load_catalogue
from assay.regulation.model import CLIENTS, PRODUCTS, Area, Catalogue, ClientCategory, Regime, Rule

EPOCH = dt.date(1970, 1, 1)
#: A day after any date the data can hold: the end of an open window.
FOREVER = 10**9
DEMO_REGISTER = (
    Path(__file__).resolve().parents[2] / "src" / "assay" / "access" / "demo_data" / "licences.yaml"
)
TRUE, FALSE = "true", "false"


def day_number(day: dt.date) -> int:
    """Cedar has no dates: days since 1970-01-01 (numpy's ``datetime64[D]`` as an integer)."""
    return (day - EPOCH).days


def demo_register(catalogue: Catalogue) -> Register:
    """The demo group's register, as the benchmark and the app's demo read it."""
    return register_from_file(catalogue, DEMO_REGISTER, {})


# --- expressions -------------------------------------------------------------------------------


def _uid(kind: str, code: str) -> str:
    return f"{kind}::{json.dumps(code)}"


def _uids(kind: str, codes: Iterable[str]) -> str:
    return "[" + ", ".join(_uid(kind, c) for c in codes) + "]"


def _all(*parts: str) -> str:
    if FALSE in parts:
        return FALSE
    kept = [p for p in parts if p != TRUE]
    if not kept:
        return TRUE
    return kept[0] if len(kept) == 1 else "(" + " && ".join(kept) + ")"


def _any(*parts: str) -> str:
    if TRUE in parts:
        return TRUE
    kept = [p for p in parts if p != FALSE]
    if not kept:
        return FALSE
    return kept[0] if len(kept) == 1 else "(" + " || ".join(kept) + ")"


def _window(since: dt.date | None, until: dt.date | None) -> str:
    """``since <= day < until``, either end open when None."""
    return _all(
        TRUE if since is None else f"{day_number(since)} <= context.day",
        TRUE if until is None else f"context.day < {day_number(until)}",
    )


def _covers(area: Area) -> str:
    """Whether ``area`` covers the request's jurisdiction on its day (geography.covers)."""
    excluded = (
        f"!(context.where in {_uids('Jurisdiction', area.exclude)})" if area.exclude else TRUE
    )
    if area.everywhere:
        return excluded
    members = [
        f'(context.where.groups["{g}"].since <= context.day'
        f' && context.day < context.where.groups["{g}"].until)'
        for g in area.groups
    ]
    listed = f"context.where in {_uids('Jurisdiction', area.codes)}" if area.codes else FALSE
    return _all(excluded, _any(listed, *members))


def _rule_applies(
    regime: Regime, rule: Rule, clients: tuple[str, ...] | None, product: str | None
) -> str:
    """When ``rule`` matches the request (evaluate._matching).

    ``clients`` and ``product`` are what a permit already fixes (its category's clients, its
    product); None leaves them to the request.
    """
    if rule.products and product is not None and product not in rule.products:
        return FALSE
    by_product = (
        f"resource in {_uids('Product', rule.products)}"
        if rule.products and product is None
        else TRUE
    )
    by_client = TRUE
    if rule.clients:
        candidates = CLIENTS if clients is None else clients
        hit = [c for c in candidates if c in rule.clients]
        if not hit:
            return FALSE
        if len(hit) < len(candidates):
            by_client = f"principal in {_uids('Client', hit)}"
    by_asset = _all(
        f"{json.dumps(list(rule.assets))}.contains(context.asset)" if rule.assets else TRUE,
        f"!({json.dumps(list(rule.assets_except))}.contains(context.asset))"
        if rule.assets_except
        else TRUE,
    )
    # rule.amount_from: requests carry no amount, and an unknown amount reaches any threshold.
    return _all(
        _window(rule.effective_from, rule.effective_until),
        by_product,
        by_client,
        by_asset,
        _covers(rule.where or regime.territory),
    )


# --- policies ----------------------------------------------------------------------------------


def _category_of(regime: Regime, client: str) -> ClientCategory | None:
    """The regime's category for an engine client: the first that maps from it."""
    return next((c for c in regime.client_categories if client in c.maps_from), None)


def _in_force(lic: Licence) -> str:
    """The days the licence's status is granted or varied (Licence.status_on)."""
    history = sorted(lic.history, key=lambda c: c.on)
    windows = []
    for i, change in enumerate(history):
        until = history[i + 1].on if i + 1 < len(history) else None
        if change.status in IN_FORCE and (until is None or change.on < until):
            windows.append(_window(change.on, until))
    return _any(*windows)


def _reach(regime: Regime, lic: Licence) -> str:
    """Home, or a live passport inside the passport area (evaluate._reaches and ._territory)."""
    licence_type = next(t for t in regime.licence_types if t.code == lic.licence_type)
    home = f"context.where in {_uid('Jurisdiction', lic.home)}"
    passported = FALSE
    if licence_type.passport is not None and lic.passports:
        grants = [
            _all(f"context.where in {_uid('Grant', grant)}", _window(since, until))
            for grant, (since, until) in _grants(lic).items()
        ]
        area = licence_type.passport.area
        # Inside the territory already (checked below): skip the same test twice.
        within = TRUE if area == regime.territory else _covers(area)
        passported = _all(within, _any(*grants))
    standing = _in_force(lic)
    if licence_type.transitional and regime.transition is not None:
        last = regime.transition.end_for(lic.home)
        standing = _all(standing, f"context.day <= {day_number(last)}")
    return _all(_covers(regime.territory), _any(home, passported), standing)


def _grants(lic: Licence) -> dict[str, tuple[dt.date, dt.date | None]]:
    """The licence's passports grouped by window: one ``Grant`` entity per window.

    Each granted jurisdiction is a child of its grant, so ``context.where in Grant::"..."`` is one
    hierarchy test (subdivisions included) instead of a list of 29 states in every permit.
    """
    windows = sorted({(p.since, p.until) for p in lic.passports}, key=str)
    return {f"{lic.reference} {since}..{until or ''}": (since, until) for since, until in windows}


def _products_of(regime: Regime, lic: Licence) -> list[str]:
    """The products the licence covers: one of the regime's services for it, and its list."""
    return [
        product
        for product, services in regime.products.items()
        if lic.services & set(services) and (not lic.products or product in lic.products)
    ]


def _permits(catalogue: Catalogue, lic: Licence) -> list[str]:
    regime = catalogue.regimes[lic.regime]
    reach = _reach(regime, lic)
    if reach == FALSE:
        return []  # never in force, or reaches nowhere
    policies = []
    for product in _products_of(regime, lic):
        for category in regime.client_categories:
            if category.code not in lic.clients:
                continue
            clients = tuple(c for c in CLIENTS if _category_of(regime, c) == category)
            if not clients:
                continue
            stops = [
                _rule_applies(regime, rule, clients, product)
                for rule in regime.rules
                if rule.binds == "licence"
                and (
                    rule.kind == "prohibition"
                    or (rule.kind == "condition" and rule.requires not in lic.approvals)
                )
            ]
            unless = _any(*stops)
            if unless == TRUE:
                continue  # the regime never lets this licence offer it
            head = (
                f'@id("permit {lic.reference} {product} {regime.code}/{category.code}")\n'
                "permit (\n"
                f"  principal in {_uid('Category', f'{regime.code}/{category.code}')},\n"
                '  action == Action::"offer",\n'
                f"  resource == {_uid('Product', product)}\n"
                ")"
            )
            body = f"\nwhen {{ {reach} }}" if reach != TRUE else ""
            if unless != FALSE:
                body += f"\nunless {{ {unless} }}"
            policies.append(head + body + ";")
    return policies


def _forbids(catalogue: Catalogue) -> list[str]:
    policies = []
    for regime in catalogue.regimes.values():
        for rule in regime.rules:
            if rule.binds != "location" or rule.kind != "prohibition":
                continue
            when = _rule_applies(regime, rule, None, None)
            if when == FALSE:
                continue
            policies.append(
                f'@id("forbid {rule.id}")\n'
                'forbid (principal, action == Action::"offer", resource)\n'
                f"when {{ {when} }};"
            )
    split = sorted(j.code for j in catalogue.jurisdictions.values() if j.subdivisions_required)
    if split:
        policies.append(
            '@id("forbid subdivision-required")\n'
            'forbid (principal, action == Action::"offer", resource)\n'
            f"when {{ {_uids('Jurisdiction', split)}.contains(context.where) }};"
        )
    return policies


def cedar_policies(catalogue: Catalogue, register: Register) -> str:
    """The policy set, as Cedar text."""
    header = (
        f"// Generated from catalogue {catalogue.version} and register version "
        f"{register.version} by benchmarks/access/cedar_policy.py: do not edit.\n"
    )
    permits = [p for lic in register.licences for p in _permits(catalogue, lic)]
    return header + "\n\n".join([*permits, *_forbids(catalogue)]) + "\n"


# --- entities and requests ---------------------------------------------------------------------


def _groups_of(catalogue: Catalogue, code: str) -> dict[str, dict[str, int]]:
    """Per group, the window in which ``code`` or its country is a member (geography.member_of)."""
    windows: dict[str, dict[str, int]] = {}
    for group in catalogue.groups:
        held = [
            m
            for c in lineage(catalogue, code)
            for m in catalogue.jurisdictions[c].memberships
            if m.group == group
        ]
        if len(held) > 1:
            raise ValueError(
                f"{code} has {len(held)} memberships of {group}: one window per group is all "
                "a Cedar entity attribute holds here"
            )
        if held:
            until = held[0].until
            windows[group] = {
                "since": day_number(held[0].since),
                "until": FOREVER if until is None else day_number(until),
            }
        else:
            windows[group] = {"since": 0, "until": 0}
    return windows


def cedar_entities(catalogue: Catalogue, register: Register) -> list[dict[str, Any]]:
    """The entities: jurisdictions, clients, categories, passport grants and products.

    A jurisdiction's parents are its country and the grants that passport to it; a client's are
    the category each regime puts it in.
    """
    granted: dict[str, list[dict[str, str]]] = defaultdict(list)
    entities: list[dict[str, Any]] = []
    for lic in register.licences:
        for grant, (since, until) in _grants(lic).items():
            entities.append({"uid": {"type": "Grant", "id": grant}, "attrs": {}, "parents": []})
            for p in lic.passports:
                if (p.since, p.until) == (since, until):
                    granted[p.jurisdiction].append({"type": "Grant", "id": grant})
    for j in catalogue.jurisdictions.values():
        country = [] if j.parent is None else [{"type": "Jurisdiction", "id": j.parent}]
        entities.append(
            {
                "uid": {"type": "Jurisdiction", "id": j.code},
                "attrs": {"groups": _groups_of(catalogue, j.code)},
                "parents": country + granted[j.code],
            }
        )
    categories = []
    for client in CLIENTS:
        parents = []
        for regime in catalogue.regimes.values():
            category = _category_of(regime, client)
            if category is not None:
                parents.append({"type": "Category", "id": f"{regime.code}/{category.code}"})
        categories.extend(parents)
        entities.append({"uid": {"type": "Client", "id": client}, "attrs": {}, "parents": parents})
    for uid in {c["id"]: c for c in categories}.values():
        entities.append({"uid": uid, "attrs": {}, "parents": []})
    entities.extend(
        {"uid": {"type": "Product", "id": p}, "attrs": {}, "parents": []} for p in PRODUCTS
    )
    return entities


def cedar_request(request: Request) -> dict[str, Any]:
    """Our request as a Cedar request (no amount: see the module docstring)."""
    return {
        "principal": _uid("Client", request.client),
        "action": 'Action::"offer"',
        "resource": _uid("Product", request.product),
        "context": {
            "where": {"__entity": {"type": "Jurisdiction", "id": request.jurisdiction}},
            "day": day_number(request.as_of),
            "asset": request.asset or "",
        },
    }


def main() -> None:
    """Print the generated policy set (or, with --entities, the entities)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entities", action="store_true", help="print the entities instead")
    args = parser.parse_args()
    catalogue = load_catalogue()
    if args.entities:
        print(json.dumps(cedar_entities(catalogue, demo_register(catalogue)), indent=1))
    else:
        print(cedar_policies(catalogue, demo_register(catalogue)), end="")


if __name__ == "__main__":
    main()
