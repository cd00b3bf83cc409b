"""`/hotfix status`, `list` and `abort`: private answers, role checks, clear usage."""

from __future__ import annotations

from storage.models import Event, Hotfix
from tests.conftest import CTO, EM, INCIDENT_CHANNEL, ONCALL, REQUESTER, RunningBot
from tests.test_approvals import approvals_message, card, click, open_hotfix
from tests.test_start import text_of


def reply(bot: RunningBot, text: str, user: str = REQUESTER, channel: str = INCIDENT_CHANNEL):
    """What the person sees: the answer in the ack itself (a malformed command), or the one
    posted to the command's response_url once the work is done."""
    before = len(bot.fake.responses(user))
    response = bot.slack.slash(text, user_id=user, channel_id=channel)
    assert response.status == 200
    answer = response.json() if response.body else None
    if not answer:
        answer = bot.fake.wait_for(lambda: bot.fake.responses(user)[before:])[0]
    assert answer.get("response_type") in (None, "ephemeral")
    return answer


def test_status_shows_one_hotfix_with_its_timeline(running_bot: RunningBot) -> None:
    bot = running_bot
    checklist = open_hotfix(bot)
    click(bot, checklist, "Approve as Engineering Manager", EM)
    bot.fake.wait_for(lambda: [e.kind for e in bot.rows(Event)][-1] == "approval")
    answer = reply(bot, "status HF-1")
    shown = text_of(answer["blocks"])
    assert "HF-1 · Login accepts empty tokens" in shown and "1 of 3 approvals" in shown
    assert "*Timeline*" in shown
    assert f"<@{REQUESTER}> assessed it → *Awaiting approval*" in shown
    assert f"<@{EM}> approved as Engineering Manager" in shown


def test_status_without_id_lists_this_channel_and_list_lists_all(running_bot: RunningBot) -> None:
    bot = running_bot
    assert reply(bot, "status")["text"] == "No active hotfixes in this channel."
    open_hotfix(bot, "high Search times out")
    in_channel = text_of(reply(bot, "status")["blocks"])
    assert (
        "*HF-1* · Search times out — Awaiting approval · waiting for Engineering Manager"
        in in_channel
    )
    assert (
        reply(bot, "status", channel="C0ELSEWHERE")["text"] == "No active hotfixes in this channel."
    )
    everywhere = text_of(reply(bot, "list", channel="C0ELSEWHERE")["blocks"])
    assert "*HF-1* · Search times out" in everywhere and f"<#{INCIDENT_CHANNEL}>" in everywhere


def test_status_of_an_unknown_hotfix(running_bot: RunningBot) -> None:
    assert "There is no hotfix HF-42" in reply(running_bot, "status HF-42")["text"]
    assert (
        "There is no hotfix `banana` (hotfixes are named like HF-12)"
        in (reply(running_bot, "status banana")["text"])
    )


def test_abort_needs_a_reason_and_the_right_person(running_bot: RunningBot) -> None:
    bot = running_bot
    open_hotfix(bot)
    assert "Usage: `/hotfix abort HF-n <reason>`" in reply(bot, "abort HF-1")["text"]
    refused = reply(bot, "abort HF-1 I want to", user=ONCALL)["text"]
    assert "Only the requester of HF-1 (<@U0ALICE>) or an Engineering Manager or CTO" in refused
    assert bot.rows(Hotfix)[0].state == "awaiting_approval"

    answer = reply(bot, "abort HF-1 The flag rollback fixed it", user=CTO)
    assert answer["text"] == "🛑 HF-1 is aborted; its timers are cancelled."
    bot.fake.wait_for(lambda: "Aborted by" in text_of(card(bot)["blocks"]))
    assert f"🛑 Aborted by <@{CTO}>: The flag rollback fixed it" in text_of(card(bot)["blocks"])
    notice = bot.fake.wait_for(
        lambda: [
            m
            for m in bot.fake.thread(INCIDENT_CHANNEL, card(bot)["ts"])
            if m["text"].startswith("🛑")
        ]
    )[0]
    assert "Nothing more will happen for HF-1." in notice["text"]
    bot.fake.wait_for(lambda: "Approve as" not in text_of(approvals_message(bot)["blocks"]))
    again = reply(bot, "abort HF-1 twice", user=CTO)["text"]
    assert again == "⚠️ HF-1 is now *Aborted*, so that no longer applies."
    assert [e.kind for e in bot.rows(Event)] == ["assess", "base_chosen", "abort"]


def test_a_security_fix_is_not_described_to_outsiders(running_bot: RunningBot) -> None:
    from tests.test_start import start

    bot = running_bot
    modal = start(bot, "SEC-5 critical Session tokens never expire")
    bot.slack.submit_view(
        modal["id"], user_id=REQUESTER, values={"Impact": "All", "Flags": ["Security fix"]}
    )
    bot.fake.wait_for(lambda: bot.fake.messages(INCIDENT_CHANNEL))
    outsider = "U0OUTSIDER"
    listed = text_of(reply(bot, "list", user=outsider, channel="C0RANDOM")["blocks"])
    assert "🔒 Security fix (details in <#C0INCIDENT>)" in listed
    assert "Session tokens never expire" not in listed
    assert "Session tokens never expire" in text_of(reply(bot, "list", user=EM)["blocks"])
    refused = reply(bot, "status HF-1", user=outsider)["text"]
    assert "HF-1 is a security fix: its details are shown to its requester" in refused
    bot.slack.app_home_opened(outsider)
    home = bot.fake.wait_for(lambda: bot.fake.home(outsider))
    assert "Session tokens never expire" not in text_of(home["blocks"])
