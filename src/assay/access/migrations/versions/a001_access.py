"""The access tables: licence register, versions, catalogues, screenings, ESMA registers.

Revision ID: a001_access
Revises:
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import assay.platform.db

revision: str = "a001_access"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = ("access",)
depends_on: str | Sequence[str] | None = "0001_platform"


def upgrade() -> None:
    op.create_table(
        "access_catalogues",
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("version", sa.String(length=20), nullable=False),
        sa.Column("first_used_at", assay.platform.db.UTCDateTime(), nullable=False),
        sa.Column("content", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("digest", name=op.f("pk_access_catalogues")),
    )
    op.create_table(
        "access_esma_imports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("file_name", sa.String(length=300), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("imported_at", assay.platform.db.UTCDateTime(), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("problems", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_access_esma_imports")),
    )
    op.create_table(
        "access_register_versions",
        sa.Column("version", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("created_at", assay.platform.db.UTCDateTime(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("snapshot", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("version", name=op.f("pk_access_register_versions")),
    )
    op.create_table(
        "access_screenings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("submitted_by", sa.String(length=200), nullable=False),
        sa.Column("submitted_at", assay.platform.db.UTCDateTime(), nullable=False),
        sa.Column("finished_at", assay.platform.db.UTCDateTime(), nullable=True),
        sa.Column("file_name", sa.String(length=200), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("allowed", sa.Integer(), nullable=False),
        sa.Column("refused", sa.Integer(), nullable=False),
        sa.Column("invalid", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("source", sa.LargeBinary(), nullable=True),
        sa.Column("result", sa.LargeBinary(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_access_screenings")),
    )
    op.create_table(
        "access_esma_casps",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("import_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("name_key", sa.String(length=300), nullable=False),
        sa.Column("commercial_name", sa.String(length=300), nullable=False),
        sa.Column("lei", sa.String(length=20), nullable=True),
        sa.Column("home_state", sa.String(length=2), nullable=False),
        sa.Column("authority", sa.String(length=300), nullable=False),
        sa.Column("authorised_on", sa.Date(), nullable=True),
        sa.Column("authorisation_ends", sa.Date(), nullable=True),
        sa.Column("services", sa.JSON(), nullable=False),
        sa.Column("passported_to", sa.JSON(), nullable=False),
        sa.Column("website", sa.String(length=500), nullable=False),
        sa.ForeignKeyConstraint(
            ["import_id"],
            ["access_esma_imports.id"],
            name=op.f("fk_access_esma_casps_import_id_access_esma_imports"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_access_esma_casps")),
    )
    with op.batch_alter_table("access_esma_casps", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_access_esma_casps_import_id"), ["import_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_access_esma_casps_lei"), ["lei"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_access_esma_casps_name_key"), ["name_key"], unique=False
        )

    op.create_table(
        "access_esma_unauthorised",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("import_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("name_key", sa.String(length=300), nullable=False),
        sa.Column("commercial_name", sa.String(length=300), nullable=False),
        sa.Column("lei", sa.String(length=20), nullable=True),
        sa.Column("home_state", sa.String(length=2), nullable=False),
        sa.Column("website", sa.String(length=500), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["import_id"],
            ["access_esma_imports.id"],
            name=op.f("fk_access_esma_unauthorised_import_id_access_esma_imports"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_access_esma_unauthorised")),
    )
    with op.batch_alter_table("access_esma_unauthorised", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_access_esma_unauthorised_import_id"), ["import_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_access_esma_unauthorised_lei"), ["lei"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_access_esma_unauthorised_name_key"), ["name_key"], unique=False
        )

    op.create_table(
        "access_licences",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(length=80), nullable=False),
        sa.Column("entity_id", sa.Integer(), nullable=False),
        sa.Column("regime", sa.String(length=64), nullable=False),
        sa.Column("licence_type", sa.String(length=64), nullable=False),
        sa.Column("regulator", sa.String(length=200), nullable=False),
        sa.Column("home", sa.String(length=20), nullable=False),
        sa.Column("services", sa.JSON(), nullable=False),
        sa.Column("products", sa.JSON(), nullable=False),
        sa.Column("clients", sa.JSON(), nullable=False),
        sa.Column("approvals", sa.JSON(), nullable=False),
        sa.Column("conditions", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["entity_id"],
            ["legal_entities.id"],
            name=op.f("fk_access_licences_entity_id_legal_entities"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_access_licences")),
        sa.UniqueConstraint("reference", name=op.f("uq_access_licences_reference")),
    )
    op.create_table(
        "access_deadlines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("licence_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("due", sa.Date(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("done_on", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["licence_id"],
            ["access_licences.id"],
            name=op.f("fk_access_deadlines_licence_id_access_licences"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_access_deadlines")),
    )
    with op.batch_alter_table("access_deadlines", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_access_deadlines_due"), ["due"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_access_deadlines_licence_id"), ["licence_id"], unique=False
        )

    op.create_table(
        "access_licence_status",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("licence_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["licence_id"],
            ["access_licences.id"],
            name=op.f("fk_access_licence_status_licence_id_access_licences"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_access_licence_status")),
    )
    with op.batch_alter_table("access_licence_status", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_access_licence_status_licence_id"), ["licence_id"], unique=False
        )

    op.create_table(
        "access_passports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("licence_id", sa.Integer(), nullable=False),
        sa.Column("jurisdiction", sa.String(length=20), nullable=False),
        sa.Column("since", sa.Date(), nullable=False),
        sa.Column("until", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["licence_id"],
            ["access_licences.id"],
            name=op.f("fk_access_passports_licence_id_access_licences"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_access_passports")),
    )
    with op.batch_alter_table("access_passports", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_access_passports_licence_id"), ["licence_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("access_passports", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_access_passports_licence_id"))

    op.drop_table("access_passports")
    with op.batch_alter_table("access_licence_status", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_access_licence_status_licence_id"))

    op.drop_table("access_licence_status")
    with op.batch_alter_table("access_deadlines", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_access_deadlines_licence_id"))
        batch_op.drop_index(batch_op.f("ix_access_deadlines_due"))

    op.drop_table("access_deadlines")
    op.drop_table("access_licences")
    with op.batch_alter_table("access_esma_unauthorised", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_access_esma_unauthorised_name_key"))
        batch_op.drop_index(batch_op.f("ix_access_esma_unauthorised_lei"))
        batch_op.drop_index(batch_op.f("ix_access_esma_unauthorised_import_id"))

    op.drop_table("access_esma_unauthorised")
    with op.batch_alter_table("access_esma_casps", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_access_esma_casps_name_key"))
        batch_op.drop_index(batch_op.f("ix_access_esma_casps_lei"))
        batch_op.drop_index(batch_op.f("ix_access_esma_casps_import_id"))

    op.drop_table("access_esma_casps")
    op.drop_table("access_screenings")
    op.drop_table("access_register_versions")
    op.drop_table("access_esma_imports")
    op.drop_table("access_catalogues")
