"""``/hotfix``: one listener, one small branch per subcommand."""

from __future__ import annotations

import contextlib
from typing import Any

from slack_bolt import Ack, App
from slack_bolt.context.respond import Respond
from slack_sdk import WebClient

from bot import mrkdwn
from bot.errors import reported
from bot.ids import Command, Subcommand
from bot.render.approvals import ended_notice
from bot.render.assessment import assessment_modal
from bot.render.notices import list_blocks, status_blocks, usage_blocks
from bot.services import BotServices
from workflows.assessment import parse_start_arguments
from workflows.errors import DomainError, HotfixNotFound
from workflows.github_client import GitHubFailed
from workflows.hotfixes import REVIEW_STATES, HotfixMovedOn, parse_key

ABORT_USAGE = "Usage: `/hotfix abort HF-n <reason>` — the reason is required."
BASE_USAGE = "Usage: `/hotfix base HF-n <production tag>`, for example `/hotfix base HF-3 v1.2.3`."
MERGE_BACK_USAGE = "Usage: `/hotfix merge-back HF-n`."


def register(app: App, services: BotServices) -> None:
    hotfixes = services.hotfixes

    @app.command(Command.HOTFIX)
    @reported
    def hotfix(ack: Ack, command: dict[str, Any], client: WebClient, respond: Respond) -> None:
        word, _, rest = (command.get("text") or "").strip().partition(" ")
        subcommand, rest = word.lower(), rest.strip()
        user, channel = command["user_id"], command["channel_id"]

        if subcommand == Subcommand.START:
            ack()
            # The trigger id expires 3 s after the command: open the form before anything else.
            view = assessment_modal(
                parse_start_arguments(rest),
                requester_id=user,
                channel_id=channel,
                now=services.clock(),
            )
            client.views_open(trigger_id=command["trigger_id"], view=view.to_dict())

        elif subcommand == Subcommand.STATUS:
            ack()
            visible = services.visible_to(user)
            if rest:
                hotfix_id = _hotfix_id(rest.split()[0])
                hotfix = hotfixes.get(hotfix_id)
                if not visible(hotfix):
                    raise DomainError(
                        f"{hotfix.key} is a security fix: its details are shown to its "
                        "requester and to role holders only."
                    )
                if hotfix.state in REVIEW_STATES and hotfix.pr_number is not None:
                    # status re-reads CI; what it cannot read (or a hotfix just moving on)
                    # still leaves the status to show
                    with contextlib.suppress(GitHubFailed, HotfixMovedOn):
                        hotfix = services.git.check_ci(hotfix_id)
                text, blocks = status_blocks(
                    hotfix, hotfixes.timeline(hotfix_id), now=services.clock()
                )
            else:
                text, blocks = list_blocks(
                    hotfixes.active(channel), where="in this channel", visible=visible
                )
            respond(text=text, blocks=[b.to_dict() for b in blocks])

        elif subcommand == Subcommand.LIST:
            ack()
            text, blocks = list_blocks(
                hotfixes.active(), where="in any channel", visible=services.visible_to(user)
            )
            respond(text=text, blocks=[b.to_dict() for b in blocks])

        elif subcommand == Subcommand.ABORT:
            ack()
            key, _, reason = rest.partition(" ")
            if not key or not reason.strip():
                raise DomainError(ABORT_USAGE)
            stopped = hotfixes.abort(_hotfix_id(key), actor=user, reason=reason)
            respond(text=f"🛑 {stopped.key} is aborted; its timers are cancelled.")
            services.cards.say(stopped, ended_notice(stopped))

        elif subcommand == Subcommand.BASE:
            ack()
            key, _, tag = rest.partition(" ")
            if not key or not tag.strip():
                raise DomainError(BASE_USAGE)
            hotfix = services.git.choose_base(_hotfix_id(key), tag.strip(), user)
            respond(text=f"📌 {hotfix.key} now starts from `{hotfix.base_tag}`.")

        elif subcommand == Subcommand.PR:
            ack()
            if not rest:
                raise DomainError("Usage: `/hotfix pr HF-n`.")
            hotfix_id = _hotfix_id(rest.split()[0])
            services.git.open_pr(hotfix_id, user)
            respond(text=f"📬 Opening the pull request of HF-{hotfix_id}; see its thread.")

        elif subcommand == Subcommand.MERGE_BACK:
            ack()
            if not rest:
                raise DomainError(MERGE_BACK_USAGE)
            hotfix_id = _hotfix_id(rest.split()[0])
            services.git.merge_back(hotfix_id, user)
            respond(text=f"🔀 Merging HF-{hotfix_id} back; progress is in its thread.")

        else:
            text, blocks = usage_blocks(None if subcommand in ("", Subcommand.HELP) else word)
            ack(text=text, blocks=[b.to_dict() for b in blocks])


def _hotfix_id(key: str) -> int:
    hotfix_id = parse_key(key)
    if hotfix_id is None:
        raise HotfixNotFound(f"`{mrkdwn.escape(key[:20])}` (hotfixes are named like HF-12)")
    return hotfix_id
