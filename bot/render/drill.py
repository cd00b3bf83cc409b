"""Every message of a drill says DRILL, first thing: in its text (what notifications and
screen readers show) and as its first block."""

from __future__ import annotations

from typing import Any

MARK = "🧪 DRILL"
BLOCK_ID = "drill_mark"
NOTICE = (
    f"{MARK} · a rehearsal of the hotfix procedure: its branches, tags and merges go to the "
    "drills' scratch repository, and its deploy never runs the production one."
)


def mark(text: str, blocks: list[dict[str, Any]] | None) -> tuple[str, list[dict[str, Any]]]:
    """``text`` and ``blocks`` marked as a drill's (once: marking twice changes nothing)."""
    marked_text = text if text.startswith(MARK) else f"{MARK} · {text}"
    shown = list(blocks or [])
    if shown and shown[0].get("block_id") == BLOCK_ID:
        return marked_text, shown
    notice = {
        "type": "context",
        "block_id": BLOCK_ID,
        "elements": [{"type": "mrkdwn", "text": NOTICE}],
    }
    return marked_text, [notice, *shown] if shown else []


def marked_if(
    drill: bool, text: str, blocks: list[dict[str, Any]] | None
) -> tuple[str, list[dict[str, Any]] | None]:
    return mark(text, blocks) if drill else (text, blocks)
