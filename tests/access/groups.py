"""Test helpers: put the demo group (entities and licences) into a test database."""

from __future__ import annotations

import datetime as dt
from typing import Any

from assay.access import service
from assay.platform import demo, entities
from assay.platform.roles import system_principal
from assay.platform.runtime import Runtime


def load_group(runtime: Runtime) -> None:
    """The demo group's entities and licences, without its users (Argon2 is slow on purpose)."""
    with runtime.db.uow() as uow:
        ctx = runtime.context(uow, system_principal("seed"))
        for entity in demo.read_demo().entities:
            entities.upsert_entity(ctx, **entity.model_dump(), lei=None)
        service.load_demo(ctx)


def licence(reference: str = "TEST-0001", **changes: Any) -> dict[str, Any]:
    """A valid MiCA licence of the demo EU entity, as the API and files take it."""
    body: dict[str, Any] = {
        "reference": reference,
        "entity": "kestrel-eu-casp",
        "regime": "mica",
        "licence_type": "casp",
        "regulator": "Test authority",
        "home": "MT",
        "services": ["a", "c"],
        "clients": ["client"],
        "history": [{"status": "granted", "date": "2025-06-01"}],
        "passports": [{"to": ["DE"], "since": "2025-07-01"}],
        "deadlines": [{"kind": "renewal", "due": "2026-04-01", "title": "test renewal"}],
    }
    body.update(changes)
    return body


DAY = dt.date(2026, 3, 1)
