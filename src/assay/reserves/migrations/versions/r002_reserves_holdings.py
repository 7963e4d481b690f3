"""A round's reserves (claimed addresses and their balances) and its solvency report.

Revision ID: r002_reserves_holdings
Revises: r001_reserves
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import assay.platform.db

revision: str = "r002_reserves_holdings"
down_revision: str | Sequence[str] | None = "r001_reserves"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "reserves_addresses",
        sa.Column("round_id", sa.String(length=64), nullable=False),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.Column("network", sa.String(length=40), nullable=False),
        sa.Column("address", sa.String(length=200), nullable=False),
        sa.Column("asset", sa.String(length=40), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("scheme", sa.String(length=60), nullable=True),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("message", sa.String(length=500), nullable=False),
        sa.ForeignKeyConstraint(
            ["round_id"],
            ["reserves_rounds.id"],
            name=op.f("fk_reserves_addresses_round_id_reserves_rounds"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("round_id", "line", name=op.f("pk_reserves_addresses")),
    )
    op.create_table(
        "reserves_balances",
        sa.Column("round_id", sa.String(length=64), nullable=False),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.Column("chain", sa.String(length=40), nullable=False),
        sa.Column("asset", sa.String(length=40), nullable=False),
        sa.Column("address", sa.String(length=200), nullable=False),
        sa.Column("block_height", sa.BigInteger(), nullable=False),
        sa.Column("balance", sa.String(length=80), nullable=False),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["round_id"],
            ["reserves_rounds.id"],
            name=op.f("fk_reserves_balances_round_id_reserves_rounds"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("round_id", "line", name=op.f("pk_reserves_balances")),
    )
    op.create_table(
        "reserves_reports",
        sa.Column("round_id", sa.String(length=64), nullable=False),
        sa.Column("issued_at", assay.platform.db.UTCDateTime(), nullable=False),
        sa.Column("issued_by", sa.String(length=200), nullable=False),
        sa.Column("solvent", sa.Boolean(), nullable=False),
        sa.Column("summary", sa.JSON(), nullable=False),
        sa.Column("json_sha256", sa.String(length=64), nullable=False),
        sa.Column("pdf_sha256", sa.String(length=64), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("anchor_leaf", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["round_id"],
            ["reserves_rounds.id"],
            name=op.f("fk_reserves_reports_round_id_reserves_rounds"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("round_id", name=op.f("pk_reserves_reports")),
    )


def downgrade() -> None:
    op.drop_table("reserves_reports")
    op.drop_table("reserves_balances")
    op.drop_table("reserves_addresses")
