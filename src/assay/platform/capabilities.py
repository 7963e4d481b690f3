"""Capabilities: how a folder such as ``access/`` plugs into the platform without touching it.

A capability is a sub-package of ``assay`` with a ``manifest.py`` that defines ``CAPABILITY``, a
:class:`Capability`. The platform finds it at start-up (never at import) and mounts what it
declares: an API router under ``/api/v1``, page routes, a command group ``assay <name>``, navigation
entries, permissions, tables and their migrations (``<package>/migrations/versions``), templates
(``<package>/templates``), static files (``<package>/static``), a demo-data hook, a hook
called with every recorded change, path prefixes outside ``/api/`` that answer machines
(their errors are problem documents, not pages), and background work for the server's lifetime.
"""

from __future__ import annotations

import importlib
import importlib.util
import pkgutil
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from assay.platform.roles import Permission

if TYPE_CHECKING:
    import typer
    from fastapi import APIRouter

    from assay.platform.context import Context, RecordHook
    from assay.platform.runtime import Runtime
    from assay.settings import Settings

MANIFEST = "manifest"


@dataclass(frozen=True)
class NavItem:
    """An entry of the navigation bar, shown to holders of ``permission`` (or to everyone)."""

    label: str
    path: str
    permission: Permission | None = None


@dataclass(frozen=True)
class Capability:
    """What a capability contributes. Factories are called by the composition roots, not here."""

    name: str
    title: str
    summary: str
    order: int = 100
    api: Callable[[], APIRouter] | None = None
    pages: Callable[[], APIRouter] | None = None
    cli: Callable[[], typer.Typer] | None = None
    nav: tuple[NavItem, ...] = ()
    permissions: tuple[Permission, ...] = ()
    tables: str | None = None
    demo: Callable[[Context], None] | None = None
    record_hook: Callable[[Settings], RecordHook] | None = None
    machine_paths: tuple[str, ...] = ()
    lifespan: Callable[[Runtime], AbstractAsyncContextManager[None]] | None = None
    root: Path = field(default=Path())

    @property
    def templates_dir(self) -> Path | None:
        """The capability's Jinja2 templates folder, if it has one."""
        return _existing(self.root / "templates")

    @property
    def static_dir(self) -> Path | None:
        """The capability's static files folder, if it has one (served at /static/<name>)."""
        return _existing(self.root / "static")

    @property
    def migrations_dir(self) -> Path | None:
        """The capability's Alembic versions folder, if it has one."""
        return _existing(self.root / "migrations" / "versions")


def discover(package: str = "assay") -> list[Capability]:
    """Every capability found under ``package``: the platform first, then by order and name."""
    root = importlib.import_module(package)
    found: list[Capability] = []
    for info in pkgutil.iter_modules(root.__path__):
        if not info.ispkg:
            continue
        name = f"{package}.{info.name}.{MANIFEST}"
        if importlib.util.find_spec(name) is None:
            continue
        module = importlib.import_module(name)
        capability = getattr(module, "CAPABILITY", None)
        if not isinstance(capability, Capability):
            raise TypeError(f"{name}.CAPABILITY must be an assay Capability")
        found.append(replace(capability, root=Path(str(module.__file__)).parent))
    return sorted(found, key=lambda c: (c.name != "platform", c.order, c.name))


def import_tables(capabilities: list[Capability]) -> None:
    """Import every capability's table module so the shared metadata knows all tables."""
    for capability in capabilities:
        if capability.tables:
            importlib.import_module(capability.tables)


def _existing(path: Path) -> Path | None:
    return path if path.is_dir() else None
