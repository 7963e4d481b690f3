"""The licence register as plain facts: what the decision engine reads about the group's licences.

These frozen dataclasses are a snapshot of the database register (``store.py`` builds them); the
engine and the reference evaluator take them and nothing else, so a decision is a pure function of
(catalogue, register snapshot, request). Nothing here touches the database or the clock.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Literal

Status = Literal["applied", "granted", "varied", "suspended", "revoked", "lapsed", "withdrawn"]
STATUSES: tuple[str, ...] = (
    "applied",
    "granted",
    "varied",
    "suspended",
    "revoked",
    "lapsed",
    "withdrawn",
)
#: The statuses under which a licence may serve customers.
IN_FORCE: frozenset[str] = frozenset({"granted", "varied"})


@dataclass(frozen=True)
class StatusChange:
    """A licence's status from ``on`` until the next change."""

    status: Status
    on: dt.date
    note: str = ""


@dataclass(frozen=True)
class PassportGrant:
    """Where a licence is passported, from ``since`` until the day before ``until``."""

    jurisdiction: str
    since: dt.date
    until: dt.date | None = None

    def holds_on(self, day: dt.date) -> bool:
        """Whether the passport is live on ``day``."""
        return self.since <= day and (self.until is None or day < self.until)


@dataclass(frozen=True)
class Licence:
    """One licence of one entity, with its scope in the regime's own vocabulary."""

    reference: str
    entity: str
    entity_name: str
    regime: str
    licence_type: str
    regulator: str
    home: str
    services: frozenset[str]
    clients: frozenset[str]
    history: tuple[StatusChange, ...]
    products: frozenset[str] = frozenset()
    approvals: frozenset[str] = frozenset()
    passports: tuple[PassportGrant, ...] = ()
    conditions: str = ""

    def status_on(self, day: dt.date) -> StatusChange | None:
        """The status change in effect on ``day`` (None before the first)."""
        current: StatusChange | None = None
        for change in sorted(self.history, key=lambda c: c.on):
            if change.on <= day:
                current = change
        return current

    def dates(self) -> set[dt.date]:
        """Every day on which something about this licence changes."""
        days = {c.on for c in self.history}
        for p in self.passports:
            days.add(p.since)
            if p.until is not None:
                days.add(p.until)
        return days


@dataclass(frozen=True)
class Register:
    """A snapshot of the whole register; ``version`` grows with every recorded change."""

    version: int
    licences: tuple[Licence, ...] = field(default=())

    def to_json(self) -> dict[str, Any]:
        """The snapshot as plain JSON (stored per version so past decisions can be replayed)."""
        return {
            "version": self.version,
            "licences": [
                {
                    "reference": lic.reference,
                    "entity": lic.entity,
                    "entity_name": lic.entity_name,
                    "regime": lic.regime,
                    "licence_type": lic.licence_type,
                    "regulator": lic.regulator,
                    "home": lic.home,
                    "services": sorted(lic.services),
                    "clients": sorted(lic.clients),
                    "products": sorted(lic.products),
                    "approvals": sorted(lic.approvals),
                    "conditions": lic.conditions,
                    "history": [
                        {"status": c.status, "on": c.on.isoformat(), "note": c.note}
                        for c in lic.history
                    ],
                    "passports": [
                        {
                            "jurisdiction": p.jurisdiction,
                            "since": p.since.isoformat(),
                            "until": p.until.isoformat() if p.until else None,
                        }
                        for p in lic.passports
                    ],
                }
                for lic in self.licences
            ],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Register:
        """The inverse of :meth:`to_json`."""

        def day(value: str | None) -> dt.date | None:
            return dt.date.fromisoformat(value) if value else None

        return cls(
            version=int(data["version"]),
            licences=tuple(
                Licence(
                    reference=item["reference"],
                    entity=item["entity"],
                    entity_name=item["entity_name"],
                    regime=item["regime"],
                    licence_type=item["licence_type"],
                    regulator=item["regulator"],
                    home=item["home"],
                    services=frozenset(item["services"]),
                    clients=frozenset(item["clients"]),
                    products=frozenset(item["products"]),
                    approvals=frozenset(item["approvals"]),
                    conditions=item["conditions"],
                    history=tuple(
                        StatusChange(c["status"], dt.date.fromisoformat(c["on"]), c["note"])
                        for c in item["history"]
                    ),
                    passports=tuple(
                        PassportGrant(
                            p["jurisdiction"], dt.date.fromisoformat(p["since"]), day(p["until"])
                        )
                        for p in item["passports"]
                    ),
                )
                for item in data["licences"]
            ),
        )
