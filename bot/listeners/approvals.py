"""Phase 1 buttons: approve as a role, reject with a reason, override a MEDIUM/LOW refusal.

Each button carries only the hotfix id (and, for approvals, the role in its action id);
who may do what is decided by the service from the server-side role directory.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from slack_bolt import Ack

from bot.ack import AckPath
from bot.errors import user_message
from bot.ids import ActionId, BlockId, CallbackId
from bot.listeners.actions import hotfix_id_from, on_its_message
from bot.render.approvals import (
    approved_notice,
    ended_notice,
    reason_modal,
    reason_refused_modal,
)
from bot.router import Router
from bot.services import BotServices
from workflows.errors import DomainError, HotfixNotFound
from workflows.snapshot import HotfixSnapshot

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


def register(app: Router, services: BotServices, path: AckPath) -> None:
    hotfixes = services.hotfixes

    def clicked(action: dict[str, Any], body: dict[str, Any]) -> int:
        return on_its_message(services.sessions, body, hotfix_id_from(action))

    @app.action(APPROVE)
    @path.later()
    def approve(action: dict[str, Any], body: dict[str, Any]) -> None:
        match = APPROVE.match(action["action_id"])
        assert match is not None  # the listener only runs for matching ids
        outcome = hotfixes.approve(
            clicked(action, body), role=match["role"], actor=body["user"]["id"]
        )
        if outcome.completed:
            auto = services.git.auto_branch
            services.cards.say(outcome.hotfix, approved_notice(outcome.hotfix, auto_branch=auto))
            services.git.after_approval(outcome.hotfix.id, body["user"]["id"])

    def ask_reason(action: dict[str, Any], body: dict[str, Any], verb: str) -> None:
        """Open the reason form at once (the trigger id is good for 3 s), then check that the
        clicker may do it; if not, the form turns into the refusal."""
        hotfix = hotfixes.get(clicked(action, body))
        form = reason_modal(callback_id=REASON_FORMS[verb], hotfix=hotfix, verb=verb)
        opened = services.slack.views_open(trigger_id=body["trigger_id"], view=form.to_dict())
        try:
            hotfixes.preflight(hotfix.id, verb, actor=body["user"]["id"])
        except DomainError as refused:
            view = reason_refused_modal(
                callback_id=REASON_FORMS[verb],
                hotfix=hotfix,
                verb=verb,
                message=refused.user_message,
            )
            services.slack.views_update(view_id=opened["view"]["id"], view=view.to_dict())

    @app.action(ActionId.REJECT)
    @path.later(path.lanes.forms)
    def reject_clicked(action: dict[str, Any], body: dict[str, Any]) -> None:
        ask_reason(action, body, "reject")

    @app.view(CallbackId.REJECT)
    @path.synchronous(errors_on=BlockId.REASON)
    def reject_submitted(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        hotfix = _submit_reason(ack, body, view, hotfixes.reject)
        if hotfix is not None:
            path.after(
                lambda: services.cards.say(hotfix, ended_notice(hotfix)),
                what=f"{hotfix.key} rejected notice",
            )

    @app.action(ActionId.OVERRIDE)
    @path.later(path.lanes.forms)
    def override_clicked(action: dict[str, Any], body: dict[str, Any]) -> None:
        ask_reason(action, body, "override")

    @app.view(CallbackId.OVERRIDE)
    @path.synchronous(errors_on=BlockId.REASON)
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
    except Exception as error:  # the funnel, inline: the form stays open with the reason
        ack(response_action="errors", errors={BlockId.REASON: user_message(error)})
        return None
    ack()
    return hotfix
