"""The trail's tables: head, leaves, fat tiles, checkpoints; the head of an empty log.

Revision ID: t001_trail
Revises:
Create Date: 2026-11-24
"""

import hashlib
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import assay.platform.db

revision: str = "t001_trail"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = ("trail",)
depends_on: str | Sequence[str] | None = "0001_platform"


def upgrade() -> None:
    state = op.create_table(
        "trail_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("root", sa.LargeBinary(length=32), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trail_state")),
    )
    op.create_table(
        "trail_leaves",
        sa.Column("leaf_index", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("entry", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["event_id"], ["audit_events.id"], name=op.f("fk_trail_leaves_event_id_audit_events")
        ),
        sa.PrimaryKeyConstraint("leaf_index", name=op.f("pk_trail_leaves")),
        sa.UniqueConstraint("event_id", name=op.f("uq_trail_leaves_event_id")),
    )
    op.create_table(
        "trail_tiles",
        sa.Column("level", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column("idx", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("width", sa.SmallInteger(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("level", "idx", name=op.f("pk_trail_tiles")),
    )
    op.create_table(
        "trail_checkpoints",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("root", sa.LargeBinary(length=32), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("key_id", sa.String(length=8), nullable=False),
        sa.Column("created_at", assay.platform.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trail_checkpoints")),
    )
    with op.batch_alter_table("trail_checkpoints", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_trail_checkpoints_size"), ["size"], unique=False)
    op.bulk_insert(
        state, [{"id": 1, "size": 0, "root": hashlib.sha256(b"").digest(), "version": 0}]
    )


def downgrade() -> None:
    with op.batch_alter_table("trail_checkpoints", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_trail_checkpoints_size"))
    op.drop_table("trail_checkpoints")
    op.drop_table("trail_tiles")
    op.drop_table("trail_leaves")
    op.drop_table("trail_state")
