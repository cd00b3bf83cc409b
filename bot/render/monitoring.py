"""What the thread says during the monitoring window (``bot.monitoring``): each check with
its health result and what to do about it, the summary when the window passes, and the
message of a window held by a failed last check."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from slack_sdk.models.blocks import ActionsBlock, Block, MarkdownTextObject, SectionBlock

from bot import mrkdwn
from bot.ids import ActionId, BlockId
from bot.render.deploy import hotfix_button, rollback_button
from workflows.deploy import Health
from workflows.deployment import Ping
from workflows.snapshot import HotfixSnapshot


def ping(
    hotfix: HotfixSnapshot,
    step: Ping,
    of: int,
    health: Health | None,
    *,
    left: timedelta,
    late_by: timedelta | None,
    alert: Sequence[str],
) -> tuple[str, list[dict]]:
    """One monitoring check in the thread, with what to do about it (``alert``: mentions of
    who must hear about a failed check)."""
    if health is None:
        result = "no health check configured: look at the dashboards"
    elif health.ok:
        result = f"✅ healthy ({health.detail})"
    else:
        result = f"❌ *unhealthy* ({health.detail})"
    text = f"📈 *{hotfix.key}* monitoring check {step.step} of {of}: {result}."
    if not step.last:
        text += f" {mrkdwn.elapsed(left)} left in the window."
    if late_by is not None:
        text += (
            f" _(Late by {mrkdwn.elapsed(late_by)}: the bot, or its database, was down when it "
            "was due.)_"
        )
    if health is not None and not health.ok:
        text += f"\n{' '.join(alert)}: the health check fails. Roll back now unless you know why."
    blocks: list[Block] = [SectionBlock(text=MarkdownTextObject(text=text))]
    if not step.last:
        blocks.append(_monitor_actions(hotfix, str(step.step)))
    return text, [b.to_dict() for b in blocks]


def _monitor_actions(hotfix: HotfixSnapshot, which: str) -> ActionsBlock:
    """All green / Problem — roll back, under a check (``which``: its step) or a held end."""
    return ActionsBlock(
        block_id=f"{BlockId.MONITOR_ACTIONS}:{which}",
        elements=[
            hotfix_button("All green", ActionId.ALL_GREEN, hotfix, "primary"),
            rollback_button(hotfix, "Problem — roll back"),
        ],
    )


def summary(
    hotfix: HotfixSnapshot, passed: int, failed: int, confirmed: Sequence[str], window: str
) -> tuple[str, list[dict]]:
    who = ", ".join(mrkdwn.user(u) for u in confirmed) or "nobody"
    text = (
        f"🏁 *{hotfix.key}*: the {window} monitoring window of `{hotfix.deployed_version}` "
        "is over: "
        f"{passed} check(s) healthy, {failed} failed; all green confirmed by {who}. "
        "Next: merging the fix back (`/hotfix merge-back " + hotfix.key + "`)."
    )
    blocks = [SectionBlock(text=MarkdownTextObject(text=text))]
    return text, [b.to_dict() for b in blocks]


def held(
    hotfix: HotfixSnapshot, passed: int, failed: int, window: str, alert: Sequence[str]
) -> tuple[str, list[dict]]:
    """The window is over but its last check failed: merge back waits for a person."""
    text = (
        f"🏁 ⚠️ *{hotfix.key}*: the {window} monitoring window of `{hotfix.deployed_version}` "
        f"is over, but its last check failed ({passed} check(s) healthy, {failed} failed), "
        f"so merge back waits.\n{' '.join(alert)}: roll back, or press *All green* once you "
        "know production is well."
    )
    blocks: list[Block] = [
        SectionBlock(text=MarkdownTextObject(text=text)),
        _monitor_actions(hotfix, "held"),
    ]
    return text, [b.to_dict() for b in blocks]
