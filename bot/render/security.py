"""The security close-out checklist a security fix gets in its thread once it is deployed."""

from __future__ import annotations

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    CheckboxesElement,
    ContextBlock,
    MarkdownTextObject,
    Option,
    SectionBlock,
)

from bot.ids import ActionId, BlockId
from bot.render.deploy import checklist_block_id
from workflows.security_close import SECURITY_ITEMS
from workflows.snapshot import HotfixSnapshot


def security_checklist(hotfix: HotfixSnapshot, holders: str) -> tuple[str, list[Block]]:
    text = (
        f"🔒 *{hotfix.key}* is deployed. The security pattern before it closes — notify in "
        "this order: *internal teams first*, *customers now that the fix is deployed*, and a "
        "*public disclosure* (if any) only after mitigation; then update the *security "
        "advisory* and the *security changelog*."
    )
    options = [Option(value=item, text=label) for item, label in SECURITY_ITEMS]
    ticked = [o for o in options if o.value in hotfix.deploy_ticks]
    blocks: list[Block] = [
        SectionBlock(text=MarkdownTextObject(text=text)),
        ActionsBlock(
            block_id=checklist_block_id(BlockId.SECURITY_CLOSE, hotfix),
            elements=[
                CheckboxesElement(
                    action_id=ActionId.SECURITY_CLOSE,
                    options=options,
                    initial_options=ticked or None,
                )
            ],
        ),
        ContextBlock(
            elements=[
                MarkdownTextObject(
                    text=f"Ticked by a holder of Security ({holders}). It does not apply? "
                    f"`/hotfix security-waive {hotfix.key} <reason>` waives it, on the record."
                )
            ]
        ),
    ]
    return text, blocks
