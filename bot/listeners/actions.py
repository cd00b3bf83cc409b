"""Buttons. Each carries only a hotfix id; everything else is read from the database."""

from __future__ import annotations

from typing import Any

from bot import mrkdwn
from bot.ack import AckPath
from bot.card import CardNotPosted
from bot.ids import ActionId
from bot.render.card import ci_text
from bot.render.notices import card_not_posted
from bot.reply import Reply
from bot.router import Router
from bot.services import BotServices
from workflows.errors import HotfixNotFound
from workflows.review import REVIEW_ITEMS, SECURITY_ITEMS


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


def register(app: Router, services: BotServices, path: AckPath) -> None:
    @app.action(ActionId.RETRY_CARD)
    @path.later()
    def retry_card(action: dict[str, Any], reply: Reply) -> None:
        hotfix_id = hotfix_id_from(action)
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
        services.git.create_branch(hotfix_id_from(action), body["user"]["id"])

    @app.action(ActionId.OPEN_PR)
    @path.later()
    def open_pr(action: dict[str, Any], body: dict[str, Any]) -> None:
        services.git.open_pr(hotfix_id_from(action), body["user"]["id"])

    @app.action(ActionId.RECHECK_CI)
    @path.later()
    def recheck_ci(action: dict[str, Any], reply: Reply) -> None:
        hotfix = services.git.check_ci(hotfix_id_from(action))
        reply(text=f"CI of {hotfix.key}: {ci_text(hotfix)}", drill=hotfix.drill)

    def tick(action: dict[str, Any], body: dict[str, Any], group: tuple[str, ...]) -> None:
        selected = [str(o.get("value")) for o in action.get("selected_options") or []]
        hotfix_id = hotfix_id_from_message(body)
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
        hotfix = services.git.approve_review(hotfix_id_from(action), body["user"]["id"])
        services.cards.say(
            hotfix,
            f"✅ *{hotfix.key}*: review approved by {mrkdwn.user(body['user']['id'])}. "
            f"Ready to deploy `{hotfix.version}`.",
        )

    @app.action(ActionId.MERGE_BACK)
    @path.later()
    def merge_back(action: dict[str, Any], body: dict[str, Any]) -> None:
        services.git.merge_back(hotfix_id_from(action), body["user"]["id"])
