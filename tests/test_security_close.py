"""A security fix's close-out: after deploy its thread gets the security pattern's
checklist; the hotfix closes only once a holder of Security ticks it all, or waives it."""

from __future__ import annotations

from storage.models import Event, Hotfix
from tests.conftest import CTO, EM, INCIDENT_CHANNEL, SECURITY, RunningBot
from tests.git_fixtures import Origin
from tests.test_approvals import in_thread
from tests.test_commands import reply
from tests.test_git_flow import approved_security_fix, to_merging_back
from tests.test_start import text_of
from workflows.security_close import SECURITY_ITEMS


def merged_back_security_fix(bot: RunningBot, origin: Origin) -> dict:
    """A security fix deployed and merged back everywhere; returns its checklist message."""
    hotfix = approved_security_fix(bot)
    origin.commit_on(hotfix.branch, {"search.py": "q = escape(q)\n"}, "Improve input validation")
    to_merging_back(bot, hotfix.id)
    checklist = bot.fake.wait_for(lambda: in_thread(bot, "🔒 *HF-1* is deployed"), timeout=10)
    reply(bot, "merge-back HF-1")
    bot.fake.wait_for(lambda: in_thread(bot, "🔒 *HF-1* is merged back"), timeout=15)
    return checklist[0]


def test_a_security_fix_closes_only_once_security_ticked_its_close_out(
    running_bot: RunningBot, origin: Origin
) -> None:
    bot = running_bot
    checklist = merged_back_security_fix(bot, origin)
    shown = text_of(checklist["blocks"])
    assert "*internal teams first*" in shown and "*customers now that the fix is deployed*" in shown
    assert "*public disclosure* (if any) only after mitigation" in shown
    assert "security advisory" in shown and "security changelog" in shown
    report = in_thread(bot, "🔒 *HF-1* is merged back")[0]
    assert "stays open until a holder of Security ticks" in report["text"]
    assert origin.head("hotfix/SEC-77") is not None  # nothing cleaned up yet
    assert bot.rows(Hotfix)[0].state == "merging_back"
    items = [item for item, _ in SECURITY_ITEMS]

    # Someone without the Security role is refused; nothing is recorded.
    response = bot.slack.select_checkboxes(
        channel_id=INCIDENT_CHANNEL,
        ts=checklist["ts"],
        action_id="hotfix_security_close",
        values=items,
        user_id=EM,
    )
    assert response.status == 200
    refused = bot.fake.wait_for(lambda: bot.fake.responses(EM))[-1]["text"]
    assert "Only a holder of the Security role (<!subteam^S0SEC>) can tick or waive" in refused
    assert not any(k.startswith("sec_") for k in bot.rows(Hotfix)[0].deploy_ticks or {})

    # Security ticks four of five: still open. The fifth closes it.
    bot.slack.select_checkboxes(
        channel_id=INCIDENT_CHANNEL,
        ts=checklist["ts"],
        action_id="hotfix_security_close",
        values=items[:4],
        user_id=SECURITY,
    )
    bot.fake.wait_for(lambda: len(bot.rows(Hotfix)[0].deploy_ticks or {}) == 4)
    assert bot.rows(Hotfix)[0].state == "merging_back"
    bot.slack.select_checkboxes(
        channel_id=INCIDENT_CHANNEL,
        ts=checklist["ts"],
        action_id="hotfix_security_close",
        values=items,
        user_id=SECURITY,
    )
    bot.fake.wait_for(lambda: bot.rows(Hotfix)[0].state == "closed", timeout=20)
    assert in_thread(bot, "🔒 HF-1's security close-out is done; closing it.")
    bot.fake.wait_for(lambda: origin.head("hotfix/SEC-77") is None, timeout=10)
    assert bot.rows(Hotfix)[0].deploy_ticks["sec_changelog"] == SECURITY


def test_security_can_waive_the_close_out_with_a_reason(
    running_bot: RunningBot, origin: Origin
) -> None:
    bot = running_bot
    merged_back_security_fix(bot, origin)
    assert (
        "Usage: `/hotfix security-waive HF-n <reason>`" in reply(bot, "security-waive HF-1")["text"]
    )
    refused = reply(bot, "security-waive HF-1 not needed", user=CTO)["text"]
    assert "Only a holder of the Security role" in refused
    assert bot.rows(Hotfix)[0].state == "merging_back"
    answer = reply(bot, "security-waive HF-1 Internal tool, no customers", user=SECURITY)
    assert answer["text"] == "🔒 HF-1's security close-out is waived; the reason is recorded."
    bot.fake.wait_for(lambda: bot.rows(Hotfix)[0].state == "closed", timeout=20)
    waived = [e for e in bot.rows(Event) if e.kind == "security_waived"]
    assert [(e.actor, e.detail["reason"]) for e in waived] == [
        (SECURITY, "Internal tool, no customers")
    ]
    assert in_thread(bot, f"🔒 <@{SECURITY}> waived HF-1's security close-out")
