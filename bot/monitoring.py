"""The monitoring window after a deploy: where each ping is scheduled, checked and posted.

Pings follow the escalation's rule (``bot.escalation``): a timer carries only the hotfix id;
the step due comes from the database, where it is claimed in the same transaction that
stores the ping for Slack (``Outbox.post_within``). A timer that fires twice (a restart, a
second replica, a leader change) claims nothing the second time; a ping due while the bot
was down is posted when it is back, once, saying it is late; a ping the database could not
take (it was restarting) is tried again a few seconds later.

The window passes on its own when its last check is healthy. When the last check fails (a
health check that flaps, or production that broke late) the window is *held*: the thread
says so and merge back waits for a person — "All green" passes it, "Problem — roll back"
rolls back.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime, timedelta

from bot.outbox import Outbox
from bot.render import monitoring as render
from storage.db import DatabaseUnavailable
from workflows.config import Policy
from workflows.deploy import Health, check_health
from workflows.deployment import monitoring_pings
from workflows.durations import format_duration
from workflows.hotfixes import HotfixMovedOn, HotfixService
from workflows.lifecycle import sources
from workflows.roles import mention
from workflows.scheduler import Timers
from workflows.snapshot import HotfixSnapshot

MONITOR_JOB = "monitor"
EARLY_TOLERANCE = timedelta(milliseconds=500)
LATE_AFTER = timedelta(seconds=5)
RETRY_AFTER = timedelta(seconds=5)
ONCALL_LEAD = "oncall_lead"


def job_prefix(hotfix_id: int) -> str:
    return f"hotfix-{hotfix_id}-monitor-"


class Monitoring:
    """The pings of the monitoring window, on persisted timers."""

    def __init__(
        self,
        service: HotfixService,
        outbox: Outbox,
        policy: Policy,
        timers: Timers,
        *,
        clock: Callable[[], datetime],
    ) -> None:
        self._service = service
        self._outbox = outbox
        self._policy = policy
        self._timers = timers
        self._clock = clock
        timers.register(MONITOR_JOB, self._ping)

    def sync(self, hotfix: HotfixSnapshot) -> None:
        """While monitoring, the next ping is armed; otherwise none is left."""
        if hotfix.state != "monitoring" or hotfix.monitoring_started_at is None:
            self.cancel(hotfix.id)
            return
        pings = self._pings(hotfix)
        step = hotfix.monitoring_step + 1
        if step <= len(pings):
            self._timers.at(
                pings[step - 1].due,
                MONITOR_JOB,
                hotfix.id,
                f"{job_prefix(hotfix.id)}{step}",
                replace=False,
            )

    def held(self, hotfix: HotfixSnapshot) -> bool:
        """Every check is done, yet the window has not passed: its last check failed."""
        return (
            hotfix.state == "monitoring"
            and hotfix.monitoring_started_at is not None
            and hotfix.monitoring_step >= len(self._pings(hotfix))
        )

    def all_green(self, hotfix_id: int, actor: str) -> HotfixSnapshot:
        """ "All green": recorded for the summary; on a held window it passes the window."""
        hotfix = self._service.get(hotfix_id)
        if hotfix.state != "monitoring" or hotfix.monitoring_started_at is None:
            raise HotfixMovedOn(hotfix.key, hotfix.state)
        pings = self._pings(hotfix)
        if not self.held(hotfix):
            return self._service.note(
                hotfix_id,
                actor=actor,
                kind="monitoring_confirmed",
                detail={"step": hotfix.monitoring_step},
                allowed_states=sources("monitoring_passed"),
            )
        passed, failed, confirmed = self._tally(hotfix, None)
        text, blocks = render.summary(
            hotfix,
            passed,
            failed,
            list(dict.fromkeys([*confirmed, actor])),
            format_duration(self._policy.monitoring.window),
        )

        def store(session, snapshot: HotfixSnapshot) -> None:  # type: ignore[no-untyped-def]
            self._outbox.post_within(
                session,
                hotfix.channel_id,
                text,
                blocks,
                thread_of=hotfix_id,
                what=f"{hotfix.key} monitoring passed",
                drill=hotfix.drill,
            )

        return self._service.pass_held_window(hotfix_id, len(pings), actor=actor, also=store)

    def _pings(self, hotfix: HotfixSnapshot) -> list:
        assert hotfix.monitoring_started_at is not None
        return monitoring_pings(
            hotfix.monitoring_started_at,
            self._policy.monitoring.interval,
            self._policy.monitoring.window,
        )

    def cancel(self, hotfix_id: int) -> None:
        for job_id, _ in self._timers.pending(job_prefix(hotfix_id)):
            self._timers.cancel(job_id)

    def _ping(self, hotfix_id: int) -> None:
        """A timer fired: check health and post the step that is due, once."""
        try:
            hotfix = self._service.get(hotfix_id)
        except DatabaseUnavailable:
            self._retry_soon(hotfix_id)
            return
        if hotfix.state != "monitoring" or hotfix.monitoring_started_at is None:
            return
        pings = self._pings(hotfix)
        step = hotfix.monitoring_step + 1
        if step > len(pings):
            return
        due = pings[step - 1]
        now = self._clock()
        if now + EARLY_TOLERANCE < due.due:
            self._timers.at(
                due.due,
                MONITOR_JOB,
                hotfix_id,
                f"{job_prefix(hotfix_id)}{step}-early-{uuid.uuid4().hex[:8]}",
                replace=False,
            )
            return
        deploy = self._policy.deploy
        health = (
            check_health(deploy.health_url, deploy.health_expect) if deploy.health_url else None
        )
        late = now - due.due if now - due.due > LATE_AFTER else None
        window_end = pings[-1].due
        text, blocks = render.ping(
            hotfix,
            due,
            len(pings),
            health,
            left=window_end - now,
            late_by=late,
            alert=self._alerted(hotfix),
        )
        messages: list[tuple[str, list[dict]]] = [(text, blocks)]
        held = due.last and health is not None and not health.ok
        if due.last:
            passed, failed, confirmed = self._tally(hotfix, health)
            window = format_duration(self._policy.monitoring.window)
            messages.append(
                render.held(hotfix, passed, failed, window, self._alerted(hotfix))
                if held
                else render.summary(hotfix, passed, failed, confirmed, window)
            )

        def store(session, snapshot: HotfixSnapshot) -> None:  # type: ignore[no-untyped-def]
            for text_, blocks_ in messages:
                self._outbox.post_within(
                    session,
                    hotfix.channel_id,
                    text_,
                    blocks_,
                    thread_of=hotfix_id,
                    what=f"{hotfix.key} monitoring check {step}",
                    drill=hotfix.drill,
                )

        detail = {
            "step": step,
            "of": len(pings),
            "healthy": None if health is None else health.ok,
            "health": None if health is None else health.detail,
            "late_seconds": int(late.total_seconds()) if late else 0,
        }
        try:
            claimed = self._service.claim_ping(
                hotfix_id, step, detail=detail, also=store, finish=due.last and not held
            )
        except DatabaseUnavailable:
            self._retry_soon(hotfix_id)
            return
        if claimed is not None and not due.last:
            self.sync(claimed)

    def _alerted(self, hotfix: HotfixSnapshot) -> list[str]:
        who = [mention(hotfix.deployer_id)] if hotfix.deployer_id else []
        who += [mention(p) for p in self._service.directory.principals(ONCALL_LEAD)]
        return list(dict.fromkeys(who))

    def _tally(self, hotfix: HotfixSnapshot, last: Health | None) -> tuple[int, int, list[str]]:
        """Healthy and failed checks of this window (``last``: one not recorded yet), and who
        confirmed all green."""
        started = hotfix.monitoring_started_at
        events = [e for e in self._service.timeline(hotfix.id) if started and e.at >= started]
        results = [e.detail.get("healthy") for e in events if e.kind == "monitoring_ping"]
        if last is not None:
            results.append(last.ok)
        confirmed = [e.actor for e in events if e.kind == "monitoring_confirmed"]
        passed = sum(1 for r in results if r is True)
        failed = sum(1 for r in results if r is False)
        return passed, failed, list(dict.fromkeys(confirmed))

    def _retry_soon(self, hotfix_id: int) -> None:
        self._timers.at(
            self._clock() + RETRY_AFTER,
            MONITOR_JOB,
            hotfix_id,
            f"{job_prefix(hotfix_id)}retry-{uuid.uuid4().hex[:8]}",
            replace=False,
        )
