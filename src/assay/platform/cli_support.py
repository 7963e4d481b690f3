"""What every ``assay`` command shares: the runtime, the acting principal, output helpers.

``operate(typer_ctx)`` yields a use-case Context on a fresh unit of work, acting as the user named
by ``--as`` (checked: must exist and be active) or, by default, as the local operator, who holds the
admin role because whoever can run commands against the database could change it anyway.
"""

from __future__ import annotations

import getpass
import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import typer
from pydantic import BaseModel
from rich.console import Console
from rich.table import Table
from sqlalchemy import select

from assay.errors import AuthenticationRequired
from assay.platform import migrate
from assay.platform.context import Context
from assay.platform.roles import Principal, Role, system_principal
from assay.platform.runtime import Runtime, build_runtime
from assay.platform.tables import User
from assay.settings import Settings


class CliState:
    """Held in the Typer context object: settings, actor option and a lazily built runtime."""

    def __init__(self, acting_as: str | None, console: Console | None = None) -> None:
        self.acting_as = acting_as
        self.console = console or Console(soft_wrap=True)  # keys and tokens must not wrap
        self._runtime: Runtime | None = None

    def runtime(self) -> Runtime:
        """The runtime for the environment's settings (built on first use)."""
        if self._runtime is None:
            self._runtime = build_runtime(Settings())
        return self._runtime

    def close(self) -> None:
        """Release the database connections the command opened."""
        if self._runtime is not None:
            self._runtime.db.dispose()


def state(ctx: typer.Context) -> CliState:
    """The CLI state of the root command."""
    root = ctx.find_root()
    if not isinstance(root.obj, CliState):
        root.obj = CliState(acting_as=None)
    return root.obj


def console(ctx: typer.Context) -> Console:
    """The console commands print to."""
    return state(ctx).console


@contextmanager
def operate(ctx: typer.Context, *, need_schema: bool = True) -> Iterator[Context]:
    """A use-case context for one command (its unit of work closes when the command ends)."""
    cli = state(ctx)
    runtime = cli.runtime()
    if need_schema:
        migrate.require_current(runtime.db, runtime.capabilities)
    with runtime.db.uow() as uow:
        use_case = runtime.context(uow)
        use_case.actor = _actor(use_case, cli.acting_as)
        yield use_case


def _actor(ctx: Context, acting_as: str | None) -> Principal:
    if acting_as is None:
        return system_principal(getpass.getuser())
    address = acting_as.strip().lower()
    user = ctx.session.scalar(select(User).where(User.email == address))
    if user is None or not user.active:
        raise AuthenticationRequired(
            f"--as {acting_as!r}: no active user with that email", field="--as", value=acting_as
        )
    return Principal(name=user.email, role=Role(user.role), user_id=user.id, via="cli")


def emit_json(ctx: typer.Context, data: Any) -> None:
    """Print ``data`` (pydantic models welcome) as JSON on standard output."""
    console(ctx).print_json(json.dumps(_plain(data), default=str), indent=2)


def _plain(data: Any) -> Any:
    if isinstance(data, BaseModel):
        return data.model_dump(mode="json")
    if isinstance(data, list | tuple):
        return [_plain(item) for item in data]
    if isinstance(data, dict):
        return {key: _plain(value) for key, value in data.items()}
    return data


def table(title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> Table:
    """A Rich table with Assay's look."""
    out = Table(title=title, title_justify="left", header_style="bold")
    for column in columns:
        out.add_column(column, overflow="fold")
    for row in rows:
        out.add_row(*("—" if cell is None else str(cell) for cell in row))
    return out
