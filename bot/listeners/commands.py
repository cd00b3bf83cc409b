"""``/hotfix``: one listener, one small branch per subcommand."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.ids import Command, Subcommand
from bot.render.assessment import assessment_modal
from bot.render.notices import usage_blocks
from bot.services import BotServices
from workflows.assessment import parse_start_arguments


def register(app: App, services: BotServices) -> None:
    @app.command(Command.HOTFIX)
    def hotfix(ack: Ack, command: dict[str, Any], client: WebClient) -> None:
        word, _, rest = (command.get("text") or "").strip().partition(" ")
        subcommand = word.lower()
        if subcommand == Subcommand.START:
            ack()
            # The trigger id expires 3 s after the command: open the form before anything else.
            view = assessment_modal(
                parse_start_arguments(rest),
                requester_id=command["user_id"],
                channel_id=command["channel_id"],
                now=services.clock(),
            )
            client.views_open(trigger_id=command["trigger_id"], view=view.to_dict())
            return
        text, blocks = usage_blocks(None if subcommand in ("", Subcommand.HELP) else word)
        ack(text=text, blocks=[b.to_dict() for b in blocks])
