"""``/hotfix``: one listener; each subcommand is read at once and does its work after the ack.

Reading the text (and refusing a malformed one) needs nothing outside the process, so it is
answered in the ack itself; the work (the database, Slack, GitHub) runs on a lane.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable

from slack_bolt import BoltResponse
from slack_bolt.kwargs_injection.args import Args

from bot import mrkdwn
from bot.ack import AckPath
from bot.ids import Command, Subcommand
from bot.render.approvals import ended_notice
from bot.render.assessment import assessment_modal
from bot.render.deploy import rollback_offer
from bot.render.notices import error_blocks, list_blocks, status_blocks, usage_blocks
from bot.render.timeline import timeline_blocks
from bot.reply import Reply
from bot.router import Router
from bot.services import BotServices
from workflows.assessment import parse_start_arguments
from workflows.errors import DomainError, HotfixNotFound
from workflows.github_client import GitHubFailed
from workflows.hotfixes import REVIEW_STATES, HotfixMovedOn
from workflows.lifecycle import sources
from workflows.snapshot import HotfixSnapshot, parse_key

ABORT_USAGE = "Usage: `/hotfix abort HF-n <reason>` — the reason is required."
BASE_USAGE = "Usage: `/hotfix base HF-n <production tag>`, for example `/hotfix base HF-3 v1.2.3`."
MERGE_BACK_USAGE = "Usage: `/hotfix merge-back HF-n`."
PR_USAGE = "Usage: `/hotfix pr HF-n`."
ROLLBACK_USAGE = "Usage: `/hotfix rollback HF-n [reason]`."
TIMELINE_USAGE = "Usage: `/hotfix timeline HF-n`."
POSTMORTEM_USAGE = "Usage: `/hotfix postmortem HF-n`."
NO_DRILLS = (
    "Drills are not set up: give them a scratch repository in the policy file "
    "(`drill.repository`, and `drill.github` for its pull requests), so that a rehearsal "
    "never branches, tags or merges in the real one. Then run `/hotfix start --drill` again."
)
WAIVE_USAGE = "Usage: `/hotfix security-waive HF-n <reason>` — the reason is kept."

Work = Callable[[Reply], None]


def register(app: Router, services: BotServices, path: AckPath) -> None:
    hotfixes = services.hotfixes

    def start(rest: str, user: str, channel: str, trigger_id: str) -> Work:
        def work(reply: Reply) -> None:
            # The trigger id expires 3 s after the command: this runs on the forms lane.
            prefill = parse_start_arguments(rest)
            if prefill.drill and services.policy.drill.repository is None:
                raise DomainError(NO_DRILLS)
            view = assessment_modal(
                prefill,
                requester_id=user,
                channel_id=channel,
                now=services.clock(),
            )
            services.slack.views_open(trigger_id=trigger_id, view=view.to_dict())

        return work

    def shown(hotfix_id: int, user: str) -> HotfixSnapshot:
        """The hotfix, if ``user`` may read its details (a security fix: its people only)."""
        hotfix = hotfixes.get(hotfix_id)
        if not services.visible_to(user)(hotfix):
            raise DomainError(
                f"{hotfix.key} is a security fix: its details are shown to its "
                "requester and to role holders only."
            )
        return hotfix

    def status(rest: str, user: str, channel: str) -> Work:
        hotfix_id = _hotfix_id(rest.split()[0]) if rest else None

        def work(reply: Reply) -> None:
            visible = services.visible_to(user)
            if hotfix_id is None:
                text, blocks = list_blocks(
                    hotfixes.active(channel), where="in this channel", visible=visible
                )
            else:
                hotfix = shown(hotfix_id, user)
                if hotfix.state in REVIEW_STATES and hotfix.pr_number is not None:
                    # status re-reads CI; what it cannot read (or a hotfix just moving on)
                    # still leaves the status to show
                    with contextlib.suppress(GitHubFailed, HotfixMovedOn):
                        hotfix = services.git.check_ci(hotfix_id)
                text, blocks = status_blocks(
                    hotfix, hotfixes.timeline(hotfix_id), now=services.clock()
                )
            reply(text=text, blocks=[b.to_dict() for b in blocks])

        return work

    def timeline(rest: str, user: str, channel: str) -> Work:
        if not rest:
            raise DomainError(TIMELINE_USAGE)
        hotfix_id = _hotfix_id(rest.split()[0])

        def work(reply: Reply) -> None:
            hotfix = shown(hotfix_id, user)
            text, blocks = timeline_blocks(hotfix, hotfixes.timeline(hotfix_id))
            reply(text=text, blocks=[b.to_dict() for b in blocks], drill=hotfix.drill)

        return work

    def postmortem(rest: str, user: str, channel: str) -> Work:
        if not rest:
            raise DomainError(POSTMORTEM_USAGE)
        hotfix_id = _hotfix_id(rest.split()[0])

        def work(reply: Reply) -> None:
            hotfix = shown(hotfix_id, user)
            if services.postmortems.post(hotfix_id):
                reply(
                    text=f"📝 The post-mortem draft of {hotfix.key} is in its thread.",
                    drill=hotfix.drill,
                )
            else:
                reply(
                    text=f"⚠️ Slack did not take the post-mortem draft of {hotfix.key}.",
                    drill=hotfix.drill,
                )

        return work

    def security_waive(rest: str, user: str, channel: str) -> Work:
        key, _, reason = rest.partition(" ")
        if not key or not reason.strip():
            raise DomainError(WAIVE_USAGE)
        hotfix_id = _hotfix_id(key)

        def work(reply: Reply) -> None:
            hotfix = services.security.waive(hotfix_id, user, reason)
            reply(
                text=f"🔒 {hotfix.key}'s security close-out is waived; the reason is recorded.",
                drill=hotfix.drill,
            )
            services.cards.say(
                hotfix,
                f"🔒 <@{user}> waived {hotfix.key}'s security close-out: "
                f"{mrkdwn.fit(reason.strip(), 500)}",
            )

        return work

    def list_all(rest: str, user: str, channel: str) -> Work:
        def work(reply: Reply) -> None:
            text, blocks = list_blocks(
                hotfixes.active(), where="in any channel", visible=services.visible_to(user)
            )
            reply(text=text, blocks=[b.to_dict() for b in blocks])

        return work

    def abort(rest: str, user: str, channel: str) -> Work:
        key, _, reason = rest.partition(" ")
        if not key or not reason.strip():
            raise DomainError(ABORT_USAGE)
        hotfix_id = _hotfix_id(key)

        def work(reply: Reply) -> None:
            stopped = hotfixes.abort(hotfix_id, actor=user, reason=reason)
            reply(
                text=f"🛑 {stopped.key} is aborted; its timers are cancelled.", drill=stopped.drill
            )
            services.cards.say(stopped, ended_notice(stopped))

        return work

    def base(rest: str, user: str, channel: str) -> Work:
        key, _, tag = rest.partition(" ")
        if not key or not tag.strip():
            raise DomainError(BASE_USAGE)
        hotfix_id = _hotfix_id(key)

        def work(reply: Reply) -> None:
            hotfix = services.git.choose_base(hotfix_id, tag.strip(), user)
            reply(text=f"📌 {hotfix.key} now starts from `{hotfix.base_tag}`.", drill=hotfix.drill)

        return work

    def hotfix_is_drill(hotfix_id: int) -> bool:
        with contextlib.suppress(HotfixNotFound):
            return hotfixes.get(hotfix_id).drill
        return False

    def one_hotfix(
        usage: str, step: Callable[[int, str], None], said: Callable[[int], str]
    ) -> Callable[[str, str, str], Work]:
        """A subcommand that starts one step of hotfix ``HF-n`` and says it has started."""

        def plan(rest: str, user: str, channel: str) -> Work:
            if not rest:
                raise DomainError(usage)
            hotfix_id = _hotfix_id(rest.split()[0])

            def work(reply: Reply) -> None:
                step(hotfix_id, user)
                reply(text=said(hotfix_id), drill=hotfix_is_drill(hotfix_id))

            return work

        return plan

    pull_request = one_hotfix(
        PR_USAGE,
        services.git.open_pr,
        lambda n: f"📬 Opening the pull request of HF-{n}; see its thread.",
    )
    merge_back = one_hotfix(
        MERGE_BACK_USAGE,
        services.git.merge_back,
        lambda n: f"🔀 Merging HF-{n} back; progress is in its thread.",
    )

    def rollback(rest: str, user: str, channel: str) -> Work:
        key, _, reason = rest.partition(" ")
        if not key:
            raise DomainError(ROLLBACK_USAGE)
        hotfix_id = _hotfix_id(key)

        def work(reply: Reply) -> None:
            hotfix = hotfixes.get(hotfix_id)
            if hotfix.state not in sources("roll_back"):
                raise HotfixMovedOn(hotfix.key, hotfix.state)
            services.deploys.check_deployer(hotfix, user)
            text, blocks = rollback_offer(hotfix, reason.strip())
            reply(text=text, blocks=[b.to_dict() for b in blocks], drill=hotfix.drill)

        return work

    subcommands: dict[str, Callable[[str, str, str], Work]] = {
        Subcommand.STATUS: status,
        Subcommand.LIST: list_all,
        Subcommand.ABORT: abort,
        Subcommand.BASE: base,
        Subcommand.PR: pull_request,
        Subcommand.MERGE_BACK: merge_back,
        Subcommand.ROLLBACK: rollback,
        Subcommand.TIMELINE: timeline,
        Subcommand.POSTMORTEM: postmortem,
        Subcommand.SECURITY_WAIVE: security_waive,
    }

    @app.command(Command.HOTFIX)
    def hotfix(args: Args) -> BoltResponse | None:
        command = args.command
        word, _, rest = (command.get("text") or "").strip().partition(" ")
        subcommand, rest = word.lower(), rest.strip()
        user, channel = command["user_id"], command["channel_id"]
        if subcommand == Subcommand.START:
            work = start(rest, user, channel, command.get("trigger_id", ""))
            return path.run(args, work, what="/hotfix start", lane=path.lanes.forms)
        if subcommand not in subcommands:
            text, blocks = usage_blocks(None if subcommand in ("", Subcommand.HELP) else word)
            args.ack(text=text, blocks=[b.to_dict() for b in blocks])
            return None
        try:
            work = subcommands[subcommand](rest, user, channel)
        except DomainError as refused:  # a malformed command: answered in the ack itself
            text, blocks = error_blocks(refused.user_message)
            args.ack(text=text, blocks=[b.to_dict() for b in blocks])
            return None
        return path.run(args, work, what=f"/hotfix {subcommand}")


def _hotfix_id(key: str) -> int:
    hotfix_id = parse_key(key)
    if hotfix_id is None:
        raise HotfixNotFound(f"`{mrkdwn.escape(key[:20])}` (hotfixes are named like HF-12)")
    return hotfix_id
