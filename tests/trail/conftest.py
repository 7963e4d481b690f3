"""Helpers for trail tests: record changes through the platform, read the log back."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from assay.platform.context import Context
from assay.platform.record import ObjectRef, record
from assay.platform.roles import system_principal
from assay.platform.runtime import Runtime


def add_changes(runtime: Runtime, count: int, prefix: str = "test") -> list[int]:
    """Record ``count`` changes (one transaction each, as services do); returns event ids."""
    ids = []
    for number in range(count):
        with runtime.db.uow() as uow:
            ctx = runtime.context(uow, system_principal("tester"))
            event = record(
                ctx,
                f"{prefix}.change",
                ObjectRef("thing", number),
                before={"n": number},
                after={"n": number + 1, "note": "Zoë"},
            )
            uow.commit()
            ids.append(event.id)
    return ids


@pytest.fixture
def ctx(runtime: Runtime) -> Iterator[Context]:
    """An operator context (admin)."""
    with runtime.db.uow() as uow:
        yield runtime.context(uow, system_principal("operator"))
