"""Phase 1 buttons: approve as a role, reject with a reason, override a MEDIUM/LOW refusal.

Each button carries only the hotfix id (and, for approvals, the role in its action id);
who may do what is decided by the service from the server-side role directory.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.errors import reported
from bot.ids import ActionId, BlockId, CallbackId
from bot.listeners.actions import hotfix_id_from
from bot.render.approvals import approved_notice, ended_notice, reason_modal
from bot.services import BotServices
from storage.db import UNAVAILABLE_MESSAGE, DatabaseUnavailable
from workflows.errors import DomainError, HotfixNotFound
from workflows.hotfixes import HotfixSnapshot

REASON_FORMS = {"reject": CallbackId.REJECT, "override": CallbackId.OVERRIDE}
APPROVE = re.compile(rf"^{ActionId.APPROVE}:(?P<role>[a-z][a-z0-9_]{{0,63}})$")


def _reason(view: dict[str, Any]) -> str:
    state = view.get("state", {}).get("values", {}).get(BlockId.REASON, {})
    return str((state.get(ActionId.REASON) or {}).get("value") or "")


def _hotfix_id(view: dict[str, Any]) -> int:
    try:
        value = json.loads(view.get("private_metadata") or "{}").get("hotfix_id")
    except ValueError:
        value = None
    if not isinstance(value, int):
        raise HotfixNotFound("behind this form")
    return value


def register(app: App, services: BotServices) -> None:
    hotfixes = services.hotfixes

    @app.action(APPROVE)
    @reported
    def approve(ack: Ack, action: dict[str, Any], body: dict[str, Any]) -> None:
        ack()
        match = APPROVE.match(action["action_id"])
        assert match is not None  # the listener only runs for matching ids
        outcome = hotfixes.approve(
            hotfix_id_from(action), role=match["role"], actor=body["user"]["id"]
        )
        if outcome.completed:
            auto = services.git.auto_branch
            services.cards.say(outcome.hotfix, approved_notice(outcome.hotfix, auto_branch=auto))
            services.git.after_approval(outcome.hotfix.id, body["user"]["id"])

    def ask_reason(
        action: dict[str, Any], body: dict[str, Any], client: WebClient, verb: str
    ) -> None:
        """Check the clicker may do it, then ask why (the trigger id is good for 3 s)."""
        hotfix = hotfixes.preflight(hotfix_id_from(action), verb, actor=body["user"]["id"])
        view = reason_modal(callback_id=REASON_FORMS[verb], hotfix=hotfix, verb=verb)
        client.views_open(trigger_id=body["trigger_id"], view=view.to_dict())

    @app.action(ActionId.REJECT)
    @reported
    def reject_clicked(
        ack: Ack, action: dict[str, Any], body: dict[str, Any], client: WebClient
    ) -> None:
        ack()
        ask_reason(action, body, client, "reject")

    @app.view(CallbackId.REJECT)
    @reported
    def reject_submitted(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        hotfix = _submit_reason(ack, body, view, hotfixes.reject)
        if hotfix is not None:
            services.cards.say(hotfix, ended_notice(hotfix))

    @app.action(ActionId.OVERRIDE)
    @reported
    def override_clicked(
        ack: Ack, action: dict[str, Any], body: dict[str, Any], client: WebClient
    ) -> None:
        ack()
        ask_reason(action, body, client, "override")

    @app.view(CallbackId.OVERRIDE)
    @reported
    def override_submitted(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        hotfix = _submit_reason(ack, body, view, hotfixes.override)
        if hotfix is not None:
            services.git.after_open(hotfix.id)


def _submit_reason(
    ack: Ack,
    body: dict[str, Any],
    view: dict[str, Any],
    fire: Callable[..., HotfixSnapshot],
) -> HotfixSnapshot | None:
    """Fire a reasoned event from its modal; a refusal stays in the modal, next to the reason."""
    try:
        hotfix = fire(_hotfix_id(view), actor=body["user"]["id"], reason=_reason(view))
    except DomainError as refused:
        ack(response_action="errors", errors={BlockId.REASON: refused.user_message})
        return None
    except DatabaseUnavailable:
        ack(response_action="errors", errors={BlockId.REASON: UNAVAILABLE_MESSAGE})
        return None
    ack()
    return hotfix
