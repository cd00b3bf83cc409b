"""Close-out: when the current phase started (budgets), and the last timeline event
announced (stakeholders, webhook).

A hotfix already in a phase at the upgrade gets the time it entered that phase from its
timeline, so its budget counts from then, not from its next phase.

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

# The phase of each state as of this revision (workflows/budgets.py may change later).
_PHASES = {
    "awaiting_approval": "assessment",
    "approved": "branch",
    "fixing": "fix",
    "in_review": "review",
    "ready_to_deploy": "deploy",
    "deploying": "deploy",
    "deploy_failed": "deploy",
    "merging_back": "merge_back",
}


def upgrade() -> None:
    with op.batch_alter_table("hotfixes", schema=None) as batch_op:
        batch_op.add_column(sa.Column("phase_started_at", sa.DateTime(timezone=True)))
        batch_op.add_column(sa.Column("announced_event_id", sa.Integer()))
    # What happened before the upgrade is not announced again.
    op.execute(
        "UPDATE hotfixes SET announced_event_id = "
        "(SELECT MAX(events.id) FROM events WHERE events.hotfix_id = hotfixes.id)"
    )
    _backfill_phase_started_at()


def _backfill_phase_started_at() -> None:
    """For each hotfix in a phase: the time of the event that moved it into that phase (the
    newest one whose state before was of another phase)."""
    bind = op.get_bind()
    hotfixes = sa.table(
        "hotfixes", sa.column("id"), sa.column("state"), sa.column("phase_started_at")
    )
    events = sa.table(
        "events",
        sa.column("id"),
        sa.column("hotfix_id"),
        sa.column("at"),
        sa.column("from_state"),
        sa.column("to_state"),
    )
    running = bind.execute(
        sa.select(hotfixes.c.id, hotfixes.c.state).where(hotfixes.c.state.in_(list(_PHASES)))
    ).all()
    for hotfix_id, state in running:
        phase = _PHASES[state]
        moves = bind.execute(
            sa.select(events.c.at, events.c.from_state, events.c.to_state)
            .where(events.c.hotfix_id == hotfix_id)
            .order_by(events.c.id.desc())
        )
        started = None
        for at, before, after in moves:
            if _PHASES.get(after or "") != phase:
                break
            started = at
            if _PHASES.get(before or "") != phase:
                break  # the move into this phase
        if started is not None:
            bind.execute(
                hotfixes.update().where(hotfixes.c.id == hotfix_id).values(phase_started_at=started)
            )


def downgrade() -> None:
    with op.batch_alter_table("hotfixes", schema=None) as batch_op:
        batch_op.drop_column("announced_event_id")
        batch_op.drop_column("phase_started_at")
