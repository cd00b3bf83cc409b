"""The ack path: while Slack does not answer, every command and click is still acknowledged,
and what it asked for is done once Slack is back — nothing lost, nothing doubled.

Each scenario runs twice: in one process (the app the other tests drive), and as
``python app.py`` serves it in production, where a front process acks and a worker process
does the work (``bot.split``).
"""

from __future__ import annotations

import json
import os
import signal
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from bot.ack import BUSY
from sandbox.slack_server import FakeSlack
from storage.models import Approval, Event, Hotfix, SlackDelivery
from tests.conftest import (
    CTO,
    EM,
    INCIDENT_CHANNEL,
    ONCALL,
    REQUESTER,
    RunningBot,
    ServedBot,
    running,
    serving,
    write_policy,
)
from tests.git_fixtures import Origin
from tests.harness.processes import descendants
from tests.test_approvals import card, in_thread, open_hotfix
from tests.test_start import text_of

STATUS = 25
CLICKS = {EM: ("Approve as Engineering Manager", 10), ONCALL: ("Approve as On-call Lead", 10)}
CTO_CLICKS = 5

Bot = RunningBot | ServedBot


@pytest.fixture
def policy_path(tmp_path: Path, origin: Origin, request: pytest.FixtureRequest) -> Path:
    # A short Slack timeout keeps the tests quick; the behaviour is the same at 5 s.
    marker = request.node.get_closest_marker("policy")
    changes = {"slack": {"timeout": "1s"}, **(marker.kwargs if marker else {})}
    return write_policy(tmp_path, origin, **changes)


@pytest.fixture(params=["one process", "front and worker"])
def bot(
    request: pytest.FixtureRequest,
    fake_slack: FakeSlack,
    database_url: str,
    policy_path: Path,
    tmp_path: Path,
) -> Iterator[Bot]:
    if request.param == "one process":
        with running(fake_slack, database_url, policy_path, {}) as in_process:
            yield in_process
    else:
        with serving(fake_slack, database_url, policy_path, tmp_path) as served:
            yield served


def test_fifty_requests_while_slack_hangs_are_acked_and_done_once_it_recovers(bot: Bot) -> None:
    checklist = open_hotfix(bot)
    bot.fake.wait_for(lambda: "Awaiting approval" in text_of(card(bot)["blocks"]))
    # Slack listed the On-call group before it went down (the bot asks at start).
    bot.fake.wait_for(lambda: bot.fake.calls_to("usergroups.users.list"), timeout=20)

    bot.fake.hang("response_url", "chat.postMessage")
    requests = [("status", REQUESTER, "status HF-1" if n % 2 else "status") for n in range(STATUS)]
    for user, (label, times) in CLICKS.items():
        requests += [("click", user, label)] * times
    requests += [("click", CTO, "Approve as CTO")] * CTO_CLICKS

    def send(request: tuple[str, str, str]) -> int:
        kind, user, label = request
        if kind == "status":
            return bot.slack.slash(label, user_id=user, channel_id=INCIDENT_CHANNEL).status
        return bot.slack.click(
            channel_id=INCIDENT_CHANNEL, message=checklist, label=label, user_id=user
        ).status

    with ThreadPoolExecutor(max_workers=len(requests)) as pool:
        statuses = list(pool.map(send, requests))
    assert statuses == [200] * len(requests)

    # Recorded while Slack hangs: one approval per role; the replies and notices wait.
    bot.fake.wait_for(lambda: len(bot.rows(Approval)) == 3, timeout=15)
    bot.fake.wait_for(lambda: bot.rows(SlackDelivery), timeout=15)
    assert bot.fake.responses() == []
    assert bot.fake.dropped, "the bot did try Slack while it hung"

    bot.fake.recover()

    # Every command got its one answer, every refused click its one explanation.
    replies = bot.fake.wait_for(
        lambda: (
            len(bot.fake.responses()) >= STATUS + sum(t - 1 for _, t in CLICKS.values()) + 4
            and bot.fake.responses()
        ),
        timeout=40,
    )
    by_url = Counter(r["url"] for r in replies)
    assert set(by_url.values()) == {1}, "no request was answered twice"
    status_replies = [r for r in replies if r["user"] == REQUESTER]
    assert len(status_replies) == STATUS
    assert all("HF-1" in text_of(r["blocks"] or []) for r in status_replies)
    # A click after the role's approval is told so; one after the last approval, that the
    # hotfix has moved on.
    reasons = ("was already given", "is now *Approved*, so that no longer applies")
    for user, (_, times) in CLICKS.items():
        refused = [r["text"] for r in replies if r["user"] == user]
        assert len(refused) == times - 1
        odd = [text for text in refused if not any(reason in text for reason in reasons)]
        assert odd == []
    assert len([r for r in replies if r["user"] == CTO]) == CTO_CLICKS - 1

    # The hotfix moved on exactly once, and its thread says so exactly once.
    approved = bot.fake.wait_for(lambda: in_thread(bot, "✅ *HF-1 is approved*"), timeout=40)
    assert len(approved) == 1
    hotfix = bot.rows(Hotfix)[0]
    assert hotfix.state in ("approved", "fixing")
    kinds = Counter(e.kind for e in bot.rows(Event))
    assert (kinds["approval"], kinds["approve"]) == (3, 1)
    bot.fake.wait_for(lambda: bot.rows(SlackDelivery) == [], timeout=40)
    assert {r.role for r in bot.rows(Approval)} == {"engineering_manager", "oncall_lead", "cto"}


@pytest.mark.policy(
    slack={"timeout": "2s"}, workers={"requests": 1, "forms": 1, "updates": 1, "queue": 1}
)
def test_beyond_what_the_lanes_hold_a_command_is_told_busy_in_its_ack_and_nothing_is_lost(
    bot: Bot,
) -> None:
    bot.fake.hang("response_url")  # a status holds the one request thread for 2 s

    def status(_: int) -> dict[str, Any] | None:
        response = bot.slack.slash("status", user_id=REQUESTER, channel_id=INCIDENT_CHANNEL)
        assert response.status == 200
        return response.json() if response.body else None

    with ThreadPoolExecutor(max_workers=8) as pool:
        acks = list(pool.map(status, range(8)))
    busy = [a for a in acks if a and BUSY in a["text"]]
    taken = [a for a in acks if not a]
    assert len(taken) >= 1 and len(busy) >= 1 and len(busy) + len(taken) == 8
    assert all(a.get("response_type", "ephemeral") == "ephemeral" for a in busy)

    bot.fake.recover()
    answers = bot.fake.wait_for(
        lambda: len(bot.fake.responses(REQUESTER)) >= len(taken) and bot.fake.responses(REQUESTER),
        timeout=30,
    )
    time.sleep(1)  # nothing more comes: the busy ones were not queued behind
    assert len(bot.fake.responses(REQUESTER)) == len(taken)
    assert {a["text"] for a in answers} == {"No active hotfixes in this channel."}


def _health(bot: ServedBot) -> tuple[int, dict[str, Any]]:
    try:
        with urllib.request.urlopen(f"{bot.url}/healthz", timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def _worker_pid(bot: ServedBot) -> int:
    assert bot.process.process is not None
    workers = [
        pid
        for pid, command in descendants(bot.process.process.pid)
        if "multiprocessing.spawn" in command and "resource_tracker" not in command
    ]
    assert len(workers) == 1, descendants(bot.process.process.pid)
    return workers[0]


def test_a_worker_that_dies_is_replaced_and_the_bot_answers_again(served_bot: ServedBot) -> None:
    bot = served_bot
    assert _health(bot) == (200, {"status": "ok", "database": "ok", "worker": "ok"})
    first = _worker_pid(bot)
    os.kill(first, signal.SIGKILL)
    bot.fake.wait_for(lambda: _health(bot)[0] == 200 and _worker_pid(bot) != first, timeout=30)

    assert bot.slack.slash("status", user_id=REQUESTER, channel_id=INCIDENT_CHANNEL).status == 200
    answer = bot.fake.wait_for(lambda: bot.fake.responses(REQUESTER), timeout=15)[0]
    assert answer["text"] == "No active hotfixes in this channel."
    assert "the worker process stopped (exit code -9); starting a new one" in bot.process.stop()


def test_a_rate_limited_notice_waits_for_retry_after_and_is_posted_once(
    running_bot: RunningBot,
) -> None:
    bot = running_bot
    open_hotfix(bot)
    thread = card(bot)["ts"]
    bot.fake.fail("chat.postMessage", http_status=429, retry_after=3)
    asked = time.time()
    bot.slack.slash(
        "abort HF-1 Rolled back the flag", user_id=REQUESTER, channel_id=INCIDENT_CHANNEL
    )

    notice = bot.fake.wait_for(lambda: in_thread(bot, "🛑"), timeout=20)
    assert len(notice) == 1
    assert float(notice[0]["ts"]) - asked >= 3, "posted only after Slack's Retry-After"
    time.sleep(1.5)
    assert len(in_thread(bot, "🛑")) == 1
    assert bot.fake.thread(INCIDENT_CHANNEL, thread)[-1]["text"].startswith("🛑")
    assert bot.rows(SlackDelivery) == []
