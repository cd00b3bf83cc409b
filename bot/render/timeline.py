"""The timeline as people read it: one sentence per event, in Slack and in Markdown.

Every event kind has its words here (``EVENT_WORDS``); ``/hotfix status`` shows the latest
lines, ``/hotfix timeline`` all of them, and the Markdown export and the post-mortem draft
the same sentences without Slack's markup.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from slack_sdk.models.blocks import Block, ContextBlock, MarkdownTextObject, SectionBlock

from bot import mrkdwn
from workflows.budgets import PHASE_TITLES
from workflows.hotfixes import BOT_ACTOR
from workflows.lifecycle import state_name
from workflows.record import HotfixRecord
from workflows.roles import role_title
from workflows.snapshot import HotfixSnapshot

SECTION_CHARS = 3000  # Slack's limit on a section's text
TIMELINE_SECTIONS = 45  # of the 50 blocks a message may have


class TimelineEntry(Protocol):
    at: datetime
    actor: str
    kind: str
    from_state: str | None
    to_state: str | None
    detail: dict[str, Any]


def _ci_words(detail: dict) -> str:
    state = detail.get("state", "?")
    failing = ", ".join(mrkdwn.fit(str(name), 80) for name, _ in detail.get("failing") or [])
    return f"read CI: {mrkdwn.escape(str(state))}" + (f" ({failing})" if failing else "")


def _merge_back_words(detail: dict) -> str:
    parts = [
        f"{label} {', '.join(f'`{mrkdwn.fit(str(t), 100)}`' for t in targets)}"
        for label, targets in (
            ("merged into", detail.get("merged") or []),
            ("conflicts on", list(detail.get("conflicts") or {})),
            ("PRs for", list(detail.get("pull_requests") or {})),
        )
        if targets
    ]
    return "merge back: " + ("; ".join(parts) or "every target already had the fix")


def _ping_words(detail: dict) -> str:
    healthy = detail.get("healthy")
    result = "no health check" if healthy is None else ("healthy" if healthy else "UNHEALTHY")
    late = f", {detail['late_seconds']}s late" if detail.get("late_seconds") else ""
    return f"posted monitoring check {detail.get('step')} of {detail.get('of')}: {result}{late}"


def _run_words(verb: str) -> Callable[[dict], str]:
    def words(detail: dict) -> str:
        if detail.get("reason"):
            return f"{verb} failed: {mrkdwn.fit(str(detail['reason']), 200)}"
        return f"{verb} finished in {detail.get('seconds', '?')}s"

    return words


def _phase_over_words(detail: dict) -> str:
    phase = PHASE_TITLES.get(str(detail.get("phase")), "a")
    budget = mrkdwn.elapsed(timedelta(seconds=int(detail.get("budget_seconds") or 0)))
    return f"nudged the thread: the {phase.lower()} phase ran over its {budget} budget"


#: How each timeline event reads (``{key}`` comes from the event's detail).
EVENT_WORDS: dict[str, str | Callable[[dict], str]] = {
    "assess": "assessed it",
    "approval": "approved as {role}",
    "approve": "completed the approvals",
    "reject": "rejected it: {reason}",
    "abort": "aborted it: {reason}",
    "override": "overrode the severity matrix: {reason}",
    "escalated": "escalated to {role}",
    "escalation_undelivered": "could not post escalation step {step} ({reason})",
    "card_failed": "could not update Slack ({error})",
    "base_chosen": "chose `{tag}` as the production base",
    "no_base": "found no production tag matching `{pattern}`",
    "version_reserved": "reserved version `{version}`",
    "branch_created": "cut branch `{branch}` from `{base}`",
    "pr_opened": "opened PR #{pr}",
    "pr_described": "updated the description of PR #{pr}",
    "ci": _ci_words,
    "review_reset": "cleared the review: the PR got new commits",
    "review_passed": "passed the review",
    "tagged": "tagged `{tag}`",
    "merge_back_waiting": _merge_back_words,
    "merged_back": _merge_back_words,
    "deploy_ticked": "ticked deploy checklist items",
    "deploy": "started deploy attempt {attempt}",
    "deploy_version": "deploys `{version}` (replacing `{previous}`)",
    "deploy_succeeded": _run_words("the deploy"),
    "deploy_failure": _run_words("the deploy"),
    "monitoring_ping": _ping_words,
    "monitoring_confirmed": "confirmed all green",
    "monitoring_passed": "closed the monitoring window",
    "roll_back": "rolled it back: {reason}",
    "rollback_finished": _run_words("the rollback"),
    "rollback_failed": _run_words("the rollback"),
    "fix_again": "sent it back to fixing (fix the fix)",
    "phase_over": _phase_over_words,
    "postmortem_posted": "posted the post-mortem draft",
    "postmortem_issue": "opened the post-mortem issue on GitHub",
    "security_checklist_posted": "posted the security close-out checklist",
    "security_waived": "waived the security close-out: {reason}",
}


def event_words(event: TimelineEntry) -> str:
    """What happened, in Slack's markup (detail values escaped)."""
    raw = event.detail or {}
    detail = {k: mrkdwn.fit(str(v), 300) for k, v in raw.items()}
    if "role" in detail:
        detail["role"] = role_title(str(raw["role"]))
    words = EVENT_WORDS.get(event.kind, event.kind.replace("_", " "))
    try:
        return words(raw) if callable(words) else words.format(**detail)
    except (KeyError, TypeError, ValueError, AttributeError):
        return event.kind.replace("_", " ")


def _moved_to(event: TimelineEntry) -> str | None:
    if event.to_state and event.to_state != event.from_state:
        return state_name(event.to_state)
    return None


def timeline_line(event: TimelineEntry) -> str:
    """``<date> <who> <what> → *State*`` — time, actor and what changed, for Slack."""
    who = "Hotfix Bot" if event.actor == BOT_ACTOR else mrkdwn.user(event.actor)
    moved = _moved_to(event)
    to = f" → *{moved}*" if moved else ""
    return f"{mrkdwn.date(event.at, '{date_short} {time}')} {who} {event_words(event)}{to}"


def timeline_blocks(
    hotfix: HotfixSnapshot, events: Sequence[TimelineEntry]
) -> tuple[str, list[Block]]:
    """Every event of ``hotfix`` in order (``/hotfix timeline``). What does not fit in one
    message (Slack's 50 blocks) leaves out the oldest lines and says how to read them all."""
    lines = [timeline_line(e) for e in events]
    sections: list[list[str]] = [[]]
    size = 0
    for line in lines:
        line = mrkdwn.plain(line, SECTION_CHARS)
        if sections[-1] and size + len(line) + 1 > SECTION_CHARS:
            sections.append([])
            size = 0
        sections[-1].append(line)
        size += len(line) + 1
    kept = sections[-TIMELINE_SECTIONS:]
    left_out = len(lines) - sum(len(s) for s in kept)
    count = f"{len(lines)} event{'' if len(lines) == 1 else 's'}"
    text = f"Timeline of {hotfix.key}: {count}"
    blocks: list[Block] = [
        SectionBlock(
            text=MarkdownTextObject(
                text=f"*Timeline of {hotfix.key}* · {mrkdwn.fit(hotfix.title, 150)} — "
                f"{state_name(hotfix.state)} · {count}"
            )
        )
    ]
    if left_out:
        blocks.append(
            ContextBlock(
                elements=[
                    MarkdownTextObject(
                        text=f"The {left_out} oldest are not shown here; "
                        f"`hotfix-bot export {hotfix.key} --format md` prints them all."
                    )
                ]
            )
        )
    blocks += [SectionBlock(text=MarkdownTextObject(text="\n".join(s) or "—")) for s in kept]
    return text, blocks


# ------------------------------------------------------------------------ Markdown


def _md(text: str) -> str:
    """Slack's markup to Markdown: entities back to characters, one line."""
    return html.unescape(text).replace("\n", " ")


def markdown_line(event: TimelineEntry) -> str:
    who = "Hotfix Bot" if event.actor == BOT_ACTOR else f"@{event.actor}"
    moved = _moved_to(event)
    to = f" → **{moved}**" if moved else ""
    when = event.at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    return f"- `{when}` {who} {_md(event_words(event))}{to}"


def record_markdown(record: HotfixRecord) -> str:
    """The record as a Markdown document (``hotfix-bot export HF-n --format md``)."""
    version = record.version or "—"
    if record.version and record.previous_version:
        version += f" (replacing {record.previous_version})"
    rows = [
        ("Severity", record.severity.upper()),
        ("State", state_name(record.state)),
        ("Impact", record.impact),
        ("Ticket", record.ticket or "—"),
        ("Security fix", "yes" if record.security_fix else "no"),
        ("Requested by", f"@{record.requester_id}"),
        ("Declared", record.created_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")),
        ("Base", record.base_tag or "—"),
        ("Branch", record.branch or "—"),
        ("Version", version),
        ("Pull request", record.pr_url or "—"),
        ("Deploy attempts", str(record.deploy_attempts)),
    ]
    out = [f"# {record.key} — {md_cell(record.title)}", "", "| | |", "|---|---|"]
    out += [f"| {name} | {md_cell(value)} |" for name, value in rows]
    out += ["", "## Approvals", ""]
    out += [
        f"- {role_title(a.role)}: @{a.user_id}, "
        f"{a.at.astimezone(UTC).strftime('%Y-%m-%d %H:%M UTC')}"
        for a in record.approvals
    ] or ["- none"]
    out += ["", "## Timeline", ""]
    out += [markdown_line(e) for e in record.events] or ["- no events"]
    return "\n".join(out) + "\n"


def md_cell(value: str) -> str:
    return " ".join(value.split()).replace("|", "\\|")
