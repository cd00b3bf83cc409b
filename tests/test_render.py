"""Every message and view the bot can render is valid Block Kit, even with extreme input."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from bot.ids import CallbackId
from bot.render.approvals import reason_modal, refusal_message, render_approvals
from bot.render.assessment import assessment_modal, not_a_hotfix_view
from bot.render.card import STATE_BADGES, render_assessment, render_card
from bot.render.home import Active, home_view
from bot.render.notices import list_blocks, status_blocks, usage_blocks
from sandbox.slack_server import validate_blocks, validate_view
from workflows.assessment import Assessment, CommandLine
from workflows.history import Closed
from workflows.lifecycle import HotfixLifecycle
from workflows.severity import Severity
from workflows.snapshot import ApprovalRecord, HotfixSnapshot

NOW = datetime(2026, 11, 27, 3, 0, tzinfo=UTC)
NASTY = "<!channel> & <@U0CTO> " + "&<>" * 700  # escapes to far more than it looks


def hotfix(**changes: object) -> HotfixSnapshot:
    base = HotfixSnapshot(
        id=12345,
        state="awaiting_approval",
        title="T" * 150,
        severity=Severity.CRITICAL,
        impact=NASTY,
        ticket="SEC-123",
        discovered_at=NOW,
        reporter_id="U0ALICE",
        estimated_fix=timedelta(minutes=45),
        risk_if_delayed=NASTY,
        security_fix=True,
        needs_migration=True,
        requester_id="U0ALICE",
        channel_id="C0INC",
        created_at=NOW,
        required_roles=("engineering_manager", "oncall_lead", "cto"),
        approvals=(ApprovalRecord("cto", "U0CHLOE", NOW),),
        messages={},
        override_by="U0DANA",
        override_reason=NASTY[:1000],
        ended_by="U0DANA",
        end_reason=NASTY[:1000],
    )
    return replace(base, **changes)


def valid(blocks: list) -> None:
    raw = [b.to_dict() for b in blocks]
    assert validate_blocks(raw, limit=50) == []


@pytest.mark.parametrize("state", [s.id for s in HotfixLifecycle.states])
def test_the_card_and_checklist_render_in_every_state(state: str) -> None:
    assert state in STATE_BADGES
    h = hotfix(state=state)
    valid(render_card(h, now=NOW + timedelta(hours=5)))
    valid(render_approvals(h, principals=lambda role: ("S0ONCALL", "U0DANA")))
    _, blocks = status_blocks(h, [], now=NOW)
    valid(blocks)


def test_the_assessment_the_refusal_and_lists_render_with_extreme_text() -> None:
    valid(render_assessment(hotfix()))
    valid(refusal_message(hotfix(state="declined", override_by=None))[1])
    valid(refusal_message(hotfix(state="awaiting_approval"))[1])
    valid(usage_blocks("x" * 5000)[1])
    many = [hotfix(id=n) for n in range(60)]
    valid(list_blocks(many, where="anywhere", visible=lambda h: False)[1])
    active = [Active(h, "x" * 3000, f"https://slack.example/{h.id}") for h in many]
    closed = [
        Closed(n, "y" * 200, n % 2 == 0, "U0ALICE", "C0X", "high", NOW, NOW, NOW) for n in range(40)
    ]
    view = home_view(
        waiting=[(a, "approve it") for a in active],
        active=active,
        closed=closed,
        visible=lambda h: False,
        now=NOW,
    )
    assert validate_view(view.to_dict()) == []


def test_modals_render() -> None:
    prefill = CommandLine(ticket="SEC-1", severity=Severity.HIGH, title="x" * 150)
    modal = assessment_modal(prefill, requester_id="U0ALICE", channel_id="C0INC", now=NOW)
    assert validate_view(modal.to_dict()) == []
    assessment = Assessment(
        title=NASTY[:150],
        severity=Severity.LOW,
        impact="i",
        discovered_at=NOW,
        reporter_id="U0ALICE",
    )
    assert validate_view(not_a_hotfix_view(assessment).to_dict()) == []
    for callback, verb in ((CallbackId.REJECT, "reject"), (CallbackId.OVERRIDE, "override")):
        view = reason_modal(callback_id=callback, hotfix=hotfix(), verb=verb)
        assert validate_view(view.to_dict()) == []


def test_a_merge_back_report_with_many_targets_stays_within_slacks_limits() -> None:
    from bot.render.git import merge_back_report
    from workflows.hotfix_git import MergeBackReport

    targets = [f"release/{n}.0-" + "x" * 60 for n in range(60)]
    report = MergeBackReport(
        hotfix(state="merging_back", branch="hotfix/HF-12345"),
        merged=tuple(targets[:10]),
        conflicts={t: tuple(f"src/file{i}.py" for i in range(30)) for t in targets[10:]},
    )
    head, blocks = merge_back_report(report)
    valid(blocks)
    assert head == "🔀 *HF-12345*: merge back is waiting for the conflicts below."
    shown = str([b.to_dict() for b in blocks])
    assert f"Conflicts merging into `{targets[10]}`" in shown
    assert f"❌ 10 more targets conflict: `{targets[50]}`" in shown
    assert "…and 27 more" in shown  # whole lines only, within Slack's 3000 characters


def test_a_new_head_gives_the_checklist_new_block_ids() -> None:
    """Slack keeps a person's ticked boxes across updates of the same block: after a reset
    (new head) the blocks must be new for the boxes to clear."""
    from bot.render.review import render_checklist

    def ids(head: str) -> list[str]:
        shown = hotfix(state="in_review", review_head=head, pr_number=7)
        return [b.block_id for b in render_checklist(shown) if b.type == "actions"]

    before, after = ids("a" * 40), ids("b" * 40)
    assert before[0].startswith("review_checklist:") and before[0] != after[0]
    assert before[1].startswith("review_security_checklist:") and before[1] != after[1]
    assert ids("a" * 40) == before  # the same head: the same blocks, ticks stay shown


@pytest.mark.parametrize(
    ("kind", "detail", "reads"),
    [
        (
            "ci",
            {"state": "failing", "failing": [["lint", None]], "pending": []},
            "read CI: failing (lint)",
        ),
        (
            "branch_created",
            {"branch": "hotfix/x", "commit": "c", "base": "v1.2.3"},
            "cut branch `hotfix/x` from `v1.2.3`",
        ),
        (
            "merge_back_waiting",
            {"merged": ["main"], "conflicts": {"develop": ["a.py"]}},
            "merge back: merged into `main`; conflicts on `develop`",
        ),
        (
            "review_reset",
            {"from": "a", "to": "b", "new_commits": 2},
            "cleared the review: the PR got new commits",
        ),
        ("pr_described", {"pr": 7}, "updated the description of PR #7"),
    ],
)
def test_timeline_lines_read_as_sentences(kind: str, detail: dict, reads: str) -> None:
    from types import SimpleNamespace

    from bot.render.timeline import timeline_line

    event = SimpleNamespace(
        kind=kind, detail=detail, actor="hotfix-bot", at=NOW, from_state="x", to_state="x"
    )
    assert timeline_line(event).endswith(f"Hotfix Bot {reads}")


def test_every_event_the_workflows_record_has_words() -> None:
    import re
    from pathlib import Path

    from bot.render.timeline import EVENT_WORDS
    from workflows.lifecycle import HotfixLifecycle

    root = Path(__file__).resolve().parent.parent
    source = "".join(p.read_text() for p in [*root.glob("workflows/*.py"), *root.glob("bot/*.py")])
    kinds = set(re.findall(r'kind="([a-z_]+)"', source))
    kinds |= {e.id for e in HotfixLifecycle.events}
    kinds -= {"record_approval"}  # recorded as "approval"
    assert kinds - set(EVENT_WORDS) == set()


def test_the_card_shows_the_deploy_at_a_glance() -> None:
    def phase(h: HotfixSnapshot, now: datetime) -> str:
        return json.dumps([b.to_dict() for b in render_card(h, now=now)], ensure_ascii=False)

    started = NOW + timedelta(hours=1)
    deploying = hotfix(state="deploying", deployed_version="v1.2.4", deploy_started_at=started)
    assert "*Deploying* `v1.2.4` — 1m 20s" in phase(deploying, started + timedelta(seconds=80))
    watching = hotfix(state="monitoring", deployed_version="v1.2.4", monitoring_started_at=started)
    assert "*Monitoring* `v1.2.4` — 12m in" in phase(watching, started + timedelta(minutes=12))
    failed = hotfix(state="deploy_failed", deployed_version="v1.2.5", deploy_attempts=2)
    assert "`v1.2.5` (attempt 2)" in phase(failed, started)
