"""Who a counterparty is in ESMA's registers: the pure matching core (no database).

A :class:`Listing` is one row of a live register; an :class:`Index` finds listings by LEI (the
identity) or by name under :func:`assay.access.esma.normalise_name`: exact first, then prefix,
then contains. Used by :mod:`assay.access.counterparties`, which loads the live rows.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from assay.access import esma
from assay.errors import InvalidInput

Status = Literal["authorised", "unauthorised"]
How = Literal["lei", "exact", "prefix", "contains"]
_LEI = re.compile(r"[0-9A-Z]{18}[0-9]{2}")
_JURISDICTION = re.compile(r"[A-Z]{2}(-[A-Z0-9]{1,3})?")
# EU institutions write EL for Greece; the register is stored with ISO 3166-1 codes (GR).
_JURISDICTION_ALIASES = {"EL": "GR", "UK": "GB"}
# Separators between the several names some commercial-name cells hold
# ("Skrill, NETELLER", "Push / Aave Push", "Amdax B.V.|Amdax Group|Novelist").
_NAME_SEPARATOR = re.compile(r"\s*[|;]\s*|,\s+|\s+/\s+")
_TIERS: dict[How, int] = {"lei": 0, "exact": 0, "prefix": 1, "contains": 2}


@dataclass(frozen=True, slots=True)
class Listing:
    """One row of a live register, as lookups see it.

    Attributes:
        status: ``authorised`` (CASP file) or ``unauthorised`` (NCASP file).
        import_id: the import it came from.
        name: the legal name (CASP) or listed name (NCASP).
        commercial_name: the name(s) it trades under, as published, or None.
        lei: its LEI, or None.
        home_state: the home Member State (CASP) or the listing authority's state (NCASP).
        authority: the competent authority.
        authorised_on: the authorisation or notification date (CASP).
        authorisation_ends: when the authorisation ends (CASP), or None.
        services: MiCA Art 3(1)(16) letters (CASP).
        passported_to: the states it serves as published (MiCA Art 65), home state or not.
        websites: its websites.
        listed_on: the authority's decision date (NCASP).
        reason: the authority's reason (NCASP), or None.
        keys: every name it is found under, normalised.
    """

    status: Status
    import_id: int
    name: str
    commercial_name: str | None
    lei: str | None
    home_state: str
    authority: str
    authorised_on: dt.date | None = None
    authorisation_ends: dt.date | None = None
    services: tuple[str, ...] = ()
    passported_to: tuple[str, ...] = ()
    websites: tuple[str, ...] = ()
    listed_on: dt.date | None = None
    reason: str | None = None
    keys: tuple[str, ...] = ()

    def serves(self, jurisdiction: str, today: dt.date) -> bool:
        """Whether it may provide crypto-asset services in ``jurisdiction`` on ``today``.

        Only an authorised provider may, in its home state or a state it passports to
        (MiCA Art 59(1), Art 65), until its authorisation ends (not on the end date itself).
        """
        if self.status != "authorised":
            return False
        if self.authorisation_ends is not None and self.authorisation_ends <= today:
            return False
        return jurisdiction == self.home_state or jurisdiction in self.passported_to


def name_keys(name: str, commercial_name: str | None) -> tuple[str, ...]:
    """Every key a listing is found under: its name, its commercial name, and each part of it.

    A part that is only a legal form (the ``S.A.`` of ``"Foo, S.A."``) is not a name of its own.
    """
    names = [name]
    if commercial_name:
        names.append(commercial_name)
        names.extend(p for p in _NAME_SEPARATOR.split(commercial_name) if _names_something(p))
    return tuple(dict.fromkeys(k for k in map(esma.normalise_name, names) if k))


def _names_something(part: str) -> bool:
    # normalise_name drops trailing legal forms only while a word remains: behind a word of its
    # own, a part that is nothing but a legal form disappears.
    return esma.normalise_name(f"x {part}") != "x"


class Index:
    """The live listings, ready to match a query: by LEI, then by name key."""

    def __init__(self, listings: Iterable[Listing]) -> None:
        self.listings = tuple(listings)
        self._by_lei: dict[str, list[Listing]] = {}
        for listing in self.listings:
            if listing.lei:
                self._by_lei.setdefault(listing.lei, []).append(listing)

    def find(self, query: str, *, limit: int = 20) -> list[tuple[Listing, How]]:
        """The listings matching ``query`` and how, best first.

        An LEI (20 characters, any case) matches exactly; anything else is a name: an exact
        normalised match first, then names that start with it, then names that contain it;
        within each, authorised providers before unauthorised entities, then by name.

        Raises:
            InvalidInput: the query is empty or holds no letter or digit.
        """
        text = " ".join(query.split())
        if not text:
            raise InvalidInput(
                "give a name or an LEI to look up", field="query", value=query, accepted="text"
            )
        lei = text.replace(" ", "").upper()
        if _LEI.fullmatch(lei) and lei in self._by_lei:
            return [(listing, "lei") for listing in self._by_lei[lei][:limit]]
        key = esma.normalise_name(text)
        if not key:
            raise InvalidInput(
                f"query {query!r} holds no letter or digit to look a name up by",
                field="query",
                value=query,
            )
        ranked: list[tuple[int, int, str, int, Listing, How]] = []
        for position, listing in enumerate(self.listings):
            how = _how(listing.keys, key)
            if how is not None:
                order = (_TIERS[how], listing.status != "authorised", listing.name.casefold())
                ranked.append((*order, position, listing, how))
        ranked.sort(key=lambda item: item[:4])
        return [(listing, how) for *_, listing, how in ranked[:limit]]


def _how(keys: Sequence[str], key: str) -> How | None:
    if key in keys:
        return "exact"
    if any(k.startswith(key) for k in keys):
        return "prefix"
    if any(key in k for k in keys):
        return "contains"
    return None


def normalise_jurisdiction(value: str | None) -> str | None:
    """An ISO 3166 code as the register stores it (``el`` -> ``GR``); None for none given.

    Raises:
        InvalidInput: the value is not an ISO 3166-1 alpha-2 or ISO 3166-2 code.
    """
    if value is None or not value.strip():
        return None
    code = value.strip().upper()
    code = _JURISDICTION_ALIASES.get(code, code)
    if not _JURISDICTION.fullmatch(code):
        raise InvalidInput(
            f"jurisdiction {value!r} is not an ISO 3166 code; use e.g. FR, DE, GR or AE-DU",
            field="jurisdiction",
            value=value,
        )
    return code
