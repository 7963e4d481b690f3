"""The service column of an ESMA CASP record, read as the letters of MiCA Art 3(1)(16).

ESMA's files list a provider's services as ``a. providing custody ... | c. exchange of
crypto-assets for funds``, in many wordings: separated by ``|``, ``;`` or ``,``, truncated,
several run together, and once with every letter shifted against wording that is right.
:func:`read_services` takes each item's letter and its wording; where they disagree the wording
wins, and every doubt is reported on the record (docs/formats/esma-register.md).

It never drops a service without a problem saying so and never raises on a value.
"""

from __future__ import annotations

import re

from assay.access.esma_record import Record, clean
from assay.access.esma_rows import MICA_SERVICES

# Words that name one service and no other, found in every wording seen in ESMA's files
# (truncated ones such as "d. exchange of crypto-assets for other" included).
_SERVICE_KEYWORDS: tuple[tuple[str, str], ...] = (
    ("a", "custody"),
    ("b", "trading platform"),
    ("c", "for funds"),
    ("d", "for other"),
    ("e", "execution of orders"),
    ("f", "placing"),
    ("g", "reception and transmission"),
    ("h", "advice"),
    ("i", "portfolio management"),
    ("j", "transfer services"),
)
# Service items are separated by "|" (sometimes ";", or ", " before the next letter).
_SERVICE_SEPARATOR = re.compile(r"[|;]|,\s*(?=[a-jA-J]\s*[.)])")
_SERVICE_ITEM = re.compile(r"([a-jA-J])\s*[.)]\s*(.*)", re.DOTALL)


def read_services(record: Record, column: str) -> tuple[str, ...]:
    """The service letters ``a`` to ``j`` a column lists, sorted; every doubt reported."""
    items = [i.strip(" .;,") for i in _SERVICE_SEPARATOR.split(clean(record.raw(column)))]
    if not any(items):
        record.report(column, record.raw(column), "no service listed; kept with none")
        return ()
    found: set[str] = set()
    for item in filter(None, items):
        letters, trouble = _service_item(item)
        found |= letters
        if trouble:
            record.report(column, item, trouble)
    return tuple(sorted(found))


def _service_item(item: str) -> tuple[set[str], str | None]:
    """The letters one list item stands for, and what was doubtful about it.

    The letter and the wording agree in a clean item. Where they disagree the wording wins: it is
    the longer evidence, and the one row seen that disagrees (CASP20260209.csv row 39) has every
    letter shifted by one against wording that is right.
    """
    match = _SERVICE_ITEM.fullmatch(item)
    letter = match[1].lower() if match else None
    text = match[2] if match else item
    named = _services_named(text)
    several = f"runs several services together ({', '.join(sorted(named))}); all were taken"
    if letter is None:
        if not named:
            return named, "names no MiCA Art 3(1)(16) service; ignored"
        return named, several if len(named) > 1 else None
    if not text.strip() or named == {letter}:
        return {letter}, None
    if not named:
        return {letter}, f"is not the wording of Art 3(1)({letter}); the letter {letter} was taken"
    if letter in named:
        return named, several
    wording = ", ".join(sorted(named))
    return named, (
        f"has the letter {letter} ({MICA_SERVICES[letter]}) but the wording of ({wording}); "
        "the wording was taken"
    )


def _services_named(text: str) -> set[str]:
    words = " ".join(text.lower().replace("-", " ").split())
    return {letter for letter, keyword in _SERVICE_KEYWORDS if keyword in words}
