"""A capability is a folder: adding one needs no change to the platform.

The test writes a small capability package to disk (routes, page, command, permission, navigation,
table with its own migration branch, template, static file, demo hook) and shows the platform's
discovery, migrations, app and CLI pick all of it up.
"""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import inspect

from assay.app import create_app
from assay.cli import build_cli
from assay.platform import demo, migrate
from assay.platform.capabilities import Capability, discover
from assay.platform.clock import FixedClock
from assay.platform.db import Database
from assay.platform.roles import Role, system_principal
from assay.platform.runtime import build_runtime
from assay.settings import Settings
from tests.conftest import Seed, bearer

FILES = {
    "__init__.py": "",
    "widgets/__init__.py": "",
    "widgets/manifest.py": """
        from assay.platform.capabilities import Capability, NavItem
        from assay.platform.roles import Role, permission

        WIDGETS_WRITE = permission("widgets.write", Role.SECURITY)

        def _api():
            from typing import Annotated
            from fastapi import APIRouter, Depends
            from sqlalchemy import func, select
            from assay.platform.web.deps import ApiCtx, api_permission
            from capkit.widgets.tables import widgets

            router = APIRouter()

            @router.get("/widgets")
            def count(ctx: ApiCtx) -> dict[str, int]:
                return {"count": ctx.session.scalar(select(func.count()).select_from(widgets))}

            @router.post("/widgets", dependencies=[Depends(api_permission(WIDGETS_WRITE))])
            def add(ctx: ApiCtx) -> dict[str, bool]:
                ctx.require(WIDGETS_WRITE)
                ctx.session.execute(widgets.insert().values(name="w"))
                ctx.commit()
                return {"added": True}

            return router

        def _pages():
            from fastapi import APIRouter, Request
            from assay.platform.web.deps import PageCtx
            from assay.platform.web.templating import render

            router = APIRouter(include_in_schema=False)

            @router.get("/widgets")
            def page(request: Request, ctx: PageCtx):
                return render(request, "widgets/list.html", {"greeting": "Widgets here"})

            return router

        def _cli():
            import typer
            app = typer.Typer()

            @app.command("hello")
            def hello() -> None:
                print("hello from widgets")

            @app.command("other")
            def other() -> None:
                print("other")

            return app

        def _demo(ctx):
            from capkit.widgets.tables import widgets
            ctx.session.execute(widgets.insert().values(name="demo widget"))
            ctx.commit()

        CAPABILITY = Capability(
            name="widgets",
            title="Widgets",
            summary="A capability made up for the test.",
            api=_api,
            pages=_pages,
            cli=_cli,
            nav=(NavItem("Widgets", "/widgets"),),
            permissions=(WIDGETS_WRITE,),
            tables="capkit.widgets.tables",
            demo=_demo,
        )
    """,
    "widgets/tables.py": """
        import sqlalchemy as sa

        metadata = sa.MetaData()
        widgets = sa.Table(
            "widgets", metadata,
            sa.Column("id", sa.Integer, primary_key=True),
            sa.Column("name", sa.String(50), nullable=False),
        )
    """,
    "widgets/migrations/versions/w001_widgets.py": """
        import sqlalchemy as sa
        from alembic import op

        revision = "w001_widgets"
        down_revision = None
        branch_labels = ("widgets",)
        depends_on = "0001_platform"

        def upgrade():
            op.create_table(
                "widgets",
                sa.Column("id", sa.Integer, primary_key=True),
                sa.Column("name", sa.String(50), nullable=False),
            )

        def downgrade():
            op.drop_table("widgets")
    """,
    "widgets/templates/widgets/list.html": """
        {% extends "base.html" %}
        {% block content %}<h1>{{ greeting }}</h1>{% endblock %}
    """,
    "widgets/static/widgets.css": "h1 { color: teal; }\n",
}


@pytest.fixture
def capabilities(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Capability]]:
    root = tmp_path / "pkgs"
    for name, text in FILES.items():
        path = root / "capkit" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    monkeypatch.syspath_prepend(str(root))
    yield discover("assay") + discover("capkit")
    for module in [m for m in sys.modules if m.startswith("capkit")]:
        del sys.modules[module]


def test_discovery_finds_the_platform_first_then_the_new_folder(
    capabilities: list[Capability],
) -> None:
    names = [c.name for c in capabilities]
    assert names[0] == "platform"
    assert "widgets" in names
    widgets = next(c for c in capabilities if c.name == "widgets")
    assert widgets.templates_dir is not None
    assert widgets.static_dir is not None
    assert widgets.migrations_dir is not None


def test_the_new_capability_migrates_as_its_own_branch(
    capabilities: list[Capability], empty_db_url: str
) -> None:
    db = Database(empty_db_url)
    _, after = migrate.upgrade(db, capabilities)
    assert "w001_widgets" in after
    assert "widgets" in inspect(db.engine).get_table_names()
    assert migrate.state(db, capabilities) is migrate.SchemaState.CURRENT
    # Without the new folder, the same database is ahead of what Assay knows.
    assert migrate.state(db, discover("assay")) is migrate.SchemaState.AHEAD
    db.dispose()


def test_the_app_mounts_its_routes_pages_navigation_and_static_files(
    capabilities: list[Capability], db_url: str, settings: Settings, seed: Seed
) -> None:
    db = Database(db_url)
    migrate.upgrade(db, capabilities)
    db.dispose()
    app = create_app(settings, clock=FixedClock(_t0()), capabilities=capabilities)
    with TestClient(app) as client:
        assert client.get("/api/v1/widgets", headers=bearer(seed, Role.VIEWER)).json() == {
            "count": 0
        }
        # The capability's permission is enforced by the platform's dependency.
        assert client.post("/api/v1/widgets", headers=bearer(seed, Role.VIEWER)).status_code == 403
        assert client.post("/api/v1/widgets", headers=bearer(seed, Role.SECURITY)).json() == {
            "added": True
        }
        # Anonymous callers are refused on the new routes too.
        assert client.get("/api/v1/widgets").status_code == 401
        assert client.get("/widgets", follow_redirects=False).status_code == 303
        client.post("/signin", data=_signin(client, Role.VIEWER))
        page = client.get("/widgets")
        assert "<h1>Widgets here</h1>" in page.text
        assert 'href="/widgets"' in page.text  # the navigation entry
        assert client.get("/static/widgets/widgets.css").text == "h1 { color: teal; }\n"
    app.state.runtime.db.dispose()


def test_the_cli_mounts_its_command_group(
    capabilities: list[Capability], capsys: pytest.CaptureFixture[str]
) -> None:
    cli = build_cli(capabilities)
    cli(args=["widgets", "hello"], prog_name="assay", standalone_mode=False)
    assert "hello from widgets" in capsys.readouterr().out


def test_demo_load_runs_the_capability_hook(
    capabilities: list[Capability], db_url: str, settings: Settings
) -> None:
    runtime = build_runtime(settings, capabilities=capabilities)
    migrate.upgrade(runtime.db, capabilities)
    with runtime.db.uow() as uow:
        report = demo.load_demo(
            runtime.context(uow, system_principal("t")), capabilities, force=True
        )
    assert "widgets" in report.capabilities
    with runtime.db.engine.connect() as connection:
        from sqlalchemy import text

        assert connection.execute(text("SELECT name FROM widgets")).scalar() == "demo widget"
    runtime.db.dispose()


def _t0():
    from tests.conftest import T0

    return T0


def _signin(client: TestClient, role: Role) -> dict[str, str]:
    from tests.platform.helpers import signin_form

    return signin_form(client, role)
