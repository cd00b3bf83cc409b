"""Deploy and monitoring: who deploys which version, the migration checklist, the watch.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

COLUMNS = (
    ("deploy_ticks", sa.JSON()),
    ("deployer_id", sa.String(length=32)),
    ("deployed_version", sa.String(length=200)),
    ("previous_version", sa.String(length=200)),
    ("deploy_attempts", sa.Integer()),
    ("deploy_started_at", sa.DateTime(timezone=True)),
    ("deploy_heartbeat_at", sa.DateTime(timezone=True)),
    ("monitoring_started_at", sa.DateTime(timezone=True)),
    ("monitoring_step", sa.Integer()),
)


def upgrade() -> None:
    with op.batch_alter_table("hotfixes", schema=None) as batch_op:
        for name, kind in COLUMNS:
            default = "0" if isinstance(kind, sa.Integer) else None
            batch_op.add_column(
                sa.Column(name, kind, nullable=default is None, server_default=default)
            )


def downgrade() -> None:
    with op.batch_alter_table("hotfixes", schema=None) as batch_op:
        for name, _ in reversed(COLUMNS):
            batch_op.drop_column(name)
