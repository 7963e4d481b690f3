"""The platform's commands: ``serve``, ``db``, ``demo``, ``users``, ``tokens``, ``version``.

Each command parses its options, calls the same service functions as the API and the pages, and
prints a Rich table or, with ``--json``, the same data as the API returns.
"""

from __future__ import annotations

import platform as host
from typing import Annotated

import sqlalchemy
import typer

import assay
from assay.platform import demo, migrate, tokens, users
from assay.platform.cli_support import console, emit_json, operate, state, table
from assay.platform.db import redact_url
from assay.platform.roles import ROLE_DESCRIPTIONS, Role
from assay.settings import Settings

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


def version(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """Print Assay's version."""
    info = {
        "assay": assay.__version__,
        "python": host.python_version(),
        "sqlalchemy": sqlalchemy.__version__,
    }
    if as_json:
        emit_json(ctx, info)
    else:
        console(ctx).print(f"assay {info['assay']} (Python {info['python']})")


def serve(
    ctx: typer.Context,
    host_: Annotated[str | None, typer.Option("--host", help="Address to listen on.")] = None,
    port: Annotated[int | None, typer.Option("--port", help="Port to listen on.")] = None,
    workers: Annotated[int, typer.Option(help="Worker processes.", min=1)] = 1,
) -> None:
    """Serve the web pages and the API (creates the database schema if the database is new)."""
    import uvicorn  # noqa: PLC0415 - only this command needs the server

    settings = Settings()
    settings.check()
    runtime = state(ctx).runtime()
    runtime.db.ping()
    found = migrate.state(runtime.db, runtime.capabilities)
    out = console(ctx)
    if found is migrate.SchemaState.NEW:
        migrate.upgrade(runtime.db, runtime.capabilities)
        out.print(f"Created the database schema at {redact_url(runtime.db.url)}")
    else:
        migrate.require_current(runtime.db, runtime.capabilities)
    runtime.db.dispose()
    bind_host, bind_port = host_ or settings.host, port or settings.port
    shown = "localhost" if bind_host in {"127.0.0.1", "0.0.0.0"} else bind_host  # noqa: S104
    out.print(
        f"Assay {assay.__version__} at [bold]http://{shown}:{bind_port}/[/bold] "
        f"({settings.env}; database {runtime.db.backend})"
    )
    uvicorn.run(
        "assay.app:app_from_env",
        factory=True,
        host=bind_host,
        port=bind_port,
        workers=workers,
        log_level="info",
    )


db_app = typer.Typer(help="The database schema.", no_args_is_help=True)


@db_app.command("upgrade")
def db_upgrade(ctx: typer.Context) -> None:
    """Apply every pending migration (safe to run again)."""
    runtime = state(ctx).runtime()
    before, after = migrate.upgrade(runtime.db, runtime.capabilities)
    where = redact_url(runtime.db.url)
    if before == after:
        console(ctx).print(
            f"Database at {where} is already up to date ({', '.join(sorted(after))})."
        )
    else:
        console(ctx).print(f"Upgraded {where} to {', '.join(sorted(after))}.")


@db_app.command("status")
def db_status(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """Show the schema revision of the database and of this version of Assay."""
    runtime = state(ctx).runtime()
    info = {
        "database": redact_url(runtime.db.url),
        "backend": runtime.db.backend,
        "state": migrate.state(runtime.db, runtime.capabilities).value,
        "current": sorted(migrate.current(runtime.db)),
        "heads": sorted(migrate.heads(runtime.capabilities)),
    }
    if as_json:
        emit_json(ctx, info)
        return
    rows = [(k, ", ".join(v) if isinstance(v, list) else v) for k, v in info.items()]
    console(ctx).print(table("Database", ["", ""], rows))


demo_app = typer.Typer(help="The demo exchange group.", no_args_is_help=True)


@demo_app.command("load")
def demo_load(
    ctx: typer.Context,
    force: Annotated[
        bool, typer.Option(help="Load even outside development (throw-away installs only).")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Load the demo group: its legal entities, one user per role, and each capability's data."""
    runtime = state(ctx).runtime()
    with operate(ctx) as use_case:
        report = demo.load_demo(use_case, runtime.capabilities, force=force)
    if as_json:
        emit_json(ctx, report.__dict__)
        return
    out = console(ctx)
    out.print(
        f"Loaded the demo group [bold]{report.group}[/bold]: {len(report.entities)} entities."
    )
    rows = [(u["email"], u["role"], u["status"]) for u in report.users]
    out.print(table("Demo sign-in", ["email", "role", "status"], rows))
    out.print(f"Password for every demo user: [bold]{report.password}[/bold]")


users_app = typer.Typer(help="People who sign in, and their roles.", no_args_is_help=True)
RoleArg = Annotated[
    str, typer.Argument(help="One of: " + ", ".join(r.value for r in Role), show_default=False)
]


@users_app.command("add")
def users_add(
    *,
    ctx: typer.Context,
    email: str,
    role: Annotated[str, typer.Option(help="One of: " + ", ".join(r.value for r in Role))],
    name: Annotated[str | None, typer.Option(help="Full name (default: the email).")] = None,
    password: Annotated[
        str | None,
        typer.Option(envvar="ASSAY_NEW_PASSWORD", help="Initial password (prompted if absent)."),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Add a user."""
    chosen = Role.parse(role)
    secret = password or typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    with operate(ctx) as use_case:
        added = users.add_user(
            use_case, email=email, name=name or email, role=chosen, password=secret
        )
    if as_json:
        emit_json(ctx, added)
    else:
        console(ctx).print(f"Added {added.email} ({added.role.value}).")


@users_app.command("list")
def users_list(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """List users."""
    with operate(ctx) as use_case:
        found = users.list_users(use_case)
    if as_json:
        emit_json(ctx, found)
        return
    rows = [
        (
            u.id,
            u.email,
            u.name,
            u.role.value,
            "active" if u.active else "disabled",
            u.last_signin_at and f"{u.last_signin_at:%Y-%m-%d %H:%M}",
        )
        for u in found
    ]
    console(ctx).print(
        table("Users", ["id", "email", "name", "role", "status", "last sign-in"], rows)
    )


@users_app.command("set-role")
def users_set_role(ctx: typer.Context, email: str, role: RoleArg) -> None:
    """Give a user another role."""
    chosen = Role.parse(role)
    with operate(ctx) as use_case:
        updated = users.set_role(use_case, email, chosen)
    console(ctx).print(f"{updated.email} is now {updated.role.value}.")


@users_app.command("disable")
def users_disable(ctx: typer.Context, email: str) -> None:
    """Disable a user: their sessions and API tokens stop working at once."""
    with operate(ctx) as use_case:
        updated = users.set_active(use_case, email, active=False)
    console(ctx).print(f"{updated.email} is disabled.")


@users_app.command("enable")
def users_enable(ctx: typer.Context, email: str) -> None:
    """Enable a disabled user again."""
    with operate(ctx) as use_case:
        updated = users.set_active(use_case, email, active=True)
    console(ctx).print(f"{updated.email} is enabled.")


@users_app.command("set-password")
def users_set_password(
    ctx: typer.Context,
    email: str,
    password: Annotated[
        str | None, typer.Option(envvar="ASSAY_NEW_PASSWORD", help="New password (prompted).")
    ] = None,
) -> None:
    """Replace a user's password."""
    secret = password or typer.prompt("New password", hide_input=True, confirmation_prompt=True)
    with operate(ctx) as use_case:
        updated = users.set_password(use_case, email, secret)
    console(ctx).print(f"Password of {updated.email} replaced.")


@users_app.command("roles")
def users_roles(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """List the roles and what each may do."""
    if as_json:
        emit_json(ctx, {r.value: d for r, d in ROLE_DESCRIPTIONS.items()})
        return
    rows = [(r.value, d) for r, d in ROLE_DESCRIPTIONS.items()]
    console(ctx).print(table("Roles", ["role", "may"], rows))


tokens_app = typer.Typer(help="Personal API tokens.", no_args_is_help=True)


@tokens_app.command("create")
def tokens_create(
    ctx: typer.Context,
    name: Annotated[str, typer.Option(help="What will use the token.")],
    days: Annotated[
        int | None, typer.Option(help="Days until it expires.", min=1, max=3650)
    ] = None,
    owner: Annotated[
        str | None, typer.Option("--for", help="Issue it to this user (admins only).")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Create an API token; its value is printed once and never stored."""
    with operate(ctx) as use_case:
        created = tokens.create_token(use_case, name=name, expires_in_days=days, owner=owner)
    if as_json:
        emit_json(ctx, created)
        return
    out = console(ctx)
    out.print(
        f"Token {created.name!r} for {created.user_email}, expires {created.expires_at:%Y-%m-%d}."
    )
    out.print("Copy it now, it is not shown again:")
    out.print(created.token, markup=False, highlight=False, soft_wrap=True)


@tokens_app.command("list")
def tokens_list(
    ctx: typer.Context,
    everyone: Annotated[bool, typer.Option("--all", help="Everyone's tokens (admins).")] = False,
    as_json: JsonOpt = False,
) -> None:
    """List API tokens (never their values)."""
    acting_as = state(ctx).acting_as
    with operate(ctx) as use_case:
        found = tokens.list_tokens(use_case, everyone=everyone or acting_as is None)
    if as_json:
        emit_json(ctx, found)
        return
    rows = [
        (
            t.id,
            t.user_email,
            t.name,
            f"{t.prefix}...",
            f"{t.expires_at:%Y-%m-%d}",
            t.last_used_at and f"{t.last_used_at:%Y-%m-%d %H:%M}",
            t.status,
        )
        for t in found
    ]
    columns = ["id", "user", "name", "starts", "expires", "last used", "status"]
    console(ctx).print(table("API tokens", columns, rows))


@tokens_app.command("revoke")
def tokens_revoke(ctx: typer.Context, token_id: int) -> None:
    """Revoke an API token at once."""
    with operate(ctx) as use_case:
        revoked = tokens.revoke_token(use_case, token_id)
    console(ctx).print(f"Token {revoked.id} ({revoked.name}, {revoked.user_email}) is revoked.")


def register(app: typer.Typer) -> None:
    """Add the platform's commands to the root ``assay`` command."""
    app.command("version")(version)
    app.command("serve")(serve)
    app.add_typer(db_app, name="db")
    app.add_typer(demo_app, name="demo")
    app.add_typer(users_app, name="users")
    app.add_typer(tokens_app, name="tokens")
