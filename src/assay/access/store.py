"""The access capability's tables: the licence register, its versions, screenings, ESMA registers.

``access_licences`` and its children (status history, passports, deadlines) are the register as
people edit it. Every change also writes ``access_register_versions``: the whole register as JSON
with its digest, so any past decision can be replayed against the register it was made on.
``access_catalogues`` keeps each catalogue version that decisions were made with.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from assay.platform.db import Base, UTCDateTime


class LicenceRow(Base):
    """A licence held by one of the group's legal entities."""

    __tablename__ = "access_licences"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reference: Mapped[str] = mapped_column(String(80), unique=True)
    entity_id: Mapped[int] = mapped_column(ForeignKey("legal_entities.id"))
    regime: Mapped[str] = mapped_column(String(64))
    licence_type: Mapped[str] = mapped_column(String(64))
    regulator: Mapped[str] = mapped_column(String(200))
    home: Mapped[str] = mapped_column(String(20))
    services: Mapped[list[str]] = mapped_column(JSON)
    products: Mapped[list[str]] = mapped_column(JSON)
    clients: Mapped[list[str]] = mapped_column(JSON)
    approvals: Mapped[list[str]] = mapped_column(JSON)
    conditions: Mapped[str] = mapped_column(Text, default="")
    history: Mapped[list[StatusRow]] = relationship(
        order_by="StatusRow.date, StatusRow.id", cascade="all, delete-orphan"
    )
    passports: Mapped[list[PassportRow]] = relationship(
        order_by="PassportRow.jurisdiction, PassportRow.since", cascade="all, delete-orphan"
    )
    deadlines: Mapped[list[DeadlineRow]] = relationship(
        order_by="DeadlineRow.due, DeadlineRow.id", cascade="all, delete-orphan"
    )


class StatusRow(Base):
    """A status change of a licence (applied, granted, varied, suspended, revoked, lapsed...)."""

    __tablename__ = "access_licence_status"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    licence_id: Mapped[int] = mapped_column(ForeignKey("access_licences.id"), index=True)
    status: Mapped[str] = mapped_column(String(20))
    date: Mapped[dt.date]
    note: Mapped[str] = mapped_column(Text, default="")


class PassportRow(Base):
    """A passport of a licence into one jurisdiction."""

    __tablename__ = "access_passports"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    licence_id: Mapped[int] = mapped_column(ForeignKey("access_licences.id"), index=True)
    jurisdiction: Mapped[str] = mapped_column(String(20))
    since: Mapped[dt.date]
    until: Mapped[dt.date | None] = mapped_column(default=None)


class DeadlineRow(Base):
    """A renewal, reporting or condition deadline of a licence."""

    __tablename__ = "access_deadlines"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    licence_id: Mapped[int] = mapped_column(ForeignKey("access_licences.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    due: Mapped[dt.date] = mapped_column(index=True)
    title: Mapped[str] = mapped_column(String(200))
    done_on: Mapped[dt.date | None] = mapped_column(default=None)


class RegisterVersionRow(Base):
    """The whole register after one change: decisions cite its version, replays read it."""

    __tablename__ = "access_register_versions"

    version: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    digest: Mapped[str] = mapped_column(String(64))
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSON)


class CatalogueRow(Base):
    """A catalogue version decisions were made with, kept for replay."""

    __tablename__ = "access_catalogues"

    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    version: Mapped[str] = mapped_column(String(20))
    first_used_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    content: Mapped[dict[str, Any]] = mapped_column(JSON)


class ScreeningRow(Base):
    """A batch screening job submitted through the API, and its result (gzip CSV)."""

    __tablename__ = "access_screenings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    status: Mapped[str] = mapped_column(String(20))
    submitted_by: Mapped[str] = mapped_column(String(200))
    submitted_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), default=None)
    file_name: Mapped[str] = mapped_column(String(200))
    rows: Mapped[int] = mapped_column(Integer, default=0)
    allowed: Mapped[int] = mapped_column(Integer, default=0)
    refused: Mapped[int] = mapped_column(Integer, default=0)
    invalid: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    source: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    result: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)


class CaspRow(Base):
    """An authorised crypto-asset service provider from ESMA's interim MiCA register."""

    __tablename__ = "access_esma_casps"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    import_id: Mapped[int] = mapped_column(ForeignKey("access_esma_imports.id"), index=True)
    name: Mapped[str] = mapped_column(String(300))
    name_key: Mapped[str] = mapped_column(String(300), index=True)
    commercial_name: Mapped[str] = mapped_column(String(300), default="")
    lei: Mapped[str | None] = mapped_column(String(20), index=True, default=None)
    home_state: Mapped[str] = mapped_column(String(2))
    authority: Mapped[str] = mapped_column(String(300), default="")
    authorised_on: Mapped[dt.date | None] = mapped_column(default=None)
    authorisation_ends: Mapped[dt.date | None] = mapped_column(default=None)
    services: Mapped[list[str]] = mapped_column(JSON)
    passported_to: Mapped[list[str]] = mapped_column(JSON)
    website: Mapped[str] = mapped_column(String(500), default="")


class UnauthorisedRow(Base):
    """An entity ESMA lists as providing crypto-asset services without authorisation."""

    __tablename__ = "access_esma_unauthorised"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    import_id: Mapped[int] = mapped_column(ForeignKey("access_esma_imports.id"), index=True)
    name: Mapped[str] = mapped_column(String(300))
    name_key: Mapped[str] = mapped_column(String(300), index=True)
    commercial_name: Mapped[str] = mapped_column(String(300), default="")
    lei: Mapped[str | None] = mapped_column(String(20), index=True, default=None)
    home_state: Mapped[str] = mapped_column(String(2))
    website: Mapped[str] = mapped_column(String(500), default="")
    details: Mapped[dict[str, Any]] = mapped_column(JSON)


class EsmaImportRow(Base):
    """One imported ESMA file; the latest import of each kind is the live register."""

    __tablename__ = "access_esma_imports"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))
    file_name: Mapped[str] = mapped_column(String(300))
    sha256: Mapped[str] = mapped_column(String(64))
    imported_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    rows: Mapped[int] = mapped_column(Integer)
    problems: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
