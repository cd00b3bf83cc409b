"""Buttons. Each carries only a hotfix id; everything else is read from the database."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot import mrkdwn
from bot.ack import AckPath
from bot.card import CardNotPosted
from bot.ids import ActionId
from bot.render.card import ci_text
from bot.render.notices import card_not_posted
from bot.reply import Reply
from bot.router import Router
from bot.services import BotServices
from storage.db import transaction
from storage.models import Hotfix, SlackMessage
from workflows.errors import DomainError, HotfixNotFound
from workflows.review import REVIEW_ITEMS, SECURITY_ITEMS

log = logging.getLogger(__name__)


class ForeignButton(DomainError):
    """A click on one hotfix's message that names another hotfix (an edited payload)."""

    def __init__(self, owner: int, named: int) -> None:
        super().__init__(
            f"This button is on a message of HF-{owner}, so it cannot act on HF-{named}. "
            f"Nothing was recorded; use the buttons in HF-{named}'s own thread."
        )


def hotfix_id_from_message(body: dict[str, Any]) -> int:
    """Checkboxes carry no value: the hotfix is the one whose checklist message this is."""
    for block in (body.get("message") or {}).get("blocks") or []:
        for element in block.get("elements") or []:
            if element.get("action_id") == ActionId.APPROVE_REVIEW:
                return hotfix_id_from(element)
    raise HotfixNotFound("(this message)")


def hotfix_id_from(action: dict[str, Any]) -> int:
    """The hotfix id a button carries; anything else is refused (and logged by the funnel)."""
    value = str(action.get("value", ""))
    if not value.isdigit() or len(value) > 12:
        raise HotfixNotFound("behind this button")
    return int(value)


def on_its_message(sessions: sessionmaker[Session], body: dict[str, Any], hotfix_id: int) -> int:
    """``hotfix_id`` (what the button names), once checked against the message clicked.

    A button's value is only a claim: the message it was on is known to the server (a
    message the bot stored for a hotfix, or one in the thread under such a message), and a
    click on one hotfix's message acts on that hotfix or on nothing. A message of no hotfix
    (the review channel's copy, an ephemeral, a modal) leaves the value to the service's
    own checks of who may act.
    """
    container = body.get("container") or {}
    if container.get("type") != "message" or container.get("is_ephemeral"):
        return hotfix_id
    channel = str(container.get("channel_id") or "")
    ts = str(container.get("message_ts") or "")
    thread = str(container.get("thread_ts") or "")
    with transaction(sessions, read_only=True) as session:
        rows = session.execute(
            select(SlackMessage.ts, SlackMessage.hotfix_id).where(
                SlackMessage.channel_id == channel, SlackMessage.ts.in_({ts, thread} - {""})
            )
        ).all()
        owners = {row.ts: row.hotfix_id for row in rows}
        owner = owners.get(ts, owners.get(thread))
        if owner is not None and owner != hotfix_id:
            if session.get(Hotfix, hotfix_id) is None:
                raise HotfixNotFound(f"HF-{hotfix_id}")
            log.warning(
                "a click on a message of HF-%s named HF-%s (user %s): refused",
                owner,
                hotfix_id,
                (body.get("user") or {}).get("id"),
            )
            raise ForeignButton(owner, hotfix_id)
    return hotfix_id


def register(app: Router, services: BotServices, path: AckPath) -> None:
    def clicked(action: dict[str, Any], body: dict[str, Any]) -> int:
        return on_its_message(services.sessions, body, hotfix_id_from(action))

    @app.action(ActionId.RETRY_CARD)
    @path.later()
    def retry_card(action: dict[str, Any], body: dict[str, Any], reply: Reply) -> None:
        hotfix_id = clicked(action, body)
        try:
            hotfix = services.cards.publish(hotfix_id)
        except CardNotPosted as failure:
            text, blocks = card_not_posted(failure.hotfix, failure.slack_error)
            reply(text=text, blocks=[b.to_dict() for b in blocks], replace_original=True)
            return
        reply(
            text=f"✅ The card of {hotfix.key} is posted.",
            replace_original=True,
            drill=hotfix.drill,
        )

    @app.action(ActionId.CREATE_BRANCH)
    @path.later()
    def create_branch(action: dict[str, Any], body: dict[str, Any]) -> None:
        services.git.create_branch(clicked(action, body), body["user"]["id"])

    @app.action(ActionId.OPEN_PR)
    @path.later()
    def open_pr(action: dict[str, Any], body: dict[str, Any]) -> None:
        services.git.open_pr(clicked(action, body), body["user"]["id"])

    @app.action(ActionId.RECHECK_CI)
    @path.later()
    def recheck_ci(action: dict[str, Any], body: dict[str, Any], reply: Reply) -> None:
        hotfix = services.git.check_ci(clicked(action, body))
        reply(text=f"CI of {hotfix.key}: {ci_text(hotfix)}", drill=hotfix.drill)

    def tick(action: dict[str, Any], body: dict[str, Any], group: tuple[str, ...]) -> None:
        selected = [str(o.get("value")) for o in action.get("selected_options") or []]
        hotfix_id = on_its_message(services.sessions, body, hotfix_id_from_message(body))
        services.hotfixes.tick(
            hotfix_id, reviewer=body["user"]["id"], group=group, selected=selected
        )

    @app.action(ActionId.CHECKLIST)
    @path.later()
    def tick_checklist(action: dict[str, Any], body: dict[str, Any]) -> None:
        tick(action, body, tuple(item for item, _ in REVIEW_ITEMS))

    @app.action(ActionId.SECURITY_CHECKLIST)
    @path.later()
    def tick_security(action: dict[str, Any], body: dict[str, Any]) -> None:
        tick(action, body, tuple(item for item, _ in SECURITY_ITEMS))

    @app.action(ActionId.APPROVE_REVIEW)
    @path.later()
    def approve_review(action: dict[str, Any], body: dict[str, Any]) -> None:
        hotfix = services.git.approve_review(clicked(action, body), body["user"]["id"])
        services.cards.say(
            hotfix,
            f"✅ *{hotfix.key}*: review approved by {mrkdwn.user(body['user']['id'])}. "
            f"Ready to deploy `{hotfix.version}`.",
        )

    @app.action(ActionId.MERGE_BACK)
    @path.later()
    def merge_back(action: dict[str, Any], body: dict[str, Any]) -> None:
        services.git.merge_back(clicked(action, body), body["user"]["id"])
