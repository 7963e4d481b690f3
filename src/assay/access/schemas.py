"""The access capability's public schemas: licences in and out, register files, decisions in.

A licence file (``assay access licences import``, the demo group) is a :class:`LicenceFile`;
the API takes and returns the same :class:`LicenceIn` / :class:`LicencePublic` shapes
(docs/formats/licence-register.md). Checks that need the catalogue live in ``service.py``.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from assay.access.register import Status
from assay.errors import InvalidInput

M = TypeVar("M", bound=BaseModel)


def validated(model: type[M], data: object, *, source: str = "") -> M:
    """``data`` as ``model``, or an InvalidInput naming the first bad field and its value."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        loc = ".".join(str(p) for p in error["loc"]) or model.__name__
        prefix = f"{source}: " if source else ""
        raise InvalidInput(
            f"{prefix}{loc}: {error['msg']} (got {error.get('input')!r})",
            field=loc,
            value=error.get("input"),
        ) from exc


DeadlineKind = Literal["renewal", "reporting", "condition", "other"]


class Schema(BaseModel):
    """Base: unknown fields are refused."""

    model_config = ConfigDict(extra="forbid")


class StatusIn(Schema):
    """A status change of a licence."""

    status: Status
    date: dt.date
    note: str = ""


class PassportBlock(Schema):
    """Passports to ``to`` from ``since`` (until the day before ``until``)."""

    to: list[str] = Field(min_length=1)
    since: dt.date
    until: dt.date | None = None


class DeadlineIn(Schema):
    """A renewal, reporting or condition deadline of a licence."""

    kind: DeadlineKind
    due: dt.date
    title: str = Field(min_length=3, max_length=200)
    done_on: dt.date | None = None


class LicenceIn(Schema):
    """A licence as it is created or replaced."""

    reference: str = Field(min_length=2, max_length=80, pattern=r"^[A-Za-z0-9][A-Za-z0-9./ _-]*$")
    entity: str = Field(description="the legal entity's code")
    regime: str
    licence_type: str
    regulator: str = Field(min_length=2, max_length=200)
    home: str
    services: list[str] = Field(min_length=1)
    products: list[str] = Field(
        default_factory=list, description="empty: whatever the services allow"
    )
    clients: list[str] = Field(min_length=1, description="the regime's own client categories")
    approvals: list[str] = Field(default_factory=list, description="e.g. margin-trading")
    conditions: str = ""
    history: list[StatusIn] = Field(min_length=1)
    passports: list[PassportBlock] = Field(default_factory=list)
    deadlines: list[DeadlineIn] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _one_passport_block(cls, data: object) -> object:
        if isinstance(data, dict) and isinstance(data.get("passports"), dict):
            return {**data, "passports": [data["passports"]]}
        return data


class LicenceFile(Schema):
    """A file of licences (the demo group's, or an import)."""

    licences: list[LicenceIn]


class StatusChangeIn(Schema):
    """A new status for a licence (suspended, revoked, varied...)."""

    status: Status
    date: dt.date
    note: str = Field(default="", max_length=500)


class PassportPublic(Schema):
    """A passport of a licence."""

    jurisdiction: str
    since: dt.date
    until: dt.date | None


class DeadlinePublic(Schema):
    """A deadline of a licence."""

    id: int
    kind: DeadlineKind
    due: dt.date
    title: str
    done_on: dt.date | None


class LicencePublic(Schema):
    """A licence as the register holds it."""

    id: int
    reference: str
    entity: str
    entity_name: str
    regime: str
    licence_type: str
    regulator: str
    home: str
    services: list[str]
    products: list[str]
    clients: list[str]
    approvals: list[str]
    conditions: str
    status: Status | None = Field(description="the latest status")
    status_since: dt.date | None
    history: list[StatusIn]
    passports: list[PassportPublic]
    deadlines: list[DeadlinePublic]


class DecisionIn(Schema):
    """One market-access question (the API's request body, or one item of a list)."""

    jurisdiction: str
    client: str
    product: str
    asset: str | None = None
    amount: str | float | int | None = None
    currency: str | None = None
    as_of: str | None = Field(default=None, description="YYYY-MM-DD; default today")
    counterparty: str | None = Field(
        default=None, description="transfers: the receiving provider's name or LEI"
    )
    counterparty_jurisdiction: str | None = Field(
        default=None, description="where the receiving provider should be able to serve"
    )
