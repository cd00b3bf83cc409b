"""The assessment modal (the procedure's Hotfix Request), its reading, and its outcomes."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from slack_sdk.models.blocks import (
    Block,
    CheckboxesElement,
    ContextBlock,
    DateTimePickerElement,
    HeaderBlock,
    InputBlock,
    MarkdownTextObject,
    Option,
    PlainTextInputElement,
    PlainTextObject,
    SectionBlock,
    StaticSelectElement,
    UserSelectElement,
)
from slack_sdk.models.views import View

from bot import mrkdwn
from bot.ids import ActionId, BlockId, CallbackId, Flag
from bot.render.drill import BLOCK_ID as DRILL_BLOCK
from bot.render.drill import NOTICE
from workflows.assessment import (
    TEXT_MAX,
    TICKET_MAX,
    TITLE_MAX,
    Assessment,
    AssessmentDraft,
    CommandLine,
)
from workflows.severity import Severity

#: Which modal block shows the error for which field of the draft.
FIELD_BLOCKS: dict[str, BlockId] = {
    "title": BlockId.ISSUE,
    "severity": BlockId.SEVERITY,
    "impact": BlockId.IMPACT,
    "discovered_at": BlockId.DISCOVERED,
    "reporter_id": BlockId.REPORTER,
    "estimated_fix": BlockId.ESTIMATED_FIX,
    "risk_if_delayed": BlockId.RISK_IF_DELAYED,
    "ticket": BlockId.TICKET,
}


def _severity_option(severity: Severity) -> Option:
    return Option(
        value=severity.value,
        text=f"{severity.emoji} {severity.label} — {severity.verdict}",
        description=mrkdwn.plain("; ".join(severity.criteria), 75),
    )


def assessment_modal(
    prefill: CommandLine, *, requester_id: str, channel_id: str, now: datetime
) -> View:
    """The Hotfix Request form, prefilled from ``/hotfix start [TICKET] [SEVERITY] [title…]``
    (a drill's says so at the top, and in its title)."""
    severity_options = [_severity_option(s) for s in Severity]
    initial_severity = (
        severity_options[list(Severity).index(prefill.severity)] if prefill.severity else None
    )
    flags = [
        Option(
            value=Flag.SECURITY_FIX,
            text="Security fix",
            description="Public strings (branch, tags, PR) stay neutral",
        ),
        Option(
            value=Flag.NEEDS_MIGRATION,
            text="Needs a database migration",
            description="Deploy in two phases; test the rollback",
        ),
    ]
    blocks: list[Block] = [
        InputBlock(
            block_id=BlockId.ISSUE,
            label="Issue",
            element=PlainTextInputElement(
                action_id=ActionId.ISSUE,
                initial_value=prefill.title,
                max_length=TITLE_MAX,
                placeholder="Checkout fails with 500 for all card payments",
            ),
        ),
        InputBlock(
            block_id=BlockId.SEVERITY,
            label="Severity",
            element=StaticSelectElement(
                action_id=ActionId.SEVERITY,
                options=severity_options,
                initial_option=initial_severity,
                placeholder="How bad is it?",
            ),
            hint="CRITICAL or HIGH opens a hotfix; MEDIUM and LOW go to the normal release.",
        ),
        InputBlock(
            block_id=BlockId.IMPACT,
            label="Impact",
            element=PlainTextInputElement(
                action_id=ActionId.IMPACT,
                multiline=True,
                max_length=TEXT_MAX,
                placeholder="Who is affected, how many, since when",
            ),
        ),
        InputBlock(
            block_id=BlockId.DISCOVERED,
            label="Discovered",
            element=DateTimePickerElement(
                action_id=ActionId.DISCOVERED, initial_date_time=int(now.timestamp())
            ),
        ),
        InputBlock(
            block_id=BlockId.REPORTER,
            label="Reporter",
            element=UserSelectElement(action_id=ActionId.REPORTER, initial_user=requester_id),
        ),
        InputBlock(
            block_id=BlockId.ESTIMATED_FIX,
            label="Estimated fix time",
            optional=True,
            element=PlainTextInputElement(
                action_id=ActionId.ESTIMATED_FIX, max_length=20, placeholder="45m"
            ),
            hint="A duration such as 45m, 1h30m or 2h.",
        ),
        InputBlock(
            block_id=BlockId.RISK_IF_DELAYED,
            label="Risk if delayed",
            optional=True,
            element=PlainTextInputElement(
                action_id=ActionId.RISK_IF_DELAYED,
                multiline=True,
                max_length=TEXT_MAX,
                placeholder="What gets worse while we wait",
            ),
        ),
        InputBlock(
            block_id=BlockId.TICKET,
            label="Ticket",
            optional=True,
            element=PlainTextInputElement(
                action_id=ActionId.TICKET,
                initial_value=prefill.ticket,
                max_length=TICKET_MAX,
                placeholder="SEC-123",
            ),
        ),
        InputBlock(
            block_id=BlockId.FLAGS,
            label="Flags",
            optional=True,
            element=CheckboxesElement(action_id=ActionId.FLAGS, options=flags),
        ),
    ]
    metadata: dict[str, object] = {"channel_id": channel_id}
    if prefill.drill:
        blocks.insert(
            0, ContextBlock(block_id=DRILL_BLOCK, elements=[MarkdownTextObject(text=NOTICE)])
        )
        metadata["drill"] = True
    return View(
        type="modal",
        callback_id=CallbackId.ASSESSMENT,
        title="🧪 Drill assessment" if prefill.drill else "Hotfix assessment",
        submit="Open drill" if prefill.drill else "Open hotfix",
        close="Cancel",
        private_metadata=json.dumps(metadata),
        blocks=blocks,
    )


def modal_drill(private_metadata: str) -> bool:
    """Whether the assessment was started with ``--drill``."""
    try:
        return json.loads(private_metadata or "{}").get("drill") is True
    except (ValueError, AttributeError):
        return False


def modal_channel(private_metadata: str) -> str | None:
    """The channel the assessment was started in, from the modal's private metadata."""
    try:
        channel = json.loads(private_metadata or "{}").get("channel_id")
    except (ValueError, AttributeError):
        return None
    return channel if isinstance(channel, str) and channel else None


def _value(values: Mapping[str, Any], block: BlockId, action: ActionId) -> Mapping[str, Any]:
    state = values.get(block, {}).get(action)
    return state if isinstance(state, Mapping) else {}


def read_assessment(values: Mapping[str, Any]) -> AssessmentDraft:
    """Turn the submitted modal's ``state.values`` into a draft (nothing validated yet)."""
    severity = _value(values, BlockId.SEVERITY, ActionId.SEVERITY).get("selected_option") or {}
    flags = {
        option.get("value")
        for option in _value(values, BlockId.FLAGS, ActionId.FLAGS).get("selected_options") or []
        if isinstance(option, Mapping)
    }
    discovered = _value(values, BlockId.DISCOVERED, ActionId.DISCOVERED).get("selected_date_time")
    return AssessmentDraft(
        title=_value(values, BlockId.ISSUE, ActionId.ISSUE).get("value"),
        severity=severity.get("value") if isinstance(severity, Mapping) else None,
        impact=_value(values, BlockId.IMPACT, ActionId.IMPACT).get("value"),
        discovered_at=(
            datetime.fromtimestamp(discovered, UTC) if isinstance(discovered, int) else None
        ),
        reporter_id=_value(values, BlockId.REPORTER, ActionId.REPORTER).get("selected_user"),
        estimated_fix=_value(values, BlockId.ESTIMATED_FIX, ActionId.ESTIMATED_FIX).get("value"),
        risk_if_delayed=_value(values, BlockId.RISK_IF_DELAYED, ActionId.RISK_IF_DELAYED).get(
            "value"
        ),
        ticket=_value(values, BlockId.TICKET, ActionId.TICKET).get("value"),
        security_fix=Flag.SECURITY_FIX in flags,
        needs_migration=Flag.NEEDS_MIGRATION in flags,
    )


def field_errors(errors: Mapping[str, str]) -> dict[str, str]:
    """Domain field errors → ``response_action: errors`` keyed by block id."""
    return {FIELD_BLOCKS.get(name, BlockId.ISSUE): message for name, message in errors.items()}


def not_a_hotfix_view(assessment: Assessment) -> View:
    """What a MEDIUM or LOW assessment gets instead of a hotfix: the matrix, and the advice."""
    severity = assessment.severity
    criteria = "\n".join(f"• {c}" for c in severity.criteria)
    return View(
        type="modal",
        callback_id=CallbackId.NOT_A_HOTFIX,
        title="Not a hotfix",
        close="Close",
        blocks=[
            HeaderBlock(text=f"{severity.emoji} {severity.label} ({severity.verdict})"),
            SectionBlock(
                text=MarkdownTextObject(
                    text=f"*{mrkdwn.fit(assessment.title, 200)}*\n\n"
                    f"The severity matrix puts *{severity.label}* here:\n{criteria}"
                )
            ),
            SectionBlock(
                text=MarkdownTextObject(
                    text="*No hotfix was opened.* Ship this fix with the normal release: "
                    "a hotfix skips steps that protect production, and is kept for "
                    "CRITICAL and HIGH issues (outages, security, data loss, money, "
                    "compliance, or a major feature broken for most users)."
                )
            ),
            ContextBlock(
                elements=[
                    PlainTextObject(
                        text="Posted in the channel too: an Engineering Manager or the CTO "
                        "can override it there, with a reason."
                    )
                ]
            ),
        ],
    )
