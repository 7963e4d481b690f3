"""The ``assay`` command: the platform's commands plus a group per discovered capability.

:func:`main` is the one place where errors become messages and exit codes (docs/cli.md): an
AssayError prints ``error [code]: message`` on standard error and exits with its code; anything
unexpected prints one line (never a traceback, unless ``ASSAY_DEBUG=1``) and exits 1.
"""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from sqlalchemy.exc import DBAPIError, IntegrityError

from assay.errors import AssayError, Conflict, DatabaseUnavailable, ExitCode
from assay.platform import commands
from assay.platform.capabilities import Capability, discover
from assay.platform.cli_support import CliState


def build_cli(capabilities: list[Capability] | None = None) -> typer.Typer:
    """The root command with every capability's command group mounted."""
    app = typer.Typer(
        name="assay",
        help="Assay: market access, ISMS, proof of reserves and a tamper-evident trail.",
        no_args_is_help=True,
        pretty_exceptions_enable=False,
        add_completion=False,
    )

    @app.callback()
    def root(
        ctx: typer.Context,
        acting_as: Annotated[
            str | None,
            typer.Option(
                "--as",
                envvar="ASSAY_ACTOR",
                help="Act as this user (their role is checked); default: the local operator.",
            ),
        ] = None,
    ) -> None:
        ctx.obj = CliState(acting_as=acting_as)
        ctx.call_on_close(ctx.obj.close)

    commands.register(app)
    for capability in discover() if capabilities is None else capabilities:
        if capability.cli is not None:
            app.add_typer(capability.cli(), name=capability.name, help=capability.summary)
    return app


def run(args: list[str] | None = None, *, err: Console | None = None) -> int:
    """Run the CLI with ``args`` and return its exit code (tests call this directly)."""
    errors = err or Console(stderr=True)
    try:
        result = build_cli()(args=args, prog_name="assay", standalone_mode=False)
    except Exception as exc:  # noqa: BLE001 - this is the one place errors become exit codes
        return _failure(errors, exc)
    return int(result) if isinstance(result, int) else ExitCode.OK


def _failure(errors: Console, exc: Exception) -> int:
    if isinstance(exc, typer.Abort):
        errors.print("aborted")
        return ExitCode.ERROR
    if isinstance(exc, typer.TyperException):  # usage errors: unknown command, bad option
        exc.show(file=sys.stderr)  # type: ignore[attr-defined]
        return int(getattr(exc, "exit_code", ExitCode.INVALID_INPUT))
    error = _translate(exc)
    if error is None:
        if os.environ.get("ASSAY_DEBUG") == "1":
            raise exc
        error = AssayError(
            f"unexpected error ({type(exc).__name__}): {exc}. "
            "Run again with ASSAY_DEBUG=1 to see where."
        )
    return _report(errors, error)


def _translate(exc: Exception) -> AssayError | None:
    if isinstance(exc, AssayError):
        return exc
    if isinstance(exc, IntegrityError):
        return Conflict(f"the change clashes with stored data: {exc.orig}")
    if isinstance(exc, DBAPIError):
        return DatabaseUnavailable(f"database error: {exc.orig}")
    return None


def _report(errors: Console, exc: AssayError) -> int:
    errors.print(
        f"[red]error[/red] \\[{exc.code}]: {escape(exc.message)}",
        markup=True,
        highlight=False,
        soft_wrap=True,
    )
    return int(exc.exit_code)


def main() -> None:
    """Console-script entry point."""
    sys.exit(run())
