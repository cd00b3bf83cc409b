"""GitHub through PyGithub: the hotfix PR, its reviews and its CI, with bounded retries.

Writes are idempotent by looking first (an open PR for the branch, a label, a requested
reviewer), so a retry after a failure never creates a second one. Every failure becomes a
``GitHubFailed`` with one line a person can act on; nothing here sleeps for an hour on a
rate limit.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import requests
from github import (
    Auth,
    Github,
    GithubException,
    GithubIntegration,
    GithubRetry,
    RateLimitExceededException,
)
from github.PullRequest import PullRequest
from github.Repository import Repository

from workflows.github_actions import GREEN_CONCLUSIONS, WorkflowRuns

log = logging.getLogger(__name__)

TEST_PATH_MARKERS = ("test", "spec")


class GitHubFailed(Exception):
    """A GitHub call that did not happen; ``reason`` is one line for the Slack thread."""

    def __init__(self, operation: str, reason: str) -> None:
        super().__init__(f"{operation}: {reason}")
        self.operation = operation
        self.reason = reason


@dataclass(frozen=True)
class PullRequestInfo:
    number: int
    url: str
    title: str
    head_branch: str
    head_sha: str
    base: str
    state: str  # open | closed
    merged: bool
    author: str
    body: str = ""


@dataclass(frozen=True)
class ChangedFile:
    name: str
    additions: int
    deletions: int

    @property
    def is_test(self) -> bool:
        lowered = self.name.lower()
        return any(marker in lowered for marker in TEST_PATH_MARKERS)


@dataclass(frozen=True)
class ChangeSummary:
    """The real diff of a PR: what the reviewer and the "keep it minimal" check look at."""

    files: tuple[ChangedFile, ...]

    @property
    def additions(self) -> int:
        return sum(f.additions for f in self.files)

    @property
    def deletions(self) -> int:
        return sum(f.deletions for f in self.files)

    @property
    def lines(self) -> int:
        return self.additions + self.deletions

    @property
    def test_files(self) -> tuple[ChangedFile, ...]:
        return tuple(f for f in self.files if f.is_test)

    @property
    def test_lines_added(self) -> int:
        return sum(f.additions for f in self.test_files)


@dataclass(frozen=True)
class ReviewInfo:
    user: str
    state: str  # APPROVED | CHANGES_REQUESTED | COMMENTED | DISMISSED
    commit: str | None


@dataclass(frozen=True)
class CommitInfo:
    sha: str
    author: str | None  # GitHub login, when GitHub knows it
    message: str


@dataclass(frozen=True)
class ChecksState:
    """CI on one commit, from both check runs (Actions) and commit statuses."""

    state: str  # green | pending | failing
    failing: tuple[tuple[str, str | None], ...] = ()  # (name, link)
    pending: tuple[str, ...] = ()


@dataclass(frozen=True)
class AppIdentity:
    """A GitHub App: its id, its private key (PEM) and, if known, its installation's id."""

    app_id: int
    private_key: str = field(repr=False)
    installation_id: int | None = None


class GitHubRepository(WorkflowRuns):
    """One ``owner/name`` repository on ``api_url`` (github.com or Enterprise ``/api/v3``)."""

    def __init__(
        self,
        api_url: str,
        auth: str | Auth.Auth | AppIdentity,
        full_name: str,
        *,
        credentials: str = "GITHUB_TOKEN",
        timeout: int = 15,
        retries: int = 2,
        throttle: bool = True,
    ) -> None:
        retry = GithubRetry(
            total=retries,
            backoff_factor=0.5,
            # A rate limit is reported, not slept through: the person can retry later.
            max_rate_limit_wait=0,
            secondary_rate_wait=0,
            allowed_methods=frozenset({"GET", "HEAD"}),
            status_forcelist=[500, 502, 503, 504],
        )
        self._options: dict[str, Any] = {
            "base_url": api_url.rstrip("/"),
            "timeout": timeout,
            "retry": retry,
            "seconds_between_requests": 0.25 if throttle else None,
            "seconds_between_writes": 1.0 if throttle else None,
        }
        self._app: AppIdentity | None = None
        self._github: Github | None = None
        self._lock = threading.Lock()
        if isinstance(auth, AppIdentity) and auth.installation_id is None:
            self._app = auth  # its installation on this repository is looked up on first use
        elif isinstance(auth, AppIdentity):
            self._github = self._client_as(auth.installation_id or 0, auth)
        else:
            token = Auth.Token(auth) if isinstance(auth, str) else auth
            self._github = Github(auth=token, lazy=True, **self._options)
        self.full_name = full_name
        self._timeout = timeout
        self._credentials = credentials  # what to check when GitHub refuses them

    def _client_as(self, installation_id: int, app: AppIdentity) -> Github:
        auth = Auth.AppAuth(app.app_id, app.private_key).get_installation_auth(installation_id)
        return Github(auth=auth, lazy=True, **self._options)

    def _client(self) -> Github:
        """The API client; for a GitHub App without an installation id, found now (once)."""
        with self._lock:
            if self._github is None:
                assert self._app is not None
                owner, _, name = self.full_name.partition("/")
                integration = GithubIntegration(
                    auth=Auth.AppAuth(self._app.app_id, self._app.private_key), **self._options
                )
                try:
                    installation = integration.get_repo_installation(owner, name)
                finally:
                    integration.close()
                log.info("GitHub App installation for %s: %s", self.full_name, installation.id)
                self._github = self._client_as(installation.id, self._app)
            return self._github

    def close(self) -> None:
        if self._github is not None:
            self._github.close()

    @contextmanager
    def _call(self, operation: str) -> Iterator[None]:
        try:
            yield
        except RateLimitExceededException as error:
            reset = _reset_time(error)
            raise GitHubFailed(
                operation,
                "GitHub's rate limit is used up" + (f"; it resets at {reset}" if reset else ""),
            ) from None
        except GithubException as error:
            raise GitHubFailed(operation, _explain(error, self._credentials)) from None
        except requests.exceptions.RetryError:
            raise GitHubFailed(operation, "GitHub kept failing; tried again and gave up") from None
        except (requests.Timeout, TimeoutError):
            reason = f"GitHub did not answer within {self._timeout} s"
            raise GitHubFailed(operation, reason) from None
        except (requests.ConnectionError, OSError) as error:
            reason = f"could not reach GitHub ({type(error).__name__})"
            raise GitHubFailed(operation, reason) from None

    def _repo(self) -> Repository:
        return self._client().get_repo(self.full_name)

    def reachable(self) -> str:
        """The repository's full name as GitHub gives it, read with the bot's credentials
        (``check-config``); ``GitHubFailed`` says why not."""
        with self._call(f"read the repository {self.full_name}"):
            return self._client().get_repo(self.full_name, lazy=False).full_name

    # ------------------------------------------------------------------ PRs

    def find_pull(self, head_branch: str, base: str) -> PullRequestInfo | None:
        """The open PR from ``head_branch`` into ``base``, if someone (or we) opened one."""
        with self._call(f"look for the PR of {head_branch}"):
            owner = self.full_name.split("/")[0]
            for pull in self._repo().get_pulls(
                state="open", head=f"{owner}:{head_branch}", base=base
            ):
                return _info(pull)
        return None

    def merged_pull(self, head_branch: str, base: str) -> PullRequestInfo | None:
        """A PR from ``head_branch`` into ``base`` that was merged (also by squash or rebase,
        which git's ancestry cannot see)."""
        with self._call(f"look for a merged PR of {head_branch}"):
            owner = self.full_name.split("/")[0]
            pulls = self._repo().get_pulls(state="closed", head=f"{owner}:{head_branch}", base=base)
            for pull in pulls:
                if pull.merged:
                    return _info(pull)
        return None

    def open_pull(
        self, *, head_branch: str, base: str, title: str, body: str
    ) -> tuple[PullRequestInfo, bool]:
        """Open the PR, or adopt the one already open; returns (PR, created)."""
        existing = self.find_pull(head_branch, base)
        if existing is not None:
            return existing, False
        with self._call(f"open a PR from {head_branch} into {base}"):
            pull = self._repo().create_pull(base=base, head=head_branch, title=title, body=body)
            return _info(pull), True

    def describe(self, number: int, body: str) -> None:
        """Set the PR's description (only when it differs)."""
        with self._call(f"describe PR #{number}"):
            pull = self._repo().get_pull(number)
            if (pull.body or "") != body:
                pull.edit(body=body)

    def open_issue(self, title: str, body: str, labels: Iterable[str] = ()) -> str:
        """Open an issue (the post-mortem); returns its web address."""
        with self._call("open the post-mortem issue"):
            issue = self._repo().create_issue(title=title, body=body, labels=list(labels))
            return str(issue.html_url)

    def pull(self, number: int) -> PullRequestInfo:
        with self._call(f"read PR #{number}"):
            return _info(self._repo().get_pull(number))

    def label(self, number: int, labels: Iterable[str]) -> None:
        wanted = [label for label in labels if label]
        if not wanted:
            return
        with self._call(f"label PR #{number}"):
            issue = self._repo().get_issue(number)
            have = {label.name for label in issue.get_labels()}
            missing = [label for label in wanted if label not in have]
            if missing:
                issue.add_to_labels(*missing)

    def request_reviewers(self, number: int, reviewers: Iterable[str]) -> None:
        """Logins and ``org/team`` slugs; those already requested are skipped, and so is the
        PR's author (GitHub refuses to ask them)."""
        users = [r for r in reviewers if "/" not in r]
        teams = [r.split("/", 1)[1] for r in reviewers if "/" in r]
        if not users and not teams:
            return
        with self._call(f"request reviewers on PR #{number}"):
            pull = self._repo().get_pull(number)
            requested_users, requested_teams = pull.get_review_requests()
            skip = {u.login.lower() for u in requested_users}
            if pull.user is not None:
                skip.add(pull.user.login.lower())
            have_teams = {t.slug.lower() for t in requested_teams}
            new_users = [u for u in users if u.lower() not in skip]
            new_teams = [t for t in teams if t.lower() not in have_teams]
            if new_users or new_teams:
                pull.create_review_request(reviewers=new_users, team_reviewers=new_teams)

    def changes(self, number: int) -> ChangeSummary:
        with self._call(f"read the changes of PR #{number}"):
            files = self._repo().get_pull(number).get_files()
            return ChangeSummary(
                tuple(ChangedFile(f.filename, f.additions, f.deletions) for f in files)
            )

    def commits(self, number: int) -> list[CommitInfo]:
        with self._call(f"read the commits of PR #{number}"):
            return [
                CommitInfo(c.sha, c.author.login if c.author else None, c.commit.message)
                for c in self._repo().get_pull(number).get_commits()
            ]

    def reviews(self, number: int) -> list[ReviewInfo]:
        with self._call(f"read the reviews of PR #{number}"):
            return [
                ReviewInfo(r.user.login if r.user else "", r.state, r.commit_id)
                for r in self._repo().get_pull(number).get_reviews()
            ]

    def checks(self, sha: str) -> ChecksState:
        """Green only when every check run is done and green and the combined status is
        success — or there are no statuses at all (GitHub then says "pending")."""
        with self._call(f"read CI of {sha[:7]}"):
            commit = self._repo().get_commit(sha)
            failing: list[tuple[str, str | None]] = []
            pending: list[str] = []
            for run in commit.get_check_runs():
                if run.status != "completed":
                    pending.append(run.name)
                elif run.conclusion not in GREEN_CONCLUSIONS:
                    failing.append((run.name, run.html_url or run.details_url))
            combined = commit.get_combined_status()
            if combined.total_count:
                for status in combined.statuses:
                    if status.state in ("failure", "error"):
                        failing.append((status.context, status.target_url))
                    elif status.state == "pending":
                        pending.append(status.context)
        if failing:
            return ChecksState("failing", tuple(failing), tuple(pending))
        if pending:
            return ChecksState("pending", (), tuple(pending))
        return ChecksState("green")


def _info(pull: PullRequest) -> PullRequestInfo:
    return PullRequestInfo(
        number=pull.number,
        url=pull.html_url,
        title=pull.title,
        head_branch=pull.head.ref,
        head_sha=pull.head.sha,
        base=pull.base.ref,
        state=pull.state,
        merged=bool(pull.merged),
        author=pull.user.login if pull.user else "",
        body=pull.body or "",
    )


def _explain(error: GithubException, credentials: str) -> str:
    data = error.data if isinstance(error.data, dict) else {}
    message = str(data.get("message") or "").strip()
    details = "; ".join(
        str(e.get("message") or e.get("code"))
        for e in data.get("errors") or []
        if isinstance(e, dict)
    )
    if error.status == 401:
        return f"GitHub refused the bot's credentials (401 Bad credentials): check {credentials}"
    if error.status == 403:
        return f"GitHub refused (403): {message or 'forbidden'}"
    if error.status == 404:
        return (
            f"not found on GitHub (404): check repository.github and that {credentials} can "
            "reach that repository"
        )
    if error.status >= 500:
        return f"GitHub answered {error.status}; it is having trouble, try again shortly"
    return f"GitHub answered {error.status}: {message}{f' ({details})' if details else ''}"


def _reset_time(error: RateLimitExceededException) -> str | None:
    headers = error.headers or {}
    value = headers.get("x-ratelimit-reset") or headers.get("X-RateLimit-Reset")
    if not value or not str(value).isdigit():
        return None
    return datetime.fromtimestamp(int(value), UTC).strftime("%H:%M UTC")
