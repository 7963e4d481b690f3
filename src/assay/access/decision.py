"""A market-access question and its answer, as plain values (the engine's input and output).

A :class:`Request` is validated once, at the edge (:func:`parse_request`), so the engine never
sees an unknown jurisdiction, product or client. A :class:`Verdict` is what the engine computes and
caches; a :class:`Decision` is a verdict for one request's date. ``Decision.to_json`` is the
documented answer format of the API and of ``assay access check --json``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from assay.errors import InvalidInput
from assay.regulation.model import CLIENTS, PRODUCTS, Catalogue, Citation

#: The first day a decision can be asked about (the engine's first period starts then).
EARLIEST = dt.date(1900, 1, 1)
_ASSET_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_")


@dataclass(frozen=True)
class Request:
    """May ``product`` be offered to a ``client`` living in ``jurisdiction`` on ``as_of``?"""

    jurisdiction: str
    client: str
    product: str
    as_of: dt.date
    asset: str | None = None
    amount: Decimal | None = None
    currency: str | None = None


@dataclass(frozen=True)
class Reason:
    """Why a request is refused, with the legal basis when a rule is the cause."""

    code: str
    message: str
    basis: Citation | None = None


@dataclass(frozen=True)
class ObligationDue:
    """An obligation that attaches to an allowed offer."""

    code: str
    basis: Citation
    value: float | None = None
    currency: str | None = None
    rule: str = ""


@dataclass(frozen=True)
class LicenceUsed:
    """The licence that serves an allowed offer."""

    regime: str
    regime_name: str
    reference: str
    licence_type: str
    regulator: str
    entity: str
    home: str
    passported: bool
    client_category: str


@dataclass(frozen=True)
class Verdict:
    """The answer for a cell (jurisdiction, client, product, asset class, amount class, period)."""

    allowed: bool
    entity: str | None
    entity_name: str | None
    licence: LicenceUsed | None
    basis: tuple[Citation, ...]
    obligations: tuple[ObligationDue, ...]
    reasons: tuple[Reason, ...]
    catalogue_version: str
    register_version: int

    def key(self) -> tuple[Any, ...]:
        """What makes two verdicts the same answer for impact analysis.

        Two refusals are the same answer whatever their reasons; two permissions are the same
        when the same licence serves with the same obligations.
        """
        if not self.allowed:
            return (False,)
        return (
            True,
            self.licence.reference if self.licence else None,
            tuple((o.code, o.value, o.currency) for o in self.obligations),
        )


@dataclass(frozen=True)
class Decision:
    """A verdict for one request's date."""

    verdict: Verdict
    as_of: dt.date

    @property
    def allowed(self) -> bool:
        """Whether the offer may be made."""
        return self.verdict.allowed

    def to_json(self) -> dict[str, Any]:
        """The documented answer (docs/formats/access-decision.md)."""
        v = self.verdict
        return {
            "allowed": v.allowed,
            "entity": v.entity,
            "licence": None
            if v.licence is None
            else {
                "regime": v.licence.regime,
                "regime_name": v.licence.regime_name,
                "reference": v.licence.reference,
                "type": v.licence.licence_type,
                "regulator": v.licence.regulator,
                "entity": v.licence.entity,
                "home": v.licence.home,
                "passported": v.licence.passported,
                "client_category": v.licence.client_category,
            },
            "basis": [_cite(c) for c in v.basis],
            "obligations": [
                {
                    "code": o.code,
                    **({"value": o.value} if o.value is not None else {}),
                    **({"currency": o.currency} if o.currency else {}),
                    "basis": _cite(o.basis),
                }
                for o in v.obligations
            ],
            "reasons": [
                {
                    "code": r.code,
                    "message": r.message,
                    **({"basis": _cite(r.basis)} if r.basis else {}),
                }
                for r in v.reasons
            ],
            "catalogue_version": v.catalogue_version,
            "register_version": v.register_version,
            "as_of": self.as_of.isoformat(),
        }


def _cite(c: Citation) -> dict[str, str]:
    return {"instrument": c.instrument, "article": c.article}


def parse_request(
    catalogue: Catalogue,
    fields: Mapping[str, object],
    *,
    today: dt.date,
    prefix: str = "",
) -> Request:
    """Validate raw fields (from the CLI, the API or a CSV row) into a :class:`Request`.

    Every error names the field and lists the accepted values; ``prefix`` locates the field in a
    batch (``requests[3].product``, ``row 12: product``).
    """
    jurisdiction = str(fields.get("jurisdiction") or "").strip().upper()
    if jurisdiction not in catalogue.jurisdictions:
        raise InvalidInput(
            f"{prefix}jurisdiction {jurisdiction or fields.get('jurisdiction')!r} is not in the "
            "catalogue; use an ISO 3166-1 code (FR, SG, US...) or a listed subdivision "
            "(AE-DU, AE-DU-DIFC...): `assay access jurisdictions` lists them all",
            field=f"{prefix}jurisdiction",
            value=fields.get("jurisdiction"),
            accepted=sorted(catalogue.jurisdictions),
        )
    client = _choice(fields, "client", CLIENTS, prefix)
    product = _choice(fields, "product", PRODUCTS, prefix)
    as_of = _date(fields.get("as_of"), today, prefix)
    asset_raw = fields.get("asset")
    asset = str(asset_raw).strip().upper() if asset_raw not in (None, "") else None
    if asset is not None and (len(asset) > 20 or not set(asset) <= _ASSET_CHARS):
        raise InvalidInput(
            f"{prefix}asset {asset_raw!r} is not a ticker (letters, digits, '.', '-', '_'; "
            "up to 20)",
            field=f"{prefix}asset",
            value=asset_raw,
        )
    amount, currency = _amount(fields.get("amount"), fields.get("currency"), prefix)
    return Request(jurisdiction, client, product, as_of, asset, amount, currency)


def _choice(fields: Mapping[str, object], name: str, accepted: tuple[str, ...], prefix: str) -> str:
    raw = fields.get(name)
    value = str(raw or "").strip().lower()
    if value not in accepted:
        raise InvalidInput.not_one_of(f"{prefix}{name}", raw, accepted)
    return value


def _date(raw: object, today: dt.date, prefix: str) -> dt.date:
    if raw in (None, ""):
        return today
    if isinstance(raw, dt.datetime):
        return raw.date()
    if isinstance(raw, dt.date):
        return raw
    try:
        day = dt.date.fromisoformat(str(raw).strip())
        if day < EARLIEST:
            raise ValueError(day)
        return day
    except ValueError:
        raise InvalidInput(
            f"{prefix}as_of {raw!r} is not a date from {EARLIEST}; use YYYY-MM-DD "
            "(e.g. 2026-03-01)",
            field=f"{prefix}as_of",
            value=raw,
        ) from None


def _amount(raw: object, currency_raw: object, prefix: str) -> tuple[Decimal | None, str | None]:
    currency = str(currency_raw).strip().upper() if currency_raw not in (None, "") else None
    if raw in (None, ""):
        if currency is not None:
            raise InvalidInput(
                f"{prefix}currency {currency_raw!r} was given without an amount",
                field=f"{prefix}amount",
                value=None,
            )
        return None, None
    try:
        amount = Decimal(str(raw).strip())
    except InvalidOperation:
        amount = Decimal("NaN")
    if not amount.is_finite() or amount < 0:
        raise InvalidInput(
            f"{prefix}amount {raw!r} is not a non-negative decimal number (e.g. 2500 or 0.5)",
            field=f"{prefix}amount",
            value=raw,
        )
    if currency is None:
        raise InvalidInput(
            f"{prefix}amount {raw!r} needs a currency (an ISO 4217 code such as EUR, USD, SGD)",
            field=f"{prefix}currency",
            value=None,
        )
    if len(currency) != 3 or not currency.isalpha() or not currency.isascii():
        raise InvalidInput(
            f"{prefix}currency {currency_raw!r} is not an ISO 4217 code (EUR, USD, SGD, AED...)",
            field=f"{prefix}currency",
            value=currency_raw,
        )
    return amount, currency
