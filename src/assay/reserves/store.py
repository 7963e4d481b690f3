"""The reserves tables: rounds (status, root, totals) and the users linked to exchange accounts.

A round's tree, its liabilities copy and its secret live in its folder under the data directory
(``<data_dir>/reserves/<round>/``, docs/formats/reserves-round.md), never in the database: the
row says what was built and whether it is published, the folder holds what proofs are read from.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, String
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
