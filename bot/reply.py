"""Answering the person behind a command or a click: through the request's ``response_url``
while Slack honours it, else as a DM — through the outbox, so what Slack cannot take now is
delivered later."""

from __future__ import annotations

import logging
from typing import Any

from bot.outbox import Outbox
from bot.render.drill import marked_if

log = logging.getLogger(__name__)


class Reply:
    """``respond()`` for one request: through its ``response_url``, else as a DM; what Slack
    cannot take now is delivered later."""

    def __init__(
        self,
        outbox: Outbox,
        *,
        response_url: str | None,
        user_id: str | None,
        keep: bool = True,
    ) -> None:
        self._outbox = outbox
        self.response_url = response_url
        self.user_id = user_id
        self.keep = keep  # deliver later what Slack cannot take now

    def __call__(
        self,
        text: str = "",
        blocks: list[dict[str, Any]] | None = None,
        *,
        response_type: str = "ephemeral",
        replace_original: bool = False,
        drill: bool = False,
    ) -> None:
        """Answer; ``drill``: the answer is about a drill, and says so first."""
        text, blocks = marked_if(drill, text, blocks)
        what = f"a reply to {self.user_id}: {text[:80]!r}"
        if self.response_url:
            body: dict[str, Any] = {
                "text": text,
                "response_type": response_type,
                "replace_original": replace_original,
            }
            if blocks:
                body["blocks"] = blocks
            self._outbox.reply(self.response_url, body, what=what, keep=self.keep)
        elif self.user_id:
            self._outbox.post(self.user_id, text, blocks, what=what)
        else:
            log.warning("nobody to tell: %s", text[:200])


def reply_for(outbox: Outbox, body: dict[str, Any], *, keep: bool = True) -> Reply:
    """How to answer the person behind a request: its response_url, or a DM."""
    user = (body.get("user") or {}).get("id") or body.get("user_id")
    if body.get("type") == "event_callback":
        user = (body.get("event") or {}).get("user")
    url = body.get("response_url")
    if not url:
        urls = body.get("response_urls") or []
        url = urls[0].get("response_url") if urls else None
    return Reply(outbox, response_url=url, user_id=user, keep=keep)
