"""The reserves tables: rounds, their reserves (addresses, balances) and reports, customer links.

A round's tree, its liabilities copy and its secret live in its folder under the data directory
(``<data_dir>/reserves/<round>/``, docs/formats/reserves-round.md), never in the database: the
row says what was built and whether it is published, the folder holds what proofs are read from.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from assay.platform.db import Base, UTCDateTime


class RoundRow(Base):
    """A proof-of-reserves round: ``built``, then ``published`` (and then never changed)."""

    __tablename__ = "reserves_rounds"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    status: Mapped[str] = mapped_column(String(20))
    snapshot_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(String(200))
    published_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), default=None)
    published_by: Mapped[str | None] = mapped_column(String(200), default=None)
    capacity: Mapped[int] = mapped_column(BigInteger)
    accounts: Mapped[int] = mapped_column(BigInteger)
    root: Mapped[str] = mapped_column(String(64))
    assets: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    totals: Mapped[dict[str, dict[str, str]]] = mapped_column(JSON)
    liabilities_sha256: Mapped[str] = mapped_column(String(64))
    anchor_leaf: Mapped[int | None] = mapped_column(BigInteger, default=None)


class CustomerLinkRow(Base):
    """A user who may fetch the proofs of one exchange account (a customer, for instance)."""

    __tablename__ = "reserves_customer_links"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    account_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(String(200))


class AddressRow(Base):
    """An address the exchange claims for a round, and what its ownership check found."""

    __tablename__ = "reserves_addresses"

    round_id: Mapped[str] = mapped_column(
        ForeignKey("reserves_rounds.id", ondelete="CASCADE"), primary_key=True
    )
    line: Mapped[int] = mapped_column(Integer, primary_key=True)
    network: Mapped[str] = mapped_column(String(40))
    address: Mapped[str] = mapped_column(String(200))
    asset: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(20))
    scheme: Mapped[str | None] = mapped_column(String(60), default=None)
    reason: Mapped[str] = mapped_column(String(500))
    message: Mapped[str] = mapped_column(String(500))


class BalanceRow(Base):
    """A reserve balance of a round: one asset at one address, true at one block height."""

    __tablename__ = "reserves_balances"

    round_id: Mapped[str] = mapped_column(
        ForeignKey("reserves_rounds.id", ondelete="CASCADE"), primary_key=True
    )
    line: Mapped[int] = mapped_column(Integer, primary_key=True)
    chain: Mapped[str] = mapped_column(String(40))
    asset: Mapped[str] = mapped_column(String(40))
    address: Mapped[str] = mapped_column(String(200))
    block_height: Mapped[int] = mapped_column(BigInteger)
    balance: Mapped[str] = mapped_column(String(80))
    source: Mapped[str] = mapped_column(String(200))


class ReportRow(Base):
    """The solvency report of a published round: issued once, signed, anchored, never changed."""

    __tablename__ = "reserves_reports"

    round_id: Mapped[str] = mapped_column(
        ForeignKey("reserves_rounds.id", ondelete="CASCADE"), primary_key=True
    )
    issued_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    issued_by: Mapped[str] = mapped_column(String(200))
    solvent: Mapped[bool] = mapped_column(Boolean)
    summary: Mapped[dict[str, Any]] = mapped_column(JSON)
    json_sha256: Mapped[str] = mapped_column(String(64))
    pdf_sha256: Mapped[str] = mapped_column(String(64))
    note: Mapped[str] = mapped_column(Text)
    anchor_leaf: Mapped[int | None] = mapped_column(BigInteger, default=None)
