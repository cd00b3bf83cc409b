"""What the thread says about git: the branch and how to start, failures, merge back."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    MarkdownTextObject,
    SectionBlock,
)

from bot import mrkdwn
from bot.ids import ActionId, BlockId
from workflows.durations import format_duration
from workflows.github_client import GitHubFailed
from workflows.hotfix_git import MergeBackReport
from workflows.lifecycle import state_name
from workflows.naming import Disclosure
from workflows.review import TESTING_ITEMS, OpenedPullRequest, ReviewReset
from workflows.snapshot import HotfixSnapshot


def _button(label: str, action: ActionId, hotfix: HotfixSnapshot, style: str | None = None):
    return ButtonElement(text=label, action_id=action, value=str(hotfix.id), style=style)


def _next_step(hotfix: HotfixSnapshot, label: str, action: ActionId, hint: str) -> list[Block]:
    """The one button that moves the hotfix on, and the command that does the same."""
    return [
        ActionsBlock(
            block_id=BlockId.GIT_ACTIONS, elements=[_button(label, action, hotfix, "primary")]
        ),
        ContextBlock(elements=[MarkdownTextObject(text=hint)]),
    ]


def branch_ready(hotfix: HotfixSnapshot, *, offer_pr: bool = False) -> tuple[str, list[Block]]:
    """Phase 2 done: the exact commands to start work (and, with GitHub, the PR button)."""
    branch = mrkdwn.escape(hotfix.branch or "")
    text = (
        f"🌿 *{hotfix.key}*: branch `{branch}` is cut from `{hotfix.base_tag}` and pushed"
        f"{f' (ships as `{hotfix.version}`)' if hotfix.version else ''}. Start here:\n"
        f"```git fetch origin && git switch {branch}```\n"
        "Keep the change minimal: fix only this issue, with a test."
    )
    blocks: list[Block] = [SectionBlock(text=MarkdownTextObject(text=text))]
    if offer_pr:
        blocks += _next_step(
            hotfix,
            "Open PR",
            ActionId.OPEN_PR,
            f"When the fix is pushed: Open PR, or `/hotfix pr {hotfix.key}`.",
        )
    return text, blocks


def base_moved(hotfix: HotfixSnapshot, now_at: str) -> str:
    """The base tag was moved between approval and branch: say where the branch starts."""
    approved = (hotfix.base_commit or "")[:12]
    return (
        f"⚠️ *{hotfix.key}*: `{hotfix.base_tag}` has moved since it was approved (it is now at "
        f"`{now_at[:12]}`). The branch starts at `{approved}`, the commit the approvers saw. "
        f"If production really runs the new `{hotfix.base_tag}`, abort and start again from it."
    )


def create_branch_offer(hotfix: HotfixSnapshot) -> tuple[str, list[Block]]:
    text = (
        f"🌱 *{hotfix.key}*: create its branch from `{hotfix.base_tag}` when you are ready."
        if hotfix.base_tag
        else f"🌱 *{hotfix.key}*: choose its production base first "
        f"(`/hotfix base {hotfix.key} <tag>`), then create its branch."
    )
    return text, [
        SectionBlock(text=MarkdownTextObject(text=text)),
        ActionsBlock(
            block_id=BlockId.GIT_ACTIONS,
            elements=[_button("Create branch", ActionId.CREATE_BRANCH, hotfix, "primary")],
        ),
    ]


def git_failed(
    hotfix: HotfixSnapshot,
    what: str,
    reason: str,
    retry: ActionId | None,
    *,
    trusted: bool = False,
) -> tuple[str, list[Block]]:
    """One line: which operation failed and why; a Retry button; the state is unchanged.

    ``reason`` is escaped unless ``trusted`` (the bot's own message, which may mention people).
    """
    why = reason.rstrip(".") if trusted else mrkdwn.fit(reason.rstrip("."), 500)
    text = (
        f"⚠️ *{hotfix.key}*: {mrkdwn.escape(what)} failed — {why}. "
        f"{hotfix.key} stays *{state_name(hotfix.state).lower()}*; what was already done is "
        "kept, so retrying is safe."
    )
    blocks: list[Block] = [SectionBlock(text=MarkdownTextObject(text=text))]
    if retry is not None:
        blocks.append(
            ActionsBlock(
                block_id=BlockId.GIT_ACTIONS, elements=[_button("Retry", retry, hotfix, "primary")]
            )
        )
    return text, blocks


def no_base(hotfix: HotfixSnapshot, pattern: str) -> str:
    return (
        f"⚠️ *{hotfix.key}*: no tag on the remote matches `{mrkdwn.escape(pattern)}`, so there "
        "is no production base to branch from yet. Push the tag of the release in production "
        "(or fix `repository.tag_pattern` in the policy file); the branch is cut from the "
        f"newest matching tag, or from one you name with `/hotfix base {hotfix.key} <tag>`."
    )


def working(hotfix: HotfixSnapshot, what: str) -> str:
    return f"⏳ *{hotfix.key}*: {what}…"


def _lines_within(lines: Sequence[str], limit: int) -> str:
    """Whole lines up to ``limit`` characters (no link or code span cut in half)."""
    kept: list[str] = []
    size = 0
    for index, line in enumerate(lines):
        if size + len(line) + 1 > limit - 30:
            kept.append(f"…and {len(lines) - index} more")
            break
        kept.append(line)
        size += len(line) + 1
    return "\n".join(kept)


#: Slack shows at most 50 blocks in a message: a report shows this many conflicts in full.
MAX_CONFLICT_BLOCKS = 40


def merge_back_report(report: MergeBackReport) -> tuple[str, list[Block]]:
    """Per target: merged, already there, or conflicting (with the commands to resolve)."""
    hotfix = report.hotfix
    branch = mrkdwn.escape(hotfix.branch or "")
    lines = [f"✅ merged into `{t}`" for t in report.merged]
    lines += [f"✅ `{t}` already has the fix" for t in report.already]
    lines += [f"⏭️ `{t}` does not exist on the remote; skipped" for t in report.missing]
    lines += [
        f"🔃 `{t}`: pull request <{url}|opened> — merge it, then re-check"
        for t, url in report.pull_requests.items()
    ]
    blocks: list[Block] = []
    conflicts = list(report.conflicts.items())
    hidden = [target for target, _ in conflicts[MAX_CONFLICT_BLOCKS:]]
    if hidden:  # first, so that no cut can hide them
        named = ", ".join(f"`{t}`" for t in hidden[:10]) + (", …" if len(hidden) > 10 else "")
        lines.insert(
            0, f"❌ {len(hidden)} more targets conflict: {named} (resolve them like those below)"
        )
    for target, files in conflicts[:MAX_CONFLICT_BLOCKS]:
        shown = "\n".join(f"• `{mrkdwn.escape(f)}`" for f in files[:20])
        more = f"\n…and {len(files) - 20} more" if len(files) > 20 else ""
        lines.append(f"❌ `{target}` conflicts")
        blocks.append(
            SectionBlock(
                text=MarkdownTextObject(
                    text=mrkdwn.plain(
                        f"*Conflicts merging into `{target}`:*\n{shown}{more}\n"
                        "Resolve by hand (keep the hotfix's change, keep the target's new work):\n"
                        f"```git fetch origin\ngit switch {target}\ngit merge --no-ff "
                        f"origin/{branch}\n# resolve, test\ngit commit\ngit push origin "
                        f"{target}```",
                        3000,
                    )
                )
            )
        )
    if report.closed:
        head = f"🔀 *{hotfix.key}* is merged back everywhere; branch `{branch}` is deleted."
    elif not report.conflicts and not report.pull_requests:
        head = (
            f"🔒 *{hotfix.key}* is merged back, and stays open until a holder of Security "
            "ticks its security close-out checklist in this thread (or waives it with "
            f"`/hotfix security-waive {hotfix.key} <reason>`); it then closes by itself."
        )
    else:
        waiting = "the conflicts below" if report.conflicts else "its pull requests to be merged"
        head = f"🔀 *{hotfix.key}*: merge back is waiting for {waiting}."
    lines += [f"🔒 still open before it closes: {item}" for item in report.security_pending]
    summary = SectionBlock(text=MarkdownTextObject(text=_lines_within([head, *lines], 3000)))
    blocks.insert(0, summary)
    if not report.closed and (report.conflicts or report.pull_requests):
        blocks += _next_step(
            hotfix,
            "Re-check merge back",
            ActionId.MERGE_BACK,
            f"Or `/hotfix merge-back {hotfix.key}`: targets already merged are skipped, so "
            "re-running is always safe.",
        )
    return head, blocks


def disclosure_warning(hotfix: HotfixSnapshot, hits: list[Disclosure]) -> str:
    quoted = "\n".join(
        f"• {h.where}: “{mrkdwn.fit(h.text, 200)}” ({', '.join(h.words)})" for h in hits[:10]
    )
    return (
        f"🔒 *{hotfix.key} is a security fix, but these public messages say what it fixes:*\n"
        f"{quoted}\n"
        "Reword them before anything is pushed further (procedure, Security Hotfix Pattern):\n"
        "BAD: `Fix SQL injection in user search`\n"
        "GOOD: `Improve input validation in search functionality`"
    )


def review_request(
    opened: OpenedPullRequest, *, people: Mapping[str, str], reviewers: Sequence[str]
) -> tuple[str, list[Block]]:
    """The procedure's Slack template: "🚨 HOTFIX PR Ready for Review — URGENT"."""
    hotfix, pull, summary = opened.hotfix, opened.pull, opened.summary
    issue = (
        "Security fix (details in the incident thread)"
        if hotfix.security_fix
        else (mrkdwn.fit(hotfix.title, 300))
    )
    named = [mrkdwn.user(people[r]) if r in people else f"`{mrkdwn.escape(r)}`" for r in reviewers]
    eta = format_duration(hotfix.estimated_fix) if hotfix.estimated_fix else "as soon as reviewed"
    tests = (
        f"{len(summary.test_files)} test files, {summary.test_lines_added} test lines added"
        if summary.test_files
        else "no test changes"
    )
    text = "\n".join(
        [
            "🚨 *HOTFIX PR Ready for Review — URGENT*",
            f"*Issue:* {issue}",
            f"*PR:* <{pull.url}|#{pull.number}>" + ("" if opened.created else " (adopted)"),
            f"*Branch:* `{mrkdwn.escape(pull.head_branch)}`",
            f"*Reviewers:* {', '.join(named) or 'anyone but the author'}",
            f"*ETA to deploy:* {eta}",
            "*Change Summary:*",
            f"• {len(summary.files)} files, +{summary.additions} −{summary.deletions} lines",
            f"• {tests}",
            "*Testing Done:* "
            + " · ".join(f"{'✅' if t in opened.tested else '⬜'} {t}" for t in TESTING_ITEMS)
            + ("" if opened.tested else " (the author ticks them in the PR description)"),
            f"*Urgency:* {hotfix.severity.label} production issue — needs immediate review.",
            "Please review ASAP — ping the requester with any questions!",
        ]
    )
    return text, [
        SectionBlock(text=MarkdownTextObject(text=mrkdwn.plain(text, 3000))),
        ActionsBlock(
            block_id=BlockId.GIT_ACTIONS,
            elements=[_button("Re-check CI", ActionId.RECHECK_CI, hotfix)],
        ),
    ]


def pr_extras_failed(hotfix: HotfixSnapshot, failures: Sequence[GitHubFailed]) -> str:
    """The PR is open, but GitHub refused a label or a review request."""
    listed = "\n".join(f"• could not {f.operation}: {mrkdwn.escape(f.reason)}" for f in failures)
    return (
        f"⚠️ *{hotfix.key}*: the PR is open, but not everything around it is done:\n{listed}\n"
        "Fix `review.labels` / `review.github_reviewers` in the policy file, or do it on GitHub."
    )


def minimal_warnings(hotfix: HotfixSnapshot, warnings: Sequence[str]) -> str:
    listed = "\n".join(f"• {w}" for w in warnings[:15])
    return f"⚠️ *{hotfix.key}: keep changes minimal.*\n{listed}"


def review_reset(reset: ReviewReset, *, github_approval: bool) -> str:
    """ "2 new commits since approval": what changed, what was cleared, what to do now."""
    hotfix = reset.hotfix
    since = "approval" if reset.was_approved else "the checklist was ticked"
    if reset.new_commits is None:
        what = f"The PR's branch was rewritten since {since}"
    else:
        plural = "" if reset.new_commits == 1 else "s"
        what = f"{reset.new_commits} new commit{plural} since {since}"
    cleared = (
        "The review approval and every checklist tick are cleared; the hotfix is back in review."
        if reset.was_approved
        else "Every checklist tick is cleared."
    )
    again = " and approve it on GitHub" if github_approval else ""
    return (
        f"🔁 *{hotfix.key}*: {what} (`{reset.old_head[:7]}` → `{reset.new_head[:7]}`). "
        f"{cleared} Review the new head, tick the checklist again{again}."
    )


def not_announced(channel: str, error: str) -> str:
    """The review channel did not get the announcement: why, and how to fix it."""
    where = mrkdwn.channel(channel)
    fix = {
        "not_in_channel": f"invite the bot there (`/invite @Hotfix Bot` in {where})",
        "channel_not_found": "check `channels.review` in the policy file",
        "is_archived": "the channel is archived: unarchive it or change `channels.review`",
    }.get(error, "Slack refused it; the bot's log has the details")
    return (
        f"⚠️ The review request was not posted in {where} ({error}): {fix}. "
        "Reviewers can use this thread."
    )
