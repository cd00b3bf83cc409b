"""`/hotfix start` end to end over real HTTP: command → modal → submit → card and thread."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

from storage.models import Event, Hotfix, ProcessedRequest, SlackMessage
from tests.conftest import CTO, EM, INCIDENT_CHANNEL, REQUESTER, RunningBot


def start(bot: RunningBot, text: str = "SEC-123 critical Login accepts empty tokens") -> dict:
    """Type the command and return the modal the bot opened for it."""
    before = len(bot.fake.views())
    response = bot.slack.slash(f"start {text}", user_id=REQUESTER, channel_id=INCIDENT_CHANNEL)
    assert response.status == 200
    return bot.fake.wait_for(lambda: bot.fake.views()[before:])[0]


def text_of(blocks: list[dict]) -> str:
    """All the text a person reads in some blocks."""
    return json.dumps(blocks, ensure_ascii=False)


def test_start_critical_opens_a_hotfix_with_card_and_assessment(running_bot: RunningBot) -> None:
    bot = running_bot
    modal = start(bot)

    # The form is prefilled from the command line.
    state = bot.slack.view_state(modal, {"Impact": "typed later"})["values"]
    assert state["assessment_issue"]["issue"]["value"] == "Login accepts empty tokens"
    assert state["assessment_ticket"]["ticket"]["value"] == "SEC-123"
    assert state["assessment_severity"]["severity"]["selected_option"]["value"] == "critical"
    assert state["assessment_reporter"]["reporter"]["selected_user"] == REQUESTER

    response = bot.slack.submit_view(
        modal["id"],
        user_id=REQUESTER,
        values={
            "Impact": "Anyone can log in with an empty token",
            "Estimated fix time": "45m",
            "Risk if delayed": "Active exploitation possible",
            "Flags": ["Security fix"],
        },
    )
    assert response.status == 200 and response.json() is None  # the modal closes

    card = bot.fake.wait_for(lambda: bot.fake.messages(INCIDENT_CHANNEL))[0]
    hotfix = bot.rows(Hotfix)[0]
    card_text = text_of(card["blocks"])
    assert f"HF-{hotfix.id} · Login accepts empty tokens" in card_text
    assert "CRITICAL" in card_text and "SEC-123" in card_text
    assert "Awaiting approval" in card_text and "0 of 3 approvals" in card_text
    assert f"<@{REQUESTER}>" in card_text
    for role in ("Engineering Manager", "On-call Lead", "CTO"):
        assert f"⬜ {role}" in card_text
    assert "Security fix" in card_text

    thread = bot.fake.wait_for(lambda: bot.fake.thread(INCIDENT_CHANNEL, card["ts"]))
    request = text_of(thread[0]["blocks"])
    assert f"Hotfix Request · HF-{hotfix.id}" in request
    for line in (
        "*Issue:* Login accepts empty tokens",
        "*Severity:* CRITICAL",
        "*Estimated Fix Time:* 45m",
        "Anyone can log in with an empty token",
        "Active exploitation possible",
        "☐ Engineering Manager: ___________",
        "☐ CTO: ___________",
    ):
        assert line in request

    # What the database now holds.
    assert hotfix.state == "awaiting_approval"
    assert hotfix.severity == "critical" and hotfix.ticket == "SEC-123"
    assert hotfix.security_fix and not hotfix.needs_migration
    assert hotfix.requester_id == REQUESTER and hotfix.channel_id == INCIDENT_CHANNEL
    assert hotfix.required_roles == ["engineering_manager", "oncall_lead", "cto"]
    assert hotfix.estimated_fix_seconds == 45 * 60
    bot.fake.wait_for(lambda: len(bot.rows(SlackMessage)) == 3)
    thread = bot.fake.thread(INCIDENT_CHANNEL, card["ts"])
    messages = {m.purpose: (m.channel_id, m.ts) for m in bot.rows(SlackMessage)}
    assert messages == {
        "card": (INCIDENT_CHANNEL, card["ts"]),
        "assessment": (INCIDENT_CHANNEL, thread[0]["ts"]),
        "approvals": (INCIDENT_CHANNEL, thread[1]["ts"]),
    }
    assessed, based = bot.fake.wait_for(lambda: len(bot.rows(Event)) == 2 and bot.rows(Event))
    assert (assessed.kind, assessed.actor, assessed.from_state, assessed.to_state) == (
        "assess",
        REQUESTER,
        None,
        "awaiting_approval",
    )
    # The approvers see the production base the fix will start from.
    assert (based.kind, based.detail["tag"]) == ("base_chosen", "v1.2.3")
    bot.fake.wait_for(
        lambda: (
            "*Production:* `v1.2.3`"
            in text_of(bot.fake.message(INCIDENT_CHANNEL, thread[0]["ts"])["blocks"])
        )
    )


def test_high_needs_two_approvers(running_bot: RunningBot) -> None:
    bot = running_bot
    modal = start(bot, "high Search times out")
    bot.slack.submit_view(modal["id"], user_id=REQUESTER, values={"Impact": "Search is slow"})
    card = bot.fake.wait_for(lambda: bot.fake.messages(INCIDENT_CHANNEL))[0]
    assert "0 of 2 approvals" in text_of(card["blocks"])
    assert "⬜ CTO" not in text_of(card["blocks"])
    assert bot.rows(Hotfix)[0].required_roles == ["engineering_manager", "oncall_lead"]


def test_invalid_fields_come_back_inline_and_nothing_is_created(running_bot: RunningBot) -> None:
    bot = running_bot
    modal = start(bot, "")
    response = bot.slack.submit_view(
        modal["id"],
        user_id=REQUESTER,
        values={
            "Issue": "bell\x07",
            "Severity": "critical",
            "Impact": "x",
            "Estimated fix time": "soon-ish",
            "Ticket": "../../etc",
        },
    )
    body = response.json()
    assert body["response_action"] == "errors"
    assert body["errors"]["assessment_issue"] == "Contains control characters; type plain text."
    assert "not a duration" in body["errors"]["assessment_estimated_fix"]
    assert "ticket id" in body["errors"]["assessment_ticket"]
    assert bot.fake.view_is_open(modal["id"])
    assert bot.rows(Hotfix) == [] and bot.fake.messages(INCIDENT_CHANNEL) == []


def test_medium_is_refused_with_the_matrix_entry(running_bot: RunningBot) -> None:
    bot = running_bot
    modal = start(bot, "medium Tooltip is cut off")
    response = bot.slack.submit_view(modal["id"], user_id=REQUESTER, values={"Impact": "Cosmetic"})
    body = response.json()
    assert body["response_action"] == "update"
    shown = text_of(body["view"]["blocks"])
    assert "MEDIUM (Normal Release)" in shown
    assert "Workaround available" in shown and "Can wait 24-48 hours" in shown
    assert "No hotfix was opened" in shown and "normal release" in shown
    # The team sees the decision in the channel, with the override for EM / CTO.
    refusal = bot.fake.wait_for(lambda: bot.fake.messages(INCIDENT_CHANNEL))[0]
    said = text_of(refusal["blocks"])
    assert f"<@{REQUESTER}> assessed *Tooltip is cut off* as *MEDIUM* (Normal Release)" in said
    assert "Override — open as hotfix…" in said
    [declined] = bot.rows(Hotfix)
    assert declined.state == "declined" and declined.required_roles == []


def test_low_is_refused_too(running_bot: RunningBot) -> None:
    bot = running_bot
    modal = start(bot, "low Typo in footer")
    body = bot.slack.submit_view(modal["id"], user_id=REQUESTER, values={"Impact": "x"}).json()
    assert "LOW (Normal Release)" in text_of(body["view"]["blocks"])
    refusal = bot.fake.wait_for(lambda: bot.fake.messages(INCIDENT_CHANNEL))[0]
    assert "as *LOW* (Normal Release)" in text_of(refusal["blocks"])
    assert [h.state for h in bot.rows(Hotfix)] == ["declined"]


def test_a_double_submission_opens_one_hotfix(running_bot: RunningBot) -> None:
    bot = running_bot
    modal = start(bot)

    def submit() -> int:
        response = bot.slack.submit_view(
            modal["id"], user_id=REQUESTER, values={"Impact": "Everyone"}, apply_response=False
        )
        return response.status

    with ThreadPoolExecutor(max_workers=4) as pool:
        assert list(pool.map(lambda _: submit(), range(4))) == [200] * 4
    card = bot.fake.wait_for(lambda: bot.fake.messages(INCIDENT_CHANNEL))[0]
    bot.fake.wait_for(lambda: bot.fake.thread(INCIDENT_CHANNEL, card["ts"]))
    assert len(bot.rows(Hotfix)) == 1
    assert len(bot.fake.messages(INCIDENT_CHANNEL)) == 1
    assert [r.key for r in bot.rows(ProcessedRequest)] == [f"view:{modal['id']}"]


def test_hostile_text_is_shown_as_text(running_bot: RunningBot) -> None:
    bot = running_bot
    title = "<!channel> ; rm -rf / $(reboot) & `id`"
    modal = start(bot, "critical x")
    bot.slack.submit_view(
        modal["id"], user_id=REQUESTER, values={"Issue": title, "Impact": "<@U0CHLOE> *bold*"}
    )
    card = bot.fake.wait_for(lambda: bot.fake.messages(INCIDENT_CHANNEL))[0]
    thread = bot.fake.wait_for(lambda: bot.fake.thread(INCIDENT_CHANNEL, card["ts"]))
    request = text_of(thread[0]["blocks"])
    assert "&lt;!channel&gt; ; rm -rf / $(reboot) &amp; `id`" in request
    assert "<!channel>" not in request and f"<@{CTO}>" not in request
    assert bot.rows(Hotfix)[0].title == title


def test_help_and_unknown_subcommands_answer_privately(running_bot: RunningBot) -> None:
    bot = running_bot
    for text in ("help", ""):
        body = bot.slack.slash(text, user_id=EM, channel_id=INCIDENT_CHANNEL).json()
        assert body.get("response_type", "ephemeral") == "ephemeral"
        assert "/hotfix start [TICKET] [critical|high|medium|low] [title…]" in body["text"]
    body = bot.slack.slash("deploy-everything now", user_id=EM, channel_id=INCIDENT_CHANNEL).json()
    assert body["text"].startswith("`deploy-everything` is not a Hotfix Bot command.")
    assert bot.fake.messages(INCIDENT_CHANNEL) == []
