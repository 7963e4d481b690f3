"""The page shell: one Jinja2 environment over the platform's and every capability's templates.

:func:`render` fills in what every page needs (who is signed in, the navigation they may use, flash
messages, the CSRF token for forms) and sets or clears the cookies that go with it.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from jinja2 import ChoiceLoader, Environment, FileSystemLoader, select_autoescape

import assay
from assay.platform.capabilities import Capability, NavItem
from assay.platform.roles import Principal
from assay.platform.web.security import (
    CSRF_COOKIE,
    FLASH_COOKIE,
    csrf_cookie_value,
    csrf_token,
    read_flash,
    set_cookie,
)


def build_templates(capabilities: list[Capability]) -> Jinja2Templates:
    """Templates searched in each capability's folder, the platform's first."""
    folders = [c.templates_dir for c in capabilities if c.templates_dir]
    env = Environment(
        loader=ChoiceLoader([FileSystemLoader(str(f)) for f in folders]),
        autoescape=select_autoescape(default=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["version"] = assay.__version__
    return Jinja2Templates(env=env)


def navigation(capabilities: list[Capability], principal: Principal | None) -> list[NavItem]:
    """The navigation entries ``principal`` may use, in capability order."""
    if principal is None:
        return []
    items = [NavItem("Dashboard", "/")]
    for capability in capabilities:
        items.extend(
            item
            for item in capability.nav
            if item.permission is None or principal.can(item.permission)
        )
    return items


def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    principal: Principal | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    """Render ``template`` inside the shell."""
    runtime = request.app.state.runtime
    settings = runtime.settings
    principal = principal or getattr(request.state, "principal", None)
    flash = read_flash(request, settings)
    csrf_value = csrf_cookie_value(request)
    page: dict[str, Any] = {
        "principal": principal,
        "nav": navigation(runtime.capabilities, principal),
        "flash": flash,
        "csrf_token": csrf_token(settings, csrf_value),
        "current_path": request.url.path,
        "capabilities": [c for c in runtime.capabilities if c.name != "platform"],
    }
    page.update(context or {})
    response = request.app.state.templates.TemplateResponse(
        request, template, page, status_code=status_code
    )
    if getattr(request.state, "new_csrf", None) and not request.cookies.get(CSRF_COOKIE):
        set_cookie(response, settings, CSRF_COOKIE, csrf_value)
    if flash:
        response.delete_cookie(FLASH_COOKIE, path="/")
    assert isinstance(response, HTMLResponse)  # noqa: S101 - TemplateResponse is an HTMLResponse
    return response
