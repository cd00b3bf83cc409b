"""The hotfix service: the one place that opens hotfixes and changes their recorded state."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from storage.db import transaction
from storage.models import Approval, Event, Hotfix, ProcessedRequest, SlackMessage
from workflows.assessment import Assessment
from workflows.errors import HotfixNotFound
from workflows.lifecycle import ACTIVE_STATES, HotfixLifecycle
from workflows.severity import Severity

Clock = Callable[[], datetime]
ChangeListener = Callable[[int], None]


def system_clock() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class ApprovalRecord:
    role: str
    user_id: str
    at: datetime


@dataclass(frozen=True)
class MessageRef:
    channel_id: str
    ts: str


@dataclass(frozen=True)
class HotfixSnapshot:
    """Everything the Slack layer may show about a hotfix, read in one transaction."""

    id: int
    state: str
    title: str
    severity: Severity
    impact: str
    ticket: str | None
    discovered_at: datetime
    reporter_id: str
    estimated_fix: timedelta | None
    risk_if_delayed: str | None
    security_fix: bool
    needs_migration: bool
    requester_id: str
    channel_id: str
    created_at: datetime
    required_roles: tuple[str, ...]
    approvals: tuple[ApprovalRecord, ...]
    messages: dict[str, MessageRef]

    @property
    def key(self) -> str:
        return f"HF-{self.id}"

    def approval_for(self, role: str) -> ApprovalRecord | None:
        return next((a for a in self.approvals if a.role == role), None)


class HotfixService:
    """Opens hotfixes, records what the bot posted, and tells listeners what changed.

    Listeners (the Slack card publisher) run after the transaction commits, so they
    always read what is really stored.
    """

    def __init__(
        self,
        sessions: sessionmaker[Session],
        required_roles: Callable[[Severity], Sequence[str]],
        clock: Clock = system_clock,
    ) -> None:
        self._sessions = sessions
        self._required_roles = required_roles
        self._clock = clock
        self._listeners: list[ChangeListener] = []

    def subscribe(self, listener: ChangeListener) -> None:
        """Call ``listener(hotfix_id)`` after every committed change to a hotfix."""
        self._listeners.append(listener)

    def _changed(self, hotfix_id: int) -> None:
        for listener in self._listeners:
            listener(hotfix_id)

    def open(
        self,
        assessment: Assessment,
        *,
        requester_id: str,
        channel_id: str,
        idempotency_key: str,
    ) -> HotfixSnapshot | None:
        """Open a hotfix for a CRITICAL or HIGH assessment.

        ``idempotency_key`` (the submitted view's id) is claimed in the same transaction,
        so a double submission opens one hotfix; the second call returns ``None``.
        """
        if not assessment.severity.warrants_hotfix:
            raise ValueError(f"{assessment.severity.label} does not warrant a hotfix")
        now = self._clock()
        try:
            with transaction(self._sessions) as session:
                session.add(ProcessedRequest(key=idempotency_key, seen_at=now))
                session.flush()
                hotfix = Hotfix(
                    title=assessment.title,
                    severity=assessment.severity.value,
                    impact=assessment.impact,
                    ticket=assessment.ticket,
                    discovered_at=assessment.discovered_at,
                    reporter_id=assessment.reporter_id,
                    estimated_fix_seconds=(
                        int(assessment.estimated_fix.total_seconds())
                        if assessment.estimated_fix
                        else None
                    ),
                    risk_if_delayed=assessment.risk_if_delayed,
                    security_fix=assessment.security_fix,
                    needs_migration=assessment.needs_migration,
                    requester_id=requester_id,
                    required_roles=list(self._required_roles(assessment.severity)),
                    channel_id=channel_id,
                    created_at=now,
                    updated_at=now,
                )
                HotfixLifecycle(model=hotfix, state_field="state")  # sets the initial state
                session.add(hotfix)
                session.flush()
                session.add(
                    Event(
                        hotfix_id=hotfix.id,
                        at=now,
                        actor=requester_id,
                        kind="opened",
                        from_state=None,
                        to_state=hotfix.state,
                        detail={
                            "severity": hotfix.severity,
                            "title": hotfix.title,
                            "ticket": hotfix.ticket,
                            "channel_id": channel_id,
                        },
                    )
                )
                snapshot = self._snapshot(session, hotfix)
        except IntegrityError:
            return None
        self._changed(snapshot.id)
        return snapshot

    def get(self, hotfix_id: int) -> HotfixSnapshot:
        with transaction(self._sessions) as session:
            hotfix = session.get(Hotfix, hotfix_id)
            if hotfix is None:
                raise HotfixNotFound(f"HF-{hotfix_id}")
            return self._snapshot(session, hotfix)

    def active(self, channel_id: str | None = None) -> list[HotfixSnapshot]:
        """Hotfixes not yet closed, rejected or aborted, oldest first."""
        with transaction(self._sessions) as session:
            query = select(Hotfix).where(Hotfix.state.in_(ACTIVE_STATES)).order_by(Hotfix.id)
            if channel_id is not None:
                query = query.where(Hotfix.channel_id == channel_id)
            return [self._snapshot(session, h) for h in session.scalars(query)]

    def record_message(self, hotfix_id: int, purpose: str, channel_id: str, ts: str) -> MessageRef:
        """Remember a message the bot posted for a hotfix; the first one recorded wins."""
        try:
            with transaction(self._sessions) as session:
                session.add(
                    SlackMessage(
                        hotfix_id=hotfix_id,
                        purpose=purpose,
                        channel_id=channel_id,
                        ts=ts,
                        posted_at=self._clock(),
                    )
                )
        except IntegrityError:
            pass
        with transaction(self._sessions) as session:
            row = session.scalars(
                select(SlackMessage).where(
                    SlackMessage.hotfix_id == hotfix_id, SlackMessage.purpose == purpose
                )
            ).one()
            return MessageRef(row.channel_id, row.ts)

    def record_event(
        self, hotfix_id: int, *, actor: str, kind: str, detail: dict[str, object] | None = None
    ) -> None:
        """Append a line to the timeline that is not a state change (a failure, a retry)."""
        with transaction(self._sessions) as session:
            session.add(
                Event(
                    hotfix_id=hotfix_id,
                    at=self._clock(),
                    actor=actor,
                    kind=kind,
                    detail=detail or {},
                )
            )

    def timeline(self, hotfix_id: int) -> list[Event]:
        with transaction(self._sessions) as session:
            query = select(Event).where(Event.hotfix_id == hotfix_id).order_by(Event.id)
            return list(session.scalars(query))

    def _snapshot(self, session: Session, hotfix: Hotfix) -> HotfixSnapshot:
        severity = Severity(hotfix.severity)
        approvals = session.scalars(
            select(Approval).where(Approval.hotfix_id == hotfix.id).order_by(Approval.id)
        )
        messages = session.scalars(select(SlackMessage).where(SlackMessage.hotfix_id == hotfix.id))
        return HotfixSnapshot(
            id=hotfix.id,
            state=hotfix.state,
            title=hotfix.title,
            severity=severity,
            impact=hotfix.impact,
            ticket=hotfix.ticket,
            discovered_at=hotfix.discovered_at,
            reporter_id=hotfix.reporter_id,
            estimated_fix=(
                timedelta(seconds=hotfix.estimated_fix_seconds)
                if hotfix.estimated_fix_seconds
                else None
            ),
            risk_if_delayed=hotfix.risk_if_delayed,
            security_fix=hotfix.security_fix,
            needs_migration=hotfix.needs_migration,
            requester_id=hotfix.requester_id,
            channel_id=hotfix.channel_id,
            created_at=hotfix.created_at,
            required_roles=tuple(hotfix.required_roles),
            approvals=tuple(ApprovalRecord(a.role, a.user_id, a.approved_at) for a in approvals),
            messages={m.purpose: MessageRef(m.channel_id, m.ts) for m in messages},
        )
