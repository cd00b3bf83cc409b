"""The PR head the review refers to: a new head resets the review.

Hotfixes already in review or ready to deploy get the head their review was of: the one
recorded when it passed, else the last head CI was read on.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("hotfixes", schema=None) as batch_op:
        batch_op.add_column(sa.Column("review_head", sa.String(length=64), nullable=True))
    hotfixes = sa.table(
        "hotfixes",
        sa.column("id", sa.Integer),
        sa.column("state", sa.String),
        sa.column("ci_detail", sa.JSON),
        sa.column("review_head", sa.String),
    )
    events = sa.table(
        "events",
        sa.column("id", sa.Integer),
        sa.column("hotfix_id", sa.Integer),
        sa.column("kind", sa.String),
        sa.column("detail", sa.JSON),
    )
    connection = op.get_bind()
    reviewed = connection.execute(
        sa.select(hotfixes.c.id, hotfixes.c.state, hotfixes.c.ci_detail).where(
            hotfixes.c.state.in_(("in_review", "ready_to_deploy"))
        )
    ).all()
    for hotfix_id, state, ci_detail in reviewed:
        head = None
        if state == "ready_to_deploy":
            passed = connection.execute(
                sa.select(events.c.detail)
                .where(events.c.hotfix_id == hotfix_id, events.c.kind == "review_passed")
                .order_by(events.c.id.desc())
                .limit(1)
            ).scalar()
            head = (passed or {}).get("head")
        head = head or (ci_detail or {}).get("sha")
        if head:
            connection.execute(
                sa.update(hotfixes).where(hotfixes.c.id == hotfix_id).values(review_head=head)
            )


def downgrade() -> None:
    with op.batch_alter_table("hotfixes", schema=None) as batch_op:
        batch_op.drop_column("review_head")
