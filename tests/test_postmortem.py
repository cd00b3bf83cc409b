"""The post-mortem draft: uploaded as Markdown into the thread when the hotfix closes, and
on `/hotfix postmortem HF-n`, with the durations measured against the procedure's budgets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update

from storage.models import Approval, Event, Hotfix
from tests.conftest import REQUESTER, RunningBot
from tests.git_fixtures import Origin
from tests.test_commands import reply
from tests.test_git_flow import FIXED, approve_all, to_merging_back

T0 = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)


def drafts(bot: RunningBot) -> list[dict]:
    return [f for f in bot.fake.files() if f["name"] == "postmortem-HF-1.md" and f["shared"]]


def closed_hotfix(bot: RunningBot, origin: Origin) -> None:
    hotfix = approve_all(bot)
    origin.commit_on(hotfix.branch, {"auth.py": FIXED}, "Add null check before validation")
    to_merging_back(bot, hotfix.id)
    reply(bot, "merge-back HF-1", user=REQUESTER)
    bot.fake.wait_for(lambda: bot.rows(Hotfix)[0].state == "closed", timeout=20)


def test_closing_posts_the_draft_once_with_every_section(
    running_bot: RunningBot, origin: Origin
) -> None:
    bot = running_bot
    closed_hotfix(bot, origin)
    [draft] = bot.fake.wait_for(lambda: drafts(bot), timeout=15)
    card_ts = bot.fake.messages("C0INCIDENT")[0]["ts"]
    assert draft["channel"] == "C0INCIDENT" and draft["thread_ts"] == card_ts
    text = draft["content"].decode()
    assert text.startswith("# Post-mortem: HF-1 — Login accepts empty tokens\n")
    for section in (
        "## Summary",
        "## Approvals",
        "## Durations against the procedure's budgets",
        "## Deploy attempts and rollbacks",
        "## Conflicts met in merge back",
        "## Timeline",
        "## Root cause",
        "## What went well",
        "## What went wrong",
        "## Action items",
    ):
        assert section in text
    assert "| Ticket | SEC-9 |" in text and "- On-call Lead: @U0OMAR" in text
    assert "completed the approvals → **Approved**" in text
    assert "merge back: merged into `main`, `develop`" in text
    # Once: further changes and a restart's catch-up post nothing more.
    bot.bot.services.postmortems.sync(1)
    assert len(drafts(bot)) == 1
    assert [e.kind for e in bot.rows(Event)].count("postmortem_posted") == 1


def test_the_durations_are_measured_on_the_timeline_against_the_budgets(
    running_bot: RunningBot, origin: Origin
) -> None:
    bot = running_bot
    closed_hotfix(bot, origin)
    bot.fake.wait_for(lambda: drafts(bot), timeout=15)
    # Controlled times: declared 10:00, approved 10:12, PR 11:30, deployed 12:10, closed 13:00.
    at = {"approved": 12, "in_review": 90, "monitoring": 130, "closed": 180}
    with bot.session() as session, session.begin():
        session.execute(update(Hotfix).values(created_at=T0, approval_requested_at=T0))
        session.execute(update(Approval).values(approved_at=T0 + timedelta(minutes=5)))
        for row in session.scalars(select(Event)):
            moved = row.to_state != row.from_state
            row.at = T0 + timedelta(minutes=at.get(row.to_state or "", 1) if moved else 1)
    answer = reply(bot, "postmortem HF-1")
    assert answer["text"] == "📝 The post-mortem draft of HF-1 is in its thread."
    text = bot.fake.wait_for(lambda: len(drafts(bot)) == 2 and drafts(bot))[1]["content"]
    text = text.decode()
    assert "| Time to approve | 12m | 15m | within budget |" in text
    assert "| Time to PR | 1h 30m | 1h 20m | over budget |" in text
    assert "| Time to deploy | 2h 10m | 2h 20m | within budget |" in text
    assert "| Total time | 3h 00m | 3h 20m | within budget |" in text
    assert "`2026-12-03 10:12:00 UTC`" in text  # the timeline, at the recorded times
