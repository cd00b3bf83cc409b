"""The App Home tab: what waits for the viewer, what is running, and the last 30 days."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

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
from workflows.lifecycle import state_name
from workflows.snapshot import HotfixSnapshot

CLOSED_LIMIT = 20
WAITING_LIMIT = 15
HISTORY_DAYS = 30
T = TypeVar("T")


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

    def waiting_line(pair: tuple[Active, str]) -> str:
        item, what = pair
        h = item.hotfix
        return f"👉 {_keyed(h.key, item.link)} · {shown_title(h, visible)} — {what}"

    def active_line(item: Active) -> str:
        h = item.hotfix
        return (
            f"{h.severity.emoji} {_keyed(h.key, item.link)} · {shown_title(h, visible)} — "
            f"{state_name(h.state)} · {mrkdwn.elapsed(now - h.created_at)} · "
            f"waiting on {item.waits_on} · {mrkdwn.channel(h.channel_id)}"
        )

    def closed_line(c: Closed) -> str:
        title = (
            f"🔒 Security fix (details in {mrkdwn.channel(c.channel_id)})"
            if c.security_fix and not visible(c)  # type: ignore[arg-type]
            else mrkdwn.fit(c.title, 150)
        )
        deployed = f", deployed after {mrkdwn.elapsed(c.to_deploy)}" if c.to_deploy else ""
        return (
            f"✅ *{c.key}* · {title} — {mrkdwn.elapsed(c.duration)}{deployed} · closed "
            f"{mrkdwn.date(c.closed_at, '{date_short}')}"
        )

    blocks += _listed(
        "*Waiting for you*", waiting, waiting_line, WAITING_LIMIT, "Nothing waits for you."
    )
    blocks += [DividerBlock()]
    blocks += _listed("*Active hotfixes*", active, active_line, HOME_LIMIT, "None right now.")
    blocks += [DividerBlock()]
    blocks += _listed(
        f"*Closed in the last {HISTORY_DAYS} days*",
        closed,
        closed_line,
        CLOSED_LIMIT,
        "None closed.",
    )
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


def _listed(
    heading: str, items: Sequence[T], line: Callable[[T], str], limit: int, empty: str
) -> list[Block]:
    """A heading, a line per item up to ``limit`` (then how many more), or ``empty``."""
    blocks: list[Block] = [_line(heading), *(_line(line(i)) for i in items[:limit])]
    if not items:
        blocks.append(_line(empty))
    elif len(items) > limit:
        blocks.append(_context(f"…and {len(items) - limit} more."))
    return blocks


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
