"""The procedure's Phase 4 on GitHub: the hotfix PR, its change summary and its warnings.

Opening the PR is idempotent: an open PR for the branch (opened by hand, or by an earlier
attempt) is adopted; labels and review requests already there are left alone.
"""

from __future__ import annotations

import fnmatch
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass

from workflows.config import Policy
from workflows.errors import DomainError
from workflows.github_client import (
    ChangeSummary,
    GitHubFailed,
    GitHubRepository,
    PullRequestInfo,
)
from workflows.hotfixes import BOT_ACTOR, REVIEW_STATES, HotfixMovedOn, HotfixService
from workflows.lifecycle import Refused
from workflows.naming import Disclosure, find_disclosures
from workflows.roles import mention
from workflows.snapshot import HotfixSnapshot
from workflows.targets import Targets

#: The procedure's "Hotfix Review Checklist" (id, text); security items for security fixes.
REVIEW_ITEMS: tuple[tuple[str, str], ...] = (
    ("addresses", "Fix addresses the stated problem"),
    ("minimal", "Changes are minimal and focused"),
    ("unrelated", "No unrelated changes included"),
    ("tests", "Tests added/updated appropriately"),
    ("regressions", "No obvious regressions"),
    ("deploy_plan", "Deployment plan is clear"),
    ("rollback_plan", "Rollback plan is documented"),
    ("merges_cleanly", "Changes will merge cleanly to main branch"),
)
SECURITY_ITEMS: tuple[tuple[str, str], ...] = (
    ("security_reviewed", "Security team has reviewed"),
    ("no_new_vulnerabilities", "Fix doesn't introduce new vulnerabilities"),
    ("no_sensitive_data", "No sensitive data exposed in logs/errors"),
)
SECURITY_ROLE = "security"


def required_items(hotfix: HotfixSnapshot) -> tuple[str, ...]:
    items = REVIEW_ITEMS + (SECURITY_ITEMS if hotfix.security_fix else ())
    return tuple(item for item, _ in items)


#: The hotfix's PR may be opened (or adopted again) while the fix is being written or reviewed.
PR_STATES = ("fixing", "in_review")


@dataclass(frozen=True)
class OpenedPullRequest:
    hotfix: HotfixSnapshot
    pull: PullRequestInfo
    created: bool
    summary: ChangeSummary
    warnings: tuple[str, ...]
    disclosures: tuple[Disclosure, ...]
    not_done: tuple[GitHubFailed, ...] = ()  # labels or review requests GitHub refused
    tested: tuple[str, ...] = ()  # the "Testing done" items the author ticked


@dataclass(frozen=True)
class ReviewReset:
    """The PR's head moved after ticks or an approval: what was cleared, and why."""

    hotfix: HotfixSnapshot
    was_approved: bool
    old_head: str
    new_head: str
    new_commits: int | None  # None: the branch was rewritten (a force-push)


class ReviewWasReset(Refused):
    """ "Approve review" found a new head: the ticks it relied on are gone."""

    def __init__(self, reset: ReviewReset) -> None:
        self.reset = reset
        super().__init__(
            f"{reset.hotfix.key}'s PR has new commits since the checklist was ticked: "
            "review the new head and tick the checklist again."
        )


def pr_title(hotfix: HotfixSnapshot) -> str:
    """The procedure's ``Hotfix: <title> (<ticket>)``; neutral for a security fix."""
    ticket = f" ({hotfix.ticket})" if hotfix.ticket else ""
    if hotfix.security_fix:
        return f"Hotfix {hotfix.version or hotfix.key}{ticket}"
    return f"Hotfix: {hotfix.title}{ticket}"


#: The "Testing done" boxes of the PR description; the author ticks what they did.
TESTING_ITEMS: tuple[str, ...] = (
    "Unit tests",
    "Integration tests",
    "Manual verification in staging",
)


def testing_done(body: str) -> tuple[str, ...]:
    """The testing items ticked (``- [x] Unit tests``) in a PR description."""
    ticked = {
        match.group(1).strip().lower()
        for match in re.finditer(r"^\s*[-*] \[[xX]\] (.+?)\s*$", body, flags=re.MULTILINE)
    }
    return tuple(item for item in TESTING_ITEMS if item.lower() in ticked)


def pr_body(
    hotfix: HotfixSnapshot,
    summary: ChangeSummary | None,
    thread_link: str,
    tested: tuple[str, ...] = (),
) -> str:
    """What a reviewer needs: the issue, the change, the testing, deploy and rollback."""
    issue = (
        "A security fix: details are in the Slack thread, not here."
        if hotfix.security_fix
        else hotfix.title
    )
    impact = "See the Slack thread." if hotfix.security_fix else hotfix.impact
    if summary is None:
        change = "_Computed once the PR exists._"
    else:
        change = (
            f"{len(summary.files)} files, +{summary.additions} −{summary.deletions} lines; "
            f"{len(summary.test_files)} test files, {summary.test_lines_added} test lines added"
        )
    migration = (
        " and follow the migration's rollback (two-phase deploy)."
        if hotfix.needs_migration
        else "."
    )
    return "\n".join(
        [
            f"**Hotfix {hotfix.key}** · severity **{hotfix.severity.label}**"
            + (f" · ticket {hotfix.ticket}" if hotfix.ticket else ""),
            "",
            f"**Issue:** {issue}",
            f"**Impact:** {impact}",
            f"**Base:** `{hotfix.base_tag}` → ships as `{hotfix.version}`",
            f"**Change summary:** {change}",
            "",
            "**Testing done** (author, tick what you did):",
            *(f"- [{'x' if item in tested else ' '}] {item}" for item in TESTING_ITEMS),
            "",
            f"**Deploy plan:** tag `{hotfix.version}` on the reviewed head, deploy it, verify the "
            "health check, monitor for 30 minutes.",
            f"**Rollback plan:** redeploy `{hotfix.base_tag}`{migration}",
            "",
            f"Slack thread: {thread_link}",
        ]
    )


#: Ends the part of a PR description the bot writes; what follows is the author's and kept.
BODY_END = "<!-- hotfix-bot: the text above is written by Hotfix Bot; below it is kept -->"


def described(ours: str, existing: str) -> str:
    """The PR description: the bot's part, then whatever the author wrote (a PR opened by
    hand keeps its own description below the bot's)."""
    kept = existing.split(BODY_END, 1)[1] if BODY_END in existing else existing
    kept = kept.strip()
    return f"{ours}\n\n{BODY_END}" + (f"\n\n{kept}" if kept else "")


#: A suspicious-path pattern with one of these words is about schema migrations, which a
#: hotfix flagged as needing a migration is expected to change.
MIGRATION_WORDS = ("migrat", "alembic", "flyway", "liquibase")


def _is_migration_path(pattern: str) -> bool:
    return any(word in pattern.lower() for word in MIGRATION_WORDS)


def size_warnings(summary: ChangeSummary, policy: Policy, *, needs_migration: bool) -> list[str]:
    """Where the change is not "minimal", and why that matters in a hotfix."""
    review = policy.review
    warnings = []
    if len(summary.files) > review.max_files:
        warnings.append(
            f"{len(summary.files)} files changed (more than {review.max_files}): every extra "
            "file is one more thing that can break in production."
        )
    if summary.lines > review.max_lines:
        warnings.append(
            f"{summary.lines} lines changed (more than {review.max_lines}): a hotfix fixes one "
            "thing; refactors wait for the normal release."
        )
    patterns = [
        p for p in review.suspicious_paths if not (needs_migration and _is_migration_path(p))
    ]
    for changed in summary.files:
        hit = next((p for p in patterns if fnmatch.fnmatch(changed.name, p)), None)
        if hit:
            warnings.append(
                f"`{changed.name}` is changed (matches `{hit}`): lock files, CI configuration "
                "and migrations change more than the fix itself."
            )
    if not summary.test_files:
        warnings.append("No test file changed: the procedure asks for a test with the fix.")
    return warnings


class HotfixReview:
    """Opens (or adopts) the hotfix PR and describes it."""

    def __init__(
        self,
        service: HotfixService,
        policy: Policy,
        github: GitHubRepository | Targets | None,
    ) -> None:
        self._service = service
        self._policy = policy
        self._targets = github if isinstance(github, Targets) else None
        self._only = None if isinstance(github, Targets) else github
        #: Told of every reset as soon as it is recorded (the Slack layer says it in the
        #: thread), whatever happens to the rest of the read that found it.
        self.on_reset: Callable[[ReviewReset], None] = lambda reset: None
        # One CI reading per hotfix at a time (poll, Re-check, status): an older reading
        # recorded after a newer one would show a stale CI state until the next poll.
        self._reading = threading.Lock()
        self._readers: dict[int, threading.Lock] = {}

    def _github_of(self, hotfix: HotfixSnapshot) -> GitHubRepository | None:
        """The team's GitHub repository, or the drills' scratch one for a drill."""
        return self._only if self._targets is None else self._targets.of(hotfix).github

    def open_pr(self, hotfix_id: int, *, actor: str, thread_link: str) -> OpenedPullRequest:
        hotfix = self._service.get(hotfix_id)
        if hotfix.state not in PR_STATES:
            raise HotfixMovedOn(hotfix.key, hotfix.state)
        if self._github_of(hotfix) is None:
            raise DomainError(
                "GitHub is not configured: set `repository.github` in the policy file and "
                "`GITHUB_TOKEN` (or `GITHUB_APP_ID` and `GITHUB_APP_PRIVATE_KEY`) in the "
                "environment."
            )
        if not hotfix.branch:
            raise DomainError(f"{hotfix.key} has no branch yet.")
        github = self._github_of(hotfix)
        base = self._policy.repository.production_branch
        pull, created = github.open_pull(
            head_branch=hotfix.branch,
            base=base,
            title=pr_title(hotfix),
            body=described(pr_body(hotfix, None, thread_link), ""),
        )
        summary = github.changes(pull.number)
        tested = testing_done(pull.body)  # describing again keeps what the author ticked
        github.describe(
            pull.number, described(pr_body(hotfix, summary, thread_link, tested), pull.body)
        )
        not_done: list[GitHubFailed] = []
        # The PR is there either way: a refused label or review request is said, not fatal.
        for extra in (
            lambda: github.label(pull.number, self._policy.review.labels),
            lambda: github.request_reviewers(pull.number, self._policy.review.github_reviewers),
        ):
            try:
                extra()
            except GitHubFailed as failure:
                not_done.append(failure)
        disclosures: list[Disclosure] = []
        if hotfix.security_fix:
            commits = github.commits(pull.number)
            authors_text = pull.body.split(BODY_END, 1)[-1].strip()
            disclosures = find_disclosures(
                [("PR title", pull.title), ("PR description", authors_text)]
                + [(f"commit {c.sha[:7]}", c.message) for c in commits],
                self._policy.security.disclosing_words,
            )
        changes: dict[str, object] = {"pr_number": pull.number, "pr_url": pull.url}
        detail = {"pr": pull.number, "url": pull.url, "adopted": not created}
        if hotfix.state == "fixing":
            changes["review_head"] = pull.head_sha  # what the review will be of
            hotfix = self._service.fire(
                hotfix_id, "pr_opened", actor=actor, detail=detail, changes=changes
            )
        else:
            hotfix = self._service.note(
                hotfix_id, actor=actor, kind="pr_described", detail=detail, changes=changes
            )
        return OpenedPullRequest(
            hotfix,
            pull,
            created,
            summary,
            tuple(size_warnings(summary, self._policy, needs_migration=hotfix.needs_migration)),
            tuple(disclosures),
            tuple(not_done),
            tested,
        )

    def check_ci(self, hotfix_id: int) -> HotfixSnapshot:
        """Read the PR's head and its CI, and record them (the card shows CI); a change of CI
        state is a line in the timeline, a new head resets the review."""
        with self._reading:
            reader = self._readers.setdefault(hotfix_id, threading.Lock())
        with reader:
            return self._check_ci(hotfix_id)

    def _check_ci(self, hotfix_id: int) -> HotfixSnapshot:
        hotfix = self._service.get(hotfix_id)
        github = self._github_of(hotfix)
        if github is None or hotfix.pr_number is None:
            raise DomainError(f"{hotfix.key} has no pull request yet.")
        pull = github.pull(hotfix.pr_number)
        self._follow_head(hotfix, pull)
        checks = github.checks(pull.head_sha)
        detail = {
            "sha": pull.head_sha,
            "failing": [[name, link] for name, link in checks.failing],
            "pending": list(checks.pending),
        }
        return self._service.note(
            hotfix_id,
            actor=BOT_ACTOR,
            kind="ci",
            detail={"state": checks.state, **detail},
            changes={"ci_state": checks.state, "ci_detail": detail},
            unless=lambda row: row.ci_state == checks.state and row.ci_detail == detail,
        )

    def _follow_head(self, hotfix: HotfixSnapshot, pull: PullRequestInfo) -> ReviewReset | None:
        """A head the review has not seen clears its ticks and approval (see ``follow_head``)."""
        old = hotfix.review_head
        if pull.head_sha == old or hotfix.state not in REVIEW_STATES:
            return None
        new_commits: int | None = None
        if old is not None:
            shas = (
                [c.sha for c in self._github_of(hotfix).commits(pull.number)]
                if self._github_of(hotfix)
                else []
            )
            if old in shas:
                new_commits = len(shas) - shas.index(old) - 1
        followed = self._service.follow_head(
            hotfix.id,
            seen=old,
            head=pull.head_sha,
            detail={"from": old, "to": pull.head_sha, "new_commits": new_commits},
        )
        if followed is None or followed.was_in is None or old is None:
            return None  # nothing was cleared, or another reader announced it
        reset = ReviewReset(
            followed.hotfix, followed.was_in == "ready_to_deploy", old, pull.head_sha, new_commits
        )
        self.on_reset(reset)
        return reset

    def approve(self, hotfix_id: int, *, reviewer: str) -> HotfixSnapshot:
        """ "Approve review": every item ticked, by someone who did not write or request the
        fix (a Security role holder for a security fix), CI green and — if required — an
        approving GitHub review on the current head. Then the hotfix is ready to deploy."""
        hotfix = self._service.get(hotfix_id)
        if hotfix.state != "in_review":
            raise HotfixMovedOn(hotfix.key, hotfix.state)
        github = self._github_of(hotfix)
        if github is None or hotfix.pr_number is None:
            raise DomainError(f"{hotfix.key} has no pull request to review yet.")
        if reviewer == hotfix.requester_id:
            raise Refused(
                f"You requested {hotfix.key}, so you cannot approve its review: get another "
                "pair of eyes."
            )
        pull = github.pull(hotfix.pr_number)
        reset = self._follow_head(hotfix, pull)
        if reset is not None:
            raise ReviewWasReset(reset)
        hotfix = self._service.get(hotfix_id)  # the ticks, as of this head
        authors = {pull.author} | {c.author for c in github.commits(pull.number) if c.author}
        own_logins = {login for login, slack in self._policy.people.items() if slack == reviewer}
        if own_logins & authors:
            raise Refused(
                f"You wrote part of {hotfix.key}'s change, so someone else must review it."
            )
        reviewer_roles = self._service.directory.roles_of(reviewer)
        if hotfix.security_fix and SECURITY_ROLE not in reviewer_roles:
            reviewer_roles.require_known([SECURITY_ROLE])
            holders = ", ".join(
                mention(p) for p in self._service.directory.principals(SECURITY_ROLE)
            )
            raise Refused(
                f"{hotfix.key} is a security fix: its review needs the Security role "
                f"({holders or 'nobody is configured'})."
            )
        ticked = set(hotfix.review_ticks.get(reviewer, ()))
        missing = [
            text
            for item, text in REVIEW_ITEMS + SECURITY_ITEMS
            if item in required_items(hotfix) and item not in ticked
        ]
        if missing:
            raise Refused(
                "Tick every item of the checklist first. Still open: " + "; ".join(missing) + "."
            )
        checks = github.checks(pull.head_sha)
        if checks.state != "green":
            what = ", ".join(name for name, _ in checks.failing) or ", ".join(checks.pending)
            raise Refused(f"CI is {checks.state} on the PR's head ({what}): wait for green.")
        if self._policy.review.require_github_approval and not any(
            r.state == "APPROVED" and r.user not in authors and r.commit == pull.head_sha
            for r in github.reviews(pull.number)
        ):
            raise Refused(
                f"GitHub has no approving review of the current head from someone other than "
                f"its author yet: approve <{pull.url}|the PR> on GitHub too."
            )
        # Recorded only if, under the row lock, the head is still the one checked here and
        # the reviewer's ticks are still all there (a push may have reset them meanwhile).
        return self._service.pass_review(
            hotfix_id,
            reviewer=reviewer,
            head=pull.head_sha,
            required=required_items(hotfix),
            detail={"head": pull.head_sha, "pr": pull.number},
        )
