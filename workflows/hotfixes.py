"""The hotfix service: the one place that opens hotfixes and moves them through the lifecycle.

Every change runs in one transaction that first locks the hotfix's row (PostgreSQL
``SELECT … FOR UPDATE``; SQLite's write lock is taken when the transaction begins), fires
one declared event of ``HotfixLifecycle`` and appends the timeline. Listeners (the Slack
card) run after the commit, so they always show what is really stored.

The transitions of each phase live in a module of their own, combined here into one
service: opening, approvals and endings (``workflows.steps_approval``), the version and the
review (``workflows.steps_review``), the deploy (``workflows.steps_deploy``). The steps that
must happen exactly once (monitoring pings, nudges, escalation steps, announcements) are
claimed on the timeline: ``workflows.claims``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from statemachine.exceptions import TransitionNotAllowed

from storage.db import transaction
from storage.models import (
    Approval,
    Event,
    Hotfix,
    ReviewTicks,
    SlackMessage,
)
from workflows.budgets import PhaseClock, enters_phase, phase_of
from workflows.claims import BOT_ACTOR, TimelineClaims
from workflows.config import Policy
from workflows.errors import HotfixNotFound
from workflows.lifecycle import ACTIVE_STATES, HotfixLifecycle, Refused
from workflows.log_context import about_hotfix
from workflows.roles import RoleDirectory
from workflows.service_common import (
    REVIEW_STATES,
    UNSHIPPED_STATES,
    ChangeListener,
    Clock,
    HotfixMovedOn,
    system_clock,
)
from workflows.severity import Severity
from workflows.snapshot import (
    ApprovalRecord,
    HotfixSnapshot,
    MessageRef,
)
from workflows.steps_approval import ApprovalSteps
from workflows.steps_deploy import DeploySteps
from workflows.steps_review import ReviewSteps

log = logging.getLogger(__name__)

__all__ = [
    "BOT_ACTOR",
    "REVIEW_STATES",
    "UNSHIPPED_STATES",
    "HotfixMovedOn",
    "HotfixService",
    "system_clock",
]


class HotfixService(ApprovalSteps, ReviewSteps, DeploySteps, TimelineClaims):
    """Opens hotfixes and fires lifecycle events, checking who may do what."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        policy: Policy,
        directory: RoleDirectory,
        clock: Clock = system_clock,
    ) -> None:
        self._sessions = sessions
        self._policy = policy
        self._directory = directory
        self._clock = clock
        self._listeners: list[ChangeListener] = []

    @property
    def directory(self) -> RoleDirectory:
        return self._directory

    def subscribe(self, listener: ChangeListener) -> None:
        """Call ``listener(hotfix_id)`` after every committed change to a hotfix."""
        self._listeners.append(listener)

    def _changed(self, hotfix_id: int) -> None:
        for listener in self._listeners:
            listener(hotfix_id)

    def notify(self, hotfix_id: int) -> None:
        """Tell listeners about a hotfix (after ``open``, once Slack has been answered)."""
        self._changed(hotfix_id)

    def may_drive(self, hotfix: HotfixSnapshot, actor: str, what: str) -> None:
        """The requester, or anyone holding a Hotfix Bot role, moves a hotfix's work along
        (its base, branch, PR, merge back)."""
        if actor != hotfix.requester_id and not self._directory.roles_of(actor):
            raise Refused(
                f"Only the requester of {hotfix.key} or someone with a Hotfix Bot role can {what}."
            )

    def preflight(self, hotfix_id: int, event: str, *, actor: str) -> HotfixSnapshot:
        """Check that ``actor`` may fire ``event`` now, before asking them for a reason.

        Raises what the event itself would (``Refused``, ``HotfixMovedOn``); changes nothing.
        """
        actor_roles = self._directory.roles_of(actor)
        with self._locked(hotfix_id, read_only=True) as (session, hotfix):
            machine = HotfixLifecycle(model=hotfix, state_field="state")
            if event not in {e.id for e in machine.allowed_events}:
                raise HotfixMovedOn(hotfix.key, hotfix.state)
            validator = getattr(machine, f"may_{event}")
            validator(actor=actor, actor_roles=actor_roles, reason="(asked next)")
            return self._snapshot(session, hotfix)

    def fire(
        self,
        hotfix_id: int,
        event: str,
        *,
        actor: str,
        detail: dict[str, Any] | None = None,
        changes: dict[str, Any] | None = None,
    ) -> HotfixSnapshot:
        """Fire a lifecycle event for work done outside the database (git, GitHub, deploy),
        recording what it produced (``changes`` to the hotfix's columns) in the same step."""
        with self._locked(hotfix_id) as (session, hotfix):
            self._fire(session, hotfix, event, actor=actor, detail=detail)
            for column, value in (changes or {}).items():
                setattr(hotfix, column, value)
            snapshot = self._snapshot(session, hotfix)
        self._changed(hotfix_id)
        return snapshot

    def fire_checked(
        self,
        hotfix_id: int,
        event: str,
        *,
        actor: str,
        detail: dict[str, Any] | None = None,
        **arguments: Any,
    ) -> HotfixSnapshot:
        """Fire an event whose validator checks ``actor``'s roles (read from the server)."""
        actor_roles = self._directory.roles_of(actor)
        with self._locked(hotfix_id) as (session, hotfix):
            self._fire(
                session,
                hotfix,
                event,
                actor=actor,
                detail=detail,
                actor_roles=actor_roles,
                **arguments,
            )
            snapshot = self._snapshot(session, hotfix)
        self._changed(hotfix_id)
        return snapshot

    def note(
        self,
        hotfix_id: int,
        *,
        actor: str,
        kind: str,
        detail: dict[str, Any] | None = None,
        changes: dict[str, Any] | None = None,
        allowed_states: tuple[str, ...] | None = None,
        unless: Callable[[Hotfix], bool] | None = None,
    ) -> HotfixSnapshot:
        """Record facts about a hotfix that do not move it (its base tag, a warning), with a
        timeline line; ``allowed_states`` refuses stale requests like an event would, and
        ``unless`` (checked under the row lock) skips the whole note."""
        with self._locked(hotfix_id) as (session, hotfix):
            if allowed_states is not None and hotfix.state not in allowed_states:
                raise HotfixMovedOn(hotfix.key, hotfix.state)
            if unless is not None and unless(hotfix):
                return self._snapshot(session, hotfix)
            for column, value in (changes or {}).items():
                setattr(hotfix, column, value)
            self._log(session, hotfix, actor=actor, kind=kind, detail=detail or {})
            snapshot = self._snapshot(session, hotfix)
        self._changed(hotfix_id)
        return snapshot

    # ------------------------------------------------------------------ reading

    def get(self, hotfix_id: int) -> HotfixSnapshot:
        with transaction(self._sessions, read_only=True) as session:
            hotfix = session.get(Hotfix, hotfix_id)
            if hotfix is None:
                log.warning("unknown hotfix id %r", hotfix_id)
                raise HotfixNotFound(f"HF-{hotfix_id}")
            return self._snapshot(session, hotfix)

    def active(self, channel_id: str | None = None) -> list[HotfixSnapshot]:
        """Hotfixes still running (not declined, closed, rejected or aborted), oldest first."""
        with transaction(self._sessions, read_only=True) as session:
            query = select(Hotfix).where(Hotfix.state.in_(ACTIVE_STATES)).order_by(Hotfix.id)
            if channel_id is not None:
                query = query.where(Hotfix.channel_id == channel_id)
            return [self._snapshot(session, h) for h in session.scalars(query)]

    def record_message(
        self, hotfix_id: int, purpose: str, channel_id: str, ts: str
    ) -> tuple[MessageRef, bool]:
        """Remember a message the bot posted for a hotfix; the first one recorded wins.

        Returns the recorded message and whether it is this one (False: another process
        posted and recorded the same message first, so this copy is a duplicate).
        """
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
        with transaction(self._sessions, read_only=True) as session:
            row = session.scalars(
                select(SlackMessage).where(
                    SlackMessage.hotfix_id == hotfix_id, SlackMessage.purpose == purpose
                )
            ).one()
            recorded = MessageRef(row.channel_id, row.ts)
            return recorded, recorded == MessageRef(channel_id, ts)

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

    def branch_holder(self, branch: str) -> int | None:
        """The hotfix whose branch this is, if any (a name is never shared)."""
        with transaction(self._sessions, read_only=True) as session:
            return session.scalars(
                select(Hotfix.id).where(Hotfix.branch == branch).order_by(Hotfix.id).limit(1)
            ).first()

    def timeline(self, hotfix_id: int) -> list[Event]:
        with transaction(self._sessions, read_only=True) as session:
            query = select(Event).where(Event.hotfix_id == hotfix_id).order_by(Event.id)
            return list(session.scalars(query))

    # ---------------------------------------------------------------- internals

    @contextmanager
    def _locked(
        self, hotfix_id: int, *, read_only: bool = False
    ) -> Iterator[tuple[Session, Hotfix]]:
        """A transaction holding the hotfix's row lock (``read_only``: a plain read that must
        not write); moved-on actions refresh listeners."""
        about_hotfix(hotfix_id)
        try:
            with transaction(self._sessions, read_only=read_only) as session:
                query = select(Hotfix).where(Hotfix.id == hotfix_id)
                if not read_only:
                    query = query.with_for_update()
                hotfix = session.scalars(query).one_or_none()
                if hotfix is None:
                    log.warning("unknown hotfix id %r", hotfix_id)
                    raise HotfixNotFound(f"HF-{hotfix_id}")
                yield session, hotfix
        except HotfixMovedOn:
            self._changed(hotfix_id)  # whoever acted saw an old message: show the new one
            raise

    def _log(
        self, session: Session, hotfix: Hotfix, *, actor: str, kind: str, detail: dict[str, Any]
    ) -> None:
        """A timeline line that does not move the hotfix (a note, a step, a failure)."""
        session.add(
            Event(
                hotfix_id=hotfix.id,
                at=self._clock(),
                actor=actor,
                kind=kind,
                from_state=hotfix.state,
                to_state=hotfix.state,
                detail=detail,
            )
        )

    def _fire(
        self,
        session: Session,
        hotfix: Hotfix,
        event: str,
        *,
        actor: str,
        kind: str | None = None,
        detail: dict[str, Any] | None = None,
        **arguments: Any,
    ) -> None:
        machine = HotfixLifecycle(model=hotfix, state_field="state")
        before = None if event == "assess" else hotfix.state
        try:
            machine.send(event, actor=actor, **arguments)
        except TransitionNotAllowed:
            raise HotfixMovedOn(hotfix.key, hotfix.state) from None
        hotfix.updated_at = self._clock()
        if enters_phase(before, hotfix.state):
            hotfix.phase_started_at = hotfix.updated_at
        if hotfix.id is None:
            session.flush()  # a new hotfix gets its id once its first state is set
        session.add(
            Event(
                hotfix_id=hotfix.id,
                at=hotfix.updated_at,
                actor=actor,
                kind=kind or event,
                from_state=before,
                to_state=hotfix.state,
                detail=detail or {},
            )
        )

    def _snapshot(self, session: Session, hotfix: Hotfix) -> HotfixSnapshot:
        approvals = session.scalars(
            select(Approval).where(Approval.hotfix_id == hotfix.id).order_by(Approval.id)
        )
        messages = session.scalars(select(SlackMessage).where(SlackMessage.hotfix_id == hotfix.id))
        return HotfixSnapshot(
            id=hotfix.id,
            state=hotfix.state,
            title=hotfix.title,
            severity=Severity(hotfix.severity),
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
            drill=bool(hotfix.drill),
            requester_id=hotfix.requester_id,
            channel_id=hotfix.channel_id,
            created_at=hotfix.created_at,
            required_roles=tuple(hotfix.required_roles),
            approvals=tuple(ApprovalRecord(a.role, a.user_id, a.approved_at) for a in approvals),
            messages={m.purpose: MessageRef(m.channel_id, m.ts) for m in messages},
            override_by=hotfix.override_by,
            override_reason=hotfix.override_reason,
            ended_by=hotfix.ended_by,
            end_reason=hotfix.end_reason,
            escalation_step=hotfix.escalation_step,
            approval_requested_at=hotfix.approval_requested_at,
            base_tag=hotfix.base_tag,
            base_commit=hotfix.base_commit,
            branch=hotfix.branch,
            version=hotfix.version,
            pr_number=hotfix.pr_number,
            pr_url=hotfix.pr_url,
            ci_state=hotfix.ci_state,
            ci_detail=hotfix.ci_detail,
            review_head=hotfix.review_head,
            review_ticks={
                t.reviewer_id: tuple(t.items)
                for t in session.scalars(
                    select(ReviewTicks)
                    .where(ReviewTicks.hotfix_id == hotfix.id)
                    .order_by(ReviewTicks.id)
                )
            },
            deploy_ticks=dict(hotfix.deploy_ticks or {}),
            deployer_id=hotfix.deployer_id,
            deployed_version=hotfix.deployed_version,
            previous_version=hotfix.previous_version,
            deploy_attempts=hotfix.deploy_attempts or 0,
            deploy_started_at=hotfix.deploy_started_at,
            deploy_heartbeat_at=hotfix.deploy_heartbeat_at,
            monitoring_started_at=hotfix.monitoring_started_at,
            monitoring_step=hotfix.monitoring_step or 0,
            phase=self._phase_clock(hotfix),
        )

    def _phase_clock(self, hotfix: Hotfix) -> PhaseClock | None:
        phase = phase_of(hotfix.state)
        if phase is None or hotfix.phase_started_at is None:
            return None
        return PhaseClock(phase, hotfix.phase_started_at, self._policy.budgets.of(phase))
