"""Git: base tag, branch and version of each hotfix; version reservations.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("hotfixes", schema=None) as batch_op:
        batch_op.add_column(sa.Column("base_tag", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("base_commit", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("branch", sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column("version", sa.String(length=200), nullable=True))
    op.create_table(
        "version_reservations",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("hotfix_id", sa.Integer(), nullable=False),
        sa.Column("reserved_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["hotfix_id"],
            ["hotfixes.id"],
            name=op.f("fk_version_reservations_hotfix_id_hotfixes"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_version_reservations")),
        sa.UniqueConstraint("name", name=op.f("uq_version_reservations_name")),
    )
    with op.batch_alter_table("version_reservations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_version_reservations_hotfix_id"), ["hotfix_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("version_reservations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_version_reservations_hotfix_id"))
    op.drop_table("version_reservations")
    with op.batch_alter_table("hotfixes", schema=None) as batch_op:
        batch_op.drop_column("version")
        batch_op.drop_column("branch")
        batch_op.drop_column("base_commit")
        batch_op.drop_column("base_tag")
