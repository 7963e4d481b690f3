"""Who may do what with proof-of-reserves rounds (admin holds every permission; all may read).

Reading rounds (their roots, totals and status) is open to every signed-in role. A customer proof
is narrower: holders of ``PROOFS_ANY`` fetch any account's, everyone else only the proofs of
accounts an admin linked to them (``reserves_customer_links``), and only of published rounds.
"""

from __future__ import annotations

from assay.platform.roles import Role, permission

ROUNDS_WRITE = permission(
    "reserves.rounds.write",
    Role.TREASURY,
    description="create, publish and discard proof-of-reserves rounds",
)
AUDIT = permission(
    "reserves.audit",
    Role.TREASURY,
    Role.AUDITOR,
    description="recompute a stored round from its folder",
)
PROOFS_ANY = permission(
    "reserves.proofs.any",
    Role.TREASURY,
    Role.AUDITOR,
    description="fetch the customer proof of any account, of any round",
)
LINKS_WRITE = permission(
    "reserves.links.write",
    description="link users to exchange accounts (whose proofs they may then fetch)",
)

ALL = (ROUNDS_WRITE, AUDIT, PROOFS_ANY, LINKS_WRITE)
