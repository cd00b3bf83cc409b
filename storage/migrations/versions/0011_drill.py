"""Drills: a hotfix can be a rehearsal (``/hotfix start --drill``).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("hotfixes", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("drill", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("hotfixes", schema=None) as batch_op:
        batch_op.drop_column("drill")
