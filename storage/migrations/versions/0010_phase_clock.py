"""Close-out: when the current phase started (budgets), and the last timeline event
announced (stakeholders, webhook).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("hotfixes", schema=None) as batch_op:
        batch_op.add_column(sa.Column("phase_started_at", sa.DateTime(timezone=True)))
        batch_op.add_column(sa.Column("announced_event_id", sa.Integer()))
    # What happened before the upgrade is not announced again.
    op.execute(
        "UPDATE hotfixes SET announced_event_id = "
        "(SELECT MAX(events.id) FROM events WHERE events.hotfix_id = hotfixes.id)"
    )


def downgrade() -> None:
    with op.batch_alter_table("hotfixes", schema=None) as batch_op:
        batch_op.drop_column("announced_event_id")
        batch_op.drop_column("phase_started_at")
