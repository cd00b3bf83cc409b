"""Faults while a hotfix runs (issue 12): Slack rate-limiting and failing, the git remote
gone, a health check that flaps. Each ends in a clear message in the thread, a consistent
state and a way to go on; nothing is lost or done twice. The database's own faults are in
tests/test_faults_database.py (they need a server database)."""

from __future__ import annotations

import shutil
from datetime import timedelta

import pytest

from sandbox.github_server import FakeGitHub
from sandbox.health import Health
from storage.models import Approval, Event, Hotfix
from tests.conftest import CTO, EM, INCIDENT_CHANNEL, ONCALL, RunningBot
from tests.git_fixtures import Origin
from tests.review_steps import review_passed
from tests.test_approvals import approvals_message, card, click, current, open_hotfix, said_to
from tests.test_deploy import (  # noqa: F401 (fixtures: the deploy script, health, GitHub)
    deploy_script,
    github_settings,
    panel,
    policy_path,
    thread_texts,
    wait_state,
)
from tests.test_start import text_of

NOBODY = "U0EVE"  # a member of the workspace with no Hotfix Bot role


def thread(bot: RunningBot) -> list[dict]:
    return bot.fake.thread(INCIDENT_CHANNEL, card(bot)["ts"])


def test_slack_rate_limiting_and_failing_posts_and_updates_the_card_converges_once(
    running_bot: RunningBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("bot.card.CARD_RETRY", timedelta(milliseconds=300))
    bot = running_bot
    checklist = open_hotfix(bot)
    # Every update of the card and of the approvals message, and the next posts, meet a
    # Slack that rate-limits (429 with Retry-After) and then fails (500), twice each.
    bot.fake.fail("chat.update", http_status=429, retry_after=1, times=2)
    bot.fake.fail("chat.update", http_status=500, times=2)
    bot.fake.fail("chat.postMessage", http_status=429, retry_after=1, times=1)
    bot.fake.fail("chat.postMessage", http_status=500, times=1)
    click(bot, checklist, "Approve as Engineering Manager", EM)
    bot.fake.wait_for(lambda: [a.user_id for a in bot.rows(Approval)] == [EM])
    click(bot, current(bot, checklist), "Approve as On-call Lead", ONCALL)
    click(bot, current(bot, checklist), "Approve as CTO", CTO)

    bot.fake.wait_for(lambda: "Approved" in text_of(card(bot)["blocks"]), timeout=30)
    final = bot.fake.wait_for(
        lambda: "✅ CTO" in (shown := text_of(current(bot, checklist)["blocks"])) and shown,
        timeout=30,
    )
    assert "✅ Engineering Manager" in final and "✅ On-call Lead" in final
    bot.fake.wait_for(lambda: any("is approved" in m["text"] for m in thread(bot)), timeout=30)
    bot.fake.wait_for(lambda: any(m["text"].startswith("🌿") for m in thread(bot)), timeout=30)
    texts = [m["text"] for m in thread(bot)]
    assert sum("is approved" in t for t in texts) == 1, texts  # posted once, for all retries
    assert sum(t.startswith("🌿") for t in texts) == 1, texts
    assert sorted(a.user_id for a in bot.rows(Approval)) == sorted([EM, ONCALL, CTO])
    assert bot.fake.faults_left("chat.update") == bot.fake.faults_left("chat.postMessage") == 0
    assert bot.rows(Hotfix)[0].state == "fixing"


def test_the_remote_unreachable_says_so_keeps_the_state_and_retry_goes_on(
    running_bot: RunningBot, origin: Origin
) -> None:
    bot = running_bot
    checklist = open_hotfix(bot, "SEC-9 high Login accepts empty tokens")
    click(bot, checklist, "Approve as On-call Lead", ONCALL)
    bot.fake.wait_for(lambda: "Approve as On-call" not in text_of(approvals_message(bot)["blocks"]))
    away = origin.path.with_name("moved-away.git")
    shutil.move(origin.path, away)  # the remote is gone (a host down, a DNS failure)
    try:
        click(bot, approvals_message(bot), "Approve as Engineering Manager", EM)
        failure = bot.fake.wait_for(
            lambda: [m for m in thread(bot) if m["text"].startswith("⚠️")], timeout=20
        )[0]
        assert "HF-1 stays *approved*" in failure["text"], failure["text"]
        assert "Traceback" not in failure["text"]
        hotfix = bot.rows(Hotfix)[0]
        assert (hotfix.state, hotfix.branch) == ("approved", None)
    finally:
        shutil.move(away, origin.path)
    click(bot, failure, "Retry", CTO)
    bot.fake.wait_for(lambda: [m for m in thread(bot) if m["text"].startswith("🌿")], timeout=20)
    assert bot.rows(Hotfix)[0].state == "fixing"
    assert origin.head("hotfix/SEC-9-login-accepts-empty-tokens") == origin.tag_commit("v1.2.3")


def test_a_flapping_health_check_holds_the_window_until_a_person_decides(
    running_bot: RunningBot, origin: Origin, fake_github: FakeGitHub, health: Health
) -> None:
    bot = running_bot
    bot.fake.add_user(NOBODY, "eve")
    review_passed(bot, origin, fake_github)
    click(bot, panel(bot), "Tag & deploy v1.2.4", ONCALL)
    wait_state(bot, "monitoring")
    health.flap(False, True, False)  # the window's three checks: down, up, down

    [held] = bot.fake.wait_for(lambda: thread_texts(bot, "🏁 ⚠️"), timeout=20)
    assert "is over, but its last check failed (1 check(s) healthy, 2 failed)" in held
    assert "merge back waits" in held and f"<@{ONCALL}>" in held
    pings = thread_texts(bot, "📈")
    assert [("unhealthy" in p) for p in pings] == [True, False, True], pings
    assert bot.rows(Hotfix)[0].state == "monitoring"  # not passed on its own
    assert not bot.bot.timers.pending("hotfix-1-monitor-")  # and nothing more to check

    [message] = [m for m in thread(bot) if m["text"].startswith("🏁 ⚠️")]
    click(bot, message, "All green", NOBODY)
    assert "can deploy or roll it back. Nothing was changed." in said_to(bot, NOBODY)
    assert bot.rows(Hotfix)[0].state == "monitoring"

    click(bot, message, "All green", ONCALL)
    hotfix = wait_state(bot, "merging_back", timeout=20)
    [summary] = bot.fake.wait_for(lambda: thread_texts(bot, "🏁 *HF-1*"), timeout=10)
    assert "1 check(s) healthy, 2 failed; all green confirmed by <@U0OMAR>" in summary
    passed = [e for e in bot.rows(Event) if e.kind == "monitoring_passed"]
    assert [(e.actor, e.detail.get("held")) for e in passed] == [(ONCALL, True)]
    assert hotfix.monitoring_step == 3

    before = len(bot.fake.responses(ONCALL))
    click(bot, message, "All green", ONCALL)  # a second click: the window is passed already
    assert "no longer applies" in said_to(bot, ONCALL, count=before + 1)
    assert len([e for e in bot.rows(Event) if e.kind == "monitoring_passed"]) == 1
