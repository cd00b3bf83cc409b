"""Announcements: each milestone once in the stakeholders channel (one line, linked to the
thread, neutral for a security fix) and as JSON to the webhook; a failing webhook is said
in the thread and does not hold the hotfix up."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from sandbox.slack_server import FakeSlack
from storage.models import Hotfix
from tests.conftest import EM, INCIDENT_CHANNEL, ONCALL, REQUESTER, RunningBot, write_policy
from tests.git_fixtures import Origin
from tests.harness.webhook_receiver import WebhookReceiver
from tests.test_approvals import card, click, in_thread, open_hotfix
from tests.test_start import start

STAKEHOLDERS = "C0STAKEHOLDERS"


@pytest.fixture
def webhook() -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver()
    yield receiver
    receiver.close()


@pytest.fixture
def policy_path(
    tmp_path: Path, origin: Origin, webhook: WebhookReceiver, fake_slack: FakeSlack
) -> Path:
    fake_slack.add_channel(STAKEHOLDERS, "stakeholders")
    return write_policy(
        tmp_path,
        origin,
        channels={"stakeholders": STAKEHOLDERS},
        announce={"webhook_url": webhook.url, "attempts": 2, "timeout": "2s"},
    )


def lines(bot: RunningBot) -> list[str]:
    return [m["text"] for m in bot.fake.messages(STAKEHOLDERS)]


def test_each_milestone_is_announced_once_in_the_channel_and_to_the_webhook(
    running_bot: RunningBot, webhook: WebhookReceiver
) -> None:
    bot = running_bot
    checklist = open_hotfix(bot, "high Search times out")
    click(bot, checklist, "Approve as On-call Lead", ONCALL)
    click(bot, checklist, "Approve as Engineering Manager", EM)
    bot.fake.wait_for(lambda: bot.rows(Hotfix)[0].state == "fixing", timeout=15)
    bot.slack.slash("abort HF-1 Flag flipped", user_id=REQUESTER, channel_id=INCIDENT_CHANNEL)
    said = bot.fake.wait_for(lambda: len(lines(bot)) >= 3 and lines(bot), timeout=15)
    assert said[0].startswith("🟠 *HF-1* Search times out — 🚨 declared; awaiting approval")
    assert "👍 approved" in said[1] and "🛑 aborted" in said[2]
    assert "|thread>" in said[2] and "/archives/C0INCIDENT/p" in said[2]  # linked
    bot.fake.wait_for(lambda: len(webhook.received) >= 3, timeout=15)
    assert webhook.events() == ["declared", "approved", "aborted"]
    first = webhook.received[0]
    assert first["type"] == "application/json" and first["path"] == webhook.path
    assert first["body"]["hotfix"] == "HF-1" and first["body"]["severity"] == "high"
    assert first["body"]["title"] == "Search times out" and first["body"]["at"].endswith("Z")
    # Nothing twice, however often the bot looks again (a change, a restart).
    bot.bot._catch_up()
    bot.bot._catch_up()
    assert len(lines(bot)) == 3 and len(webhook.received) == 3


def test_a_security_fix_is_announced_without_its_title(
    running_bot: RunningBot, webhook: WebhookReceiver
) -> None:
    bot = running_bot
    modal = start(bot, "SEC-5 critical Session tokens never expire")
    bot.slack.submit_view(
        modal["id"], user_id=REQUESTER, values={"Impact": "All", "Flags": ["Security fix"]}
    )
    said = bot.fake.wait_for(lambda: lines(bot), timeout=15)
    assert said[0].startswith("🔴 *HF-1* Security fix — 🚨 declared")
    bot.fake.wait_for(lambda: webhook.received, timeout=15)
    body = webhook.received[0]["body"]
    assert body["title"] == "Security fix" and body["security_fix"] is True
    assert "Session tokens" not in str(webhook.received) + str(lines(bot))


def test_a_failing_webhook_is_said_in_the_thread_and_does_not_block_the_hotfix(
    running_bot: RunningBot, webhook: WebhookReceiver
) -> None:
    bot = running_bot
    webhook.status = 500
    checklist = open_hotfix(bot, "high Search times out")
    warned = bot.fake.wait_for(lambda: in_thread(bot, "⚠️ The announcement webhook"), timeout=20)
    text = warned[0]["text"]
    assert f"did not take “declared” for HF-1: {webhook.host} answered HTTP 500 after 2 tries" in (
        text
    )
    assert "T0SECRET" not in text  # the webhook's path (its secret) is never shown
    assert len([r for r in webhook.received if r["body"]["event"] == "declared"]) == 2
    # The hotfix goes on.
    click(bot, checklist, "Approve as On-call Lead", ONCALL)
    click(bot, checklist, "Approve as Engineering Manager", EM)
    bot.fake.wait_for(lambda: bot.rows(Hotfix)[0].state == "fixing", timeout=15)
    assert "👍 approved" in bot.fake.wait_for(lambda: lines(bot)[1:] and lines(bot)[1])
    assert card(bot)
