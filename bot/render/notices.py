"""Short messages to one person: usage, refusals, failures with a way forward."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    MarkdownTextObject,
    SectionBlock,
)

from bot import mrkdwn
from bot.ids import ActionId, BlockId, Command
from bot.render.card import card_text, render_card
from bot.render.timeline import TimelineEntry, timeline_line
from workflows.lifecycle import state_name
from workflows.roles import role_title
from workflows.snapshot import HotfixSnapshot

TIMELINE_LIMIT = 15

USAGE = f"""*Hotfix Bot* runs a production hotfix from assessment to post-mortem.

`{Command.HOTFIX} start [TICKET] [critical|high|medium|low] [title…]`
Open the assessment form, prefilled from what you type.
Example: `{Command.HOTFIX} start SEC-123 critical Login accepts empty tokens`
`{Command.HOTFIX} start --drill …` rehearses the whole procedure (a game-day drill).

`{Command.HOTFIX} status [HF-n]`
One hotfix in detail, or the active ones in this channel.

`{Command.HOTFIX} list`
Active hotfixes in every channel.

`{Command.HOTFIX} timeline HF-n`
Every event of a hotfix, in order: when, who, and what changed.

`{Command.HOTFIX} postmortem HF-n`
Post the post-mortem draft (Markdown) in the hotfix's thread; it is posted on close too.

`{Command.HOTFIX} security-waive HF-n <reason>`
Waive a security fix's close-out checklist (a holder of Security; the reason is kept).

`{Command.HOTFIX} abort HF-n <reason>`
Stop a hotfix (its requester, an Engineering Manager or the CTO).

`{Command.HOTFIX} base HF-n <tag>`
Choose the production tag the hotfix branch starts from.

`{Command.HOTFIX} pr HF-n`
Open (or adopt) the hotfix pull request and ask for the expedited review.

`{Command.HOTFIX} rollback HF-n [reason]`
Roll production back to the version before the hotfix (asks you to confirm).

`{Command.HOTFIX} merge-back HF-n`
Merge the fix back into every branch that must receive it (safe to re-run).

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
        f"⚠️ *{hotfix.key}* is recorded, but I could not show its card in "
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


Visible = Callable[[HotfixSnapshot], bool]


def shown_title(hotfix: HotfixSnapshot, visible: Visible) -> str:
    """The title, or — for a security fix seen by someone outside it — nothing that tells."""
    if hotfix.security_fix and not visible(hotfix):
        return f"🔒 Security fix (details in {mrkdwn.channel(hotfix.channel_id)})"
    return mrkdwn.fit(hotfix.title, 150)


def status_blocks(
    hotfix: HotfixSnapshot, timeline: Sequence[TimelineEntry], *, now: datetime
) -> tuple[str, list[Block]]:
    """One hotfix in detail: its card, then its most recent timeline."""
    recent = list(timeline)[-TIMELINE_LIMIT:]
    lines = "\n".join(timeline_line(e) for e in recent) or "—"
    blocks: list[Block] = [
        *render_card(hotfix, now=now),
        SectionBlock(text=MarkdownTextObject(text=mrkdwn.plain(f"*Timeline*\n{lines}", 3000))),
    ]
    return card_text(hotfix), blocks


def list_blocks(
    hotfixes: Sequence[HotfixSnapshot], *, where: str, visible: Visible
) -> tuple[str, list[Block]]:
    """Active hotfixes, one line each, newest last."""
    if not hotfixes:
        text = f"No active hotfixes {where}."
        return text, [SectionBlock(text=MarkdownTextObject(text=text))]
    blocks: list[Block] = [SectionBlock(text=MarkdownTextObject(text=f"*Active hotfixes {where}*"))]
    for h in hotfixes[:HOME_LIMIT]:
        missing = ", ".join(role_title(r) for r in h.missing_roles)
        waiting = f" · waiting for {missing}" if h.state == "awaiting_approval" and missing else ""
        blocks.append(
            SectionBlock(
                text=MarkdownTextObject(
                    text=f"{'🧪 DRILL · ' if h.drill else ''}{h.severity.emoji} *{h.key}* · "
                    f"{shown_title(h, visible)} — "
                    f"{state_name(h.state)}{waiting} · {mrkdwn.channel(h.channel_id)}"
                )
            )
        )
    count = len(hotfixes)
    return f"{count} active hotfix{'' if count == 1 else 'es'} {where}", blocks
