"""Phase budgets: one nudge in the thread when a phase runs over, on persisted timers.

The escalation's rule (``bot.escalation``): a timer carries only the hotfix id; whether a
nudge is due comes from the database, where it is claimed in the same transaction that
stores it for Slack (``Outbox.post_within``). A timer that fires twice claims nothing the
second time; one that fires early re-arms; one due while the bot was down fires when it is
back. Each phase entry has its own timer (``hotfix-3-budget-fix-<start>``), so a hotfix
that leaves the phase in time is never nudged for it, and one sent back to fixing gets a
fresh budget.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta

from bot import mrkdwn
from bot.outbox import Outbox
from bot.render.waiting import waits_on
from storage.db import DatabaseUnavailable
from workflows.budgets import NUDGED, PhaseClock
from workflows.config import Policy
from workflows.hotfixes import HotfixService
from workflows.scheduler import Timers
from workflows.snapshot import HotfixSnapshot

log = logging.getLogger(__name__)

NUDGE_JOB = "budget"
EARLY_TOLERANCE = timedelta(milliseconds=500)
RETRY_IN = timedelta(seconds=30)


def job_prefix(hotfix_id: int) -> str:
    return f"hotfix-{hotfix_id}-budget-"


def _job_id(hotfix_id: int, clock: PhaseClock) -> str:
    return f"{job_prefix(hotfix_id)}{clock.phase}-{int(clock.since.timestamp() * 1000)}"


class Nudges:
    """Arms, fires and disarms the budget timer of each hotfix's current phase."""

    def __init__(
        self,
        service: HotfixService,
        outbox: Outbox,
        timers: Timers,
        policy: Policy,
        clock: Callable[[], datetime],
    ) -> None:
        self._service = service
        self._outbox = outbox
        self._timers = timers
        self._policy = policy
        self._clock = clock
        timers.register(NUDGE_JOB, self.nudge)

    def sync(self, hotfix_id: int) -> None:
        """After any change: the current phase's timer armed, every other one cancelled."""
        hotfix = self._service.get(hotfix_id)
        clock = hotfix.phase if hotfix.phase and hotfix.phase.phase in NUDGED else None
        keep = _job_id(hotfix_id, clock) if clock else None
        for job_id, _ in self._timers.pending(job_prefix(hotfix_id)):
            if job_id != keep and not (keep and job_id.startswith(f"{keep}-")):
                self._timers.cancel(job_id)
        if clock is not None and keep is not None:
            # An armed timer keeps its time; one already nudged fires and claims nothing.
            self._timers.at(clock.due, NUDGE_JOB, hotfix_id, keep, replace=False)

    def nudge(self, hotfix_id: int) -> None:
        """A timer fired: if the phase it was armed for is still running and over, say so."""
        try:
            hotfix = self._service.get(hotfix_id)
        except DatabaseUnavailable:
            self._again(hotfix_id, self._clock() + RETRY_IN)
            return
        clock = hotfix.phase
        if clock is None or clock.phase not in NUDGED:
            return  # the hotfix moved on
        now = self._clock()
        if now + EARLY_TOLERANCE < clock.due:
            self._again(hotfix_id, clock.due, _job_id(hotfix_id, clock))
            return
        waiting = waits_on(
            hotfix, self._service.directory.principals, self._policy.deploy.allowed_roles
        )
        text = nudge_text(hotfix, clock, now, waiting)

        def store(session, snapshot: HotfixSnapshot) -> None:  # type: ignore[no-untyped-def]
            self._outbox.post_within(
                session,
                hotfix.channel_id,
                text,
                thread_of=hotfix_id,
                what=f"{hotfix.key} {clock.phase} budget nudge",
                drill=hotfix.drill,
            )

        detail = {
            "budget_seconds": int(clock.budget.total_seconds()),
            "elapsed_seconds": int(clock.elapsed(now).total_seconds()),
        }
        try:
            self._service.claim_nudge(hotfix_id, clock.since, detail=detail, also=store)
        except DatabaseUnavailable:
            self._again(hotfix_id, now + RETRY_IN)

    def _again(self, hotfix_id: int, when: datetime, base: str | None = None) -> None:
        self._timers.at(
            when,
            NUDGE_JOB,
            hotfix_id,
            f"{base or job_prefix(hotfix_id) + 'retry'}-{uuid.uuid4().hex[:8]}",
            replace=False,
        )


def nudge_text(hotfix: HotfixSnapshot, clock: PhaseClock, now: datetime, waiting: str) -> str:
    over = clock.elapsed(now) - clock.budget
    how = f"{mrkdwn.elapsed(over)} over" if over >= timedelta(minutes=1) else "at the end of"
    return (
        f"⏰ *{hotfix.key}*: the {clock.title.lower()} phase has taken "
        f"{mrkdwn.elapsed(clock.elapsed(now))}, {how} its "
        f"{mrkdwn.elapsed(clock.budget)} budget. Waiting on {waiting}."
    )
