"""Steps shared by the PR and review tests: ask for the PR, wait for the checklist, tick it."""

from __future__ import annotations

import json
import urllib.request

from sandbox.github_server import FakeGitHub
from storage.models import Hotfix, ReviewTicks
from tests.conftest import INCIDENT_CHANNEL, ONCALL, REQUESTER, RunningBot
from tests.git_fixtures import Origin
from tests.github_fixtures import REPO
from tests.test_approvals import click, in_thread
from tests.test_commands import reply
from tests.test_git_flow import FIXED, approve_all
from tests.test_start import text_of
from workflows.review import REVIEW_ITEMS, SECURITY_ITEMS

TEST = "def test_empty_token_is_refused():\n    assert not authenticate('')\n"


def open_pr_by_hand(
    github: FakeGitHub, branch: str, title: str = "fix login", body: str | None = None
) -> dict:
    """dana-em opens the PR on GitHub herself (through the same REST API)."""
    github.add_user("dana-em", token="ghp_dana")
    fields = {"title": title, "head": branch, "base": "main"}
    request = urllib.request.Request(
        f"{github.api_url}/repos/{REPO}/pulls",
        data=json.dumps(fields | ({"body": body} if body is not None else {})).encode(),
        method="POST",
        headers={"Authorization": "token ghp_dana", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


def flag_security(bot: RunningBot, hotfix_id: int) -> None:
    """The requester says it is a security fix (the modal's flag, tested in test_start)."""
    bot.bot.services.hotfixes.note(
        hotfix_id, actor=REQUESTER, kind="flagged", changes={"security_fix": True}
    )


def push_fix(origin: Origin, branch: str, extra: dict[str, str] | None = None) -> str:
    files = {"auth.py": FIXED, "tests/test_auth.py": TEST, **(extra or {})}
    return origin.commit_on(branch, files, "Add null check before token validation")


def ask_for_pr(
    bot: RunningBot, origin: Origin, extra: dict[str, str] | None = None
) -> tuple[Hotfix, str]:
    """Approve a HIGH hotfix, push its fix and type `/hotfix pr HF-1`: the hotfix and the
    fix's commit."""
    hotfix = approve_all(bot)
    head = push_fix(origin, hotfix.branch, extra)
    reply(bot, "pr HF-1")
    return hotfix, head


def announced(bot: RunningBot) -> dict:
    """The "🚨 HOTFIX PR Ready for Review" message in the thread, once it is there."""
    return bot.fake.wait_for(lambda: in_thread(bot, "🚨"), timeout=20)[0]


def checklist_of(bot: RunningBot) -> dict:
    return bot.fake.wait_for(lambda: in_thread(bot, "Hotfix Review Checklist"), timeout=20)[0]


def in_review(bot: RunningBot, origin: Origin) -> tuple[Hotfix, dict, str]:
    """A hotfix whose PR is open: returns it, its checklist message and the PR head."""
    _, head = ask_for_pr(bot, origin)
    announced(bot)
    checklist = checklist_of(bot)
    return bot.rows(Hotfix)[0], checklist, head


def review_passed(bot: RunningBot, origin: Origin, github: FakeGitHub) -> tuple[Hotfix, dict, str]:
    """A hotfix whose review passed (On-call ticked and approved, GitHub approved): ready to
    deploy. Returns it, its checklist message and the reviewed head."""
    hotfix, checklist, head = in_review(bot, origin)
    github.add_review(REPO, hotfix.pr_number, "oscar", "APPROVED", commit_id=head)
    tick(bot, checklist, ONCALL, REVIEW_ITEMS)
    click(bot, checklist, "Approve review", ONCALL)
    bot.fake.wait_for(lambda: bot.rows(Hotfix)[0].state == "ready_to_deploy")
    return bot.rows(Hotfix)[0], checklist, head


def shown(bot: RunningBot, message: dict) -> str:
    """What a message of the incident channel shows now."""
    return text_of(bot.fake.message(INCIDENT_CHANNEL, message["ts"])["blocks"])


def tick_checkboxes(
    bot: RunningBot,
    message: dict,
    user: str,
    action_id: str,
    items: tuple,
    *,
    frame: dict,
    label: str,
) -> None:
    """Tick ``items`` ((value, text) pairs) of the checkboxes ``action_id`` in ``message``, as
    the person's Slack sends it; the button ``label`` of ``frame`` gives the payload its frame."""
    payload = bot.slack.click_payload(
        channel_id=INCIDENT_CHANNEL, message=frame, label=label, user_id=user
    )
    shown = bot.fake.message(INCIDENT_CHANNEL, message["ts"]) or message
    [block] = [  # as the person's Slack shows the checklist now
        b["block_id"]
        for b in shown["blocks"]
        if b.get("type") == "actions"
        and any(e.get("action_id") == action_id for e in b.get("elements", []))
    ]
    payload["container"]["message_ts"] = shown["ts"]
    payload["message"] = {k: v for k, v in shown.items() if k != "channel"}
    payload["actions"] = [
        {
            "type": "checkboxes",
            "action_id": action_id,
            "block_id": block,
            "selected_options": [
                {"text": {"type": "plain_text", "text": text}, "value": item}
                for item, text in items
            ],
            "action_ts": "1.2",
        }
    ]
    assert bot.slack.send_payload(payload).status == 200


def tick(bot: RunningBot, message: dict, user: str, items: tuple, security: bool = False) -> None:
    action = "hotfix_security_checklist" if security else "hotfix_checklist"
    tick_checkboxes(bot, message, user, action, items, frame=message, label="Approve review")
    # Bolt acknowledges first and records the ticks in the background, as Slack's
    # 3-second rule wants: wait until they are stored, as a reviewer sees them shown.
    wanted = {item for item, _ in items}
    group = {item for item, _ in (SECURITY_ITEMS if security else REVIEW_ITEMS)}
    bot.fake.wait_for(
        lambda: any(
            row.reviewer_id == user and set(row.items or []) & group == wanted
            for row in bot.rows(ReviewTicks)
        )
    )
