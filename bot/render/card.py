"""The hotfix card (one per hotfix, re-rendered on every change) and the thread's assessment."""

from __future__ import annotations

from datetime import datetime

from slack_sdk.models.blocks import (
    Block,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)

from bot import mrkdwn
from bot.render.approvals import approvals_text, outcome_line
from workflows.durations import format_duration
from workflows.lifecycle import PHASES, is_final, state_name
from workflows.roles import role_title
from workflows.snapshot import HotfixSnapshot

PHASE_LABELS: dict[str, str] = {
    "awaiting_approval": "Approval",
    "approved": "Approved",
    "fixing": "Fix",
    "in_review": "Review",
    "ready_to_deploy": "Ready",
    "deploying": "Deploy",
    "monitoring": "Monitor",
    "merging_back": "Merge back",
    "closed": "Closed",
}

STATE_BADGES: dict[str, str] = {
    "new": "🆕",
    "declined": "↩️",
    "awaiting_approval": "⏳",
    "approved": "👍",
    "fixing": "🛠️",
    "in_review": "👀",
    "ready_to_deploy": "🚦",
    "deploying": "🚀",
    "monitoring": "📈",
    "merging_back": "🔀",
    "closed": "✅",
    "rejected": "⛔",
    "aborted": "🛑",
    "deploy_failed": "💥",
    "rolled_back": "⏪",
}


def card_text(hotfix: HotfixSnapshot) -> str:
    """The notification / screen-reader text of the card."""
    title = mrkdwn.escape(hotfix.title)
    drill = "🧪 DRILL · " if hotfix.drill else ""
    return f"{drill}{hotfix.key} {hotfix.severity.label}: {title} — {state_name(hotfix.state)}"


def ci_text(hotfix: HotfixSnapshot) -> str:
    """✅ green / ⏳ pending (which) / ❌ failing (which, linked)."""
    detail = hotfix.ci_detail or {}
    if hotfix.ci_state == "green":
        return "✅ green"
    if hotfix.ci_state == "failing":
        failing = [
            f"<{link}|{mrkdwn.escape(name)}>" if link else mrkdwn.escape(name)
            for name, link in detail.get("failing", [])[:3]
        ]
        return "❌ failing: " + ", ".join(failing)
    pending = [mrkdwn.escape(name) for name in detail.get("pending", [])[:3]]
    return "⏳ pending" + (f": {', '.join(pending)}" if pending else "")


def progress(state: str) -> str:
    """The phases as a one-line progress bar: done ✔, current ▶, still to come ○."""
    if state in PHASES:
        current = PHASES.index(state)
        parts = []
        for index, phase in enumerate(PHASES):
            label = PHASE_LABELS[phase]
            if index < current:
                parts.append(f"~{label}~")
            elif index == current:
                parts.append(f"*▶ {label}*")
            else:
                parts.append(label)
        return "  ›  ".join(parts)
    return f"*{STATE_BADGES[state]} {state_name(state)}*"


def _deploy_words(hotfix: HotfixSnapshot, now: datetime) -> str:
    """ "deploying v1.2.4 — 1m 20s", "v1.2.4 — 12m in": the deploy at a glance."""
    version = f" `{hotfix.deployed_version}`" if hotfix.deployed_version else ""
    if hotfix.state == "deploying" and hotfix.deploy_started_at:
        return f"{version} — {mrkdwn.stopwatch(now - hotfix.deploy_started_at)}"
    if hotfix.state == "monitoring" and hotfix.monitoring_started_at:
        return f"{version} — {mrkdwn.elapsed(now - hotfix.monitoring_started_at)} in"
    if hotfix.state in ("deploy_failed", "rolled_back") and version:
        return f"{version} (attempt {hotfix.deploy_attempts})"
    return ""


def _budget_words(hotfix: HotfixSnapshot, now: datetime) -> str:
    """``⏱ Fix: 12m of 1h 00m`` — the current phase against its budget (over: says so)."""
    clock = hotfix.phase
    if clock is None:
        return ""
    budget = mrkdwn.elapsed(clock.budget)
    if clock.over(now):
        return f"\n⏰ {clock.title}: {mrkdwn.elapsed(clock.elapsed(now))}, over its {budget} budget"
    due = mrkdwn.date(clock.due, "{time}")
    return f"\n⏱ {clock.title}: {mrkdwn.elapsed(clock.elapsed(now))} of {budget} (by {due})"


def render_card(hotfix: HotfixSnapshot, *, now: datetime) -> list[Block]:
    """The card: what, how bad, which phase, who asked, who must approve, how long so far."""
    badge = STATE_BADGES[hotfix.state]
    approved = sum(1 for role in hotfix.required_roles if hotfix.approval_for(role))
    phase = f"{badge} *{state_name(hotfix.state)}*"
    if hotfix.state == "awaiting_approval":
        phase += f"  ({approved} of {len(hotfix.required_roles)} approvals)"
    phase += _deploy_words(hotfix, now)
    phase += _budget_words(hotfix, now)
    flags = []
    if hotfix.drill:
        flags.append("🧪 Drill: a rehearsal")
    if hotfix.security_fix:
        flags.append("🔒 Security fix")
    if hotfix.needs_migration:
        flags.append("🗄️ Database migration")
    fields = [
        MarkdownTextObject(text=f"*Severity*\n{hotfix.severity.emoji} {hotfix.severity.label}"),
        MarkdownTextObject(text=f"*Phase*\n{phase}"),
        MarkdownTextObject(
            text=f"*Ticket*\n{mrkdwn.fit(hotfix.ticket, 200) if hotfix.ticket else '—'}"
        ),
        MarkdownTextObject(text=f"*Requester*\n{mrkdwn.user(hotfix.requester_id)}"),
        MarkdownTextObject(text=f"*Opened*\n{mrkdwn.date(hotfix.created_at)}"),
        MarkdownTextObject(
            text=f"*Elapsed*\n{mrkdwn.elapsed(now - hotfix.created_at)}"
            + ("" if not is_final(hotfix.state) else " (ended)")
        ),
    ]
    if hotfix.base_tag or hotfix.branch:
        git = [f"from `{hotfix.base_tag}`" if hotfix.base_tag else "base not chosen"]
        if hotfix.branch:
            git.insert(0, f"`{mrkdwn.escape(hotfix.branch)}`")
        if hotfix.version:
            git.append(f"→ `{hotfix.version}`")
        if hotfix.pr_url:
            git.append(f"· <{hotfix.pr_url}|PR #{hotfix.pr_number}>")
        fields.append(MarkdownTextObject(text="*Git*\n" + " ".join(git)))
    if hotfix.ci_state:
        fields.append(MarkdownTextObject(text="*CI*\n" + ci_text(hotfix)))
    if flags:
        fields.append(MarkdownTextObject(text="*Flags*\n" + "  ".join(flags)))
    notes: list[Block] = []
    if hotfix.override_by:
        notes.append(
            SectionBlock(
                text=MarkdownTextObject(
                    text=f"⚠️ *Severity override* ({hotfix.severity.label}) by "
                    f"{mrkdwn.user(hotfix.override_by)}: "
                    f"{mrkdwn.fit(hotfix.override_reason or '', 1200)}"
                )
            )
        )
    if hotfix.ended_by:
        notes.append(SectionBlock(text=MarkdownTextObject(text=outcome_line(hotfix))))
    return [
        HeaderBlock(
            text=mrkdwn.plain(
                f"{'🧪 DRILL · ' if hotfix.drill else ''}{hotfix.severity.emoji} {hotfix.key} · "
                f"{hotfix.title}",
                150,
            )
        ),
        ContextBlock(elements=[MarkdownTextObject(text=progress(hotfix.state))]),
        SectionBlock(fields=fields),
        SectionBlock(text=MarkdownTextObject(text="*Approvals*\n" + approvals_text(hotfix))),
        *notes,
        ContextBlock(
            elements=[
                MarkdownTextObject(
                    text=f"Details and updates in the thread · updated {mrkdwn.date(now, '{time}')}"
                )
            ]
        ),
    ]


def render_assessment(hotfix: HotfixSnapshot) -> list[Block]:
    """The procedure's "Hotfix Request", filled in, posted in the card's thread."""
    estimated = format_duration(hotfix.estimated_fix) if hotfix.estimated_fix else "—"
    summary = "\n".join(
        [
            f"*Issue:* {mrkdwn.fit(hotfix.title, 400)}",
            f"*Severity:* {hotfix.severity.label}",
            f"*Discovered:* {mrkdwn.date(hotfix.discovered_at)}",
            f"*Reporter:* {mrkdwn.user(hotfix.reporter_id)}",
            f"*Estimated Fix Time:* {estimated}",
            f"*Ticket:* {mrkdwn.fit(hotfix.ticket, 100) if hotfix.ticket else '—'}",
            f"*Production:* {f'`{hotfix.base_tag}`' if hotfix.base_tag else 'not known yet'}",
            f"*Security fix:* {'yes' if hotfix.security_fix else 'no'}"
            f"  ·  *Database migration:* {'yes' if hotfix.needs_migration else 'no'}",
        ]
    )
    approvers = "\n".join(
        f"☑ {role_title(role)}: {mrkdwn.user(given.user_id)}"
        if (given := hotfix.approval_for(role))
        else f"☐ {role_title(role)}: ___________"
        for role in hotfix.required_roles
    )
    return [
        HeaderBlock(text=f"Hotfix Request · {hotfix.key}"),
        SectionBlock(text=MarkdownTextObject(text=summary)),
        SectionBlock(text=MarkdownTextObject(text="*Impact:*\n" + mrkdwn.fit(hotfix.impact, 2900))),
        SectionBlock(
            text=MarkdownTextObject(
                text="*Risk if Delayed:*\n"
                + (mrkdwn.fit(hotfix.risk_if_delayed, 2900) if hotfix.risk_if_delayed else "—")
            )
        ),
        DividerBlock(),
        SectionBlock(text=MarkdownTextObject(text="*Approvers:*\n" + (approvers or "—"))),
        ContextBlock(
            elements=[
                MarkdownTextObject(
                    text=f"Requested by {mrkdwn.user(hotfix.requester_id)} in "
                    f"{mrkdwn.channel(hotfix.channel_id)}. Nobody touches production "
                    "until the approvers above have approved."
                )
            ]
        ),
    ]


def assessment_text(hotfix: HotfixSnapshot) -> str:
    return f"Hotfix Request {hotfix.key}: {mrkdwn.escape(hotfix.title)}"
