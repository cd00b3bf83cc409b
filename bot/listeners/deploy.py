"""Phase 5 buttons: Tag & deploy, roll back, fix the fix, all green, and the checklists.

Each button carries the hotfix id (a rollback offered by ``/hotfix rollback`` also its
reason); checkboxes carry it in their block id. Who may press what is decided on the server.
"""

from __future__ import annotations

from typing import Any

from bot import mrkdwn
from bot.ack import AckPath
from bot.ids import ActionId, BlockId
from bot.listeners.actions import hotfix_id_from, on_its_message
from bot.reply import Reply
from bot.router import Router
from bot.services import BotServices
from workflows.errors import HotfixNotFound


def _rollback_request(action: dict[str, Any]) -> tuple[int, str]:
    """A rollback button's value: ``12`` or ``12:reason`` (from ``/hotfix rollback``)."""
    value = str(action.get("value", ""))
    number, _, reason = value.partition(":")
    return hotfix_id_from({"value": number}), reason.strip()


def _checklist_hotfix(action: dict[str, Any], block: BlockId) -> int:
    prefix, _, number = str(action.get("block_id", "")).partition(":")
    if prefix != block:
        raise HotfixNotFound("behind this checklist")
    return hotfix_id_from({"value": number})


def register(app: Router, services: BotServices, path: AckPath) -> None:
    deploys = services.deploys

    def clicked(action: dict[str, Any], body: dict[str, Any]) -> int:
        return on_its_message(services.sessions, body, hotfix_id_from(action))

    def checklist(action: dict[str, Any], body: dict[str, Any], block: BlockId) -> int:
        return on_its_message(services.sessions, body, _checklist_hotfix(action, block))

    @app.action(ActionId.DEPLOY)
    @path.later()
    def deploy(action: dict[str, Any], body: dict[str, Any], reply: Reply) -> None:
        hotfix = deploys.start(clicked(action, body), body["user"]["id"])
        reply(text=f"🚀 Deploying {hotfix.key}: progress is in its thread.", drill=hotfix.drill)

    @app.action(ActionId.ROLL_BACK)
    @path.later()
    def roll_back(action: dict[str, Any], body: dict[str, Any], reply: Reply) -> None:
        hotfix_id, reason = _rollback_request(action)
        hotfix_id = on_its_message(services.sessions, body, hotfix_id)
        user = body["user"]["id"]
        hotfix = deploys.roll_back(
            hotfix_id, user, reason or f"rolled back from Slack by {mrkdwn.user(user)}"
        )
        reply(text=f"⏪ Rolling {hotfix.key} back: progress is in its thread.", drill=hotfix.drill)

    @app.action(ActionId.RETRY_ROLLBACK)
    @path.later()
    def retry_rollback(action: dict[str, Any], body: dict[str, Any]) -> None:
        deploys.retry_rollback(clicked(action, body), body["user"]["id"])

    @app.action(ActionId.FIX_AGAIN)
    @path.later()
    def fix_again(action: dict[str, Any], body: dict[str, Any]) -> None:
        deploys.fix_again(clicked(action, body), body["user"]["id"])

    @app.action(ActionId.ALL_GREEN)
    @path.later()
    def all_green(action: dict[str, Any], body: dict[str, Any], reply: Reply) -> None:
        hotfix = deploys.all_green(clicked(action, body), body["user"]["id"])
        reply(
            text=f"✅ Recorded: all green on {hotfix.key} for you. It goes in the summary.",
            drill=hotfix.drill,
        )

    def ticks(action: dict[str, Any]) -> list[str]:
        return [str(o.get("value")) for o in action.get("selected_options") or []]

    @app.action(ActionId.MIGRATION_CHECKLIST)
    @path.later()
    def tick_migration(action: dict[str, Any], body: dict[str, Any]) -> None:
        hotfix_id = checklist(action, body, BlockId.MIGRATION_CHECKLIST)
        deploys.tick(hotfix_id, body["user"]["id"], verify=False, selected=ticks(action))

    @app.action(ActionId.SECURITY_CLOSE)
    @path.later()
    def tick_security(action: dict[str, Any], body: dict[str, Any]) -> None:
        hotfix_id = checklist(action, body, BlockId.SECURITY_CLOSE)
        services.security.tick(hotfix_id, body["user"]["id"], ticks(action))

    @app.action(ActionId.VERIFY_CHECKLIST)
    @path.later()
    def tick_verify(action: dict[str, Any], body: dict[str, Any]) -> None:
        hotfix_id = checklist(action, body, BlockId.VERIFY_CHECKLIST)
        deploys.tick(hotfix_id, body["user"]["id"], verify=True, selected=ticks(action))
