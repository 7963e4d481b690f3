"""Company names as lookup keys: case, accents, punctuation and legal forms folded away.

Used to match a counterparty named in a transfer against ESMA's registers, where one company is
written "Bitmymoney B.V. " in one file and "BITMYMONEY BV" in another. Pure.
"""

from __future__ import annotations

import re
import unicodedata

# Legal-form suffixes of EU/EEA (and common English) company names, as the words normalise_name
# leaves of them ("S.A." -> "s a", "s. r. o." -> "s r o", "& Co. KG" -> "and co kg").
_LEGAL_FORM_LIST = """
ab, abp, ad, ae, ag, aktiengesellschaft, anstalt, aps, as, asa, bv, bvba, corp, corporation, cv,
dac, dd, doo, ead, eg, ehf, eood, eurl, ev, gmbh, hf, ike, inc, incorporated, kft, kg, kgaa, lda,
limited, llc, llp, lp, ltd, ltda, nv, nyrt, ohg, oy, oyj, ood, ou, plc, sa, sab, sae, sarl, sas,
sasu, sau, sca, scs, se, sia, sl, sll, slu, snc, spa, sprl, srl, sro, ug, uab, zrt,
gmbh and co kgaa, gmbh and co kg, ag and co kg, and co kg, co kg, and co, et cie, and cie,
ug haftungsbeschrankt, sp z o o, sp k, spolka akcyjna, s a s u, s a r l, s a s, s a u, s r l,
s r o, s p a, s l u, j s a, d o o, e o o d, o o d, p l c, l t d, s a, s l, s e, b v, n v, a s,
a g, d d, e k, e v
"""
# The forms also written before the name ("UAB Decentralized", "SIA ...", "AS ...").
_LEADING_FORMS = frozenset({"uab", "sia", "as"})
# Longest first, so that "gmbh and co kg" goes as one suffix.
_LEGAL_FORMS: tuple[tuple[str, ...], ...] = tuple(
    sorted(
        {tuple(form.split()) for form in _LEGAL_FORM_LIST.split(",")},
        key=lambda form: (-len(form), form),
    )
)
# Letters NFKD does not decompose into a base letter and a mark.
_LETTERS = str.maketrans(
    {"ø": "o", "æ": "ae", "œ": "oe", "đ": "d", "ł": "l", "\u0131": "i", "þ": "th", "ð": "d"}
)
# Apostrophes (straight, typographic, grave, acute) join what they separate: "George's".
_APOSTROPHES = re.compile("['\u2019`\u00b4]")


def normalise_name(name: str) -> str:
    """The key a company name is looked up under.

    Case-folded (``ß`` becomes ``ss``), accents stripped (NFKD, then ``ø``, ``æ``, ``ł``... by
    hand), apostrophes dropped, ``&`` read as ``and``, every other run of punctuation or
    whitespace one space, and legal-form suffixes dropped from the end, repeatedly (``GmbH``,
    ``Ltd``, ``S.A.``, ``B.V.``, ``UAB``, ``s. r. o.``, ``AG``, ``SAS``, ``GmbH & Co. KG``...), as
    long as a word remains; ``UAB``, ``SIA`` and ``AS`` also from the front, where Baltic names
    put them. ``"Bitmymoney B.V. "`` and ``"BITMYMONEY BV"`` both give
    ``"bitmymoney"``; ``"Crypto Finance (Deutschland) GmbH"`` gives
    ``"crypto finance deutschland"``.

    Args:
        name: a legal or commercial name, as published.

    Returns:
        Lower-case ASCII-ish words separated by single spaces ("" for a name of punctuation only).
    """
    text = unicodedata.normalize("NFKD", name.casefold())
    text = "".join(c for c in text if not unicodedata.combining(c)).translate(_LETTERS)
    text = _APOSTROPHES.sub("", text).replace("&", " and ")
    words = re.findall(r"[^\W_]+", text)
    if len(words) > 1 and words[0] in _LEADING_FORMS:
        words = words[1:]
    trimmed = True
    while trimmed:
        trimmed = False
        for form in _LEGAL_FORMS:
            if len(words) > len(form) and tuple(words[-len(form) :]) == form:
                words = words[: -len(form)]
                trimmed = True
                break
    return " ".join(words)
