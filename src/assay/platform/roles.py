"""Roles, permissions and the principal a request or command acts as.

Every signed-in role may read; writing needs a :class:`Permission`, which names the roles it is
granted to (``admin`` holds every permission). Capabilities declare their own permissions in their
manifest, so adding one never touches this file. :func:`authorize` is the one check that routes,
pages, commands and services all call.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Literal

from assay.errors import InvalidInput, PermissionDenied


class Role(enum.StrEnum):
    """What a user is trusted to do."""

    ADMIN = "admin"
    COMPLIANCE = "compliance"
    SECURITY = "security"
    TREASURY = "treasury"
    AUDITOR = "auditor"
    VIEWER = "viewer"

    @classmethod
    def parse(cls, value: str, field: str = "role") -> Role:
        """The role named ``value``; an InvalidInput listing the roles otherwise."""
        try:
            return cls(value.strip().lower())
        except ValueError:
            raise InvalidInput.not_one_of(field, value, [r.value for r in cls]) from None


ROLE_DESCRIPTIONS: dict[Role, str] = {
    Role.ADMIN: "manages users and holds every permission",
    Role.COMPLIANCE: "maintains the licence register and market-access rules",
    Role.SECURITY: "runs the ISMS: controls, risks, evidence",
    Role.TREASURY: "runs proof-of-reserves rounds",
    Role.AUDITOR: "reads everything, writes only audit findings",
    Role.VIEWER: "reads everything but users and secrets",
}


@dataclass(frozen=True)
class Permission:
    """The right to make one kind of change, and the roles it is granted to."""

    name: str
    roles: frozenset[Role]
    description: str = ""

    def granted_to(self, role: Role) -> bool:
        """Whether ``role`` holds this permission (``admin`` holds them all)."""
        return role is Role.ADMIN or role in self.roles


def permission(name: str, *roles: Role, description: str = "") -> Permission:
    """Declare a permission granted to ``roles`` (and always to admin)."""
    return Permission(name, frozenset(roles) | {Role.ADMIN}, description)


EVERY_ROLE = tuple(Role)

# The platform's own permissions.
USERS_READ = permission("platform.users.read", Role.AUDITOR, description="see users and roles")
USERS_WRITE = permission("platform.users.write", description="add users, change roles, disable")
OWN_TOKENS = permission(
    "platform.tokens.own", *EVERY_ROLE, description="create and revoke one's own API tokens"
)
ANY_TOKENS = permission("platform.tokens.any", description="list and revoke anyone's API tokens")
ENTITIES_WRITE = permission(
    "platform.entities.write", Role.COMPLIANCE, description="maintain the group's legal entities"
)
DEMO_LOAD = permission("platform.demo.load", description="load the demo group")

PLATFORM_PERMISSIONS = (USERS_READ, USERS_WRITE, OWN_TOKENS, ANY_TOKENS, ENTITIES_WRITE, DEMO_LOAD)


@dataclass(frozen=True)
class Principal:
    """Who is acting: a user (through a session or a token) or the local operator of the CLI."""

    name: str
    role: Role
    user_id: int | None = None
    via: Literal["session", "token", "cli"] = "session"

    @property
    def label(self) -> str:
        """How the record of changes names this actor."""
        return f"{self.via}:{self.name}"

    def can(self, perm: Permission) -> bool:
        """Whether this principal holds ``perm``."""
        return perm.granted_to(self.role)


def authorize(principal: Principal, perm: Permission) -> None:
    """Raise PermissionDenied unless ``principal`` holds ``perm``."""
    if not principal.can(perm):
        raise PermissionDenied(
            f"role {principal.role.value!r} of {principal.name} does not allow {perm.name} "
            f"({perm.description}); roles that do: "
            f"{', '.join(sorted(r.value for r in perm.roles))}",
            permission=perm.name,
        )


def system_principal(name: str) -> Principal:
    """The operator of the CLI on the machine that holds the database: acts as admin."""
    return Principal(name=name, role=Role.ADMIN, via="cli")
