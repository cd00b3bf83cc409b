"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "hotfixes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("state", sa.String(length=32), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("impact", sa.Text(), nullable=False),
        sa.Column("ticket", sa.String(length=64), nullable=True),
        sa.Column("discovered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reporter_id", sa.String(length=32), nullable=False),
        sa.Column("estimated_fix_seconds", sa.Integer(), nullable=True),
        sa.Column("risk_if_delayed", sa.Text(), nullable=True),
        sa.Column("security_fix", sa.Boolean(), nullable=False),
        sa.Column("needs_migration", sa.Boolean(), nullable=False),
        sa.Column("requester_id", sa.String(length=32), nullable=False),
        sa.Column("required_roles", sa.JSON(), nullable=False),
        sa.Column("channel_id", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hotfixes")),
    )
    with op.batch_alter_table("hotfixes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_hotfixes_channel_id"), ["channel_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_hotfixes_state"), ["state"], unique=False)

    op.create_table(
        "processed_requests",
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_processed_requests")),
    )
    op.create_table(
        "approvals",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("hotfix_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["hotfix_id"],
            ["hotfixes.id"],
            name=op.f("fk_approvals_hotfix_id_hotfixes"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_approvals")),
        sa.UniqueConstraint("hotfix_id", "role", name=op.f("uq_approvals_hotfix_id_role")),
    )
    op.create_table(
        "events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("hotfix_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("from_state", sa.String(length=32), nullable=True),
        sa.Column("to_state", sa.String(length=32), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["hotfix_id"],
            ["hotfixes.id"],
            name=op.f("fk_events_hotfix_id_hotfixes"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_events")),
    )
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_events_hotfix_id"), ["hotfix_id"], unique=False)

    op.create_table(
        "slack_messages",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("hotfix_id", sa.Integer(), nullable=False),
        sa.Column("purpose", sa.String(length=32), nullable=False),
        sa.Column("channel_id", sa.String(length=32), nullable=False),
        sa.Column("ts", sa.String(length=32), nullable=False),
        sa.Column("posted_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["hotfix_id"],
            ["hotfixes.id"],
            name=op.f("fk_slack_messages_hotfix_id_hotfixes"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_slack_messages")),
        sa.UniqueConstraint(
            "hotfix_id", "purpose", name=op.f("uq_slack_messages_hotfix_id_purpose")
        ),
    )


def downgrade() -> None:
    op.drop_table("slack_messages")
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_events_hotfix_id"))

    op.drop_table("events")
    op.drop_table("approvals")
    op.drop_table("processed_requests")
    with op.batch_alter_table("hotfixes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_hotfixes_state"))
        batch_op.drop_index(batch_op.f("ix_hotfixes_channel_id"))

    op.drop_table("hotfixes")
