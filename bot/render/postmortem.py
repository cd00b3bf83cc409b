"""The post-mortem draft: the record of a hotfix as a Markdown document for people to finish.

Durations are measured on the timeline and set against the procedure's budgets (the sum of
the phases' budgets up to that point). A security fix's neutral draft (for a GitHub issue)
names no title, impact or timeline: those stay in the incident channel.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from bot import mrkdwn
from bot.render.timeline import markdown_line, md_cell
from workflows.config import Budgets
from workflows.lifecycle import state_name
from workflows.record import HotfixRecord, TimelineEvent
from workflows.roles import role_title


@dataclass(frozen=True)
class Measured:
    """One duration of the hotfix against its budget."""

    name: str
    took: timedelta | None
    budget: timedelta

    @property
    def verdict(self) -> str:
        if self.took is None:
            return "not reached"
        return "within budget" if self.took <= self.budget else "over budget"


def _first(record: HotfixRecord, *states: str) -> datetime | None:
    return next(
        (e.at for e in record.events if e.to_state in states and e.to_state != e.from_state),
        None,
    )


def measurements(record: HotfixRecord, budgets: Budgets, window: timedelta) -> list[Measured]:
    """Time to approve, to PR, to deploy, and in total, from the declaration."""
    start = record.created_at

    def since(at: datetime | None) -> timedelta | None:
        return None if at is None else at - start

    approve = budgets.assessment
    to_pr = approve + budgets.branch + budgets.fix
    to_deploy = to_pr + budgets.review + budgets.deploy
    total = to_deploy + window + budgets.merge_back
    return [
        Measured("Time to approve", since(_first(record, "approved")), approve),
        Measured("Time to PR", since(_first(record, "in_review")), to_pr),
        Measured("Time to deploy", since(_first(record, "monitoring")), to_deploy),
        Measured("Total time", since(_first(record, "closed")), total),
    ]


# The procedure's phases, each from the first time the hotfix entered its first state to the
# first time it entered the next phase's (a drill is scored on each).
PHASES = (
    ("Assessment & approval", "assessment", ("new", "awaiting_approval"), ("approved",)),
    ("Hotfix branch", "branch", ("approved",), ("fixing",)),
    ("The fix", "fix", ("fixing",), ("in_review",)),
    ("Expedited review", "review", ("in_review",), ("ready_to_deploy",)),
    ("Deploy", "deploy", ("ready_to_deploy",), ("monitoring",)),
    ("Merge back", "merge_back", ("merging_back",), ("closed",)),
)


def phase_scores(record: HotfixRecord, budgets: Budgets) -> list[Measured]:
    """How long each phase took against its own budget (``None``: not reached)."""
    scores = []
    for name, budget, begins, ends in PHASES:
        start = record.created_at if "new" in begins else _first(record, *begins)
        end = _first(record, *ends)
        took = end - start if start is not None and end is not None else None
        scores.append(Measured(name, took, budgets.of(budget)))
    return scores


def _drill_score(record: HotfixRecord, budgets: Budgets) -> list[str]:
    scores = phase_scores(record, budgets)
    within = sum(1 for m in scores if m.verdict == "within budget")
    out = ["", "## Drill score", ""]
    out.append("This was a drill: the team is scored against each phase's budget in the procedure.")
    out += ["", "| phase | took | budget | |", "|---|---|---|---|"]
    for m in scores:
        took = mrkdwn.elapsed(m.took) if m.took is not None else "—"
        mark = {"within budget": "✅", "over budget": "❌"}.get(m.verdict, "—")
        out.append(f"| {m.name} | {took} | {mrkdwn.elapsed(m.budget)} | {mark} {m.verdict} |")
    out += ["", f"**Score: {within} of {len(scores)} phases within budget.**"]
    return out


def _when(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _deploys(events: tuple[TimelineEvent, ...]) -> list[str]:
    lines = []
    for e in events:
        detail = e.detail or {}
        if e.kind == "deploy_version":
            lines.append(
                f"- {_when(e.at)}: deploy of `{detail.get('version')}` "
                f"(replacing `{detail.get('previous')}`) by @{e.actor}"
            )
        elif e.kind in ("deploy_succeeded", "deploy_failure", "rollback_finished"):
            what = {
                "deploy_succeeded": "succeeded",
                "deploy_failure": "FAILED",
                "rollback_finished": "rollback finished",
            }[e.kind]
            reason = f": {detail['reason']}" if detail.get("reason") else ""
            lines.append(f"- {_when(e.at)}: {what}{reason}")
        elif e.kind in ("roll_back", "rollback_failed"):
            reason = f": {detail.get('reason')}" if detail.get("reason") else ""
            word = "rolled back" if e.kind == "roll_back" else "rollback FAILED"
            lines.append(f"- {_when(e.at)}: {word} by @{e.actor}{reason}")
    return lines or ["- none"]


def _conflicts(events: tuple[TimelineEvent, ...]) -> list[str]:
    lines = []
    for e in events:
        if e.kind not in ("merge_back_waiting", "merged_back"):
            continue
        for target, files in ((e.detail or {}).get("conflicts") or {}).items():
            listed = ", ".join(f"`{f}`" for f in list(files)[:20]) or "(files not listed)"
            lines.append(f"- {_when(e.at)}: `{target}`: {listed}")
    return lines or ["- none"]


def postmortem_markdown(
    record: HotfixRecord, budgets: Budgets, window: timedelta, *, neutral: bool = False
) -> str:
    """The draft; ``neutral`` for a security fix outside its channel (a GitHub issue)."""
    title = "Security fix" if neutral else record.title
    heading = "Drill post-mortem" if record.drill else "Post-mortem"
    out = [f"# {heading}: {record.key} — {md_cell(title)}", ""]
    out += ["## Summary", "", "| | |", "|---|---|"]
    rows = [
        ("Severity", record.severity.upper()),
        ("Outcome", state_name(record.state)),
        ("Impact", "(in the incident channel)" if neutral else record.impact),
        ("Ticket", record.ticket or "—"),
        ("Requested by", f"@{record.requester_id}"),
        ("Declared", _when(record.created_at)),
        ("Version", record.version or "—"),
    ]
    out += [f"| {name} | {md_cell(value)} |" for name, value in rows]
    out += ["", "## Approvals", ""]
    out += [f"- {role_title(a.role)}: @{a.user_id}, {_when(a.at)}" for a in record.approvals] or [
        "- none"
    ]
    out += ["", "## Durations against the procedure's budgets", ""]
    out += ["| | took | budget | |", "|---|---|---|---|"]
    for m in measurements(record, budgets, window):
        took = mrkdwn.elapsed(m.took) if m.took is not None else "—"
        out.append(f"| {m.name} | {took} | {mrkdwn.elapsed(m.budget)} | {m.verdict} |")
    if record.drill:
        out += _drill_score(record, budgets)
    out += ["", "## Deploy attempts and rollbacks", "", *_deploys(record.events)]
    out += ["", "## Conflicts met in merge back", "", *_conflicts(record.events)]
    out += ["", "## Timeline", ""]
    if neutral:
        out.append("- The timeline is in the hotfix's thread (`/hotfix timeline`).")
    else:
        out += [markdown_line(e) for e in record.events] or ["- no events"]
    for section in ("Root cause", "What went well", "What went wrong", "Action items"):
        out += ["", f"## {section}", "", "_To be filled in._"]
    return "\n".join(out) + "\n"
