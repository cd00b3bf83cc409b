"""The procedure's "Hotfix Review Checklist" in the thread: ticks per reviewer, shown live."""

from __future__ import annotations

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    CheckboxesElement,
    ContextBlock,
    MarkdownTextObject,
    Option,
    SectionBlock,
)

from bot import mrkdwn
from bot.ids import ActionId, BlockId
from workflows.review import REVIEW_ITEMS, SECURITY_ITEMS, required_items
from workflows.snapshot import HotfixSnapshot


def _options(items: tuple[tuple[str, str], ...]) -> list[Option]:
    return [Option(value=item, text=text) for item, text in items]


def render_checklist(hotfix: HotfixSnapshot) -> list[Block]:
    """Each reviewer ticks for themselves; the counts show everyone where each stands."""
    needed = required_items(hotfix)
    progress = [
        f"{mrkdwn.user(reviewer)} {len(set(items) & set(needed))}/{len(needed)}"
        for reviewer, items in hotfix.review_ticks.items()
    ]
    blocks: list[Block] = [
        SectionBlock(
            text=MarkdownTextObject(
                text=f"*Hotfix Review Checklist · {hotfix.key}*\n"
                "Reviewer: tick what you checked, then approve. Not the requester, not an "
                "author of the change"
                + ("; a security fix needs the Security role." if hotfix.security_fix else ".")
            )
        ),
    ]
    # Slack clients keep what a person ticked across message updates unless the block's id
    # changes: a new head (which clears every tick) gets new ids, so the boxes clear too.
    head = (hotfix.review_head or "")[:12]
    if hotfix.state == "in_review":
        blocks.append(
            ActionsBlock(
                block_id=f"{BlockId.CHECKLIST}:{head}",
                elements=[
                    CheckboxesElement(action_id=ActionId.CHECKLIST, options=_options(REVIEW_ITEMS))
                ],
            )
        )
        if hotfix.security_fix:
            blocks.append(
                ActionsBlock(
                    block_id=f"{BlockId.SECURITY_CHECKLIST}:{head}",
                    elements=[
                        CheckboxesElement(
                            action_id=ActionId.SECURITY_CHECKLIST,
                            options=_options(SECURITY_ITEMS),
                        )
                    ],
                )
            )
        blocks.append(
            ActionsBlock(
                block_id=BlockId.REVIEW_ACTIONS,
                elements=[
                    ButtonElement(
                        text="Approve review",
                        action_id=ActionId.APPROVE_REVIEW,
                        value=str(hotfix.id),
                        style="primary",
                    ),
                    ButtonElement(
                        text="Re-check CI", action_id=ActionId.RECHECK_CI, value=str(hotfix.id)
                    ),
                ],
            )
        )
    else:
        ended = "🛑 Aborted." if hotfix.state == "aborted" else "✅ Review approved."
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=ended)]))
    blocks.append(
        ContextBlock(
            elements=[MarkdownTextObject(text="Ticked: " + (" · ".join(progress) or "nobody yet"))]
        )
    )
    return blocks


def checklist_text(hotfix: HotfixSnapshot) -> str:
    return f"Hotfix Review Checklist for {hotfix.key}"
