"""Claims on the timeline: what must happen once per hotfix — a monitoring ping, a budget
nudge, an escalation step, an announcement, the post-mortem upload — is claimed on the
hotfix's locked row, in the same transaction that stores what it posts. A timer that fires
twice, or two processes that fire together, claim it once; a claim whose post did not reach
Slack can be given back (the escalation's).

Part of ``HotfixService`` (``workflows.hotfixes``), which provides the locked transaction,
the timeline and the snapshots these build on.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage.db import transaction
from storage.models import Event, Hotfix
from workflows.budgets import phase_of
from workflows.errors import DomainError
from workflows.record import TimelineEvent
from workflows.service_common import ServicePart
from workflows.snapshot import HotfixSnapshot

BOT_ACTOR = "hotfix-bot"


class TimelineClaims(ServicePart):
    """The exactly-once steps of ``HotfixService``."""

    def claim_ping(
        self,
        hotfix_id: int,
        step: int,
        *,
        detail: dict[str, Any],
        also: Callable[[Session, HotfixSnapshot], None],
        finish: bool = False,
    ) -> HotfixSnapshot | None:
        """Claim monitoring step ``step`` (the one after the last claimed) and, in the same
        transaction, ``also`` (store the ping for Slack): a step is claimed and posted once,
        or not at all. ``finish`` also ends the window (monitoring → merging back). None when
        the step was claimed already or the hotfix left monitoring."""
        with self._locked(hotfix_id) as (session, hotfix):
            if hotfix.state != "monitoring" or (hotfix.monitoring_step or 0) != step - 1:
                return None
            hotfix.monitoring_step = step
            self._log(session, hotfix, actor=BOT_ACTOR, kind="monitoring_ping", detail=detail)
            if finish:
                self._fire(session, hotfix, "monitoring_passed", actor=BOT_ACTOR, detail=detail)
            snapshot = self._snapshot(session, hotfix)
            also(session, snapshot)
        self._changed(hotfix_id)
        return snapshot

    def pass_held_window(
        self,
        hotfix_id: int,
        checks: int,
        *,
        actor: str,
        also: Callable[[Session, HotfixSnapshot], None],
    ) -> HotfixSnapshot:
        """A person's "All green" on a window held by its failed last check: the window
        passed by them (monitoring → merging back) and, in the same transaction, ``also``
        (store the summary for Slack). A second click finds the hotfix moved on."""
        with self._locked(hotfix_id) as (session, hotfix):
            if hotfix.state == "monitoring" and (hotfix.monitoring_step or 0) < checks:
                raise DomainError(f"{hotfix.key}: the monitoring window is not over yet.")
            # From any state but monitoring this refuses: the hotfix moved on.
            detail = {"step": hotfix.monitoring_step, "held": True}
            self._fire(session, hotfix, "monitoring_passed", actor=actor, detail=detail)
            snapshot = self._snapshot(session, hotfix)
            also(session, snapshot)
        self._changed(hotfix_id)
        return snapshot

    def claim_nudge(
        self,
        hotfix_id: int,
        since: datetime,
        *,
        detail: dict[str, Any],
        also: Callable[[Session, HotfixSnapshot], None],
    ) -> HotfixSnapshot | None:
        """Record that the phase started at ``since`` ran over and, in the same transaction,
        ``also`` (store the nudge for Slack): once per phase, or not at all. None when the
        hotfix left that phase or it was nudged already."""
        with self._locked(hotfix_id) as (session, hotfix):
            if phase_of(hotfix.state) is None or hotfix.phase_started_at != since:
                return None
            stamp = since.isoformat()
            nudged = session.scalars(
                select(Event.detail).where(Event.hotfix_id == hotfix_id, Event.kind == "phase_over")
            )
            if any((d or {}).get("since") == stamp for d in nudged):
                return None
            self._log(
                session,
                hotfix,
                actor=BOT_ACTOR,
                kind="phase_over",
                detail={**detail, "phase": phase_of(hotfix.state), "since": stamp},
            )
            snapshot = self._snapshot(session, hotfix)
            also(session, snapshot)
        self._changed(hotfix_id)
        return snapshot

    def note_once(
        self, hotfix_id: int, *, actor: str, kind: str, detail: dict[str, Any] | None = None
    ) -> bool:
        """Append a ``kind`` line to the timeline unless it has one: True if this call did
        (a step that must happen once per hotfix claims it so)."""
        with self._locked(hotfix_id) as (session, hotfix):
            seen = session.scalar(
                select(func.count())
                .select_from(Event)
                .where(Event.hotfix_id == hotfix_id, Event.kind == kind)
            )
            if seen:
                return False
            self._log(session, hotfix, actor=actor, kind=kind, detail=detail or {})
        return True

    def unannounced(self, hotfix_id: int) -> bool:
        """Whether the timeline has events newer than the last announced (a plain read)."""
        with transaction(self._sessions, read_only=True) as session:
            last = session.scalar(select(func.max(Event.id)).where(Event.hotfix_id == hotfix_id))
            done = session.scalar(select(Hotfix.announced_event_id).where(Hotfix.id == hotfix_id))
        return last is not None and (done is None or done < last)

    def claim_announcements(
        self,
        hotfix_id: int,
        worth: Callable[[Event], bool],
        store: Callable[[Session, HotfixSnapshot, list[TimelineEvent]], None],
    ) -> tuple[HotfixSnapshot, list[TimelineEvent]] | None:
        """The timeline events not announced yet that are ``worth`` announcing, marked
        announced in the same transaction as ``store`` keeps their posts: each is announced
        once, or not at all. None when there is nothing new."""
        if not self.unannounced(hotfix_id):
            return None
        with self._locked(hotfix_id) as (session, hotfix):
            events = session.scalars(
                select(Event)
                .where(Event.hotfix_id == hotfix_id, Event.id > (hotfix.announced_event_id or 0))
                .order_by(Event.id)
            ).all()
            if not events:
                return None
            hotfix.announced_event_id = events[-1].id
            chosen = [
                TimelineEvent(e.at, e.actor, e.kind, e.from_state, e.to_state, dict(e.detail or {}))
                for e in events
                if worth(e)
            ]
            snapshot = self._snapshot(session, hotfix)
            if chosen:
                store(session, snapshot, chosen)
        return snapshot, chosen

    # --------------------------------------------------------------- escalation

    def escalation_due(self, hotfix_id: int) -> tuple[HotfixSnapshot, str] | None:
        """The next escalation step (and its role) if approvals are still missing."""
        hotfix = self.get(hotfix_id)
        path = self._policy.escalation
        if hotfix.state != "awaiting_approval" or hotfix.escalation_step >= len(path):
            return None
        return hotfix, path[hotfix.escalation_step]

    def mark_escalated(self, hotfix_id: int, step: int) -> bool:
        """Record that escalation ``step`` was announced; False if it already was."""
        with self._locked(hotfix_id) as (session, hotfix):
            if hotfix.escalation_step != step:
                return False
            hotfix.escalation_step = step + 1
            self._log(
                session,
                hotfix,
                actor=BOT_ACTOR,
                kind="escalated",
                detail={"step": step, "role": self._policy.escalation[step]},
            )
        return True

    def unmark_escalated(self, hotfix_id: int, step: int, *, reason: str) -> None:
        """The announcement of ``step`` did not reach Slack: it is due again."""
        with self._locked(hotfix_id) as (session, hotfix):
            if hotfix.escalation_step != step + 1:
                return
            hotfix.escalation_step = step
            self._log(
                session,
                hotfix,
                actor=BOT_ACTOR,
                kind="escalation_undelivered",
                detail={"step": step, "reason": reason},
            )
