"""Escalation while approvals stall: one mention per step of the path, on persisted timers.

Step *k* is due at ``approval_requested_at + budget × (k + 1)``. Timers carry only the
hotfix id; the step to announce comes from the database, where each step is claimed before
it is posted, so a timer that fires twice (a restart, a second process) announces nothing
twice, and a timer that fires early just re-arms itself.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta

from slack_sdk.errors import SlackApiError

from bot import mrkdwn
from bot.card import CardPublisher, slack_error_code
from bot.render.approvals import escalation_notice
from storage.db import DatabaseUnavailable
from workflows.config import Policy
from workflows.hotfixes import HotfixService
from workflows.scheduler import Timers
from workflows.snapshot import HotfixSnapshot

log = logging.getLogger(__name__)

ESCALATE_JOB = "escalate"
EARLY_TOLERANCE = timedelta(milliseconds=500)


def job_prefix(hotfix_id: int) -> str:
    return f"hotfix-{hotfix_id}-escalation-"


class Escalations:
    """Schedules, announces and cancels a hotfix's escalation steps."""

    def __init__(
        self,
        service: HotfixService,
        cards: CardPublisher,
        timers: Timers,
        policy: Policy,
        clock: Callable[[], datetime],
    ) -> None:
        self._service = service
        self._cards = cards
        self._timers = timers
        self._policy = policy
        self._clock = clock
        # Steps claimed but not posted whose claim could not be given back (database down):
        # given back first at the next try, so the step is announced rather than skipped.
        self._unposted: dict[int, tuple[int, str]] = {}
        timers.register(ESCALATE_JOB, self.escalate)

    def _due_at(self, hotfix: HotfixSnapshot) -> datetime:
        start = hotfix.approval_requested_at or hotfix.created_at
        return start + self._policy.budgets.assessment * (hotfix.escalation_step + 1)

    def _arm(self, hotfix: HotfixSnapshot, when: datetime, suffix: str = "") -> None:
        self._timers.at(
            when,
            ESCALATE_JOB,
            hotfix.id,
            f"{job_prefix(hotfix.id)}{hotfix.escalation_step}{suffix}",
            replace=False,  # an armed step keeps its time: no change ever postpones it
        )

    def sync(self, hotfix_id: int) -> None:
        """After any change: arm the next step while approvals are missing, else disarm."""
        due = self._service.escalation_due(hotfix_id)
        if due is None:
            for job_id, _ in self._timers.pending(job_prefix(hotfix_id)):
                self._timers.cancel(job_id)
            return
        hotfix, _role = due
        self._arm(hotfix, self._due_at(hotfix))

    def escalate(self, hotfix_id: int) -> None:
        """A timer fired: claim the step that is due, announce it, arm the following one.

        The step is claimed in the database before anything is posted, so two timers for the
        same step (a restart, a second process) announce it once; a post Slack refuses gives
        the claim back and tries again shortly.
        """
        try:
            if hotfix_id in self._unposted:
                step, reason = self._unposted[hotfix_id]
                self._service.unmark_escalated(hotfix_id, step, reason=reason)
                del self._unposted[hotfix_id]
            due = self._service.escalation_due(hotfix_id)
        except DatabaseUnavailable:
            self._retry_soon(hotfix_id)
            return
        if due is None:
            return  # approved, rejected or aborted meanwhile: the path stops here
        hotfix, role = due
        now = self._clock()
        due_at = self._due_at(hotfix)
        if now + EARLY_TOLERANCE < due_at:
            self._arm(hotfix, due_at, suffix=f"-early-{uuid.uuid4().hex[:8]}")
            return
        step = hotfix.escalation_step
        last = step + 1 >= len(self._policy.escalation)
        try:
            if not self._service.mark_escalated(hotfix_id, step):
                return  # another timer announced this step
        except DatabaseUnavailable:
            self._retry_soon(hotfix_id)
            return
        text = escalation_notice(
            hotfix,
            role=role,
            principals=self._service.directory.principals,
            waited=mrkdwn.elapsed(now - (hotfix.approval_requested_at or hotfix.created_at)),
            last=last,
        )
        try:
            self._cards.post_in_thread(hotfix, text)
        except SlackApiError as error:
            try:
                self._service.unmark_escalated(hotfix_id, step, reason=slack_error_code(error))
            except DatabaseUnavailable:
                self._unposted[hotfix_id] = (step, slack_error_code(error))
            self._retry_soon(hotfix_id)
            return
        if not last:
            self.sync(hotfix_id)

    def _retry_soon(self, hotfix_id: int) -> None:
        """Try the due step again in a little while (Slack or the database was down)."""
        delay = min(self._policy.budgets.assessment / 4, timedelta(minutes=1))
        self._timers.at(
            self._clock() + delay,
            ESCALATE_JOB,
            hotfix_id,
            f"{job_prefix(hotfix_id)}retry-{uuid.uuid4().hex[:8]}",
            replace=False,
        )
