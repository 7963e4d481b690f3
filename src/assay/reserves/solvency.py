"""The solvency report: per asset, the reserves an exchange proved it controls against what it owes.

Pure: it takes a round's figures, the address claims with their ownership verdicts and the
balances, and returns the report as a dict (``assay-solvency-report/1``, docs/formats/
solvency-report.md). No database, no clock, no I/O.

What counts, and why (the rules are the report's, so they are stated once, here):

- **Liabilities** of an asset are the customers' equity in it: the round root's equity total.
  Customer *debt* (margin loans) is shown beside it but never netted against liabilities: netting
  lets an exchange fund fake accounts' debt in a liquid coin against equity in an illiquid one
  (the "dummy user" attack), so a borrowed coin must be covered in full like any other.
- **Reserves** of an asset count only at addresses whose ownership signature was *verified*.
  Balances at an address whose check is ``unverified`` (a chain with no offline check here) are
  shown but not counted; at a ``failed`` address or one nobody claimed, they are excluded.
- **Coverage** is per asset, never one converted total: an asset is covered when its counted
  reserves are at least its liabilities; the round is solvent when every asset is. The ratio is
  reserves / liabilities rounded *down* to four places (a ratio is never shown above the truth).
- A round's reserves should be read at the snapshot's instant: a chain whose balances are at
  several block heights is flagged, and so is a claim whose signed message does not name the
  round (a signature that could have been made for another round proves nothing about this one).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal
from typing import Any

from assay.reserves.chaindata import balance_key

REPORT_FORMAT = "assay-solvency-report/1"
RATIO_PLACES = Decimal("0.0001")

#: Ownership verdicts whose balances count, are shown, or are excluded.
COUNTED = "verified"
SHOWN = "unverified"


@dataclass(frozen=True, slots=True)
class Claim:
    """An address the exchange claims, with its ownership verdict."""

    network: str
    address: str
    status: str
    reason: str = ""
    scheme: str | None = None
    message: str = ""
    asset: str = ""
    line: int = 0


@dataclass(frozen=True, slots=True)
class Holding:
    """A reserve balance: ``balance`` of ``asset`` at ``address`` on ``chain`` at a block."""

    chain: str
    asset: str
    address: str
    block_height: int
    balance: Decimal
    source: str = ""
    line: int = 0


@dataclass(frozen=True, slots=True)
class RoundFigures:
    """What the report needs of the round itself."""

    id: str
    snapshot_at: str
    root: str
    accounts: int
    capacity: int
    assets: Sequence[Mapping[str, Any]]
    totals: Mapping[str, Mapping[str, str]]
    liabilities_sha256: str
    anchor_leaf: int | None = None
    published_at: str | None = None


def text(value: Decimal) -> str:
    """A decimal as plain text: ``1.5``, ``0``, never ``1.50E+3``."""
    if value == 0:
        return "0"
    return format(value.normalize(), "f")


def percent(ratio: str | None) -> str:
    """A report ratio (``"0.9700"``) as people read it (``97.00%``); ``-`` when nothing is owed."""
    return "-" if ratio is None else f"{Decimal(ratio) * 100:.2f}%"


def _address_key(network: str, address: str) -> tuple[str, str]:
    chain, normal, _, _ = balance_key(network, address, "", 0)
    return chain, normal


def assess(
    figures: RoundFigures,
    claims: Iterable[Claim],
    holdings: Iterable[Holding],
) -> dict[str, Any]:
    """The report of ``figures``' round for these claims and holdings (issued_at left out)."""
    claims = list(claims)
    holdings = list(holdings)
    verdicts = {_address_key(c.network, c.address): c for c in claims}
    counted: dict[str, Decimal] = defaultdict(Decimal)
    shown: dict[str, Decimal] = defaultdict(Decimal)
    excluded: dict[str, Decimal] = defaultdict(Decimal)
    heights: dict[str, set[int]] = defaultdict(set)
    rows = []
    for h in holdings:
        claim = verdicts.get(_address_key(h.chain, h.address))
        status = claim.status if claim else "unclaimed"
        asset = h.asset.upper()
        bucket = counted if status == COUNTED else shown if status == SHOWN else excluded
        bucket[asset] += h.balance
        heights[h.chain.upper()].add(h.block_height)
        rows.append(
            {
                "chain": h.chain.upper(),
                "asset": asset,
                "address": h.address,
                "block_height": h.block_height,
                "balance": text(h.balance),
                "ownership": status,
                "counted": status == COUNTED,
            }
        )
    assets = [_asset_line(a, figures.totals, counted, shown, excluded) for a in figures.assets]
    known = {a["code"] for a in figures.assets}
    for extra in sorted((set(counted) | set(shown) | set(excluded)) - known):
        assets.append(_extra_asset(extra, counted, shown, excluded))
    flags = _round_flags(figures, claims, holdings, heights)
    owed = [a for a in assets if a["liabilities"] != "0"]
    return {
        "format": REPORT_FORMAT,
        "round": {
            "id": figures.id,
            "snapshot_at": figures.snapshot_at,
            "published_at": figures.published_at,
            "root": figures.root,
            "anchor_leaf": figures.anchor_leaf,
            "accounts": figures.accounts,
            "capacity": figures.capacity,
            "liabilities_sha256": figures.liabilities_sha256,
        },
        "solvent": all(a["covered"] for a in owed),
        "assets": assets,
        "chains": _chains(claims, heights),
        "addresses": _address_counts(claims),
        "holdings": rows,
        "flags": flags,
    }


def _ratio(reserves: Decimal, liabilities: Decimal) -> str | None:
    if liabilities == 0:
        return None
    return text((reserves / liabilities).quantize(RATIO_PLACES, rounding=ROUND_DOWN))


def _asset_line(
    asset: Mapping[str, Any],
    totals: Mapping[str, Mapping[str, str]],
    counted: Mapping[str, Decimal],
    shown: Mapping[str, Decimal],
    excluded: Mapping[str, Decimal],
) -> dict[str, Any]:
    code = str(asset["code"])
    owed = Decimal(totals.get(code, {}).get("equity", "0"))
    debt = Decimal(totals.get(code, {}).get("debt", "0"))
    held = counted.get(code, Decimal(0))
    flags = []
    if held < owed:
        flags.append("short")
    if held == 0 and owed > 0:
        flags.append("no-reserves")
    if shown.get(code):
        flags.append("unverified-not-counted")
    if excluded.get(code):
        flags.append("failed-or-unclaimed-excluded")
    if debt > 0:
        flags.append("debt-not-netted")
    return {
        "asset": code,
        "decimals": int(asset["decimals"]),
        "liabilities": text(owed),
        "customer_debt": text(debt),
        "reserves": text(held),
        "reserves_unverified": text(shown.get(code, Decimal(0))),
        "reserves_excluded": text(excluded.get(code, Decimal(0))),
        "ratio": _ratio(held, owed),
        "covered": held >= owed,
        "surplus": text(held - owed),
        "flags": flags,
    }


def _extra_asset(
    code: str,
    counted: Mapping[str, Decimal],
    shown: Mapping[str, Decimal],
    excluded: Mapping[str, Decimal],
) -> dict[str, Any]:
    held = counted.get(code, Decimal(0))
    return {
        "asset": code,
        "decimals": None,
        "liabilities": "0",
        "customer_debt": "0",
        "reserves": text(held),
        "reserves_unverified": text(shown.get(code, Decimal(0))),
        "reserves_excluded": text(excluded.get(code, Decimal(0))),
        "ratio": None,
        "covered": True,
        "surplus": text(held),
        "flags": ["not-in-liabilities"],
    }


def _chains(claims: Sequence[Claim], heights: Mapping[str, set[int]]) -> list[dict[str, Any]]:
    by_chain: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for claim in claims:
        by_chain[claim.network.upper()][claim.status] += 1
    names = sorted(set(by_chain) | set(heights))
    return [
        {
            "chain": name,
            "block_heights": sorted(heights.get(name, ())),
            "addresses": sum(by_chain[name].values()),
            "verified": by_chain[name]["verified"],
            "unverified": by_chain[name]["unverified"],
            "failed": by_chain[name]["failed"],
        }
        for name in names
    ]


def _address_counts(claims: Sequence[Claim]) -> dict[str, int]:
    counts = {"total": len(claims), "verified": 0, "unverified": 0, "failed": 0}
    for claim in claims:
        counts[claim.status] = counts.get(claim.status, 0) + 1
    return counts


def _round_flags(
    figures: RoundFigures,
    claims: Sequence[Claim],
    holdings: Sequence[Holding],
    heights: Mapping[str, set[int]],
) -> list[dict[str, str]]:
    flags = []
    if not holdings:
        flags.append({"code": "no-reserves-imported", "detail": "no reserve balance was imported"})
    for chain, seen in sorted(heights.items()):
        if len(seen) > 1:
            flags.append(
                {
                    "code": "several-heights",
                    "detail": f"{chain} balances are at blocks "
                    f"{', '.join(map(str, sorted(seen)))}; a round's balances on one chain "
                    "should be read at one height",
                }
            )
    stale = sorted({c.message for c in claims if c.message and figures.id not in c.message})
    if stale:
        flags.append(
            {
                "code": "message-not-round-specific",
                "detail": f"signed messages that do not name round {figures.id}: "
                + "; ".join(repr(m) for m in stale[:3]),
            }
        )
    claimed = {_address_key(c.network, c.address) for c in claims}
    unclaimed = sum(1 for h in holdings if _address_key(h.chain, h.address) not in claimed)
    if unclaimed:
        flags.append(
            {
                "code": "unclaimed-balances",
                "detail": f"{unclaimed} balance rows are at addresses no ownership claim names",
            }
        )
    return flags


def summary(report: Mapping[str, Any]) -> dict[str, Any]:
    """The few figures the history of rounds keeps per report: solvency and ratios per asset."""
    return {
        "snapshot_at": report["round"]["snapshot_at"],
        "solvent": report["solvent"],
        "ratios": {a["asset"]: a["ratio"] for a in report["assets"] if a["ratio"] is not None},
        "flags": [f["code"] for f in report["flags"]],
    }
