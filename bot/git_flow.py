"""Runs the hotfix's git and GitHub steps off the request thread; reports each in the thread.

Every step shows progress ("⏳ …"), then its result; a failure says which operation failed
and why in one line, with a Retry button, and leaves the hotfix where it was.
"""

from __future__ import annotations

import contextlib
import logging
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from slack_sdk.errors import SlackApiError
from slack_sdk.models.blocks import Block

from bot.card import CardPublisher
from bot.ids import ActionId
from bot.lanes import Lane
from bot.render import git as render
from storage.db import DatabaseUnavailable
from workflows.config import Policy
from workflows.errors import DomainError
from workflows.git_repo import GitOperationFailed
from workflows.github_client import GitHubFailed
from workflows.hotfix_git import HotfixGit
from workflows.hotfixes import REVIEW_STATES, HotfixMovedOn, HotfixService
from workflows.review import PR_STATES, HotfixReview, ReviewReset
from workflows.scheduler import Timers
from workflows.snapshot import HotfixSnapshot, MessageRef

log = logging.getLogger(__name__)

CI_POLL_JOB = "ci_poll"


class GitQueueFull(DomainError):
    def __init__(self) -> None:
        super().__init__(
            "Too many git steps are waiting already, so this one was not started. Start it "
            "again in a minute (its button, or its /hotfix command)."
        )


class GitFlow:
    """The Slack side of ``HotfixGit`` (branch, merge back) and ``HotfixReview`` (PR, CI)."""

    def __init__(
        self,
        git: HotfixGit,
        review: HotfixReview,
        service: HotfixService,
        cards: CardPublisher,
        policy: Policy,
        lane: Lane,
        *,
        github_configured: bool,
        timers: Timers | None = None,
    ) -> None:
        self.git = git
        self.review = review
        review.on_reset = self._announce_reset
        git.on_base_moved = self._announce_base_moved
        self._github_configured = github_configured
        self._timers = timers
        if timers is not None:
            timers.register(CI_POLL_JOB, self._poll_ci)
        self._service = service
        self._cards = cards
        self._policy = policy
        self._lane = lane

    def _later(self, work: Callable[[], None], what: str) -> None:
        """Queue a git step (one repository: one at a time); refused when too many wait."""
        if not self._lane.offer(work, what=what):
            raise GitQueueFull()

    @property
    def auto_branch(self) -> bool:
        return self._policy.repository.auto_branch

    def choose_base(self, hotfix_id: int, tag: str, actor: str) -> HotfixSnapshot:
        """``/hotfix base``: quick (one ls-remote), so it runs on the request."""
        return self.git.choose_base(hotfix_id, tag, actor=actor)

    # ---------------------------------------------------------------- triggers

    def after_open(self, hotfix_id: int) -> None:
        """Record the production base of a new hotfix (so approvers see what they approve)."""
        try:
            self._later(lambda: self._find_base(hotfix_id), f"base of HF-{hotfix_id}")
        except GitQueueFull:  # the branch step reads the production tag itself
            log.warning("HF-%s: production tag not read now: too many git steps wait", hotfix_id)

    def after_approval(self, hotfix_id: int, actor: str) -> None:
        hotfix = self._service.get(hotfix_id)
        if self.auto_branch:
            self.create_branch(hotfix_id, actor)
        else:
            text, blocks = render.create_branch_offer(hotfix)
            self._cards.say(hotfix, text, blocks)

    def create_branch(self, hotfix_id: int, actor: str) -> None:
        self._expect(hotfix_id, ("approved",), actor)
        self._later(lambda: self._create_branch(hotfix_id, actor), f"branch of HF-{hotfix_id}")

    def open_pr(self, hotfix_id: int, actor: str) -> None:
        self._expect(hotfix_id, PR_STATES, actor)
        self._later(lambda: self._open_pr(hotfix_id, actor), f"PR of HF-{hotfix_id}")

    def check_ci(self, hotfix_id: int) -> HotfixSnapshot:
        """Read the PR's head and CI now (a button, /hotfix status, the poll); the card
        follows, and a new head that reset the review is said in the thread."""
        return self.review.check_ci(hotfix_id)

    def approve_review(self, hotfix_id: int, reviewer: str) -> HotfixSnapshot:
        """ "Approve review" (its rules are ``HotfixReview.approve``)."""
        return self.review.approve(hotfix_id, reviewer=reviewer)

    def _announce_reset(self, reset: ReviewReset) -> None:
        self._cards.say(
            reset.hotfix,
            render.review_reset(reset, github_approval=self._policy.review.require_github_approval),
        )

    def _announce_base_moved(self, hotfix: HotfixSnapshot, now_at: str) -> None:
        self._cards.say(hotfix, render.base_moved(hotfix, now_at))

    def sync_ci_poll(self, hotfix_id: int) -> None:
        """After any change: while a hotfix is in review or ready to deploy, the PR's head and
        CI are re-read every poll interval."""
        if self._timers is None:
            return
        hotfix = self._service.get(hotfix_id)
        prefix = f"hotfix-{hotfix_id}-ci-"
        if hotfix.state not in REVIEW_STATES or hotfix.pr_number is None:
            for job_id, _ in self._timers.pending(prefix):
                self._timers.cancel(job_id)
        elif not self._timers.pending(prefix):
            self._arm_ci_poll(hotfix_id)

    def _arm_ci_poll(self, hotfix_id: int) -> None:
        assert self._timers is not None
        self._timers.at(
            datetime.now(UTC) + self._policy.review.poll_interval,
            CI_POLL_JOB,
            hotfix_id,
            f"hotfix-{hotfix_id}-ci-{uuid.uuid4().hex[:8]}",
            replace=False,
        )

    def _poll_ci(self, hotfix_id: int) -> None:
        hotfix = self._service.get(hotfix_id)
        if hotfix.state not in REVIEW_STATES:
            return
        try:
            self.check_ci(hotfix_id)
        except (GitHubFailed, DatabaseUnavailable, DomainError) as error:
            log.warning("%s: CI not read (%s); trying again at the next poll", hotfix.key, error)
        self._arm_ci_poll(hotfix_id)

    def merge_back(self, hotfix_id: int, actor: str) -> None:
        self._expect(hotfix_id, ("merging_back",), actor)
        self._later(lambda: self._merge_back(hotfix_id, actor), f"merge back of HF-{hotfix_id}")

    def finish_merge_back(self, hotfix_id: int, actor: str) -> None:
        """Run merge back again once what held the close is done (the security close-out):
        whoever ticked the last item need not be one who may drive the hotfix."""
        self._later(lambda: self._merge_back(hotfix_id, actor), f"merge back of HF-{hotfix_id}")

    def _expect(self, hotfix_id: int, states: tuple[str, ...], actor: str) -> None:
        """Refuse at once (privately) who may not, or what the hotfix's state no longer allows."""
        hotfix = self._service.get(hotfix_id)
        self._service.may_drive(hotfix, actor, "run its git steps")
        if hotfix.state not in states:
            raise HotfixMovedOn(hotfix.key, hotfix.state)

    # ------------------------------------------------------------------- steps

    def _step(
        self,
        hotfix: HotfixSnapshot,
        what: str,
        retry: ActionId | None,
        work: Callable[[], tuple[str, Sequence[Block]] | None],
        *,
        show_progress: bool = True,
    ) -> None:
        """Run one git step: progress first, then its result or one line saying why not.

        Whatever goes wrong ends in the thread (with Retry where it makes sense), built from
        what is already known, so even a database outage cannot leave "⏳" behind.
        """
        progress = self._progress(hotfix, what) if show_progress else None
        outcome: tuple[str, Sequence[Block]] | None
        try:
            outcome = work()
        except (GitOperationFailed, GitHubFailed) as failure:
            detail = getattr(failure, "detail", "")
            log.warning("%s: %s%s", hotfix.key, failure, f" — {detail}" if detail else "")
            outcome = render.git_failed(hotfix, failure.operation, failure.reason, retry)
        except DomainError as refused:  # the bot's own words (may hold mentions): not escaped
            outcome = render.git_failed(hotfix, what, refused.user_message, retry, trusted=True)
        except DatabaseUnavailable:
            outcome = render.git_failed(hotfix, what, "the bot's database is unavailable", retry)
        except Exception:  # the thread must hear about it; the log keeps the trace
            log.exception("%s: %s failed unexpectedly", hotfix.key, what)
            outcome = render.git_failed(
                hotfix, what, "an unexpected error (the bot's log has the details)", retry
            )
        if outcome is not None:
            self._finish(hotfix, progress, *outcome)

    def _find_base(self, hotfix_id: int) -> None:
        hotfix = self._service.get(hotfix_id)

        def work() -> tuple[str, Sequence[Block]] | None:
            found = self.git.find_base(hotfix_id)
            if found.base_tag:
                return None
            return render.no_base(found, self.git.pattern), []

        self._step(hotfix, "reading the production tags", None, work, show_progress=False)

    def _create_branch(self, hotfix_id: int, actor: str) -> None:
        hotfix = self._service.get(hotfix_id)
        self._step(
            hotfix,
            f"cutting the hotfix branch from {hotfix.base_tag or 'the production tag'}",
            ActionId.CREATE_BRANCH,
            lambda: render.branch_ready(
                self.git.create_branch(hotfix_id, actor=actor), offer_pr=self._github_configured
            ),
        )

    def _open_pr(self, hotfix_id: int, actor: str) -> None:
        hotfix = self._service.get(hotfix_id)

        def work() -> tuple[str, Sequence[Block]]:
            opened = self.review.open_pr(
                hotfix_id, actor=actor, thread_link=self._cards.permalink(hotfix)
            )
            if opened.disclosures:
                self._cards.say(hotfix, render.disclosure_warning(hotfix, list(opened.disclosures)))
            if opened.warnings:
                self._cards.say(hotfix, render.minimal_warnings(hotfix, opened.warnings))
            if opened.not_done:
                self._cards.say(hotfix, render.pr_extras_failed(hotfix, opened.not_done))
            text, blocks = render.review_request(
                opened,
                people=self._policy.people,
                reviewers=self._policy.review.github_reviewers,
            )
            review_channel = self._policy.channels.review
            if review_channel:
                refused = self._cards.announce(review_channel, text, blocks, drill=hotfix.drill)
                if refused is not None:
                    self._cards.say(hotfix, render.not_announced(review_channel, refused))
            with contextlib.suppress(GitHubFailed):  # the poll reads it again shortly
                self.check_ci(hotfix_id)  # the card shows CI from now on
            return text, blocks

        self._step(hotfix, "opening the pull request", ActionId.OPEN_PR, work)

    def _merge_back(self, hotfix_id: int, actor: str) -> None:
        hotfix = self._service.get(hotfix_id)

        def work() -> tuple[str, Sequence[Block]]:
            hits = self.git.disclosures(hotfix_id) if hotfix.security_fix else []
            if hits:
                self._cards.say(hotfix, render.disclosure_warning(hotfix, hits))
            return render.merge_back_report(self.git.merge_back(hotfix_id, actor=actor))

        self._step(hotfix, "merging the fix back", ActionId.MERGE_BACK, work)

    # ----------------------------------------------------------------- talking

    def _progress(self, hotfix: HotfixSnapshot, what: str) -> MessageRef | None:
        try:
            return self._cards.post_in_thread(hotfix, render.working(hotfix, what))
        except SlackApiError:
            return None

    def _finish(
        self,
        hotfix: HotfixSnapshot,
        progress: MessageRef | None,
        text: str,
        blocks: Sequence[Block],
    ) -> None:
        if progress is None:
            self._cards.say(hotfix, text, blocks)
        else:
            self._cards.replace_in_thread(
                hotfix, progress, text, [b.to_dict() for b in blocks] or None
            )
