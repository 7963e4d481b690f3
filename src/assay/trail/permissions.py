"""Who may do what to the trail (admin holds every permission; everyone signed in may read)."""

from __future__ import annotations

from assay.platform.roles import EVERY_ROLE, Role, permission

CHECKPOINT = permission(
    "trail.checkpoint",
    Role.COMPLIANCE,
    Role.SECURITY,
    Role.TREASURY,
    description="sign a checkpoint on demand",
)
VERIFY = permission("trail.verify", *EVERY_ROLE, description="run a full verification of the log")
ANCHOR = permission(
    "trail.anchor",
    Role.COMPLIANCE,
    Role.SECURITY,
    Role.TREASURY,
    description="commit a value (a PoR root, an SoA version...) to the log",
)
APPEND = permission(
    "trail.append",
    Role.COMPLIANCE,
    Role.SECURITY,
    Role.TREASURY,
    description="append events from other systems of the exchange",
)
KEYS = permission("trail.keys", description="rotate the checkpoint signing key")

ALL = (CHECKPOINT, VERIFY, ANCHOR, APPEND, KEYS)
