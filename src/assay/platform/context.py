"""The context a use case runs in: its unit of work, who acts, the clock and the settings.

Routes, pages and commands build one per request or command and hand it to service functions, so a
service never reaches for globals and tests build contexts of their own.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from assay.errors import AuthenticationRequired
from assay.platform.clock import Clock
from assay.platform.db import UnitOfWork
from assay.platform.roles import Permission, Principal, authorize
from assay.settings import Settings

if TYPE_CHECKING:
    from assay.platform.record import RecordedEvent

#: Called with every batch of recorded events, inside the recording transaction.
RecordHook = Callable[["Context", Sequence["RecordedEvent"]], Any]


@dataclass
class Context:
    """One request's or command's view of the system."""

    uow: UnitOfWork
    clock: Clock
    settings: Settings
    actor: Principal | None = None
    record_hooks: tuple[RecordHook, ...] = ()

    @property
    def session(self) -> Session:
        """The unit of work's database session."""
        return self.uow.session

    def require(self, perm: Permission) -> Principal:
        """The acting principal, after checking it holds ``perm``."""
        actor = self.require_actor()
        authorize(actor, perm)
        return actor

    def require_actor(self) -> Principal:
        """The acting principal; AuthenticationRequired when nobody is signed in."""
        if self.actor is None:
            raise AuthenticationRequired("sign in first: this action needs a known user")
        return self.actor

    def commit(self) -> None:
        """Commit the unit of work."""
        self.uow.commit()
