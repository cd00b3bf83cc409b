"""The hotfix's tables: hotfixes, approvals, the timeline, owned Slack messages, dedup ids,
and Slack messages waiting to be delivered again."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    """Now, timezone-aware in UTC: the only clock the storage layer uses."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always read back timezone-aware.

    SQLite has no time zones and hands back naive datetimes; PostgreSQL hands back
    aware ones. Normalising here keeps arithmetic (elapsed time, budgets) identical
    on both databases.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; use an aware UTC datetime")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Hotfix(Base):
    """One production hotfix, from its assessment to its close-out."""

    __tablename__ = "hotfixes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    state: Mapped[str] = mapped_column(String(32), index=True)
    title: Mapped[str] = mapped_column(String(200))
    severity: Mapped[str] = mapped_column(String(16))
    impact: Mapped[str] = mapped_column(Text)
    ticket: Mapped[str | None] = mapped_column(String(64))
    discovered_at: Mapped[datetime] = mapped_column(UTCDateTime())
    reporter_id: Mapped[str] = mapped_column(String(32))
    estimated_fix_seconds: Mapped[int | None] = mapped_column(Integer)
    risk_if_delayed: Mapped[str | None] = mapped_column(Text)
    security_fix: Mapped[bool] = mapped_column(Boolean, default=False)
    drill: Mapped[bool] = mapped_column(Boolean, default=False)  # a rehearsal: see drill.*
    needs_migration: Mapped[bool] = mapped_column(Boolean, default=False)
    requester_id: Mapped[str] = mapped_column(String(32))
    # Frozen when the hotfix opens, so a policy edit never changes a running approval.
    required_roles: Mapped[list[str]] = mapped_column(JSON, default=list)
    channel_id: Mapped[str] = mapped_column(String(32), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    # Why the severity matrix was overridden (MEDIUM/LOW opened anyway), and by whom.
    override_by: Mapped[str | None] = mapped_column(String(32))
    override_reason: Mapped[str | None] = mapped_column(Text)
    # Who ended the hotfix early (rejected, aborted) and why.
    ended_by: Mapped[str | None] = mapped_column(String(32))
    end_reason: Mapped[str | None] = mapped_column(Text)
    # When approvals were first asked for (opening, or an override): escalation counts from it.
    approval_requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # How many escalation steps have been announced while approvals were missing.
    escalation_step: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Git: the production tag the fix starts from, its branch, and the version it will ship as.
    base_tag: Mapped[str | None] = mapped_column(String(200))
    base_commit: Mapped[str | None] = mapped_column(String(64))
    branch: Mapped[str | None] = mapped_column(String(255))
    version: Mapped[str | None] = mapped_column(String(200))
    # GitHub: the hotfix pull request.
    pr_number: Mapped[int | None] = mapped_column(Integer)
    pr_url: Mapped[str | None] = mapped_column(String(500))
    # CI on the PR's head, as last read: green | pending | failing, and what is not green.
    ci_state: Mapped[str | None] = mapped_column(String(16))
    ci_detail: Mapped[dict[str, object] | None] = mapped_column(JSON)
    # The PR head the review (ticks, approval) refers to: another head resets the review.
    review_head: Mapped[str | None] = mapped_column(String(64))
    # Deploy (procedure Phase 5): the migration checklist's ticks (item → who ticked it), who
    # deploys, the version the last attempt shipped and the one it replaced, how many attempts
    # there were, when the running one started and last showed it is alive.
    deploy_ticks: Mapped[dict[str, str] | None] = mapped_column(JSON)
    deployer_id: Mapped[str | None] = mapped_column(String(32))
    deployed_version: Mapped[str | None] = mapped_column(String(200))
    previous_version: Mapped[str | None] = mapped_column(String(200))
    deploy_attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    deploy_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    deploy_heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Monitoring: when the window opened and how many of its pings have been claimed.
    monitoring_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    monitoring_step: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Phase budgets (workflows.budgets): when the current phase started.
    phase_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Announcements (bot.announce): the last timeline event that was announced.
    announced_event_id: Mapped[int | None] = mapped_column(Integer)

    approvals: Mapped[list[Approval]] = relationship(
        back_populates="hotfix", order_by="Approval.id", cascade="all, delete-orphan"
    )
    messages: Mapped[list[SlackMessage]] = relationship(
        back_populates="hotfix", cascade="all, delete-orphan"
    )

    @property
    def key(self) -> str:
        """The id people say out loud: ``HF-42``."""
        return f"HF-{self.id}"


class Approval(Base):
    """One role's approval of a hotfix, given by one person."""

    __tablename__ = "approvals"
    __table_args__ = (UniqueConstraint("hotfix_id", "role"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    hotfix_id: Mapped[int] = mapped_column(ForeignKey("hotfixes.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[str] = mapped_column(String(32))
    approved_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    hotfix: Mapped[Hotfix] = relationship(back_populates="approvals")


class Event(Base):
    """One line of a hotfix's timeline. Append-only: never updated, never deleted."""

    __tablename__ = "events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    hotfix_id: Mapped[int] = mapped_column(
        ForeignKey("hotfixes.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    actor: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(64))
    from_state: Mapped[str | None] = mapped_column(String(32))
    to_state: Mapped[str | None] = mapped_column(String(32))
    detail: Mapped[dict[str, object]] = mapped_column(JSON, default=dict)


class SlackMessage(Base):
    """A Slack message the bot owns for a hotfix (its card, the assessment, …)."""

    __tablename__ = "slack_messages"
    __table_args__ = (UniqueConstraint("hotfix_id", "purpose"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    hotfix_id: Mapped[int] = mapped_column(ForeignKey("hotfixes.id", ondelete="CASCADE"))
    purpose: Mapped[str] = mapped_column(String(32))
    channel_id: Mapped[str] = mapped_column(String(32))
    ts: Mapped[str] = mapped_column(String(32))
    posted_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    hotfix: Mapped[Hotfix] = relationship(back_populates="messages")


class VersionReservation(Base):
    """A version number held by one hotfix, so two hotfixes never ship the same one."""

    __tablename__ = "version_reservations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    hotfix_id: Mapped[int] = mapped_column(
        ForeignKey("hotfixes.id", ondelete="CASCADE"), index=True
    )
    reserved_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ReviewTicks(Base):
    """What one reviewer ticked of a hotfix's review checklist."""

    __tablename__ = "review_ticks"
    __table_args__ = (UniqueConstraint("hotfix_id", "reviewer_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    hotfix_id: Mapped[int] = mapped_column(ForeignKey("hotfixes.id", ondelete="CASCADE"))
    reviewer_id: Mapped[str] = mapped_column(String(32))
    items: Mapped[list[str]] = mapped_column(JSON, default=list)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ProcessedRequest(Base):
    """An idempotency key: a Slack event id or a submitted view, seen once."""

    __tablename__ = "processed_requests"

    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class SlackDelivery(Base):
    """A message Slack could not take when it was sent (down, rate limited), waiting to be
    delivered again. Deleted once delivered, or once too late to matter (``deliver_by``).

    ``queue`` keeps order: the messages of one queue (a hotfix's thread, one reply) go out
    oldest first. ``message`` is what to send: ``{"response_url": …, "body": {…}}`` for a
    reply, ``{"channel": …, "text": …, "blocks": […]}`` for a post (``thread_of`` puts it
    under that hotfix's card).
    """

    __tablename__ = "slack_deliveries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    queue: Mapped[str] = mapped_column(String(64), index=True)
    thread_of: Mapped[int | None] = mapped_column(Integer)
    message: Mapped[dict[str, object]] = mapped_column(JSON)
    what: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    deliver_by: Mapped[datetime] = mapped_column(UTCDateTime())
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_error: Mapped[str | None] = mapped_column(String(64))
