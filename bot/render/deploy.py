"""What the thread says about Phase 5: the pre-deploy checklist, progress, the result and
rollback (the monitoring window's checks: ``bot.render.monitoring``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    CheckboxesElement,
    ConfirmObject,
    ContextBlock,
    MarkdownTextObject,
    Option,
    SectionBlock,
)

from bot import mrkdwn
from bot.ids import ActionId, BlockId
from bot.render.card import ci_text
from workflows.deploy import Health
from workflows.deployment import MIGRATION_ITEMS, VERIFY_ITEMS
from workflows.snapshot import HotfixSnapshot

TAIL_SHOWN = 12  # lines of output in the thread
TAIL_CHARS = 2500


@dataclass(frozen=True)
class DeployFacts:
    """What the checklist says that comes from the policy, not the hotfix."""

    configured: bool
    command: tuple[str, ...] | None  # the deploy argv template (None: GitHub Actions)
    rollback: tuple[str, ...] | None
    workflow: str | None
    dashboards: dict[str, str]
    stakeholders: str | None  # channel id
    health_url: str | None
    deploy_roles: str  # "On-call Lead" (titles, for who may press the button)


def checklist_block_id(block: BlockId, hotfix: HotfixSnapshot) -> str:
    """Checkboxes carry no value: the hotfix id rides in the block id."""
    return f"{block}:{hotfix.id}"


def hotfix_button(
    label: str,
    action: ActionId,
    hotfix: HotfixSnapshot,
    style: str | None = None,
    confirm: ConfirmObject | None = None,
) -> ButtonElement:
    return ButtonElement(
        text=label, action_id=action, value=str(hotfix.id), style=style, confirm=confirm
    )


def _argv(argv: Sequence[str]) -> str:
    return "`" + mrkdwn.fit(" ".join(argv), 300).replace("`", "'") + "`"


def _version_words(hotfix: HotfixSnapshot, version: str | None) -> str:
    return f"`{version}`" if version else "the next free patch version"


def deploy_button(hotfix: HotfixSnapshot, version: str | None, *, retry: bool) -> ButtonElement:
    words = _version_words(hotfix, version).replace("`", "")
    return hotfix_button(
        f"{'Retry: tag' if retry else 'Tag'} & deploy {version or ''}".strip(),
        ActionId.DEPLOY,
        hotfix,
        "primary",
        ConfirmObject(
            title="Deploy to production?",
            text=f"Tag the reviewed head of {hotfix.key} as {words}, push the tag and deploy "
            "it to production now.",
            confirm=f"Deploy {version}" if version else "Deploy",
            deny="Not yet",
        ),
    )


def rollback_button(hotfix: HotfixSnapshot, label: str = "Roll back") -> ButtonElement:
    previous = hotfix.previous_version or hotfix.base_tag or "the previous version"
    return hotfix_button(
        label,
        ActionId.ROLL_BACK,
        hotfix,
        "danger",
        ConfirmObject(
            title="Roll back production?",
            text=f"Run the rollback for {hotfix.key}: production goes back to {previous}, and "
            "monitoring stops.",
            confirm="Roll back",
            deny="Cancel",
        ),
    )


def rollback_offer(hotfix: HotfixSnapshot, reason: str) -> tuple[str, list[Block]]:
    """``/hotfix rollback``: the button (with its confirmation) that does it."""
    previous = hotfix.previous_version or hotfix.base_tag or "the previous version"
    text = (
        f"⏪ Roll {hotfix.key} back to `{previous}`? Production stops running "
        f"`{hotfix.deployed_version}`."
    )
    button = rollback_button(hotfix)
    if reason:
        button.value = f"{hotfix.id}:{reason[:500]}"
    return text, [
        SectionBlock(text=MarkdownTextObject(text=text)),
        ActionsBlock(block_id=BlockId.DEPLOY_ACTIONS, elements=[button]),
    ]


def _checkboxes(
    hotfix: HotfixSnapshot, block: BlockId, action: ActionId, items: Sequence[tuple[str, str]]
) -> ActionsBlock:
    options = [Option(value=item, text=text[:75]) for item, text in items]
    ticked = [o for o in options if o.value in hotfix.deploy_ticks]
    return ActionsBlock(
        block_id=checklist_block_id(block, hotfix),
        elements=[
            CheckboxesElement(action_id=action, options=options, initial_options=ticked or None)
        ],
    )


def deploy_panel(
    hotfix: HotfixSnapshot, facts: DeployFacts, *, version: str | None
) -> tuple[str, list[Block]]:
    """The procedure's pre-deployment checklist, with the deploy button (or what is running)."""
    rows = [
        f"*1. Tag* {_version_words(hotfix, version)} on the reviewed head"
        + (f" `{hotfix.review_head[:7]}`" if hotfix.review_head else "")
        + f" of `{mrkdwn.escape(hotfix.branch or '')}`",
        f"*2. CI* {ci_text(hotfix) if hotfix.ci_state else 'not read'}",
    ]
    if facts.dashboards:
        links = " · ".join(
            f"<{url}|{mrkdwn.escape(name)}>" for name, url in facts.dashboards.items()
        )
        rows.append(f"*3. Monitoring* {links}")
    else:
        rows.append("*3. Monitoring* open your dashboards (list them in `deploy.dashboards`)")
    notified = ["this thread"]
    if facts.stakeholders:
        notified.append(mrkdwn.channel(facts.stakeholders))
    rows.append(f"*4. Notified* {', '.join(notified)}")
    previous = hotfix.previous_version or hotfix.base_tag or "the previous version"
    if facts.rollback:
        plan = _argv(facts.rollback).replace("{previous_version}", previous)
        rows.append(f"*Rollback plan* {plan} (back to `{previous}`)")
    elif facts.workflow:
        rows.append(f"*Rollback plan* run `{facts.workflow}` for `{previous}`")
    if facts.command:
        rows.append(f"*Deploy* {_argv(facts.command)}")
    elif facts.workflow:
        rows.append(f"*Deploy* GitHub Actions workflow `{facts.workflow}`")
    if facts.health_url:
        rows.append(f"*Health check* {facts.health_url}")
    text = f"🚦 *Pre-deploy checklist · {hotfix.key}*\n" + "\n".join(rows)
    blocks: list[Block] = [SectionBlock(text=MarkdownTextObject(text=mrkdwn.plain(text, 2900)))]
    if hotfix.needs_migration:
        blocks.append(
            SectionBlock(
                text=MarkdownTextObject(
                    text="🗄️ *Database migration*: tick each before deploying (procedure: "
                    "Database Migration Hotfix Pattern)."
                )
            )
        )
        if hotfix.state in ("ready_to_deploy", "deploy_failed"):
            blocks.append(
                _checkboxes(
                    hotfix,
                    BlockId.MIGRATION_CHECKLIST,
                    ActionId.MIGRATION_CHECKLIST,
                    MIGRATION_ITEMS,
                )
            )
        else:
            ticked = "\n".join(
                f"{'☑' if item in hotfix.deploy_ticks else '☐'} {text}"
                for item, text in MIGRATION_ITEMS
            )
            blocks.append(SectionBlock(text=MarkdownTextObject(text=ticked)))
    blocks += _panel_actions(hotfix, facts, version)
    return f"Pre-deploy checklist for {hotfix.key}", blocks


def _panel_actions(hotfix: HotfixSnapshot, facts: DeployFacts, version: str | None) -> list[Block]:
    state = hotfix.state
    who = f"The requester or an {facts.deploy_roles} deploys."
    if not facts.configured:
        return [
            ContextBlock(
                elements=[
                    MarkdownTextObject(
                        text="No deploy is configured yet: set `deploy.command` or "
                        "`deploy.github_actions` in the policy file."
                    )
                ]
            )
        ]
    if state == "ready_to_deploy":
        return [
            ActionsBlock(
                block_id=BlockId.DEPLOY_ACTIONS,
                elements=[deploy_button(hotfix, version, retry=False)],
            ),
            ContextBlock(elements=[MarkdownTextObject(text=who)]),
        ]
    if state == "deploy_failed":
        return [
            ActionsBlock(
                block_id=BlockId.DEPLOY_ACTIONS,
                elements=[
                    deploy_button(hotfix, version, retry=True),
                    rollback_button(hotfix),
                    hotfix_button("Fix the fix", ActionId.FIX_AGAIN, hotfix),
                ],
            ),
            ContextBlock(
                elements=[
                    MarkdownTextObject(
                        text=f"💥 Attempt {hotfix.deploy_attempts} failed. Retry ships the same "
                        "change as the next version (the failed tag stays, as history). " + who
                    )
                ]
            ),
        ]
    if state == "deploying":
        line = f"🚀 Deploying `{hotfix.deployed_version or '…'}` (attempt {hotfix.deploy_attempts})"
        if hotfix.deployer_id:
            line += f", started by {mrkdwn.user(hotfix.deployer_id)}"
        return [ContextBlock(elements=[MarkdownTextObject(text=line)])]
    if state == "monitoring":
        return [
            ActionsBlock(
                block_id=BlockId.DEPLOY_ACTIONS,
                elements=[rollback_button(hotfix, "Problem — roll back")],
            )
        ]
    if state == "rolled_back":
        return [
            ActionsBlock(
                block_id=BlockId.DEPLOY_ACTIONS,
                elements=[hotfix_button("Fix the fix", ActionId.FIX_AGAIN, hotfix, "primary")],
            ),
            ContextBlock(elements=[MarkdownTextObject(text=FIX_THE_FIX)]),
        ]
    return [
        ContextBlock(
            elements=[
                MarkdownTextObject(
                    text=f"Deployed `{hotfix.deployed_version}`."
                    if hotfix.deployed_version
                    else "Not deployed."
                )
            ]
        )
    ]


FIX_THE_FIX = (
    "*Fix the fix*: read the deploy's log and your dashboards to see what went wrong, push "
    "the corrections to the same hotfix branch, and test more thoroughly. *Fix the fix* "
    "sends the hotfix back to fixing: the PR is reviewed again and ships as a new version."
)


def tail_text(lines: Sequence[str]) -> str:
    """The last lines of output as a code block (never breaking out of it)."""
    shown = [line.replace("```", "'''") for line in lines[-TAIL_SHOWN:]]
    body = "\n".join(shown)[-TAIL_CHARS:] or "(no output yet)"
    return f"```{body}```"


def progress(
    hotfix: HotfixSnapshot, what: str, seconds: float, lines: Sequence[str]
) -> tuple[str, list[dict]]:
    """ "🚀 Deploying v1.2.4 — 1m 20s" and the output's last lines, updated as it runs."""
    head = f"🚀 *{hotfix.key}*: {what} — {mrkdwn.stopwatch(timedelta(seconds=seconds))}"
    blocks = [SectionBlock(text=MarkdownTextObject(text=head))]
    if lines:
        blocks.append(SectionBlock(text=MarkdownTextObject(text=tail_text(lines))))
    return head, [b.to_dict() for b in blocks]


def tagged(hotfix: HotfixSnapshot, version: str, commit: str, created: bool) -> str:
    verb = "tagged and pushed" if created else "already tagged"
    return (
        f"🏷️ *{hotfix.key}*: `{version}` {verb} on `{commit[:7]}`; deploying it to production "
        f"now (attempt {hotfix.deploy_attempts}, by {mrkdwn.user(hotfix.deployer_id or '')})."
    )


def deploy_failed(
    hotfix: HotfixSnapshot, reason: str, lines: Sequence[str], *, log_follows: bool
) -> tuple[str, list[Block]]:
    text = (
        f"💥 *{hotfix.key}*: deploying `{hotfix.deployed_version}` failed: {reason}. "
        "Production may be partly updated: check your dashboards. Retry, roll back, or fix "
        "the fix (the buttons below)."
    )
    blocks: list[Block] = [SectionBlock(text=MarkdownTextObject(text=text))]
    if lines:
        blocks.append(SectionBlock(text=MarkdownTextObject(text=tail_text(lines))))
    blocks.append(
        ContextBlock(
            elements=[
                MarkdownTextObject(
                    text="The full log follows in the thread."
                    if log_follows
                    else "The deploy did not run, so there is no log."
                )
            ]
        )
    )
    blocks.append(
        ActionsBlock(
            block_id=BlockId.FAILURE_ACTIONS,
            elements=[
                deploy_button(hotfix, None, retry=True),
                rollback_button(hotfix),
            ],
        )
    )
    return text, blocks


def deploy_refused(hotfix: HotfixSnapshot, reason: str) -> str:
    return f"⚠️ *{hotfix.key}*: the deploy did not start: {reason}"


def checking_health(hotfix: HotfixSnapshot, attempt: int, health: Health | None) -> str:
    last = f" (last answer: {health.detail})" if health is not None else ""
    return f"🩺 *{hotfix.key}*: deployed; checking health, try {attempt}{last}"


def deployed(
    hotfix: HotfixSnapshot, health: Health | None, *, window: str, interval: str
) -> tuple[str, list[Block]]:
    checked = f" Health check: ✅ {health.detail}." if health is not None else ""
    text = (
        f"✅ *{hotfix.key}*: `{hotfix.deployed_version}` is in production.{checked} "
        f"Monitoring for {window}: a check every {interval} here."
    )
    blocks: list[Block] = [
        SectionBlock(text=MarkdownTextObject(text=text)),
        SectionBlock(
            text=MarkdownTextObject(
                text=f"*Verify* ({mrkdwn.user(hotfix.deployer_id or '')}, tick as you check):"
            )
        ),
        _checkboxes(hotfix, BlockId.VERIFY_CHECKLIST, ActionId.VERIFY_CHECKLIST, VERIFY_ITEMS),
    ]
    return text, blocks


def rolling_back(hotfix: HotfixSnapshot, actor: str, previous: str) -> str:
    return (
        f"⏪ *{hotfix.key}*: {mrkdwn.user(actor)} is rolling production back to `{previous}`; "
        "monitoring has stopped."
    )


def rolled_back(
    hotfix: HotfixSnapshot, previous: str, ok: bool, reason: str | None
) -> tuple[str, list[Block]]:
    if ok:
        text = f"⏪ *{hotfix.key}*: production is back on `{previous}`.\n{FIX_THE_FIX}"
        return text, [
            SectionBlock(text=MarkdownTextObject(text=text)),
            ActionsBlock(
                block_id=BlockId.FAILURE_ACTIONS,
                elements=[hotfix_button("Fix the fix", ActionId.FIX_AGAIN, hotfix, "primary")],
            ),
        ]
    text = (
        f"🆘 *{hotfix.key}*: the rollback to `{previous}` FAILED: {reason}. Roll back by hand "
        "now (the procedure: redeploy the previous version), then retry here."
    )
    return text, [
        SectionBlock(text=MarkdownTextObject(text=text)),
        ActionsBlock(
            block_id=BlockId.FAILURE_ACTIONS,
            elements=[hotfix_button("Retry rollback", ActionId.RETRY_ROLLBACK, hotfix, "danger")],
        ),
    ]


def fixing_again(hotfix: HotfixSnapshot, actor: str) -> str:
    return (
        f"🛠️ *{hotfix.key}*: back to fixing ({mrkdwn.user(actor)}). Push the corrections to "
        f"`{mrkdwn.escape(hotfix.branch or '')}`, then `/hotfix pr {hotfix.key}` for the review; "
        "it ships as a new version."
    )
