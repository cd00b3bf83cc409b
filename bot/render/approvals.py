"""Phase 1 in the thread: the approvers checklist with its buttons, and what each outcome says."""

from __future__ import annotations

import json
from collections.abc import Callable

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    InputBlock,
    MarkdownTextObject,
    PlainTextInputElement,
    SectionBlock,
)
from slack_sdk.models.views import View

from bot import mrkdwn
from bot.ids import ActionId, BlockId, CallbackId, approve_action_id
from workflows.lifecycle import OVERRIDE_ROLES, state_name
from workflows.roles import mention, role_title
from workflows.severity import Severity
from workflows.snapshot import HotfixSnapshot

Principals = Callable[[str], tuple[str, ...]]
REASON_MAX = 1000


def holders(role: str, principals: Principals, *, requester: str | None = None) -> str:
    """Who can act as ``role``: its holders but the hotfix's requester, who may not approve
    their own hotfix (a user group is named as it is: Slack resolves it)."""
    held = principals(role)
    others = [p for p in held if p != requester]
    if others:
        return ", ".join(mention(p) for p in others)
    if held:
        return (
            f"_nobody but the requester, who cannot approve: add another holder under "
            f"`roles.{role}`_"
        )
    return "_nobody is configured_"


def approvals_text(hotfix: HotfixSnapshot, principals: Principals | None = None) -> str:
    """One line per required role: ✅ who and when, or ⬜ who can approve."""
    lines = []
    for role in hotfix.required_roles:
        approval = hotfix.approval_for(role)
        if approval is not None:
            lines.append(
                f"✅ {role_title(role)} — {mrkdwn.user(approval.user_id)}, "
                f"{mrkdwn.date(approval.at, '{time}')}"
            )
        elif principals is not None:
            who = holders(role, principals, requester=hotfix.requester_id)
            lines.append(f"⬜ {role_title(role)} — {who}")
        else:
            lines.append(f"⬜ {role_title(role)}")
    return "\n".join(lines) or "_No approvals required._"


def render_approvals(hotfix: HotfixSnapshot, *, principals: Principals) -> list[Block]:
    """The procedure's "Approvers" checklist, with a button per missing role while it waits."""
    blocks: list[Block] = [
        SectionBlock(
            text=MarkdownTextObject(
                text=f"*Approvers for {hotfix.key}*\n{approvals_text(hotfix, principals)}"
            )
        )
    ]
    if hotfix.state == "awaiting_approval":
        buttons = [
            ButtonElement(
                text=mrkdwn.plain(f"Approve as {role_title(role)}", 75),
                action_id=approve_action_id(role),
                value=str(hotfix.id),
                style="primary",
            )
            for role in hotfix.missing_roles
        ]
        buttons.append(
            ButtonElement(
                text="Reject…", action_id=ActionId.REJECT, value=str(hotfix.id), style="danger"
            )
        )
        blocks.append(ActionsBlock(block_id=BlockId.APPROVAL_ACTIONS, elements=buttons[:25]))
        blocks.append(
            ContextBlock(
                elements=[
                    MarkdownTextObject(
                        text="Only a holder of a role can approve for it; the requester cannot "
                        "approve their own hotfix"
                    )
                ]
            )
        )
    else:
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=outcome_line(hotfix))]))
    return blocks


def outcome_line(hotfix: HotfixSnapshot) -> str:
    if hotfix.state == "rejected":
        return f"⛔ Rejected by {mrkdwn.user(hotfix.ended_by or '')}: {_reason(hotfix.end_reason)}"
    if hotfix.state == "aborted":
        return f"🛑 Aborted by {mrkdwn.user(hotfix.ended_by or '')}: {_reason(hotfix.end_reason)}"
    return f"✅ Approved. Now: *{state_name(hotfix.state)}*."


def _reason(reason: str | None) -> str:
    return mrkdwn.fit(reason or "—", REASON_MAX + 100)


def approvals_fallback(hotfix: HotfixSnapshot) -> str:
    return f"Approvers for {hotfix.key}: {len(hotfix.approvals)} of {len(hotfix.required_roles)}"


def approved_notice(hotfix: HotfixSnapshot, *, auto_branch: bool) -> str:
    """Posted in the thread when the last approval arrives: what happens next."""
    base = f"`{hotfix.base_tag}`" if hotfix.base_tag else "the production tag"
    following = (
        f"cutting the hotfix branch from {base} now."
        if auto_branch
        else f"create the hotfix branch from {base} with the button below."
    )
    return (
        f"✅ *{hotfix.key} is approved* by "
        + (
            f"all {len(hotfix.required_roles)} approvers.\n"
            if len(hotfix.required_roles) > 1
            else "its approver.\n"
        )
        + f"*Next (procedure Phase 2):* {following} Keep the change minimal."
    )


def ended_notice(hotfix: HotfixSnapshot) -> str:
    return f"{outcome_line(hotfix)}\nNothing more will happen for {hotfix.key}."


def escalation_notice(
    hotfix: HotfixSnapshot, *, role: str, principals: Principals, waited: str, last: bool
) -> str:
    missing = ", ".join(role_title(r) for r in hotfix.missing_roles) or "—"
    text = (
        f"⏰ *{hotfix.key}* has waited {waited} for approval; still missing: *{missing}*.\n"
        f"Escalating to *{role_title(role)}*: "
        f"{holders(role, principals, requester=hotfix.requester_id)}"
    )
    if last:
        text += "\nThis was the last step of the escalation path."
    return text


def reason_modal(*, callback_id: CallbackId, hotfix: HotfixSnapshot, verb: str) -> View:
    """Asks why (reject, override); ``private_metadata`` carries only the hotfix id."""
    title = {"reject": "Reject hotfix", "override": "Override severity"}[verb]
    submit = {"reject": "Reject", "override": "Open as hotfix"}[verb]
    intro = {
        "reject": f"Rejecting ends *{hotfix.key}* · {mrkdwn.fit(hotfix.title, 300)}. "
        "The reason goes on the card and into the timeline.",
        "override": f"*{hotfix.key}* · {mrkdwn.fit(hotfix.title, 300)} was assessed "
        f"*{hotfix.severity.label}*, which the severity matrix sends to the normal release. "
        "Overriding opens it as a hotfix needing the approvals of a HIGH one; the reason "
        "stays visible on its card.",
    }[verb]
    return View(
        type="modal",
        callback_id=callback_id,
        title=title,
        submit=submit,
        close="Cancel",
        private_metadata=json.dumps({"hotfix_id": hotfix.id}),
        blocks=[
            SectionBlock(text=MarkdownTextObject(text=intro)),
            InputBlock(
                block_id=BlockId.REASON,
                label="Reason",
                element=PlainTextInputElement(
                    action_id=ActionId.REASON, multiline=True, max_length=REASON_MAX
                ),
            ),
        ],
    )


def reason_refused_modal(
    *, callback_id: CallbackId, hotfix: HotfixSnapshot, verb: str, message: str
) -> View:
    """The reason form, turned into a refusal: the clicker may not do it (now)."""
    title = {"reject": "Reject hotfix", "override": "Override severity"}[verb]
    return View(
        type="modal",
        callback_id=callback_id,
        title=title,
        close="Close",
        private_metadata=json.dumps({"hotfix_id": hotfix.id}),
        blocks=[SectionBlock(text=MarkdownTextObject(text=f"⚠️ {message}"))],
    )


def refusal_message(hotfix: HotfixSnapshot) -> tuple[str, list[Block]]:
    """In the channel, for a MEDIUM/LOW assessment: the matrix, the advice, the override."""
    severity: Severity = hotfix.severity
    criteria = "\n".join(f"• {c}" for c in severity.criteria)
    text = (
        f"{severity.emoji} {mrkdwn.user(hotfix.requester_id)} assessed "
        f"*{mrkdwn.fit(hotfix.title, 300)}* as *{severity.label}* ({severity.verdict})."
    )
    blocks: list[Block] = [
        SectionBlock(text=MarkdownTextObject(text=text)),
        SectionBlock(
            text=MarkdownTextObject(
                text=f"The severity matrix puts {severity.label} here:\n{criteria}\n"
                "*No hotfix was opened:* ship this with the normal release."
            )
        ),
    ]
    if hotfix.override_by:
        blocks.append(
            ContextBlock(
                elements=[
                    MarkdownTextObject(
                        text=f"⚠️ Overridden by {mrkdwn.user(hotfix.override_by)}: "
                        f"{_reason(hotfix.override_reason)} — opened as *{hotfix.key}*."
                    )
                ]
            )
        )
    else:
        who = " or ".join(role_title(r) for r in OVERRIDE_ROLES)
        blocks.append(
            ActionsBlock(
                block_id=BlockId.REFUSAL_ACTIONS,
                elements=[
                    ButtonElement(
                        text="Override — open as hotfix…",
                        action_id=ActionId.OVERRIDE,
                        value=str(hotfix.id),
                    )
                ],
            )
        )
        blocks.append(
            ContextBlock(
                elements=[MarkdownTextObject(text=f"Only an {who} can override, with a reason.")]
            )
        )
    return f"{hotfix.severity.label}: not a hotfix — {mrkdwn.escape(hotfix.title)}", blocks
