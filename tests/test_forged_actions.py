"""Forged clicks and forms, signed as Slack signs them (issue 12, item 5).

1. A real button of one hotfix whose value is edited to name another hotfix: the server
   trusts the message it was on (stored for a hotfix, or in that hotfix's thread), so the
   click is refused and neither hotfix changes.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from bot.ids import ActionId
from bot.render.security import security_checklist
from sandbox.slack_server import FakeSlack
from storage.db import transaction
from storage.models import Approval, Event, Hotfix, ReviewTicks
from tests.conftest import CTO, EM, INCIDENT_CHANNEL, REQUESTER, RunningBot, write_policy
from tests.git_fixtures import Origin
from tests.test_approvals import current, open_hotfix, said_to
from tests.test_start import text_of
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


# ------------------------------------------------------------------ helpers


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
