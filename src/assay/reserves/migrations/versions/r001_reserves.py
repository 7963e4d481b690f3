"""The reserves tables: rounds and the users linked to exchange accounts.

Revision ID: r001_reserves
Revises:
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import assay.platform.db

revision: str = "r001_reserves"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = ("reserves",)
depends_on: str | Sequence[str] | None = "0001_platform"


def upgrade() -> None:
    op.create_table(
        "reserves_rounds",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("snapshot_at", assay.platform.db.UTCDateTime(), nullable=False),
        sa.Column("created_at", assay.platform.db.UTCDateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("published_at", assay.platform.db.UTCDateTime(), nullable=True),
        sa.Column("published_by", sa.String(length=200), nullable=True),
        sa.Column("capacity", sa.BigInteger(), nullable=False),
        sa.Column("accounts", sa.BigInteger(), nullable=False),
        sa.Column("root", sa.String(length=64), nullable=False),
        sa.Column("assets", sa.JSON(), nullable=False),
        sa.Column("totals", sa.JSON(), nullable=False),
        sa.Column("liabilities_sha256", sa.String(length=64), nullable=False),
        sa.Column("anchor_leaf", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reserves_rounds")),
    )
    op.create_table(
        "reserves_customer_links",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.String(length=128), nullable=False),
        sa.Column("created_at", assay.platform.db.UTCDateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_reserves_customer_links_user_id_users"),
        ),
        sa.PrimaryKeyConstraint("user_id", "account_id", name=op.f("pk_reserves_customer_links")),
    )


def downgrade() -> None:
    op.drop_table("reserves_customer_links")
    op.drop_table("reserves_rounds")
