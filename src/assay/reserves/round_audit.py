"""What the audit of a round folder reports: the recomputed figures and every discrepancy.

``service.audit_folder`` recomputes a round from its folder alone
(docs/formats/reserves-round.md) and fills an :class:`AuditReport`: one :class:`Discrepancy` (a
stable ``code``, a sentence, where) for each thing the folder says that the recomputation does
not. :meth:`AuditReport.to_json` is what the API and ``assay reserves audit --json`` give.

Plain data: it recomputes nothing itself and never touches a file or the database.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Discrepancy:
    """One thing a round folder says that the recomputation does not (``code`` is stable)."""

    code: str
    message: str
    where: str = ""


@dataclass
class AuditReport:
    """What a recomputation of a round folder found: the figures and every discrepancy."""

    folder: str
    round_id: str | None = None
    accounts: int | None = None
    capacity: int | None = None
    root: str | None = None
    totals: dict[str, dict[str, str]] = field(default_factory=dict)
    discrepancies: list[Discrepancy] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Whether nothing differs."""
        return not self.discrepancies

    def add(self, code: str, message: str, where: str = "") -> None:
        """Note a discrepancy."""
        self.discrepancies.append(Discrepancy(code, message, where))

    def to_json(self) -> dict[str, Any]:
        """The report as the API and ``--json`` give it."""
        return {
            "ok": self.ok,
            "folder": self.folder,
            "round": self.round_id,
            "accounts": self.accounts,
            "capacity": self.capacity,
            "root": self.root,
            "totals": self.totals,
            "discrepancies": [d.__dict__ for d in self.discrepancies],
        }
