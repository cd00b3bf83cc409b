"""The ack path: while Slack does not answer, every command and click is still acknowledged,
and what it asked for is done once Slack is back — nothing lost, nothing doubled."""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from storage.models import Approval, Event, Hotfix, SlackDelivery
from tests.conftest import CTO, EM, INCIDENT_CHANNEL, ONCALL, REQUESTER, RunningBot, write_policy
from tests.git_fixtures import Origin
from tests.test_approvals import card, in_thread, open_hotfix
from tests.test_start import text_of

STATUS = 25
CLICKS = {EM: ("Approve as Engineering Manager", 10), ONCALL: ("Approve as On-call Lead", 10)}
CTO_CLICKS = 5


@pytest.fixture
def policy_path(tmp_path: Path, origin: Origin) -> Path:
    # A short Slack timeout keeps the test quick; the behaviour is the same at 5 s.
    return write_policy(tmp_path, origin, slack={"timeout": "1s"})


def test_fifty_requests_while_slack_hangs_are_acked_and_done_once_it_recovers(
    running_bot: RunningBot,
) -> None:
    bot = running_bot
    checklist = open_hotfix(bot)
    bot.fake.wait_for(lambda: "Awaiting approval" in text_of(card(bot)["blocks"]))

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
        assert all(any(reason in text for reason in reasons) for text in refused), refused
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
