"""Phase 1 over real HTTP: approvals in the thread, refusals, reject, override, commands."""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

import pytest

from sandbox.slack_server import FakeSlack
from storage.models import Approval, Event, Hotfix
from tests.conftest import (
    CTO,
    EM,
    INCIDENT_CHANNEL,
    ONCALL,
    POLICY,
    REQUESTER,
    SECURITY,
    RunningBot,
    write_policy,
)
from tests.git_fixtures import Origin
from tests.test_start import start, text_of

BOTH_HATS = "U0DANA"  # Dana is Engineering Manager and, in this module's policy, CTO too


@pytest.fixture
def policy_path(tmp_path: Path, origin: Origin, request: pytest.FixtureRequest) -> Path:
    marker = request.node.get_closest_marker("policy")
    roles = {**POLICY["roles"], "cto": [CTO, BOTH_HATS]}
    return write_policy(tmp_path, origin, roles={**roles, **(marker.kwargs if marker else {})})


def open_hotfix(bot: RunningBot, text: str = "SEC-9 critical Login accepts empty tokens") -> dict:
    """Open a hotfix and return its thread's approvals message once it is posted."""
    modal = start(bot, text)
    bot.slack.submit_view(modal["id"], user_id=REQUESTER, values={"Impact": "Everyone"})
    # The production base is looked up in the background; let it land before people click.
    bot.fake.wait_for(lambda: any(e.kind == "base_chosen" for e in bot.rows(Event)))
    return approvals_message(bot)


def card(bot: RunningBot) -> dict:
    return bot.fake.wait_for(lambda: bot.fake.messages(INCIDENT_CHANNEL))[0]


def in_thread(bot: RunningBot, starts: str) -> list[dict]:
    """The messages under the card whose text starts with ``starts``."""
    replies = bot.fake.thread(INCIDENT_CHANNEL, card(bot)["ts"])
    return [m for m in replies if m["text"].startswith(starts)]


def approvals_message(bot: RunningBot) -> dict:
    return bot.fake.wait_for(lambda: in_thread(bot, "Approvers for"))[0]


def current(bot: RunningBot, message: dict) -> dict:
    return bot.fake.message(INCIDENT_CHANNEL, message["ts"])


def click(bot: RunningBot, message: dict, label: str, user: str) -> None:
    """Click a button of ``message`` as the user saw it (which may be an old copy)."""
    response = bot.slack.click(
        channel_id=INCIDENT_CHANNEL, message=message, label=label, user_id=user
    )
    assert response.status == 200


def said_to(bot: RunningBot, user: str, count: int = 1) -> str:
    """The last of the first ``count`` private replies ``user`` got."""
    replies = bot.fake.wait_for(
        lambda: len(bot.fake.responses(user)) >= count and bot.fake.responses(user)
    )
    return replies[count - 1]["text"]


@pytest.mark.policy(engineering_manager=[REQUESTER, EM], oncall_lead=[REQUESTER])
def test_the_approvers_list_never_invites_the_requester_to_approve(
    running_bot: RunningBot,
) -> None:
    checklist = open_hotfix(running_bot)
    shown = text_of(checklist["blocks"])
    # Dana only (the requester cannot approve their own hotfix), then the On-call Lead line.
    assert f"⬜ Engineering Manager — <@{EM}>\\n⬜ On-call Lead — _nobody" in shown
    assert f"<@{REQUESTER}>" not in shown.split("Approvers for")[1].split("Approve as")[0]
    assert (
        "⬜ On-call Lead — _nobody but the requester, who cannot approve: add another holder "
        "under `roles.oncall_lead`_"
    ) in shown


def test_critical_needs_three_people_and_then_says_what_is_next(
    running_bot: RunningBot, origin: Origin
) -> None:
    bot = running_bot
    checklist = open_hotfix(bot)
    shown = text_of(checklist["blocks"])
    assert f"⬜ Engineering Manager — <@{EM}>" in shown
    assert "⬜ On-call Lead — <!subteam^S0ONCALL>" in shown
    for label in (
        "Approve as Engineering Manager",
        "Approve as On-call Lead",
        "Approve as CTO",
        "Reject…",
    ):
        assert label in shown

    click(bot, checklist, "Approve as Engineering Manager", EM)
    bot.fake.wait_for(
        lambda: "✅ Engineering Manager — <@U0DANA>" in text_of(current(bot, checklist)["blocks"])
    )
    bot.fake.wait_for(lambda: "1 of 3 approvals" in text_of(card(bot)["blocks"]))
    assert "Approve as Engineering Manager" not in text_of(current(bot, checklist)["blocks"])

    click(bot, current(bot, checklist), "Approve as On-call Lead", ONCALL)  # via user group
    bot.fake.wait_for(lambda: "2 of 3 approvals" in text_of(card(bot)["blocks"]))
    click(bot, current(bot, checklist), "Approve as CTO", CTO)

    bot.fake.wait_for(lambda: "Approved" in text_of(card(bot)["blocks"]))
    notice = bot.fake.wait_for(
        lambda: [
            m
            for m in bot.fake.thread(INCIDENT_CHANNEL, card(bot)["ts"])
            if "is approved" in m["text"]
        ]
    )[0]
    assert "*HF-1 is approved* by all 3 approvers" in notice["text"]
    assert "cutting the hotfix branch from `v1.2.3` now" in notice["text"]
    final = bot.fake.wait_for(
        lambda: (
            (shown := text_of(current(bot, checklist)["blocks"])) and "✅ CTO" in shown and shown
        )
    )
    assert "✅ CTO — <@U0CHLOE>" in final and "Approve as" not in final

    # Phase 2 follows by itself: the branch is cut from the production tag and pushed.
    branch = "hotfix/SEC-9-login-accepts-empty-tokens"
    ready = bot.fake.wait_for(lambda: in_thread(bot, "🌿"))[0]
    assert f"branch `{branch}` is cut from `v1.2.3` and pushed (ships as `v1.2.4`)" in ready["text"]
    assert f"git fetch origin && git switch {branch}" in ready["text"]
    assert origin.head(branch) == origin.tag_commit("v1.2.3")
    bot.fake.wait_for(lambda: "Fixing" in text_of(card(bot)["blocks"]))

    [hotfix] = bot.rows(Hotfix)
    assert (hotfix.state, hotfix.branch, hotfix.version) == ("fixing", branch, "v1.2.4")
    assert [(a.role, a.user_id) for a in bot.rows(Approval)] == [
        ("engineering_manager", EM),
        ("oncall_lead", ONCALL),
        ("cto", CTO),
    ]
    assert [(e.kind, e.actor, e.to_state) for e in bot.rows(Event)] == [
        ("assess", REQUESTER, "awaiting_approval"),
        ("base_chosen", "hotfix-bot", "awaiting_approval"),
        ("approval", EM, "awaiting_approval"),
        ("approval", ONCALL, "awaiting_approval"),
        ("approval", CTO, "awaiting_approval"),
        ("approve", CTO, "approved"),
        ("version_reserved", "hotfix-bot", "approved"),
        ("branch_created", CTO, "fixing"),
    ]


def test_high_is_approved_by_two(running_bot: RunningBot) -> None:
    bot = running_bot
    checklist = open_hotfix(bot, "high Search times out")
    assert "Approve as CTO" not in text_of(checklist["blocks"])
    click(bot, checklist, "Approve as On-call Lead", ONCALL)
    bot.fake.wait_for(lambda: "1 of 2 approvals" in text_of(card(bot)["blocks"]))
    click(bot, current(bot, checklist), "Approve as Engineering Manager", EM)
    bot.fake.wait_for(lambda: bot.rows(Hotfix)[0].state == "approved")


@pytest.mark.parametrize(
    ("label", "user", "expected"),
    [
        (
            "Approve as CTO",
            ONCALL,
            "Only a holder of the CTO role can approve HF-1 as CTO: <@U0CHLOE>, <@U0DANA>. "
            "Nothing was recorded.",
        ),
        (
            "Approve as Engineering Manager",
            REQUESTER,
            "You requested HF-1, so you cannot approve it: a hotfix needs at least one other "
            "pair of eyes. Nothing was recorded.",
        ),
        ("Approve as On-call Lead", SECURITY, "Only a holder of the On-call Lead role"),
    ],
)
def test_unauthorized_clicks_are_explained_and_change_nothing(
    running_bot: RunningBot, label: str, user: str, expected: str
) -> None:
    bot = running_bot
    checklist = open_hotfix(bot)
    click(bot, checklist, label, user)
    assert expected in said_to(bot, user)
    assert bot.rows(Approval) == []
    assert [e.kind for e in bot.rows(Event)] == ["assess", "base_chosen"]


def test_one_person_fills_one_role(running_bot: RunningBot) -> None:
    bot = running_bot
    checklist = open_hotfix(bot)
    click(bot, checklist, "Approve as Engineering Manager", BOTH_HATS)
    bot.fake.wait_for(lambda: len(bot.rows(Approval)) == 1)
    click(bot, current(bot, checklist), "Approve as CTO", BOTH_HATS)
    assert "You already approved HF-1 as Engineering Manager" in said_to(bot, BOTH_HATS)
    assert [a.role for a in bot.rows(Approval)] == ["engineering_manager"]


def test_a_stale_button_says_what_happened_and_refreshes_the_message(
    running_bot: RunningBot,
) -> None:
    bot = running_bot
    old = open_hotfix(bot, "high Search times out")  # the message as first shown
    click(bot, old, "Approve as On-call Lead", ONCALL)
    bot.fake.wait_for(lambda: len(bot.rows(Approval)) == 1)
    click(bot, current(bot, old), "Approve as Engineering Manager", EM)
    bot.fake.wait_for(lambda: bot.rows(Hotfix)[0].state == "fixing")  # approved, branch cut
    bot.fake.wait_for(lambda: in_thread(bot, "🌿"))
    updates = len(bot.fake.calls_to("chat.update"))

    click(bot, old, "Approve as Engineering Manager", CTO)  # an old copy of the message
    assert said_to(bot, CTO) == "⚠️ HF-1 is now *Fixing*, so that no longer applies."
    bot.fake.wait_for(lambda: len(bot.fake.calls_to("chat.update")) > updates)
    assert len(bot.rows(Approval)) == 2


@pytest.mark.parametrize("value", ["999", "1; DROP TABLE hotfixes", "", "-1"])
def test_a_tampered_hotfix_id_is_refused(running_bot: RunningBot, value: str) -> None:
    bot = running_bot
    checklist = open_hotfix(bot)
    message = current(bot, checklist)
    for block in message["blocks"]:
        for element in block.get("elements", []):
            if element.get("type") == "button":
                element["value"] = value
    bot.slack.click(
        channel_id=INCIDENT_CHANNEL,
        label="Approve as Engineering Manager",
        user_id=EM,
        message=message,
    )
    assert "There is no hotfix" in said_to(bot, EM)
    assert bot.rows(Approval) == []


def test_reject_asks_why_and_ends_the_hotfix(running_bot: RunningBot) -> None:
    bot = running_bot
    checklist = open_hotfix(bot)
    bot.fake.wait_for(lambda: bot.bot.timers.pending("hotfix-1-escalation-"))
    click(bot, checklist, "Reject…", SECURITY)  # not an approver of this hotfix
    # The form opens at once (its trigger lasts 3 s), then turns into the refusal.
    refused = bot.fake.wait_for(
        lambda: (
            "Only an approver of HF-1" in text_of(bot.fake.last_view()["blocks"])
            and bot.fake.last_view()
        )
    )
    assert refused["callback_id"] == "hotfix_reject_reason" and refused.get("submit") is None
    assert bot.rows(Hotfix)[0].state == "awaiting_approval"

    shown = len(bot.fake.views())
    click(bot, checklist, "Reject…", CTO)
    form = bot.fake.wait_for(
        lambda: (
            len(bot.fake.views()) > shown
            and bot.fake.last_view()["callback_id"] == "hotfix_reject_reason"
            and bot.fake.last_view()
        )
    )
    assert form.get("submit") is not None  # the CTO may: the form stays a form
    blank = bot.slack.submit_view(form["id"], user_id=CTO, values={"Reason": "   "}).json()
    assert blank["errors"] == {
        "reason": "Give a reason to reject: it goes on the card and into the timeline."
    }
    assert bot.rows(Hotfix)[0].state == "awaiting_approval"

    reason = "Feature flag checkout_v2 can be turned off instead"
    assert bot.slack.submit_view(form["id"], user_id=CTO, values={"Reason": reason}).json() is None
    bot.fake.wait_for(lambda: "Rejected by" in text_of(card(bot)["blocks"]))
    shown = text_of(card(bot)["blocks"])
    assert f"⛔ Rejected by <@{CTO}>: {reason}" in shown
    hotfix = bot.rows(Hotfix)[0]
    assert (hotfix.state, hotfix.ended_by, hotfix.end_reason) == ("rejected", CTO, reason)
    assert bot.rows(Event)[-1].kind == "reject"
    # Nobody is chased for approvals of a rejected hotfix.
    bot.fake.wait_for(lambda: bot.bot.timers.pending("hotfix-1-escalation-") == [])
    final = bot.fake.wait_for(
        lambda: "Rejected" in text_of(current(bot, checklist)["blocks"]) and current(bot, checklist)
    )
    assert "Approve as" not in text_of(final["blocks"])


def test_override_opens_a_medium_as_a_hotfix_with_its_reason_on_the_card(
    running_bot: RunningBot,
) -> None:
    bot = running_bot
    modal = start(bot, "medium Exports are slow")
    bot.slack.submit_view(modal["id"], user_id=REQUESTER, values={"Impact": "Finance team"})
    refusal = card(bot)  # the first channel message is the refusal
    click(bot, refusal, "Override — open as hotfix…", REQUESTER)
    bot.fake.wait_for(
        lambda: (
            "Only an Engineering Manager or CTO can override"
            in text_of(bot.fake.last_view()["blocks"])
        )
    )

    shown = len(bot.fake.views())
    click(bot, refusal, "Override — open as hotfix…", EM)
    form = bot.fake.wait_for(
        lambda: (
            len(bot.fake.views()) > shown
            and bot.fake.last_view()["callback_id"] == "hotfix_override_reason"
            and bot.fake.last_view()
        )
    )
    reason = "Quarter close tomorrow; finance cannot wait for Tuesday's release"
    assert bot.slack.submit_view(form["id"], user_id=EM, values={"Reason": reason}).json() is None

    hotfix_card = bot.fake.wait_for(lambda: bot.fake.messages(INCIDENT_CHANNEL)[1])
    shown = text_of(hotfix_card["blocks"])
    assert "HF-1 · Exports are slow" in shown
    assert f"⚠️ *Severity override* (MEDIUM) by <@{EM}>: {reason}" in shown
    assert "0 of 2 approvals" in shown  # an overridden MEDIUM needs what a HIGH needs
    bot.fake.wait_for(lambda: "Overridden by" in text_of(current(bot, refusal)["blocks"]))
    assert "Override — open as hotfix" not in text_of(current(bot, refusal)["blocks"])
    hotfix = bot.rows(Hotfix)[0]
    assert (hotfix.state, hotfix.override_by, hotfix.override_reason) == (
        "awaiting_approval",
        EM,
        reason,
    )
    bot.fake.wait_for(lambda: len(bot.rows(Event)) == 3)  # the base is looked up meanwhile
    assert [(e.kind, e.from_state, e.to_state) for e in bot.rows(Event)] == [
        ("assess", None, "declined"),
        ("override", "declined", "awaiting_approval"),
        ("base_chosen", "awaiting_approval", "awaiting_approval"),
    ]


def test_slack_failing_an_update_loses_nothing_and_the_card_converges(
    running_bot: RunningBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("bot.card.CARD_RETRY", timedelta(milliseconds=300))
    bot = running_bot
    checklist = open_hotfix(bot)
    bot.fake.fail("chat.update", "internal_error", times=2)
    click(bot, checklist, "Approve as Engineering Manager", EM)
    bot.fake.wait_for(lambda: len(bot.rows(Approval)) == 1)  # recorded first
    bot.fake.wait_for(lambda: "1 of 3 approvals" in text_of(card(bot)["blocks"]), timeout=30)
    bot.fake.wait_for(
        lambda: "✅ Engineering Manager" in text_of(current(bot, checklist)["blocks"])
    )
    failures = [e.detail for e in bot.rows(Event) if e.kind == "card_failed"]
    # The timeline notes the run of failures (not every retry of it).
    assert failures and set(map(str, failures)) == {"{'error': 'internal_error'}"}
    assert len(failures) <= 2


def test_an_update_slack_can_never_accept_is_not_retried_for_ever(
    running_bot: RunningBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("bot.card.CARD_RETRY", timedelta(milliseconds=200))
    bot = running_bot
    checklist = open_hotfix(bot)
    bot.fake.fail("chat.update", "message_not_found", times=50)
    click(bot, checklist, "Approve as Engineering Manager", EM)
    bot.fake.wait_for(lambda: bot.rows(Approval))
    bot.fake.wait_for(lambda: [e.kind for e in bot.rows(Event)][-1] == "card_failed")
    time.sleep(0.5)  # the refresh of an earlier change may still be on its way
    failed = [e.kind for e in bot.rows(Event)].count("card_failed")
    time.sleep(1)  # five retry periods
    assert bot.bot.timers.pending("hotfix-1-card-") == []
    # One line per change Slack refused (two changes here), none per retry: none were made.
    assert [e.kind for e in bot.rows(Event)].count("card_failed") == failed <= 2
    assert len(bot.rows(Approval)) == 1  # recorded all the same


@pytest.fixture
def slack_never_lists_groups(fake_slack: FakeSlack) -> None:
    """From before the bot starts, so it never learns who is in them."""
    fake_slack.fail("usergroups.users.list", "ratelimited", times=50)


def test_a_user_group_slack_cannot_list_asks_to_retry_instead_of_refusing(
    slack_never_lists_groups: None, running_bot: RunningBot
) -> None:
    bot = running_bot
    checklist = open_hotfix(bot, "high Search times out")
    click(bot, checklist, "Approve as On-call Lead", ONCALL)
    said = said_to(bot, ONCALL)
    assert "roles cannot be checked right now. Nothing was recorded; try again" in said
    assert bot.rows(Approval) == []


def test_twenty_concurrent_clicks_record_one_approval(running_bot: RunningBot) -> None:
    """One process, its 16 request threads, on SQLite (write lock) and PostgreSQL (row lock)."""
    from concurrent.futures import ThreadPoolExecutor

    bot = running_bot
    approvals = open_hotfix(bot)

    def one_click(_: int) -> int:
        return bot.slack.click(
            channel_id=INCIDENT_CHANNEL,
            message=approvals,
            label="Approve as Engineering Manager",
            user_id=EM,
        ).status

    with ThreadPoolExecutor(max_workers=20) as pool:
        assert list(pool.map(one_click, range(20))) == [200] * 20
    refusals = bot.fake.wait_for(
        lambda: len(bot.fake.responses(EM)) == 19 and bot.fake.responses(EM)
    )
    assert {r["text"] for r in refusals} == {
        f"⚠️ Engineering Manager approval for HF-1 was already given by <@{EM}>."
    }
    assert [(a.role, a.user_id) for a in bot.rows(Approval)] == [("engineering_manager", EM)]
