"""The group's legal entities: the companies that hold licences and serve customers."""

from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import select

from assay.errors import InvalidInput, NotFound
from assay.platform.context import Context
from assay.platform.record import ObjectRef, record
from assay.platform.roles import ENTITIES_WRITE
from assay.platform.schemas import EntityPublic, entity_public
from assay.platform.tables import LegalEntity

_CODE = re.compile(r"^[a-z0-9][a-z0-9-]{1,49}$")
# ISO 3166-1 alpha-2, optionally with an ISO 3166-2 subdivision (AE-DU).
_JURISDICTION = re.compile(r"^[A-Z]{2}(-[A-Z0-9]{1,3})?$")


def list_entities(ctx: Context) -> list[EntityPublic]:
    """Every legal entity, by code."""
    ctx.require_actor()
    rows = ctx.session.scalars(select(LegalEntity).order_by(LegalEntity.code))
    return [entity_public(e) for e in rows]


def get_entity(ctx: Context, code: str) -> EntityPublic:
    """The entity with ``code``; NotFound otherwise."""
    ctx.require_actor()
    entity = ctx.session.scalar(select(LegalEntity).where(LegalEntity.code == code))
    if entity is None:
        raise NotFound(f"no legal entity with code {code!r}", field="code", value=code)
    return entity_public(entity)


def upsert_entity(
    ctx: Context,
    *,
    code: str,
    name: str,
    role: str,
    home_jurisdiction: str,
    regime: str,
    authorised_on: dt.date | None,
    scope: str,
    lei: str | None = None,
) -> EntityPublic:
    """Create the entity ``code`` or bring it up to date; recorded only when something changed."""
    ctx.require(ENTITIES_WRITE)
    if not _CODE.match(code):
        raise InvalidInput(
            f"entity code {code!r} must be 2-50 lower-case letters, digits or hyphens",
            field="code",
            value=code,
        )
    if not _JURISDICTION.match(home_jurisdiction):
        raise InvalidInput(
            f"home_jurisdiction {home_jurisdiction!r} is not an ISO 3166 code (e.g. MT, AE-DU)",
            field="home_jurisdiction",
            value=home_jurisdiction,
        )
    entity = ctx.session.scalar(select(LegalEntity).where(LegalEntity.code == code))
    before = entity_public(entity).model_dump(mode="json", exclude={"id"}) if entity else None
    if entity is None:
        entity = LegalEntity(code=code)
        ctx.session.add(entity)
    entity.name, entity.role, entity.home_jurisdiction = name, role, home_jurisdiction
    entity.regime, entity.authorised_on, entity.scope, entity.lei = (
        regime,
        authorised_on,
        scope,
        lei,
    )
    ctx.session.flush()
    public = entity_public(entity)
    after = public.model_dump(mode="json", exclude={"id"})
    if after != before:
        action = "platform.entity.add" if before is None else "platform.entity.update"
        record(ctx, action, ObjectRef("legal_entity", code), before=before, after=after)
    ctx.commit()
    return public
