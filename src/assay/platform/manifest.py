"""The platform declared as a capability: its pages, API, permissions, tables and demo data."""

from __future__ import annotations

from typing import TYPE_CHECKING

from assay.platform import roles
from assay.platform.capabilities import Capability, NavItem

if TYPE_CHECKING:
    from fastapi import APIRouter


def _api() -> APIRouter:
    from assay.platform.web.api import router  # noqa: PLC0415 - factories import lazily

    return router()


def _pages() -> APIRouter:
    from assay.platform.web.pages import router  # noqa: PLC0415 - factories import lazily

    return router()


CAPABILITY = Capability(
    name="platform",
    title="Platform",
    summary="Users, roles, API tokens, the group's legal entities and the record of changes.",
    order=0,
    api=_api,
    pages=_pages,
    nav=(
        NavItem("Activity", "/activity"),
        NavItem("Users", "/admin/users", roles.USERS_READ),
    ),
    permissions=roles.PLATFORM_PERMISSIONS,
    tables="assay.platform.tables",
)
