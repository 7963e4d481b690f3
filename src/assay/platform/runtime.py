"""The composition root's product: everything a running Assay needs, built once from Settings.

``build_runtime(settings)`` is called by ``create_app`` and by the CLI; tests call it with their own
settings and clock. Building one opens no connection: the engine connects on first use.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from assay.platform.capabilities import Capability, discover, import_tables
from assay.platform.clock import Clock, SystemClock
from assay.platform.context import Context, RecordHook
from assay.platform.db import Database, UnitOfWork
from assay.platform.roles import Principal
from assay.settings import Settings


@dataclass
class Runtime:
    """Settings, database, clock and the capabilities found."""

    settings: Settings
    db: Database
    clock: Clock
    capabilities: list[Capability] = field(default_factory=list)
    record_hooks: tuple[RecordHook, ...] = ()
    #: Per-runtime objects a capability keeps (the trail's appender thread, for instance).
    extensions: dict[str, Any] = field(default_factory=dict)

    def context(self, uow: UnitOfWork, actor: Principal | None = None) -> Context:
        """A use-case context on ``uow``, with every capability's record hook."""
        return Context(
            uow=uow,
            clock=self.clock,
            settings=self.settings,
            actor=actor,
            record_hooks=self.record_hooks,
        )


def build_runtime(
    settings: Settings,
    *,
    clock: Clock | None = None,
    capabilities: list[Capability] | None = None,
) -> Runtime:
    """Wire a runtime: discover capabilities (unless given), register their tables, the engine."""
    capabilities = discover() if capabilities is None else capabilities
    import_tables(capabilities)
    return Runtime(
        settings=settings,
        db=Database(settings.effective_database_url),
        clock=clock or SystemClock(),
        capabilities=capabilities,
        record_hooks=tuple(c.record_hook(settings) for c in capabilities if c.record_hook),
    )
