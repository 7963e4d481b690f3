"""Checking a licence against the catalogue, and turning licences into register facts.

Pure functions shared by the database service and by file-based registers (tests, the demo, the
benchmark): a licence names a regime, a licence type, services and client categories that the
catalogue must know, a home inside the regime's territory, and passports only where its type may
passport. Every error names the field, the bad value and what is accepted.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import yaml

from assay.access.register import Licence, PassportGrant, Register, StatusChange
from assay.access.schemas import LicenceFile, LicenceIn, validated
from assay.errors import InvalidInput
from assay.regulation.geography import covers
from assay.regulation.model import PRODUCTS, Catalogue, LicenceType, Regime


def check_licence(catalogue: Catalogue, lic: LicenceIn, *, where: str = "") -> None:
    """Raise InvalidInput unless every value of ``lic`` is one the catalogue accepts."""
    regime = catalogue.regimes.get(lic.regime)
    if regime is None or not regime.licence_types:
        licensing = [r.code for r in catalogue.regimes.values() if r.licence_types]
        raise InvalidInput.not_one_of(f"{where}regime", lic.regime, licensing)
    types = {t.code: t for t in regime.licence_types}
    if lic.licence_type not in types:
        raise InvalidInput.not_one_of(f"{where}licence_type", lic.licence_type, types)
    licence_type = types[lic.licence_type]
    _check_scope(regime, lic, where)
    if licence_type.services:
        for value in lic.services:
            if value not in licence_type.services:
                raise InvalidInput.not_one_of(f"{where}services", value, licence_type.services)
    _check_home(catalogue, regime, lic, where)
    _check_dates(catalogue, licence_type, regime, lic, where)


def _check_scope(regime: Regime, lic: LicenceIn, where: str) -> None:
    services = {s.code for s in regime.services}
    for value in lic.services:
        if value not in services:
            raise InvalidInput.not_one_of(f"{where}services", value, services)
    for value in lic.products:
        if value not in PRODUCTS:
            raise InvalidInput.not_one_of(f"{where}products", value, PRODUCTS)
    categories = {c.code for c in regime.client_categories}
    for value in lic.clients:
        if value not in categories:
            raise InvalidInput.not_one_of(f"{where}clients", value, categories)


def _check_home(catalogue: Catalogue, regime: Regime, lic: LicenceIn, where: str) -> None:
    if lic.home not in catalogue.jurisdictions:
        raise InvalidInput(
            f"{where}home {lic.home!r} is not a jurisdiction of the catalogue (e.g. MT, AE-DU)",
            field=f"{where}home",
            value=lic.home,
        )
    first = lic.history[0].date
    if not covers(catalogue, regime.territory, lic.home, first):
        raise InvalidInput(
            f"{where}home {lic.home} is outside {regime.short}'s territory",
            field=f"{where}home",
            value=lic.home,
        )


def _check_dates(
    catalogue: Catalogue, licence_type: LicenceType, regime: Regime, lic: LicenceIn, where: str
) -> None:
    days = [h.date for h in lic.history]
    if days != sorted(days):
        raise InvalidInput(
            f"{where}history must be in date order (got {', '.join(map(str, days))})",
            field=f"{where}history",
        )
    for block in lic.passports:
        if licence_type.passport is None:
            raise InvalidInput(
                f"{where}passports: a {regime.short} {licence_type.name} cannot be passported",
                field=f"{where}passports",
                value=block.to,
            )
        if block.until is not None and block.until <= block.since:
            raise InvalidInput(
                f"{where}passports.until {block.until} must be after since {block.since}",
                field=f"{where}passports.until",
                value=str(block.until),
            )
        for code in block.to:
            if code not in catalogue.jurisdictions or not covers(
                catalogue, licence_type.passport.area, code, block.since
            ):
                raise InvalidInput(
                    f"{where}passports: {code!r} is not a jurisdiction a {regime.short} "
                    f"{licence_type.name} can be passported to on {block.since}",
                    field=f"{where}passports.to",
                    value=code,
                )


def to_facts(lic: LicenceIn, entity_name: str) -> Licence:
    """The engine's view of a checked licence."""
    return Licence(
        reference=lic.reference,
        entity=lic.entity,
        entity_name=entity_name,
        regime=lic.regime,
        licence_type=lic.licence_type,
        regulator=lic.regulator,
        home=lic.home,
        services=frozenset(lic.services),
        clients=frozenset(lic.clients),
        products=frozenset(lic.products),
        approvals=frozenset(lic.approvals),
        conditions=lic.conditions,
        history=tuple(StatusChange(h.status, h.date, h.note) for h in lic.history),
        passports=tuple(
            PassportGrant(code, block.since, block.until)
            for block in lic.passports
            for code in block.to
        ),
    )


def read_licence_file(path: Path) -> LicenceFile:
    """Parse a licence file (YAML or JSON); errors name the file and the field."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise InvalidInput(f"{path}: cannot be read: {exc}", field=str(path)) from exc
    return validated(LicenceFile, data, source=str(path))


def register_from_file(
    catalogue: Catalogue, path: Path, entity_names: Mapping[str, str], *, version: int = 1
) -> Register:
    """A register snapshot straight from a licence file (tests, benchmarks, what-if work)."""
    parsed = read_licence_file(path)
    licences = []
    for i, lic in enumerate(parsed.licences):
        check_licence(catalogue, lic, where=f"licences[{i}].")
        licences.append(to_facts(lic, entity_names.get(lic.entity, lic.entity)))
    return Register(version=version, licences=tuple(licences))
