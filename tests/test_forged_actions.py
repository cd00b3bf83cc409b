"""Forged clicks and forms, signed as Slack signs them (issue 12, item 5).

1. A real button of one hotfix whose value is edited to name another hotfix: the server
   trusts the message it was on (stored for a hotfix, or in that hotfix's thread), so the
   click is refused and neither hotfix changes.
2. Someone who holds no role at all presses every button and submits every form the bot
   registers (read from its router, so that a new one fails here until it is classified),
   on a button built as the bot builds it, in the phase where the bot shows it: the role
   check refuses it, the person reads why, and nothing is recorded.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from slack_bolt import App
from slack_bolt.authorization import AuthorizeResult

import bot as bot_package
from bot.ack import AckPath
from bot.ids import ActionId, CallbackId
from bot.listeners.approvals import APPROVE
from bot.render import approvals as render_approvals
from bot.render import deploy as render_deploy
from bot.render import git as render_git
from bot.render import monitoring as render_monitoring
from bot.render.notices import card_not_posted
from bot.render.review import render_checklist
from bot.render.security import security_checklist
from sandbox.slack_server import FakeSlack
from storage.db import transaction
from storage.models import Approval, Event, Hotfix, ReviewTicks
from tests.conftest import CTO, EM, INCIDENT_CHANNEL, REQUESTER, RunningBot, write_policy
from tests.git_fixtures import Origin
from tests.test_approvals import approvals_message, card, current, open_hotfix, said_to
from tests.test_start import text_of
from workflows.deployment import Ping
from workflows.snapshot import HotfixSnapshot

OUTSIDER = "U0MALLORY"  # in the workspace, in no role (nor role group), requester of nothing
SEARCH_CHANNEL = "C0SEARCH"  # a second incident channel, for a second hotfix
NEVER_RUNS = [sys.executable, "-c", "raise SystemExit('a refused deploy must never run')"]


@pytest.fixture
def policy_path(tmp_path: Path, origin: Origin, fake_slack: FakeSlack) -> Path:
    """A deploy and a rollback are configured (else "not configured" would answer first)."""
    fake_slack.add_user(OUTSIDER, "mallory")
    fake_slack.add_channel(SEARCH_CHANNEL, "inc-search")
    return write_policy(
        tmp_path, origin, deploy={"command": NEVER_RUNS, "rollback_command": NEVER_RUNS}
    )


def recorded(bot: RunningBot) -> dict[str, list]:
    """Everything a click could have recorded, as plain values."""
    return {
        "hotfixes": [
            (
                h.id,
                h.state,
                dict(h.deploy_ticks or {}),
                h.deployer_id,
                h.ended_by,
                h.override_by,
                h.branch,
            )
            for h in bot.rows(Hotfix)
        ],
        "events": [(e.id, e.hotfix_id, e.kind, e.actor) for e in bot.rows(Event)],
        "approvals": [(a.hotfix_id, a.role, a.user_id) for a in bot.rows(Approval)],
        "review ticks": [
            (t.hotfix_id, t.reviewer_id, list(t.items)) for t in bot.rows(ReviewTicks)
        ],
    }


def buttons_of(message: dict) -> list[dict]:
    return [
        element
        for block in message.get("blocks") or []
        for element in block.get("elements") or []
        if element.get("type") == "button"
    ]


def edited(message: dict, label: str, value: str) -> dict:
    """A copy of ``message`` whose button ``label`` carries ``value``."""
    message = {**message, "blocks": [dict(b) for b in message["blocks"]]}
    for block in message["blocks"]:
        if "elements" in block:
            block["elements"] = [dict(e) for e in block["elements"]]
            for element in block["elements"]:
                if element.get("type") == "button" and element["text"]["text"] == label:
                    element["value"] = value
    return message


# ------------------------------------------------------------------ 1. another hotfix's id


def open_second_hotfix(bot: RunningBot) -> tuple[int, dict]:
    """HF-2, in its own incident channel and thread: its id and its approvals message."""
    before = len(bot.fake.views())
    response = bot.slack.slash(
        "start high Search times out", user_id=REQUESTER, channel_id=SEARCH_CHANNEL
    )
    assert response.status == 200
    modal = bot.fake.wait_for(lambda: bot.fake.views()[before:])[0]
    bot.slack.submit_view(modal["id"], user_id=REQUESTER, values={"Impact": "Search is down"})
    its_card = bot.fake.wait_for(lambda: bot.fake.messages(SEARCH_CHANNEL))[0]
    approvals = bot.fake.wait_for(
        lambda: [
            m
            for m in bot.fake.thread(SEARCH_CHANNEL, its_card["ts"])
            if m["text"].startswith("Approvers for")
        ]
    )[0]
    [second] = [h for h in bot.rows(Hotfix) if h.channel_id == SEARCH_CHANNEL]
    bot.fake.wait_for(
        lambda: any(e.kind == "base_chosen" and e.hotfix_id == second.id for e in bot.rows(Event))
    )
    return second.id, approvals


def test_an_approval_edited_to_name_another_hotfix_is_refused_and_changes_neither(
    running_bot: RunningBot,
) -> None:
    bot = running_bot
    first = open_hotfix(bot)  # HF-1, in #inc-checkout
    second_id, second = open_second_hotfix(bot)  # HF-2, in #inc-search
    assert second_id == 2 and "Approve as Engineering Manager" in text_of(second["blocks"])
    before = recorded(bot)

    # Dana may approve HF-2 as Engineering Manager, from HF-2's own thread; a click on HF-1's
    # message that names HF-2 is not that, whoever sends it.
    forged = edited(first, "Approve as Engineering Manager", str(second_id))
    response = bot.slack.click(
        channel_id=INCIDENT_CHANNEL,
        message=forged,
        label="Approve as Engineering Manager",
        user_id=EM,
    )
    assert response.status == 200
    assert said_to(bot, EM) == (
        "⚠️ This button is on a message of HF-1, so it cannot act on HF-2. Nothing was "
        "recorded; use the buttons in HF-2's own thread."
    )
    assert recorded(bot) == before
    assert [h.state for h in bot.rows(Hotfix)] == ["awaiting_approval", "awaiting_approval"]
    assert "0 of 2 approvals" in text_of(bot.fake.messages(SEARCH_CHANNEL)[0]["blocks"])

    # The very same button, as the bot posted it, still works: on HF-1.
    bot.slack.click(
        channel_id=INCIDENT_CHANNEL,
        message=current(bot, first),
        label="Approve as Engineering Manager",
        user_id=EM,
    )
    bot.fake.wait_for(lambda: bot.rows(Approval))
    assert [(a.hotfix_id, a.role, a.user_id) for a in bot.rows(Approval)] == [
        (1, "engineering_manager", EM)
    ]


def test_a_reject_edited_to_name_another_hotfix_opens_no_form_and_changes_neither(
    running_bot: RunningBot,
) -> None:
    bot = running_bot
    first = open_hotfix(bot)
    second_id, _ = open_second_hotfix(bot)
    before = recorded(bot)
    views = len(bot.fake.views())

    # The CTO may reject HF-2 (from its thread), so only the message tells this apart.
    response = bot.slack.click(
        channel_id=INCIDENT_CHANNEL,
        message=edited(first, "Reject…", str(second_id)),
        label="Reject…",
        user_id=CTO,
    )
    assert response.status == 200
    assert "This button is on a message of HF-1, so it cannot act on HF-2" in said_to(bot, CTO)
    assert len(bot.fake.views()) == views  # no reason form for HF-2 was opened
    assert recorded(bot) == before


def test_a_checklist_whose_block_names_another_hotfix_is_refused(running_bot: RunningBot) -> None:
    """Checkboxes carry the hotfix in their block id: the same rule holds."""
    bot = running_bot
    first = open_hotfix(bot)
    second_id, _ = open_second_hotfix(bot)
    put_in(bot, second_id, "monitoring", security_fix=True)
    put_in(bot, 1, "monitoring", security_fix=True)
    before = recorded(bot)
    _, blocks = security_checklist(hotfix(bot, second_id), "<!subteam^S0SEC>")
    message = {**first, "blocks": [b.to_dict() for b in blocks]}  # HF-2's boxes, on HF-1
    tick(bot, message, ActionId.SECURITY_CLOSE, user="U0SAM")  # Sam holds Security
    assert "This button is on a message of HF-1, so it cannot act on HF-2" in said_to(bot, "U0SAM")
    assert recorded(bot) == before


# ------------------------------------------------------------------ 2. no role, every action


def put_in(bot: RunningBot, hotfix_id: int, state: str, **changes: object) -> None:
    """Put a hotfix in the phase where a button is shown (the rest of the flow is tested
    elsewhere; here only who may press it matters), once the bot is done with what came
    before (a change listener still running would see the new phase and act on it)."""
    bot.fake.wait_for(lambda: all(lane.load == 0 for lane in bot.bot.lanes.all()))
    with transaction(bot.bot.services.sessions) as session:
        row = session.get(Hotfix, hotfix_id)
        assert row is not None
        row.state = state
        for name, value in changes.items():
            setattr(row, name, value)


def hotfix(bot: RunningBot, hotfix_id: int = 1) -> HotfixSnapshot:
    return bot.bot.services.hotfixes.get(hotfix_id)


def element_of(blocks: list[dict], action_id: str) -> tuple[dict, dict]:
    for block in blocks:
        for element in block.get("elements") or []:
            if element.get("action_id") == action_id:
                return block, element
    raise KeyError(f"no element {action_id!r} in {text_of(blocks)}")


def tick(bot: RunningBot, message: dict, action_id: str, *, user: str) -> None:
    """Tick every box of the checkboxes ``action_id`` in ``message``, as ``user``."""
    block, element = element_of(message["blocks"], action_id)
    action = {
        "type": "checkboxes",
        "action_id": action_id,
        "block_id": block["block_id"],
        "selected_options": element["options"],
        "action_ts": "1700000000.000001",
    }
    response = bot.slack.act_in_message(
        channel_id=INCIDENT_CHANNEL, message=message, action=action, user_id=user
    )
    assert response.status == 200


Render = Callable[[RunningBot, HotfixSnapshot], list[Any]]


@dataclass(frozen=True)
class Shown:
    """Where the bot shows an action: the phase, and the message it renders for it."""

    state: str
    render: Render
    said: str  # what the clicker reads (a part of it); "" for a tick, which says nothing
    changes: tuple[tuple[str, object], ...] = ()
    ephemeral: bool = False


def panel(bot: RunningBot, h: HotfixSnapshot) -> list[Any]:
    facts = bot.bot.services.deploys.facts(h)
    return render_deploy.deploy_panel(h, facts, version="v1.2.4")[1]


def monitoring_check(_: RunningBot, h: HotfixSnapshot) -> list[Any]:
    step = Ping(step=1, due=h.created_at, last=False)
    left = timedelta(minutes=20)
    _, blocks = render_monitoring.ping(h, step, 3, None, left=left, late_by=None, alert=[])
    return blocks


DRIVE = "Only the requester of HF-1 or someone with a Hotfix Bot role can"
DEPLOYER = "Only the requester of HF-1 (<@U0ALICE>) or an On-call Lead can deploy or roll it back"

#: Actions that need a role (or to be the requester): each refuses someone who has none.
NEEDS_A_ROLE: dict[str, Shown] = {
    ActionId.CREATE_BRANCH: Shown(
        "approved", lambda _, h: render_git.create_branch_offer(h)[1], f"{DRIVE} run its git"
    ),
    ActionId.OPEN_PR: Shown(
        "fixing",
        lambda _, h: render_git.branch_ready(h, offer_pr=True)[1],
        f"{DRIVE} run its git steps",
    ),
    ActionId.MERGE_BACK: Shown(
        "merging_back",
        lambda _, h: render_git.git_failed(h, "merging back", "conflict", ActionId.MERGE_BACK)[1],
        f"{DRIVE} run its git steps",
    ),
    ActionId.DEPLOY: Shown("ready_to_deploy", panel, DEPLOYER),
    ActionId.MIGRATION_CHECKLIST: Shown(
        "ready_to_deploy",
        panel,
        f"{DRIVE} tick its migration checklist",
        changes=(("needs_migration", True),),
    ),
    ActionId.ROLL_BACK: Shown("monitoring", panel, DEPLOYER),
    ActionId.VERIFY_CHECKLIST: Shown(
        "monitoring",
        lambda _, h: render_deploy.deployed(h, None, window="30m", interval="10m")[1],
        DEPLOYER,
    ),
    ActionId.RETRY_ROLLBACK: Shown(
        "rolled_back",
        lambda _, h: render_deploy.rolled_back(h, "v1.2.3", False, "exit status 1")[1],
        DEPLOYER,
    ),
    ActionId.FIX_AGAIN: Shown(
        "rolled_back",
        lambda _, h: render_deploy.rolled_back(h, "v1.2.3", True, None)[1],
        f"{DRIVE} send it back to fixing",
    ),
    ActionId.ALL_GREEN: Shown("monitoring", monitoring_check, f"{DRIVE} confirm all green"),
    ActionId.SECURITY_CLOSE: Shown(
        "monitoring",
        lambda _, h: security_checklist(h, "<!subteam^S0SEC>")[1],
        "Only a holder of the Security role",
        changes=(("security_fix", True),),
    ),
}

#: Actions anyone in the workspace may use, each with why; they still record nothing that
#: moves a hotfix or speaks for a role.
ANYONE: dict[str, tuple[str, Shown]] = {
    ActionId.RETRY_CARD: (
        "posts the card again if Slack lost it; changes nothing the card shows",
        Shown(
            "awaiting_approval",
            lambda _, h: card_not_posted(h, "not_in_channel")[1],
            "✅ The card of HF-1 is posted.",
            ephemeral=True,
        ),
    ),
    ActionId.RECHECK_CI: (
        "reads the PR's CI; what it records is the bot's reading, not the clicker's word",
        Shown("in_review", lambda _, h: render_checklist(h), "HF-1 has no pull request yet."),
    ),
    ActionId.APPROVE_REVIEW: (
        "any engineer but the change's authors reviews (a security fix: the Security role, "
        "checked in tests/test_review.py); here the review has no PR to approve",
        Shown(
            "in_review",
            lambda _, h: render_checklist(h),
            "HF-1 has no pull request to review yet.",
        ),
    ),
    ActionId.CHECKLIST: (
        "a reviewer's own ticks, which approve nothing by themselves",
        Shown("in_review", lambda _, h: render_checklist(h), ""),
    ),
    ActionId.SECURITY_CHECKLIST: (
        "a reviewer's own ticks; approving a security review needs the Security role",
        Shown(
            "in_review",
            lambda _, h: render_checklist(h),
            "",
            changes=(("security_fix", True),),
        ),
    ),
}

#: Phase 1's buttons: tested on the bot's real messages (approve, reject) and the refusal.
PHASE_ONE = {APPROVE.pattern, ActionId.REJECT, ActionId.OVERRIDE}

#: Every form: who may submit it.
FORMS = {
    CallbackId.ASSESSMENT: "anyone files a hotfix request; it needs approvers to move",
    CallbackId.REJECT: "an approver of the hotfix",
    CallbackId.OVERRIDE: "an Engineering Manager or CTO",
}


def registered(bot: RunningBot, kind: str) -> set[str]:
    """The ids the bot's router listens to, from the same ``register`` the bot runs."""
    app = App(
        signing_secret="unused",
        authorize=lambda **_: AuthorizeResult(
            enterprise_id=None, team_id="T0", bot_token="xoxb-unused", bot_user_id="U0BOT"
        ),
        request_verification_enabled=False,
        process_before_response=True,
    )
    router = bot_package.register(
        app, bot.bot.services, AckPath(bot.bot.lanes, bot.bot.outbox, inline=True)
    )
    return {key.pattern if isinstance(key, re.Pattern) else str(key) for key in router.ids(kind)}


def test_every_action_and_form_is_classified(running_bot: RunningBot) -> None:
    """A new button or form fails here until it says who may use it (and gets a case)."""
    classified = {*map(str, NEEDS_A_ROLE), *map(str, ANYONE), *PHASE_ONE}
    assert registered(running_bot, "action") == classified
    assert registered(running_bot, "view") == set(map(str, FORMS))
    assert not set(NEEDS_A_ROLE) & set(ANYONE)


def press(bot: RunningBot, action_id: str, shown: Shown) -> None:
    """As the outsider: the action in the message the bot renders for HF-1 in its phase,
    framed as a message of HF-1's thread (its approvals message)."""
    blocks = [b if isinstance(b, dict) else b.to_dict() for b in shown.render(bot, hotfix(bot))]
    message = {**approvals_message(bot), "blocks": blocks}
    _, element = element_of(blocks, action_id)
    if element["type"] == "checkboxes":
        tick(bot, message, action_id, user=OUTSIDER)
        return
    if shown.ephemeral:  # shown to one person: Slack sends no message with the click
        bot.fake.show_ack(INCIDENT_CHANNEL, OUTSIDER, "", blocks)
        message = bot.fake.ephemerals(INCIDENT_CHANNEL, OUTSIDER)[-1]
    response = bot.slack.click(
        channel_id=INCIDENT_CHANNEL,
        message=message,
        label=element["text"]["text"],
        user_id=OUTSIDER,
        ephemeral=shown.ephemeral,
    )
    assert response.status == 200


@pytest.mark.parametrize("action_id", list(NEEDS_A_ROLE), ids=str)
def test_someone_without_a_role_is_refused_every_action_that_needs_one(
    running_bot: RunningBot, action_id: str
) -> None:
    bot = running_bot
    open_hotfix(bot)
    shown = NEEDS_A_ROLE[action_id]
    put_in(bot, 1, shown.state, **dict(shown.changes))
    before = recorded(bot)
    press(bot, action_id, shown)
    said = said_to(bot, OUTSIDER)
    assert shown.said in said, said
    assert recorded(bot) == before


@pytest.mark.parametrize("action_id", list(ANYONE), ids=str)
def test_actions_anyone_may_use_record_nothing_that_moves_a_hotfix(
    running_bot: RunningBot, action_id: str
) -> None:
    bot = running_bot
    open_hotfix(bot)
    _, shown = ANYONE[action_id]
    put_in(bot, 1, shown.state, **dict(shown.changes))
    before = recorded(bot)
    press(bot, action_id, shown)
    if shown.said:
        assert shown.said in said_to(bot, OUTSIDER)
    else:  # a tick says nothing back: its row is what it did
        bot.fake.wait_for(lambda: recorded(bot)["review ticks"] != before["review ticks"])
    after = recorded(bot)
    assert after["hotfixes"] == before["hotfixes"] and after["approvals"] == []
    assert [e for e in after["events"] if e not in before["events"]] == []
    if action_id in (ActionId.CHECKLIST, ActionId.SECURITY_CHECKLIST):
        [(hotfix_id, reviewer, items)] = after["review ticks"]
        assert (hotfix_id, reviewer) == (1, OUTSIDER) and items  # their own ticks, no more
    else:
        assert after["review ticks"] == before["review ticks"]


def test_someone_without_a_role_cannot_approve_as_any_role_or_reject(
    running_bot: RunningBot,
) -> None:
    bot = running_bot
    approvals = open_hotfix(bot)
    before = recorded(bot)
    labels = [b["text"]["text"] for b in buttons_of(approvals)]
    assert labels == [
        "Approve as Engineering Manager",
        "Approve as On-call Lead",
        "Approve as CTO",
        "Reject…",
    ]
    for count, label in enumerate(labels[:3], start=1):
        bot.slack.click(
            channel_id=INCIDENT_CHANNEL, message=approvals, label=label, user_id=OUTSIDER
        )
        role = label.removeprefix("Approve as ")
        assert f"Only a holder of the {role} role can approve HF-1 as {role}" in said_to(
            bot, OUTSIDER, count
        )
    bot.slack.click(
        channel_id=INCIDENT_CHANNEL, message=approvals, label="Reject…", user_id=OUTSIDER
    )
    refused = bot.fake.wait_for(
        lambda: (
            "Only an approver of HF-1" in text_of(bot.fake.last_view()["blocks"])
            and bot.fake.last_view()
        )
    )
    assert refused.get("submit") is None  # the form turned into the refusal: nothing to send
    assert recorded(bot) == before


def test_someone_without_a_role_cannot_override_a_refusal(running_bot: RunningBot) -> None:
    bot = running_bot
    open_hotfix(bot)
    put_in(bot, 1, "declined")
    before = recorded(bot)
    _, blocks = render_approvals.refusal_message(hotfix(bot))
    message = {**card(bot), "blocks": [b.to_dict() for b in blocks]}
    [override] = [b for b in buttons_of(message) if b["action_id"] == ActionId.OVERRIDE]
    bot.slack.click(
        channel_id=INCIDENT_CHANNEL,
        message=message,
        label=override["text"]["text"],
        user_id=OUTSIDER,
    )
    bot.fake.wait_for(
        lambda: (
            "Only an Engineering Manager or CTO can override"
            in text_of(bot.fake.last_view()["blocks"])
        )
    )
    assert bot.fake.last_view().get("submit") is None
    assert recorded(bot) == before


def reason_form(bot: RunningBot, message: dict, label: str, user: str, callback: str) -> dict:
    """The reason form as the bot opens it for someone who may use it."""
    shown = len(bot.fake.views())
    bot.slack.click(channel_id=INCIDENT_CHANNEL, message=message, label=label, user_id=user)
    return bot.fake.wait_for(
        lambda: (
            len(bot.fake.views()) > shown
            and bot.fake.last_view()["callback_id"] == callback
            and bot.fake.last_view().get("submit") is not None
            and bot.fake.last_view()
        )
    )


def test_a_reject_form_submitted_by_someone_without_a_role_is_refused_in_the_form(
    running_bot: RunningBot,
) -> None:
    bot = running_bot
    approvals = open_hotfix(bot)
    form = reason_form(bot, approvals, "Reject…", CTO, CallbackId.REJECT)
    before = recorded(bot)
    answer = bot.slack.submit_view(
        form["id"], user_id=OUTSIDER, values={"Reason": "I do not like it"}
    ).json()
    assert answer["response_action"] == "errors"
    assert "Only an approver of HF-1" in answer["errors"]["reason"]
    assert recorded(bot) == before


def test_an_override_form_submitted_by_someone_without_a_role_is_refused_in_the_form(
    running_bot: RunningBot,
) -> None:
    bot = running_bot
    open_hotfix(bot)
    put_in(bot, 1, "declined")
    _, blocks = render_approvals.refusal_message(hotfix(bot))
    message = {**card(bot), "blocks": [b.to_dict() for b in blocks]}
    [override] = [b for b in buttons_of(message) if b["action_id"] == ActionId.OVERRIDE]
    form = reason_form(bot, message, override["text"]["text"], EM, CallbackId.OVERRIDE)
    before = recorded(bot)
    answer = bot.slack.submit_view(
        form["id"], user_id=OUTSIDER, values={"Reason": "Because I say so"}
    ).json()
    assert answer["response_action"] == "errors"
    assert "Only an Engineering Manager or CTO can override" in answer["errors"]["reason"]
    assert recorded(bot) == before


def test_anyone_may_file_a_hotfix_request_which_only_waits_for_approvers(
    running_bot: RunningBot,
) -> None:
    bot = running_bot
    before = len(bot.fake.views())
    bot.slack.slash(
        "start critical Checkout is down", user_id=OUTSIDER, channel_id=INCIDENT_CHANNEL
    )
    modal = bot.fake.wait_for(lambda: bot.fake.views()[before:])[0]
    answer = bot.slack.submit_view(modal["id"], user_id=OUTSIDER, values={"Impact": "Everyone"})
    assert answer.json() is None
    [filed] = bot.fake.wait_for(lambda: bot.rows(Hotfix))
    assert (filed.requester_id, filed.state) == (OUTSIDER, "awaiting_approval")
    assert bot.rows(Approval) == []
    assert [(e.kind, e.actor) for e in bot.rows(Event)][:1] == [("assess", OUTSIDER)]
