"""What a log line is about: the hotfix and the Slack request being worked on.

Set where the work starts (a request's job, a timer, a change listener, a hotfix's lock)
and read by the log formatter (``bot.logs``). Each lane job and timer runs in a fresh
context (``fresh``), so nothing carries over to the next job on the same thread.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable
from typing import Any

HOTFIX_ID: contextvars.ContextVar[int | None] = contextvars.ContextVar("hotfix_id", default=None)
REQUEST_ID: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)


def about_hotfix(hotfix_id: int | None) -> None:
    if hotfix_id is not None:
        HOTFIX_ID.set(hotfix_id)


def about_request(request_id: str | None) -> None:
    if request_id:
        REQUEST_ID.set(request_id)


def fresh(job: Callable[..., Any], *args: Any) -> Any:
    """Run ``job`` in a context of its own (nothing from the thread's previous job)."""
    return contextvars.Context().run(job, *args)
