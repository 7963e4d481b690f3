"""The regulatory catalogue's types: jurisdictions, regimes, their services, clients and rules.

These pydantic models are the catalogue's file format (YAML under ``regulation/data/``, JSON Schema
in ``docs/formats/catalogue.schema.json``). They hold facts from legal texts, each rule with its
instrument, article and the dates it applies from and until. They must never hold decisions: the
access engine derives those. Nothing here touches the database, the web or the clock.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

#: The products a decision is asked about (the exchange's vocabulary, not any regime's).
Product = Literal[
    "spot",
    "margin",
    "perpetual-future",
    "dated-future",
    "option",
    "custody",
    "transfer",
    "staking",
    "portfolio-management",
    "advice",
]
#: The client categories a decision is asked about; each regime maps them to its own.
Client = Literal["retail", "professional", "institutional"]
Confidence = Literal["verified", "unverified"]
#: The obligations a decision can attach (docs/formats/access-decision.md explains each).
ObligationCode = Literal[
    "appropriateness-test",
    "suitability-test",
    "leverage-cap",
    "negative-balance-protection",
    "margin-close-out",
    "risk-warning",
    "cooling-off",
    "risk-awareness-assessment",
    "knowledge-assessment",
    "travel-rule",
    "self-hosted-wallet-verification",
    "no-incentives",
    "asset-segregation",
]
#: Why a request is refused; ``prohibition`` rules choose one of the last three.
ReasonCode = Literal[
    "no-licence",
    "licence-not-in-force",
    "not-passported",
    "service-not-in-scope",
    "condition-not-met",
    "transition-ended",
    "subdivision-required",
    "prohibited",
    "sanctioned",
    "client-category-excluded",
]
PRODUCTS: tuple[str, ...] = get_args(Product)
CLIENTS: tuple[str, ...] = get_args(Client)
OBLIGATIONS: tuple[str, ...] = get_args(ObligationCode)
REASONS: tuple[str, ...] = get_args(ReasonCode)
ProhibitionReason = Literal["prohibited", "sanctioned", "client-category-excluded"]

# ISO 3166-1 alpha-2, an ISO 3166-2 subdivision (AE-DU), or a zone inside one (AE-DU-DIFC).
JURISDICTION_PATTERN = r"^[A-Z]{2}(-[A-Z0-9]{1,3}(-[A-Z0-9]{2,8})?)?$"
JurisdictionCode = Annotated[str, StringConstraints(pattern=JURISDICTION_PATTERN)]
Code = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9.-]{0,63}$")]
_CURRENCY = re.compile(r"^[A-Z]{3}$")


class Model(BaseModel):
    """Base: unknown fields are refused, values are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Citation(Model):
    """Where a fact comes from: the instrument and the article, paragraph or rule inside it."""

    instrument: str = Field(min_length=3, description="e.g. 'Regulation (EU) 2023/1114 (MiCA)'")
    article: str = Field(min_length=1, description="e.g. 'Art 25(3)', 'Rule V.G.8', 's 6(5)'")
    url: str | None = None


class Membership(Model):
    """A jurisdiction's membership of a group (EU, EEA...) between two dates."""

    group: Code
    since: dt.date
    until: dt.date | None = None

    def holds_on(self, day: dt.date) -> bool:
        """Whether the membership holds on ``day``."""
        return self.since <= day and (self.until is None or day < self.until)


class Jurisdiction(Model):
    """A country (ISO 3166-1), a subdivision (ISO 3166-2) or a zone inside one."""

    code: JurisdictionCode
    name: str = Field(min_length=2)
    parent: JurisdictionCode | None = None
    memberships: tuple[Membership, ...] = ()
    subdivisions_required: bool = Field(
        default=False,
        description="licences here are granted per subdivision: a request must name one",
    )
    note: str = ""


class Area(Model):
    """A set of jurisdictions: listed codes and group members, minus exclusions.

    A code covers its own subdivisions and zones (``AE-DU`` covers ``AE-DU-DIFC``) unless one of
    them is excluded. ``everywhere`` covers every jurisdiction.
    """

    everywhere: bool = False
    codes: tuple[JurisdictionCode, ...] = ()
    groups: tuple[Code, ...] = ()
    exclude: tuple[JurisdictionCode, ...] = ()


class Service(Model):
    """A service or activity as a regime names it (MiCA's (a)-(j), VARA's activities...)."""

    code: Code
    name: str
    basis: Citation


class ClientCategory(Model):
    """A regime's own client category and which of the engine's categories fall into it."""

    code: Code
    name: str
    maps_from: tuple[Client, ...] = Field(min_length=1)
    basis: Citation | None = None
    note: str = ""


class Passport(Model):
    """Where a licence of this type may be passported to, and on what legal basis."""

    area: Area
    basis: Citation


class LicenceType(Model):
    """A kind of licence the regime grants."""

    code: Code
    name: str
    basis: Citation
    services: tuple[Code, ...] = Field(
        default=(), description="the services this licence type can grant (empty: any)"
    )
    passport: Passport | None = None
    transitional: bool = Field(
        default=False,
        description="a national licence kept only until the regime's transition ends",
    )


class Transition(Model):
    """A transitional period: national licences serve until a per-jurisdiction end date."""

    basis: Citation
    default_end: dt.date
    ends: dict[JurisdictionCode, dt.date] = Field(default_factory=dict)
    confidence: Confidence = "unverified"

    def end_for(self, jurisdiction: str) -> dt.date:
        """The day the transition is over in ``jurisdiction`` (services stop on that day)."""
        return self.ends.get(jurisdiction, self.default_end)


class Obligation(Model):
    """An obligation a rule attaches, with its value (a leverage cap, a threshold...)."""

    code: ObligationCode
    value: float | None = None
    currency: str | None = None

    @field_validator("currency")
    @classmethod
    def _currency(cls, value: str | None) -> str | None:
        if value is not None and not _CURRENCY.match(value):
            raise ValueError(f"currency {value!r} is not an ISO 4217 code (e.g. EUR)")
        return value


class Amount(Model):
    """An amount in a currency: a threshold, reached at ``value`` or only above it."""

    value: float = Field(ge=0)
    currency: str
    exceeding: bool = Field(
        default=False,
        description="the text says 'exceeding': the value itself does not reach the threshold",
    )

    @field_validator("currency")
    @classmethod
    def _currency(cls, value: str) -> str:
        if not _CURRENCY.match(value):
            raise ValueError(f"currency {value!r} is not an ISO 4217 code (e.g. EUR)")
        return value


class Rule(Model):
    """A prohibition, condition or obligation, with its legal basis and dates.

    ``binds: licence`` rules attach when a licence of this regime serves the request (conduct of
    business); ``binds: location`` rules attach whenever the customer is in ``where`` (or the
    regime's territory), whoever serves them (a local ban, a sanction). Empty filters match all.
    """

    id: Code
    kind: Literal["prohibition", "condition", "obligation"]
    title: str
    binds: Literal["licence", "location"] = "licence"
    where: Area | None = None
    products: tuple[Product, ...] = ()
    clients: tuple[Client, ...] = ()
    assets: tuple[str, ...] = Field(default=(), description="applies only to these assets")
    assets_except: tuple[str, ...] = Field(default=(), description="applies to all but these")
    amount_from: Amount | None = Field(
        default=None, description="applies from this amount (and when the amount is unknown)"
    )
    obligation: Obligation | None = None
    reason: ProhibitionReason = "prohibited"
    requires: Code | None = Field(
        default=None, description="condition: the approval the serving licence must carry"
    )
    basis: Citation
    effective_from: dt.date
    effective_until: dt.date | None = None
    confidence: Confidence = "unverified"
    note: str = ""

    def in_force_on(self, day: dt.date) -> bool:
        """Whether the rule applies on ``day`` (``effective_until`` is its first day off)."""
        return self.effective_from <= day and (
            self.effective_until is None or day < self.effective_until
        )


class Regime(Model):
    """A body of law that licenses some of the exchange's products somewhere."""

    code: Code
    name: str
    short: str
    instrument: Citation
    regulators: tuple[str, ...] = ()
    territory: Area
    applies_from: dt.date
    services: tuple[Service, ...] = ()
    products: dict[Product, tuple[Code, ...]] = Field(
        default_factory=dict,
        description="product -> the regime's services, any one of which a licence must hold",
    )
    client_categories: tuple[ClientCategory, ...] = ()
    licence_types: tuple[LicenceType, ...] = ()
    transition: Transition | None = None
    rules: tuple[Rule, ...] = ()
    note: str = ""


class CatalogueHeader(Model):
    """The catalogue's identity: its version and when it was last checked against the texts."""

    version: Annotated[str, StringConstraints(pattern=r"^\d{4}\.\d{2}\.\d+$")]
    reviewed_on: dt.date
    groups: dict[Code, str] = Field(description="group code -> its name (eu, eea...)")


class Catalogue(Model):
    """The whole catalogue: header, jurisdictions and regimes, cross-checked by the loader."""

    version: str
    digest: str = Field(description="SHA-256 of the catalogue's canonical JSON")
    reviewed_on: dt.date
    groups: dict[str, str]
    jurisdictions: dict[str, Jurisdiction]
    regimes: dict[str, Regime]
