"""The one error funnel: every failure ends in a message the person can act on."""

from __future__ import annotations

import inspect
import logging
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from slack_bolt import App
from slack_bolt.context.respond import Respond
from slack_bolt.kwargs_injection.args import Args
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.card import slack_error_code
from bot.render.notices import error_blocks
from storage.db import UNAVAILABLE_MESSAGE, DatabaseUnavailable
from workflows.errors import DomainError
from workflows.git_repo import GitOperationFailed
from workflows.github_client import GitHubFailed

log = logging.getLogger(__name__)

SLACK_ERROR_MESSAGES = {
    "expired_trigger_id": "The form could not open in time. Run the command again.",
    "invalid_trigger_id": "The form could not open in time. Run the command again.",
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
        code = slack_error_code(error)
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


def tell(client: WebClient, body: Mapping[str, Any], respond: Respond | None, message: str) -> None:
    """Show ``message`` only to the person behind ``body``, by the best channel available."""
    text, blocks = error_blocks(message)
    payload = [b.to_dict() for b in blocks]
    user = (body.get("user") or {}).get("id") or body.get("user_id")
    try:
        if respond is not None and respond.response_url:
            respond(text=text, blocks=payload, response_type="ephemeral", replace_original=False)
        elif user:
            client.chat_postMessage(channel=user, text=text, blocks=payload)
    except Exception:  # the error path must never raise; the log keeps the trace
        log.exception("could not tell %s: %s", user, message)


def reported(listener: Callable[..., None]) -> Callable[[Args], None]:
    """Wrap a listener so that whatever it raises ends as a message to the person.

    Bolt's own error handler cannot be the funnel for listeners that have acked: when a
    listener raises after ``ack()``, Bolt resets the ack and answers Slack 404 (Slack then
    shows "the app did not respond"). Here the error is told and the ack stands.
    """
    names = inspect.getfullargspec(listener).args

    def run(args: Args) -> None:
        try:
            listener(**{name: getattr(args, name) for name in names})
        except Exception as error:  # the funnel: every failure becomes a message
            if args.ack.response is None:
                args.ack()
            tell(args.client, args.body, args.respond, user_message(error))

    run.__name__ = run.__qualname__ = listener.__name__
    return run


def register(app: App) -> None:
    @app.error
    def funnel(error: Exception, body: dict[str, Any], client: WebClient, respond: Respond) -> None:
        # Errors outside listeners (middleware, before any ack).
        tell(client, body, respond, user_message(error))
