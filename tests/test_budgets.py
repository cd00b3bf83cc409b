"""Phase budgets: the card shows the phase against its budget; a phase that runs over gets
exactly one nudge in its thread, naming who the hotfix waits on, across restarts too."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from sandbox.slack_requests import SignedSlackClient
from sandbox.slack_server import FakeSlack
from storage.models import Event, Hotfix
from tests.conftest import (
    BOT_TOKEN,
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
from tests.test_approvals import card, click, open_hotfix
from tests.test_start import text_of

FIX_BUDGET = 2.0


@pytest.fixture
def policy_path(tmp_path: Path, origin: Origin) -> Path:
    return write_policy(tmp_path, origin, budgets={"branch": "1s", "fix": f"{int(FIX_BUDGET)}s"})


def nudges(fake: FakeSlack, card_ts: str) -> list[str]:
    return [
        m["text"]
        for m in fake.thread(INCIDENT_CHANNEL, card_ts)
        if m["text"].startswith("⏰") and "phase has taken" in m["text"]
    ]


def approve_high(bot: RunningBot) -> float:
    """A HIGH hotfix approved by both roles; returns when the fix phase began (epoch s)."""
    checklist = open_hotfix(bot, "high Search times out")
    click(bot, checklist, "Approve as On-call Lead", ONCALL)
    click(bot, checklist, "Approve as Engineering Manager", EM)
    bot.fake.wait_for(lambda: bot.rows(Hotfix)[0].state == "fixing", timeout=15)
    return bot.rows(Hotfix)[0].phase_started_at.timestamp()


def test_a_phase_that_runs_over_gets_exactly_one_nudge(running_bot: RunningBot) -> None:
    bot = running_bot
    fixing_since = approve_high(bot)
    ts = card(bot)["ts"]
    shown = bot.fake.wait_for(
        lambda: "⏱ Fix: " in text_of(card(bot)["blocks"]) and text_of(card(bot)["blocks"]),
        timeout=10,
    )
    assert " of 2s (by <!date^" in shown
    said = bot.fake.wait_for(lambda: nudges(bot.fake, ts), timeout=15)
    assert said == [
        f"⏰ *HF-1*: the fix phase has taken {said[0].split('has taken ')[1].split(',')[0]}, "
        "at the end of its 2s budget. Waiting on "
        f"<@{REQUESTER}>, to push the fix and open the PR (`/hotfix pr HF-1`)."
    ]
    nudged = [e for e in bot.rows(Event) if e.kind == "phase_over"]
    assert len(nudged) == 1 and nudged[0].detail["phase"] == "fix"
    assert nudged[0].at.timestamp() >= fixing_since + FIX_BUDGET - 0.05  # never early
    # The card says the phase is over its budget.
    bot.fake.wait_for(lambda: "⏰ Fix: " in text_of(card(bot)["blocks"]), timeout=10)
    assert "over its 2s budget" in text_of(card(bot)["blocks"])
    time.sleep(FIX_BUDGET * 1.5)
    assert len(nudges(bot.fake, ts)) == 1
    # The branch phase (1 s) ended in time: never nudged.
    assert not any("branch phase" in t for t in nudges(bot.fake, ts))
    assert bot.bot.timers.pending("hotfix-1-budget-") == []


def test_a_phase_left_in_time_is_not_nudged(running_bot: RunningBot) -> None:
    bot = running_bot
    checklist = open_hotfix(bot, "high Search times out")
    click(bot, checklist, "Approve as On-call Lead", ONCALL)
    click(bot, checklist, "Approve as Engineering Manager", EM)
    bot.fake.wait_for(lambda: bot.rows(Hotfix)[0].state == "fixing", timeout=15)
    bot.fake.wait_for(lambda: bot.bot.timers.pending("hotfix-1-budget-fix-"), timeout=10)
    reply = bot.slack.slash(
        "abort HF-1 Flag flipped", user_id=REQUESTER, channel_id=INCIDENT_CHANNEL
    )
    assert reply.status == 200
    bot.fake.wait_for(lambda: bot.rows(Hotfix)[0].state == "aborted")
    bot.fake.wait_for(lambda: bot.bot.timers.pending("hotfix-1-budget-") == [], timeout=10)
    time.sleep(FIX_BUDGET * 1.5)
    assert nudges(bot.fake, card(bot)["ts"]) == []
    assert [e for e in bot.rows(Event) if e.kind == "phase_over"] == []


def test_a_nudge_due_while_the_bot_was_down_comes_once_when_it_is_back(
    tmp_path: Path, database_url: str, policy_path: Path
) -> None:
    with FakeSlack(token=BOT_TOKEN) as fake:
        for user in (REQUESTER, EM, ONCALL):
            fake.add_user(user, user.lower())
        fake.set_usergroup("S0ONCALL", [ONCALL])
        fake.add_channel(INCIDENT_CHANNEL, "inc")
        env = bot_environment(fake, database_url, policy_path)
        first = BotProcess(tmp_path, env).start()
        slack = SignedSlackClient(first.events_url, SIGNING_SECRET, fake)
        slack.slash("start high Search times out", user_id=REQUESTER, channel_id=INCIDENT_CHANNEL)
        modal = fake.wait_for(lambda: fake.views() and fake.last_view())
        slack.submit_view(modal["id"], user_id=REQUESTER, values={"Impact": "Search"})
        card_message = fake.wait_for(lambda: fake.messages(INCIDENT_CHANNEL))[0]
        checklist = fake.wait_for(
            lambda: next(
                (
                    m
                    for m in fake.thread(INCIDENT_CHANNEL, card_message["ts"])
                    if m["text"].startswith("Approvers for")
                ),
                None,
            )
        )
        for user, label in ((ONCALL, "On-call Lead"), (EM, "Engineering Manager")):
            slack.click(
                channel_id=INCIDENT_CHANNEL,
                message=checklist,
                label=f"Approve as {label}",
                user_id=user,
            )
        fake.wait_for(
            lambda: (
                "Fixing" in text_of(fake.message(INCIDENT_CHANNEL, card_message["ts"])["blocks"])
            ),
            timeout=15,
        )
        first.stop()  # before the fix budget runs out
        assert first.returncode == 0, first.output
        assert nudges(fake, card_message["ts"]) == []

        time.sleep(FIX_BUDGET * 1.5)  # due while nothing runs
        with BotProcess(tmp_path, env):
            said = fake.wait_for(lambda: nudges(fake, card_message["ts"]), timeout=15)
            time.sleep(FIX_BUDGET)
            assert len(nudges(fake, card_message["ts"])) == 1
        assert "the fix phase has taken" in said[0]
