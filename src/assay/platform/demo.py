"""The demo group: a made-up exchange group loaded from ``demo_data/group.yaml``.

Loading is idempotent: entities are brought up to date, existing users are left as they are. Each
capability's ``demo`` hook runs afterwards (the access capability adds the group's licences).
Refused outside development unless forced, because the demo users share a published password.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from assay.errors import ConfigurationError, Conflict, InvalidInput
from assay.platform import entities, users
from assay.platform.capabilities import Capability
from assay.platform.context import Context
from assay.platform.roles import DEMO_LOAD, Role

DEMO_FILE = Path(__file__).parent / "demo_data" / "group.yaml"


class _Entity(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: str
    name: str
    role: str
    home_jurisdiction: str
    regime: str
    authorised_on: dt.date | None = None
    scope: str = ""


class _User(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: str
    name: str
    role: Role


class DemoGroup(BaseModel):
    """The demo file's shape."""

    model_config = ConfigDict(extra="forbid")
    group: str
    entities: list[_Entity]
    password: str
    users: list[_User]


@dataclass
class DemoReport:
    """What a demo load did."""

    group: str
    password: str
    entities: list[str] = field(default_factory=list)
    users: list[dict[str, str]] = field(default_factory=list)
    capabilities: list[str] = field(default_factory=list)


def read_demo(path: Path = DEMO_FILE) -> DemoGroup:
    """Parse and validate the demo file."""
    try:
        return DemoGroup.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
    except (yaml.YAMLError, ValidationError) as exc:
        raise InvalidInput(f"demo file {path} is not valid: {exc}", field=str(path)) from exc


def load_demo(ctx: Context, capabilities: list[Capability], *, force: bool = False) -> DemoReport:
    """Load the demo group, then every capability's demo data."""
    ctx.require(DEMO_LOAD)
    if not ctx.settings.development and not force:
        raise ConfigurationError(
            "refusing to load the demo group outside development: its users share a published "
            "password (set ASSAY_ENV=development, or pass --force on a throw-away installation)",
            field="ASSAY_ENV",
        )
    demo = read_demo()
    report = DemoReport(group=demo.group, password=demo.password)
    for entity in demo.entities:
        entities.upsert_entity(ctx, **entity.model_dump(), lei=None)
        report.entities.append(entity.code)
    for user in demo.users:
        try:
            users.add_user(
                ctx, email=user.email, name=user.name, role=user.role, password=demo.password
            )
            status = "added"
        except Conflict:
            ctx.uow.rollback()
            status = "already there"
        report.users.append({"email": user.email, "role": user.role.value, "status": status})
    for capability in capabilities:
        if capability.demo is not None:
            capability.demo(ctx)
            report.capabilities.append(capability.name)
    return report
