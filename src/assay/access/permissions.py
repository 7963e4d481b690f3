"""Who may change what in access (admin holds every permission; every role may read and ask)."""

from __future__ import annotations

from assay.platform.roles import EVERY_ROLE, Role, permission

DECIDE = permission(
    "access.decide",
    *EVERY_ROLE,
    description="ask market-access questions (decisions, replays, what-if analyses)",
)
REGISTER_WRITE = permission(
    "access.register.write",
    Role.COMPLIANCE,
    description="change the licence register (licences, statuses, passports, deadlines)",
)
SCREEN = permission(
    "access.screen",
    Role.COMPLIANCE,
    description="submit batch screenings of customer files",
)
ESMA_IMPORT = permission(
    "access.esma.import",
    Role.COMPLIANCE,
    description="import ESMA's interim MiCA registers",
)

ALL = (DECIDE, REGISTER_WRITE, SCREEN, ESMA_IMPORT)
