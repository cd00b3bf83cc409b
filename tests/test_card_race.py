"""Two processes showing the same new hotfix at once: Slack ends with one copy of each message."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

from slack_sdk import WebClient

from bot.card import CardPublisher
from storage.models import SlackMessage
from tests.conftest import INCIDENT_CHANNEL, REQUESTER, RunningBot
from workflows.assessment import Assessment
from workflows.hotfixes import HotfixService
from workflows.severity import Severity


class PostsInLockstep:
    """A Slack client whose chat.postMessage returns only once the other process has posted
    too: both copies exist in Slack before either is recorded (the race, every time)."""

    def __init__(self, client: WebClient, barrier: threading.Barrier) -> None:
        self._client = client
        self._barrier = barrier

    def chat_postMessage(self, **arguments: Any) -> Any:
        response = self._client.chat_postMessage(**arguments)
        self._barrier.wait()
        return response

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


def test_the_copy_recorded_second_is_taken_back(running_bot: RunningBot) -> None:
    bot = running_bot
    services = bot.bot.services
    # A service of its own, so the running bot does not show the hotfix first.
    service = HotfixService(services.sessions, bot.bot.policy, services.hotfixes.directory)
    hotfix = service.open(
        Assessment(
            title="Checkout down",
            severity=Severity.CRITICAL,
            impact="Nobody can pay",
            discovered_at=datetime.now(UTC),
            reporter_id=REQUESTER,
        ),
        requester_id=REQUESTER,
        channel_id=INCIDENT_CHANNEL,
        idempotency_key="race-1",
    )
    assert hotfix is not None
    barrier = threading.Barrier(2, timeout=20)
    client = bot.bot.services.slack
    publishers = [
        CardPublisher(
            PostsInLockstep(client, barrier),  # type: ignore[arg-type]
            service,
            bot.bot.outbox,
            clock=services.clock,
        )
        for _ in range(2)
    ]
    with ThreadPoolExecutor(max_workers=2) as pool:
        for done in [pool.submit(p.publish, hotfix.id) for p in publishers]:
            done.result()

    [card] = bot.fake.messages(INCIDENT_CHANNEL)
    recorded = {m.purpose: m.ts for m in bot.rows(SlackMessage)}
    assert card["ts"] == recorded["card"]
    thread = bot.fake.thread(INCIDENT_CHANNEL, card["ts"])
    assert sorted(m["ts"] for m in thread) == sorted(
        recorded[purpose] for purpose in ("assessment", "approvals")
    )
    assert [m["text"].split(":")[0] for m in thread] == [
        "Hotfix Request HF-1",
        "Approvers for HF-1",
    ]
