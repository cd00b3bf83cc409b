"""The reviewer checklist: ticks per reviewer.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "review_ticks",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("hotfix_id", sa.Integer(), nullable=False),
        sa.Column("reviewer_id", sa.String(length=32), nullable=False),
        sa.Column("items", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["hotfix_id"],
            ["hotfixes.id"],
            name=op.f("fk_review_ticks_hotfix_id_hotfixes"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_ticks")),
        sa.UniqueConstraint(
            "hotfix_id", "reviewer_id", name=op.f("uq_review_ticks_hotfix_id_reviewer_id")
        ),
    )


def downgrade() -> None:
    op.drop_table("review_ticks")
