"""The one error funnel: every failure ends in a message the person can act on."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from slack_bolt import App
from slack_sdk.errors import SlackApiError

from bot.lanes import Lane
from bot.outbox import Outbox
from bot.render.notices import error_blocks
from bot.reply import Reply, reply_for
from bot.slack_api import UNREACHABLE, error_code
from storage.db import UNAVAILABLE_MESSAGE, DatabaseUnavailable
from workflows.errors import DomainError
from workflows.git_repo import GitOperationFailed
from workflows.github_client import GitHubFailed

log = logging.getLogger(__name__)

SLACK_ERROR_MESSAGES = {
    "expired_trigger_id": "The form could not open in time. Run the command again.",
    "invalid_trigger_id": "The form could not open in time. Run the command again.",
    UNREACHABLE: "Slack did not answer Hotfix Bot in time. Nothing was lost; try again in a "
    "moment.",
}


def user_message(error: Exception) -> str:
    """What the person who caused ``error`` reads; unexpected errors get a reference id."""
    if isinstance(error, DomainError):
        return error.user_message
    if isinstance(error, (GitOperationFailed, GitHubFailed)):
        log.warning("%s%s", error, f" — {error.detail}" if getattr(error, "detail", "") else "")
        return f"{error.operation} failed: {error.reason}. It is safe to try again."
    if isinstance(error, DatabaseUnavailable):
        log.warning("database unavailable: %s", error)
        return UNAVAILABLE_MESSAGE
    if isinstance(error, SlackApiError):
        code = error_code(error)
        if code in SLACK_ERROR_MESSAGES:
            log.info("Slack refused a call: %s", code)
            return SLACK_ERROR_MESSAGES[code]
    reference = uuid.uuid4().hex[:8]
    log.error("unexpected error (ref %s)", reference, exc_info=error)
    return (
        f"Something went wrong on Hotfix Bot's side (reference `{reference}`). "
        "Nothing was lost; try again, and give the reference to whoever runs Hotfix Bot "
        "if it keeps happening."
    )


def tell(reply: Reply, message: str) -> None:
    """Show ``message`` only to the person ``reply`` answers; never raises."""
    text, blocks = error_blocks(message)
    try:
        reply(text=text, blocks=[b.to_dict() for b in blocks])
    except Exception:  # the error path must never raise; the log keeps the trace
        log.exception("could not tell %s: %s", reply.user_id, message)


def register(app: App, outbox: Outbox, notices: Lane) -> None:
    @app.error
    def funnel(error: Exception, body: dict[str, Any]) -> None:
        # Errors outside listeners (middleware, before any ack): told off the request thread.
        reply = reply_for(outbox, body)
        message = user_message(error)
        notices.offer(lambda: tell(reply, message), what="an error notice")
