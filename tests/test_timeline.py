"""`/hotfix timeline HF-n` and `hotfix-bot export HF-n`: one record, read in full."""

from __future__ import annotations

import io
import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from app import main
from bot.export import export
from bot.render.timeline import record_markdown, timeline_blocks
from sandbox.slack_server import validate_blocks
from storage.models import Approval, Event
from tests.conftest import EM, REQUESTER, RunningBot
from tests.test_approvals import click, open_hotfix
from tests.test_commands import reply
from tests.test_start import start, text_of
from workflows.record import HotfixRecord, TimelineEvent, load_record


def approved_once(bot: RunningBot) -> None:
    checklist = open_hotfix(bot)
    click(bot, checklist, "Approve as Engineering Manager", EM)
    bot.fake.wait_for(lambda: any(e.kind == "approval" for e in bot.rows(Event)))


def test_the_timeline_shows_every_event_in_order_with_time_actor_and_change(
    running_bot: RunningBot,
) -> None:
    bot = running_bot
    approved_once(bot)
    events = bot.rows(Event)
    answer = reply(bot, "timeline HF-1")
    lines = text_of(answer["blocks"])
    header = "*Timeline of HF-1* · Login accepts empty tokens — Awaiting approval"
    assert f"{header} · {len(events)} events" in lines
    assessed = lines.index(f"<@{REQUESTER}> assessed it → *Awaiting approval*")
    based = lines.index("Hotfix Bot chose `v1.2.3` as the production base")
    approved = lines.index(f"<@{EM}> approved as Engineering Manager")
    assert assessed < based < approved  # in the order they happened
    first = events[0]
    assert f"<!date^{int(first.at.timestamp())}^" in lines  # each line has its time
    assert lines.count("<!date^") == len(events)


def test_timeline_usage_unknown_and_security_fix(running_bot: RunningBot) -> None:
    bot = running_bot
    assert "Usage: `/hotfix timeline HF-n`" in reply(bot, "timeline")["text"]
    assert "There is no hotfix HF-42" in reply(bot, "timeline HF-42")["text"]
    modal = start(bot, "SEC-5 critical Session tokens never expire")
    bot.slack.submit_view(
        modal["id"], user_id=REQUESTER, values={"Impact": "All", "Flags": ["Security fix"]}
    )
    bot.fake.wait_for(lambda: bot.rows(Event))
    refused = reply(bot, "timeline HF-1", user="U0OUTSIDER", channel="C0RANDOM")["text"]
    assert "HF-1 is a security fix: its details are shown to its requester" in refused
    assert "Session tokens never expire" in text_of(reply(bot, "timeline HF-1")["blocks"])


def test_a_timeline_longer_than_one_message_keeps_the_newest_and_says_how_to_read_all(
    running_bot: RunningBot,
) -> None:
    bot = running_bot
    approved_once(bot)
    hotfix = bot.bot.services.hotfixes.get(1)
    start_at = datetime(2026, 12, 3, 3, 0, tzinfo=UTC)
    events = [
        TimelineEvent(start_at + timedelta(seconds=n), EM, "deploy", detail={"attempt": n})
        for n in range(3000)
    ]
    _, blocks = timeline_blocks(hotfix, events)
    shown = [b.to_dict() for b in blocks]
    assert validate_blocks(shown, limit=50) == []
    rendered = text_of(shown)
    assert "started deploy attempt 2999" in rendered  # the newest are kept
    assert "started deploy attempt 0 " not in rendered
    assert "oldest are not shown here; `hotfix-bot export HF-1 --format md` prints them" in rendered


def _exported(monkeypatch: pytest.MonkeyPatch, database_url: str, *argv: str) -> tuple[int, str]:
    monkeypatch.setenv("DATABASE_URL", database_url)
    out = io.StringIO()
    monkeypatch.setattr("sys.stdout", out)
    code = main(["export", *argv])
    return code, out.getvalue()


def test_the_json_export_round_trips(
    running_bot: RunningBot, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    bot = running_bot
    approved_once(bot)
    code, printed = _exported(monkeypatch, database_url, "HF-1", "--format", "json")
    assert code == 0
    data = json.loads(printed)
    assert data["format"] == "hotfix-bot/record" and data["hotfix"]["key"] == "HF-1"
    read_back = HotfixRecord.from_json(data)
    assert read_back == load_record(bot.bot.services.sessions, 1)
    # What the database holds, field by field.
    rows = bot.rows(Event)
    assert [(e.kind, e.actor, e.to_state) for e in read_back.events] == [
        (e.kind, e.actor, e.to_state) for e in rows
    ]
    assert [e.at for e in read_back.events] == [e.at for e in rows]
    assert [(a.role, a.user_id) for a in read_back.approvals] == [
        (a.role, a.user_id) for a in bot.rows(Approval)
    ]
    with pytest.raises(ValueError, match="not a Hotfix Bot record"):
        HotfixRecord.from_json({**data, "version": 99})


def test_the_markdown_export_reads_like_the_timeline(
    running_bot: RunningBot, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    bot = running_bot
    approved_once(bot)
    code, printed = _exported(monkeypatch, database_url, "hf-1")
    assert code == 0
    assert printed.startswith("# HF-1 — Login accepts empty tokens\n")
    assert "| Severity | CRITICAL |" in printed and "| Ticket | SEC-9 |" in printed
    assert f"- Engineering Manager: @{EM}, " in printed
    timeline = printed.split("## Timeline\n\n", 1)[1].splitlines()
    assert len(timeline) == len(bot.rows(Event))
    assert f"@{REQUESTER} assessed it → **Awaiting approval**" in timeline[0]
    assert "<" not in printed and "&amp;" not in printed  # no Slack markup left


AT = datetime(2026, 12, 3, 3, 0, tzinfo=UTC)


def a_record(**changes: Any) -> HotfixRecord:
    """A record as an export holds it (closed HF-7), with ``changes``."""
    record = HotfixRecord(
        id=7,
        title="Totals | taxes & <fees>",
        severity="high",
        state="closed",
        impact="Wrong\ntotals",
        ticket=None,
        security_fix=False,
        needs_migration=False,
        requester_id=REQUESTER,
        channel_id="C0X",
        created_at=AT,
        discovered_at=AT,
        base_tag="v1.0.0",
        branch="hotfix/x",
        version="v1.0.1",
        previous_version="v1.0.0",
        pr_url=None,
        deploy_attempts=1,
        approvals=(),
        events=(TimelineEvent(AT, EM, "reject", detail={"reason": "a & b <c>"}),),
    )
    return replace(record, **changes)


def test_markdown_undoes_slacks_escaping_and_keeps_table_cells_whole() -> None:
    record = a_record()
    printed = record_markdown(record)
    assert printed.startswith("# HF-7 — Totals \\| taxes & <fees>\n")
    assert "| Impact | Wrong totals |" in printed
    assert "| Version | v1.0.1 (replacing v1.0.0) |" in printed
    assert f"- `2026-12-03 03:00:00 UTC` @{EM} rejected it: a & b <c>" in printed


def test_export_says_what_is_wrong(
    running_bot: RunningBot, database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", database_url)
    err = io.StringIO()
    assert export("banana", "md", out=io.StringIO(), err=err) == 2
    assert "'banana' is not a hotfix: hotfixes are named like HF-12." in err.getvalue()
    err = io.StringIO()
    assert export("HF-42", "md", out=io.StringIO(), err=err) == 1
    assert "HF-42 is not in the database" in err.getvalue()
    missing = tmp_path / "nowhere.db"
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{missing}")
    err = io.StringIO()
    assert export("HF-1", "md", out=io.StringIO(), err=err) == 3
    assert f"There is no Hotfix Bot database at sqlite:///{missing}" in err.getvalue()
    assert not missing.exists()
