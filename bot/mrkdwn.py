"""Safe mrkdwn: people's text escaped, Slack's own markup (mentions, dates) built here."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

_USER_ID = re.compile(r"[UW][A-Z0-9]{2,}")
_CHANNEL_ID = re.compile(r"[CGD][A-Z0-9]{2,}")
_ENTITY_TAIL = re.compile(r"&[a-z]*$")


def escape(text: str) -> str:
    """Escape ``& < >`` so typed text can never become a mention, link or ``<!channel>``."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def fit(text: str, limit: int) -> str:
    """Escape and cut to ``limit`` characters without splitting an ``&amp;`` entity."""
    escaped = escape(text)
    if len(escaped) <= limit:
        return escaped
    cut = _ENTITY_TAIL.sub("", escaped[: limit - 1])
    return cut + "…"


def plain(text: str, limit: int) -> str:
    """Cut plain text (headers, button labels) to ``limit`` characters."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def user(user_id: str) -> str:
    """A mention, only for a well-formed user id (anything else is shown escaped)."""
    return f"<@{user_id}>" if _USER_ID.fullmatch(user_id) else escape(user_id)


def channel(channel_id: str) -> str:
    return f"<#{channel_id}>" if _CHANNEL_ID.fullmatch(channel_id) else escape(channel_id)


def date(when: datetime, token: str = "{date_short_pretty} {time}") -> str:
    """A date every reader sees in their own time zone, with a UTC fallback."""
    fallback = when.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{int(when.timestamp())}^{token}|{fallback}>"


def elapsed(delta: timedelta) -> str:
    """``3h 05m`` / ``12m`` / ``40s``: how long something has been going on."""
    seconds = max(0, int(delta.total_seconds()))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes:02d}m"
    if minutes:
        return f"{minutes}m"
    return f"{secs}s"


def stopwatch(delta: timedelta) -> str:
    """``1m 20s`` / ``45s``: how long something short (a deploy) has run, to the second."""
    minutes, seconds = divmod(max(0, int(delta.total_seconds())), 60)
    return f"{minutes}m {seconds:02d}s" if minutes else f"{seconds}s"
