"""Announcements: a hotfix's milestones, one line each, in ``channels.stakeholders`` and as
JSON to ``announce.webhook_url``.

Milestones are read from the timeline after each change (declared, approved, deploying,
deployed, deploy failed, rolling back, rolled back, merging back, closed, aborted,
rejected). Which events were announced is recorded in the same transaction that stores
their posts for Slack (``Outbox.post_within``), so each is posted once whatever happens to
the process. The webhook is called after that, off the lanes, with a bounded number of
tries; one it does not take is said in the thread, and the hotfix goes on. A security fix
is announced as "Security fix", never by its title.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC
from queue import SimpleQueue
from typing import Any

from bot import mrkdwn
from bot.card import CardPublisher
from bot.outbox import Outbox
from storage.db import DatabaseUnavailable
from storage.models import Event
from workflows.config import Policy
from workflows.hotfixes import HotfixService
from workflows.lifecycle import state_name
from workflows.record import TimelineEvent
from workflows.snapshot import HotfixSnapshot

log = logging.getLogger(__name__)

#: state entered → (webhook event name, what the line says)
ENTERED: dict[str, tuple[str, Callable[[HotfixSnapshot], str]]] = {
    "awaiting_approval": ("declared", lambda h: "🚨 declared; awaiting approval"),
    "approved": ("approved", lambda h: "👍 approved; fixing starts"),
    "deploying": ("deploying", lambda h: f"🚀 deploying {h.deployed_version or h.version}"),
    "monitoring": ("deployed", lambda h: f"✅ {h.deployed_version} deployed; monitoring"),
    "deploy_failed": (
        "deploy_failed",
        lambda h: f"💥 deploy of {h.deployed_version or h.version} failed",
    ),
    "rolled_back": ("rolling_back", lambda h: f"⏪ rolling back to {h.previous_version}"),
    "merging_back": ("monitoring_passed", lambda h: "🏁 monitoring passed; merging back"),
    "closed": ("closed", lambda h: "🎉 closed"),
    "aborted": ("aborted", lambda h: "🛑 aborted"),
    "rejected": ("rejected", lambda h: "🛑 rejected"),
}
#: timeline kinds that are milestones without a state change
HAPPENED: dict[str, tuple[str, Callable[[HotfixSnapshot], str]]] = {
    "rollback_finished": ("rolled_back", lambda h: f"⏪ rolled back to {h.previous_version}"),
    "rollback_failed": ("rollback_failed", lambda h: "🆘 rollback failed"),
}


def _milestone(event: Event | TimelineEvent) -> tuple[str, Callable[[HotfixSnapshot], str]] | None:
    if event.to_state and event.to_state != event.from_state and event.to_state in ENTERED:
        return ENTERED[event.to_state]
    return HAPPENED.get(event.kind)


def announcement_text(hotfix: HotfixSnapshot, what: str, link: str | None) -> str:
    title = "Security fix" if hotfix.security_fix else mrkdwn.fit(hotfix.title, 150)
    line = f"{hotfix.severity.emoji} *{hotfix.key}* {title} — {what}"
    return f"{line} · <{link}|thread>" if link else line


@dataclass(frozen=True)
class Hook:
    """One webhook call waiting to be made."""

    hotfix: HotfixSnapshot
    payload: dict[str, Any]


class Announcements:
    """Subscribed to every change: posts the new milestones, then calls the webhook."""

    def __init__(
        self,
        service: HotfixService,
        cards: CardPublisher,
        outbox: Outbox,
        policy: Policy,
        *,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._service = service
        self._cards = cards
        self._outbox = outbox
        self._policy = policy
        self._sleep = sleep
        self._hooks: SimpleQueue[Hook | None] = SimpleQueue()
        self._closed = False
        self._caller: threading.Thread | None = None
        self._lock = threading.Lock()

    def sync(self, hotfix_id: int) -> None:
        channel = self._policy.channels.stakeholders
        webhook = self._policy.announce.webhook_url
        if channel is None and webhook is None:
            return
        try:
            if not self._service.unannounced(hotfix_id):
                return
            link = self._link(self._service.get(hotfix_id))  # Slack, before any lock

            def store(session, hotfix: HotfixSnapshot, events: list[TimelineEvent]) -> None:  # type: ignore[no-untyped-def]
                for event in events if channel else ():
                    _, words = _milestone(event) or ("", lambda h: "")
                    self._outbox.post_within(
                        session,
                        channel,
                        announcement_text(hotfix, words(hotfix), link),
                        what=f"{hotfix.key} announcement in {channel}",
                        drill=hotfix.drill,
                    )

            claimed = self._service.claim_announcements(
                hotfix_id, lambda e: _milestone(e) is not None, store
            )
        except DatabaseUnavailable:
            return  # the next change, or the next start, announces it
        if claimed is None or webhook is None:
            return
        hotfix, events = claimed
        for event in events:
            name, _ = _milestone(event) or ("", None)
            self._call_later(Hook(hotfix, self._payload(hotfix, event, name, link)))

    def _link(self, hotfix: HotfixSnapshot) -> str | None:
        found = self._cards.permalink(hotfix)
        return found if found.startswith("http") else None

    def _payload(
        self, hotfix: HotfixSnapshot, event: TimelineEvent, name: str, link: str | None
    ) -> dict[str, Any]:
        return {
            "event": name,
            "hotfix": hotfix.key,
            "severity": hotfix.severity.value,
            "title": "Security fix" if hotfix.security_fix else hotfix.title,
            "security_fix": hotfix.security_fix,
            "state": event.to_state or hotfix.state,
            "state_name": state_name(event.to_state or hotfix.state),
            "version": hotfix.deployed_version or hotfix.version,
            "previous_version": hotfix.previous_version,
            "at": event.at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
            "thread": link,
        }

    # --------------------------------------------------------------------- webhook

    def _call_later(self, hook: Hook) -> None:
        with self._lock:
            if self._closed:
                log.warning("%s: not sent to the webhook, the bot is stopping", hook.hotfix.key)
                return
            self._hooks.put(hook)
            if self._caller is None or not self._caller.is_alive():
                self._caller = threading.Thread(
                    target=self._call_all, name="announce-webhook", daemon=True
                )
                self._caller.start()

    def _call_all(self) -> None:
        while True:
            hook = self._hooks.get()
            if hook is None:
                return  # closing
            try:
                problem = self.call(hook.payload)
                if problem is not None:
                    self._cards.say(
                        hook.hotfix,
                        f"⚠️ The announcement webhook did not take “{hook.payload['event']}” "
                        f"for {hook.hotfix.key}: {problem}. The hotfix goes on; check "
                        "`announce.webhook_url`.",
                    )
            except Exception:  # this thread has nobody to tell but the log
                log.exception("%s: the webhook announcement failed", hook.hotfix.key)

    def close(self, timeout: float = 10.0) -> None:
        """Stop taking calls; let the one under way finish (up to ``timeout``)."""
        with self._lock:
            self._closed = True
            caller = self._caller
        self._hooks.put(None)
        if caller is not None:
            caller.join(timeout)

    def call(self, payload: dict[str, Any]) -> str | None:
        """POST ``payload``; None when the webhook took it (2xx), else what went wrong, after
        ``announce.attempts`` tries (a 4xx is not tried again)."""
        settings = self._policy.announce
        assert settings.webhook_url is not None
        host = urllib.parse.urlsplit(settings.webhook_url).netloc  # never the path: a secret
        body = json.dumps(payload).encode()
        problem = ""
        for attempt in range(settings.attempts):
            if attempt:
                self._sleep(min(2.0**attempt, 30.0))
            request = urllib.request.Request(
                settings.webhook_url,
                data=body,
                headers={"Content-Type": "application/json", "User-Agent": "Hotfix-Bot"},
                method="POST",
            )
            try:
                with urllib.request.urlopen(
                    request, timeout=settings.timeout.total_seconds()
                ) as answer:
                    if 200 <= answer.status < 300:
                        return None
                    problem = f"{host} answered HTTP {answer.status}"
            except urllib.error.HTTPError as error:
                problem = f"{host} answered HTTP {error.code}"
                if 400 <= error.code < 500 and error.code != 429:
                    break
            except (OSError, ValueError) as error:
                problem = f"{host} could not be reached ({type(error).__name__})"
        log.warning("announcement webhook: %s (%s)", problem, payload.get("event"))
        tries = f"{attempt + 1} tr{'y' if attempt == 0 else 'ies'}"
        return f"{problem} after {tries}"
