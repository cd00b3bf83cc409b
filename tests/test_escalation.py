"""Escalation while approvals stall: on time, once per step, stopping, and across restarts."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from sandbox.slack_requests import SignedSlackClient
from sandbox.slack_server import FakeSlack
from storage.models import Event, Hotfix
from tests.conftest import (
    BOT_TOKEN,
    CTO,
    EM,
    INCIDENT_CHANNEL,
    ONCALL,
    REQUESTER,
    SIGNING_SECRET,
    RunningBot,
    bot_environment,
    write_policy,
)
from tests.git_fixtures import Origin
from tests.harness.bot_process import BotProcess
from tests.test_approvals import approvals_message, card, click, open_hotfix

BUDGET = 1.0


@pytest.fixture
def policy_path(tmp_path: Path, origin: Origin) -> Path:
    return write_policy(tmp_path, origin, budgets={"assessment": f"{int(BUDGET)}s"})


def escalations(fake: FakeSlack, card_ts: str) -> list[dict]:
    return [m for m in fake.thread(INCIDENT_CHANNEL, card_ts) if m["text"].startswith("⏰")]


def test_each_step_of_the_path_is_announced_once_and_on_time(running_bot: RunningBot) -> None:
    bot = running_bot
    opened = time.time()
    open_hotfix(bot)
    ts = card(bot)["ts"]
    announced = bot.fake.wait_for(
        lambda: len(escalations(bot.fake, ts)) == 3 and escalations(bot.fake, ts), timeout=10
    )
    texts = [m["text"] for m in announced]
    assert "still missing: *Engineering Manager, On-call Lead, CTO*" in texts[0]
    assert texts[0].endswith("Escalating to *On-call Lead*: <!subteam^S0ONCALL>")
    assert texts[1].endswith(f"Escalating to *Engineering Manager*: <@{EM}>")
    assert f"Escalating to *CTO*: <@{CTO}>" in texts[2]
    assert texts[2].endswith("This was the last step of the escalation path.")
    # Step k is due budget × (k + 1) after the request, never before.
    for step, message in enumerate(announced):
        assert float(message["ts"]) >= opened + BUDGET * (step + 1) - 0.05
    time.sleep(BUDGET * 1.5)
    assert len(escalations(bot.fake, ts)) == 3  # the path has ended
    steps = [e.detail["step"] for e in bot.rows(Event) if e.kind == "escalated"]
    assert steps == [0, 1, 2]
    assert bot.bot.timers.pending("hotfix-1-escalation-") == []


def test_escalation_stops_once_approved(running_bot: RunningBot) -> None:
    bot = running_bot
    checklist = open_hotfix(bot, "high Search times out")
    ts = card(bot)["ts"]
    bot.fake.wait_for(lambda: escalations(bot.fake, ts), timeout=5)
    click(bot, checklist, "Approve as On-call Lead", ONCALL)
    bot.fake.wait_for(lambda: len(bot.rows(Event)) >= 3)
    checklist = approvals_message(bot)
    bot.slack.click(
        channel_id=INCIDENT_CHANNEL,
        ts=checklist["ts"],
        label="Approve as Engineering Manager",
        user_id=EM,
    )
    bot.fake.wait_for(lambda: bot.rows(Hotfix)[0].state == "approved")
    count = len(escalations(bot.fake, ts))
    bot.fake.wait_for(lambda: bot.bot.timers.pending("hotfix-1-escalation-") == [])
    time.sleep(BUDGET * 2.5)
    assert len(escalations(bot.fake, ts)) == count <= 2


def test_abort_cancels_the_timers(running_bot: RunningBot) -> None:
    bot = running_bot
    open_hotfix(bot)
    bot.fake.wait_for(lambda: bot.bot.timers.pending("hotfix-1-escalation-"))
    reply = bot.slack.slash(
        "abort HF-1 duplicate of HF-0", user_id=REQUESTER, channel_id=INCIDENT_CHANNEL
    )
    assert reply.status == 200
    bot.fake.wait_for(lambda: bot.rows(Hotfix)[0].state == "aborted")
    bot.fake.wait_for(lambda: bot.bot.timers.pending("hotfix-1-escalation-") == [])
    time.sleep(BUDGET * 1.5)
    assert escalations(bot.fake, card(bot)["ts"]) == []


def test_escalations_survive_a_restart_without_loss_or_duplicates(
    tmp_path: Path, database_url: str, policy_path: Path
) -> None:
    """The app process dies before the first step is due; the next one announces each step
    exactly once, late steps included."""
    with FakeSlack(token=BOT_TOKEN) as fake:
        for user in (REQUESTER, EM, ONCALL, CTO):
            fake.add_user(user, user.lower())
        fake.set_usergroup("S0ONCALL", [ONCALL])
        fake.add_channel(INCIDENT_CHANNEL, "inc")
        env = bot_environment(fake, database_url, policy_path)
        first = BotProcess(tmp_path, env).start()
        slack = SignedSlackClient(first.events_url, SIGNING_SECRET, fake)
        slack.slash("start critical Checkout down", user_id=REQUESTER, channel_id=INCIDENT_CHANNEL)
        modal = fake.wait_for(lambda: fake.views() and fake.last_view())
        slack.submit_view(modal["id"], user_id=REQUESTER, values={"Impact": "All checkouts"})
        ts = fake.wait_for(lambda: fake.messages(INCIDENT_CHANNEL))[0]["ts"]
        first.stop()  # before the first step is due
        assert first.returncode == 0, first.output
        assert escalations(fake, ts) == []

        time.sleep(BUDGET * 2.2)  # steps 0 and 1 fall due while nothing runs
        with BotProcess(tmp_path, env):
            announced = fake.wait_for(
                lambda: len(escalations(fake, ts)) == 3 and escalations(fake, ts), timeout=15
            )
            time.sleep(BUDGET * 1.5)
            assert len(escalations(fake, ts)) == 3
        roles = [m["text"].split("Escalating to *")[1].split("*")[0] for m in announced]
        assert roles == ["On-call Lead", "Engineering Manager", "CTO"]


def test_a_timer_not_armed_before_a_stop_is_armed_at_the_next_start(
    running_bot: RunningBot,
) -> None:
    """Arming runs after the change is committed; a process stopped in between must not
    lose the escalation: the next start checks every running hotfix."""
    bot = running_bot
    open_hotfix(bot)
    bot.fake.wait_for(lambda: bot.bot.timers.pending("hotfix-1-escalation-"))
    for job_id, _ in bot.bot.timers.pending("hotfix-1-escalation-"):
        bot.bot.timers.cancel(job_id)  # as if the process had died before arming
    bot.bot._catch_up()
    assert [j for j, _ in bot.bot.timers.pending("hotfix-1-escalation-")] == [
        "hotfix-1-escalation-0"
    ]
