"""Short messages to one person: usage, refusals, failures with a way forward."""

from __future__ import annotations

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)
from slack_sdk.models.views import View

from bot import mrkdwn
from bot.ids import ActionId, BlockId, Command
from workflows.hotfixes import HotfixSnapshot
from workflows.lifecycle import state_name

USAGE = f"""*Hotfix Bot* runs a production hotfix from assessment to post-mortem.

`{Command.HOTFIX} start [TICKET] [critical|high|medium|low] [title…]`
Open the assessment form, prefilled from what you type.
Example: `{Command.HOTFIX} start SEC-123 critical Login accepts empty tokens`

`{Command.HOTFIX} help`
Show this message."""


def usage_blocks(unknown: str | None = None) -> tuple[str, list[Block]]:
    """Usage as an ephemeral answer; ``unknown`` names a subcommand that does not exist."""
    text = USAGE
    if unknown is not None:
        shown = mrkdwn.fit(unknown, 40)
        text = f"`{shown}` is not a Hotfix Bot command.\n\n" + USAGE
    return text, [SectionBlock(text=MarkdownTextObject(text=text))]


def error_blocks(message: str) -> tuple[str, list[Block]]:
    text = f"⚠️ {message}"
    return text, [SectionBlock(text=MarkdownTextObject(text=text))]


def card_not_posted(hotfix: HotfixSnapshot, slack_error: str) -> tuple[str, list[Block]]:
    """The hotfix is recorded but its card could not be posted: say why and offer a retry."""
    advice = {
        "not_in_channel": "Invite me to the channel (`/invite @Hotfix Bot`), then press Retry.",
        "channel_not_found": "I cannot see that channel. Invite me to it, then press Retry.",
        "is_archived": "The channel is archived. Unarchive it, then press Retry.",
    }.get(slack_error, "Press Retry in a moment.")
    text = (
        f"⚠️ *{hotfix.key}* is recorded, but I could not post its card in "
        f"{mrkdwn.channel(hotfix.channel_id)} (Slack said `{mrkdwn.escape(slack_error)}`). "
        f"{advice}"
    )
    return text, [
        SectionBlock(text=MarkdownTextObject(text=text)),
        ActionsBlock(
            block_id=BlockId.CARD_ACTIONS,
            elements=[
                ButtonElement(
                    text="Retry posting the card",
                    action_id=ActionId.RETRY_CARD,
                    value=str(hotfix.id),
                    style="primary",
                )
            ],
        ),
    ]


HOME_LIMIT = 40


def home_view(active: list[HotfixSnapshot]) -> View:
    """The App Home tab: what is running now, and how to start."""
    blocks: list[Block] = [HeaderBlock(text="Hotfix Bot")]
    blocks.append(SectionBlock(text=MarkdownTextObject(text="*Active hotfixes*")))
    for h in active[:HOME_LIMIT]:
        blocks.append(
            SectionBlock(
                text=MarkdownTextObject(
                    text=f"{h.severity.emoji} *{h.key}* · {mrkdwn.fit(h.title, 150)} — "
                    f"{state_name(h.state)} · {mrkdwn.channel(h.channel_id)}"
                )
            )
        )
    if not active:
        blocks.append(SectionBlock(text=MarkdownTextObject(text="None right now.")))
    elif len(active) > HOME_LIMIT:
        blocks.append(
            ContextBlock(
                elements=[MarkdownTextObject(text=f"…and {len(active) - HOME_LIMIT} more.")]
            )
        )
    blocks.append(SectionBlock(text=MarkdownTextObject(text=USAGE)))
    blocks.append(
        ContextBlock(
            elements=[
                MarkdownTextObject(
                    text="Start a hotfix from the incident channel, so its card and thread "
                    "live where the incident is discussed."
                )
            ]
        )
    )
    return View(type="home", blocks=blocks)
