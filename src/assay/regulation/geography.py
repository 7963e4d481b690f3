"""Where things apply: which jurisdictions an :class:`Area` covers on a given day.

A code covers its own subdivisions and zones (``AE-DU`` covers ``AE-DU-DIFC``) unless one of them
is excluded; a group covers its members on the days they are members. Pure functions.
"""

from __future__ import annotations

import datetime as dt

from assay.regulation.model import Area, Catalogue


def lineage(catalogue: Catalogue, code: str) -> tuple[str, ...]:
    """``code`` and its ancestors, most specific first (``AE-DU-DIFC``, ``AE-DU``, ``AE``)."""
    chain = [code]
    parent = catalogue.jurisdictions[code].parent
    while parent is not None:
        chain.append(parent)
        parent = catalogue.jurisdictions[parent].parent
    return tuple(chain)


def member_of(catalogue: Catalogue, code: str, group: str, day: dt.date) -> bool:
    """Whether ``code`` (or the country it lies in) belongs to ``group`` on ``day``."""
    for c in lineage(catalogue, code):
        for m in catalogue.jurisdictions[c].memberships:
            if m.group == group and m.holds_on(day):
                return True
    return False


def covers(catalogue: Catalogue, area: Area, code: str, day: dt.date) -> bool:
    """Whether ``area`` covers the jurisdiction ``code`` on ``day``."""
    chain = lineage(catalogue, code)
    if any(c in area.exclude for c in chain):
        return False
    if area.everywhere or any(c in area.codes for c in chain):
        return True
    return any(member_of(catalogue, code, g, day) for g in area.groups)


def area_dates(catalogue: Catalogue, area: Area) -> set[dt.date]:
    """The days on which what ``area`` covers can change (group membership dates)."""
    days: set[dt.date] = set()
    if not area.groups:
        return days
    for j in catalogue.jurisdictions.values():
        for m in j.memberships:
            if m.group in area.groups:
                days.add(m.since)
                if m.until is not None:
                    days.add(m.until)
    return days
