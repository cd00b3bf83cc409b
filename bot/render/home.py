"""The App Home tab: what waits for the viewer, what is running, and the last 30 days."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from slack_sdk.models.blocks import (
    Block,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    ImageBlock,
    MarkdownTextObject,
    SectionBlock,
)
from slack_sdk.models.views import View

from bot import mrkdwn
from bot.render.notices import HOME_LIMIT, USAGE, Visible, shown_title
from workflows.history import Closed, daily_medians, median_to_deploy, sparkline
from workflows.hotfixes import HotfixSnapshot
from workflows.lifecycle import state_name

CLOSED_LIMIT = 20
WAITING_LIMIT = 15
HISTORY_DAYS = 30


@dataclass(frozen=True)
class Active:
    """A running hotfix as the Home tab lists it."""

    hotfix: HotfixSnapshot
    waits_on: str
    link: str | None


def _line(text: str) -> SectionBlock:
    return SectionBlock(text=MarkdownTextObject(text=mrkdwn.plain(text, 3000)))


def _keyed(key: str, link: str | None) -> str:
    return f"*<{link}|{key}>*" if link else f"*{key}*"


def home_view(
    *,
    waiting: Sequence[tuple[Active, str]],
    active: Sequence[Active],
    closed: Sequence[Closed],
    visible: Visible,
    now: datetime,
    chart_url: str | None = None,
) -> View:
    """``waiting``: (hotfix, what the viewer can do) pairs; ``closed``: the last 30 days."""
    blocks: list[Block] = [HeaderBlock(text="Hotfix Bot")]

    blocks.append(_line("*Waiting for you*"))
    for item, what in waiting[:WAITING_LIMIT]:
        h = item.hotfix
        blocks.append(_line(f"👉 {_keyed(h.key, item.link)} · {shown_title(h, visible)} — {what}"))
    if not waiting:
        blocks.append(_line("Nothing waits for you."))

    blocks += [DividerBlock(), _line("*Active hotfixes*")]
    for item in active[:HOME_LIMIT]:
        h = item.hotfix
        blocks.append(
            _line(
                f"{h.severity.emoji} {_keyed(h.key, item.link)} · {shown_title(h, visible)} — "
                f"{state_name(h.state)} · {mrkdwn.elapsed(now - h.created_at)} · "
                f"waiting on {item.waits_on} · {mrkdwn.channel(h.channel_id)}"
            )
        )
    if not active:
        blocks.append(_line("None right now."))
    elif len(active) > HOME_LIMIT:
        blocks.append(_context(f"…and {len(active) - HOME_LIMIT} more."))

    blocks += [DividerBlock(), _line(f"*Closed in the last {HISTORY_DAYS} days*")]
    for c in closed[:CLOSED_LIMIT]:
        title = (
            f"🔒 Security fix (details in {mrkdwn.channel(c.channel_id)})"
            if c.security_fix and not visible(c)  # type: ignore[arg-type]
            else mrkdwn.fit(c.title, 150)
        )
        deployed = f", deployed after {mrkdwn.elapsed(c.to_deploy)}" if c.to_deploy else ""
        blocks.append(
            _line(
                f"✅ *{c.key}* · {title} — {mrkdwn.elapsed(c.duration)}{deployed} · closed "
                f"{mrkdwn.date(c.closed_at, '{date_short}')}"
            )
        )
    if not closed:
        blocks.append(_line("None closed."))
    elif len(closed) > CLOSED_LIMIT:
        blocks.append(_context(f"…and {len(closed) - CLOSED_LIMIT} more."))
    blocks.append(_context(_median_words(closed, now)))
    if chart_url and any(c.to_deploy for c in closed):
        blocks.append(
            ImageBlock(
                image_url=chart_url,
                alt_text="Median time from declaration to deploy per day, last 30 days",
            )
        )

    blocks += [DividerBlock(), _line(USAGE)]
    blocks.append(
        _context(
            "Start a hotfix from the incident channel, so its card and thread live where the "
            "incident is discussed."
        )
    )
    return View(type="home", blocks=blocks)


def _context(text: str) -> ContextBlock:
    return ContextBlock(elements=[MarkdownTextObject(text=text)])


def _median_words(closed: Sequence[Closed], now: datetime) -> str:
    median = median_to_deploy(list(closed))
    if median is None:
        return "Median time from declaration to deploy: no deployed hotfix closed yet."
    counted = sum(1 for c in closed if c.to_deploy is not None)
    daily = daily_medians(list(closed), until=now, days=HISTORY_DAYS)
    return (
        f"Median time from declaration to deploy: *{mrkdwn.elapsed(median)}* over {counted} "
        f"hotfix{'' if counted == 1 else 'es'} · by day, oldest first: `{sparkline(daily)}`"
    )


def since(now: datetime) -> datetime:
    return now - timedelta(days=HISTORY_DAYS)
