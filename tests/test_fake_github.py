"""The fake GitHub (sandbox/github_server.py) driven by the real PyGithub client.

No bot code is involved: these tests pin down that PyGithub works against the fake unchanged,
that the fake's state follows the real bare git repository behind it, that injected failures
surface as the exceptions PyGithub raises against GitHub, and that the OpenAPI checks are
clean for all of it and do catch a response that breaks GitHub's schema.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import github
import pytest
import requests
from github import Auth, Github, GithubException

from sandbox.github_server import (
    DEFAULT_SPEC_PATH,
    FakeGitHub,
    OpenApiChecker,
    implemented_operations,
)

REPO = "acme/payments"
BRANCH = "hotfix/SEC-1-x"


# --------------------------------------------------------------------------------------------
# A real bare repository: main with a file, a hotfix branch with one commit


def git(cwd: Path, *args: str) -> str:
    """Run git in ``cwd`` with a fixed identity and no user config; return stdout."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(
        GIT_AUTHOR_NAME="Dana Developer",
        GIT_AUTHOR_EMAIL="dana@example.com",
        GIT_COMMITTER_NAME="Dana Developer",
        GIT_COMMITTER_EMAIL="dana@example.com",
        GIT_CONFIG_GLOBAL=os.devnull,
        GIT_CONFIG_NOSYSTEM="1",
    )
    result = subprocess.run(
        ["git", *args], cwd=cwd, env=env, capture_output=True, text=True, check=True
    )
    return result.stdout.strip()


class Origin:
    """A bare repository and a working clone to push commits from."""

    def __init__(self, root: Path) -> None:
        self.bare = root / "payments.git"
        self.work = root / "work"
        git(root, "init", "-q", "--bare", "-b", "main", str(self.bare))
        git(root, "init", "-q", "-b", "main", str(self.work))
        git(self.work, "remote", "add", "origin", str(self.bare))
        self._write({"app/auth.py": "def check(token):\n    return True\n"}, "Initial")
        git(self.work, "push", "-q", "origin", "main")

    def _write(self, files: dict[str, str], message: str) -> None:
        for name, text in files.items():
            path = self.work / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
        git(self.work, "add", "-A")
        git(self.work, "commit", "-q", "-m", message)

    def commit(self, branch: str, files: dict[str, str], message: str) -> str:
        """Commit ``files`` on ``branch`` as it is in the bare repository (new: from main).

        Push it like a developer would, and return the new sha.
        """
        git(self.work, "fetch", "-q", "origin")
        exists = git(self.work, "branch", "-r", "--list", f"origin/{branch}")
        git(self.work, "checkout", "-q", "-B", branch, f"origin/{branch if exists else 'main'}")
        self._write(files, message)
        git(self.work, "push", "-q", "origin", branch)
        return git(self.work, "rev-parse", "HEAD")

    def rev(self, ref: str) -> str:
        """The sha ``ref`` names in the bare repository."""
        return git(self.bare, "rev-parse", ref)


@pytest.fixture
def origin(tmp_path: Path) -> Origin:
    """main with app/auth.py; hotfix/SEC-1-x with one commit (a fix and its test)."""
    repo = Origin(tmp_path)
    repo.commit(
        BRANCH,
        {
            "app/auth.py": "def check(token):\n    return bool(token)\n",
            "tests/test_auth.py": "def test_empty_token():\n    assert True\n",
        },
        "Reject empty tokens",
    )
    return repo


@pytest.fixture
def fake(origin: Origin) -> Iterator[FakeGitHub]:
    """A started fake serving acme/payments; its OpenAPI checks must be clean at the end."""
    server = FakeGitHub(token="ghp_bot", login="hotfix-bot")
    server.add_repo(REPO, origin.bare)
    server.add_user("alice", token="ghp_alice", email="alice@example.com")
    server.add_user("bob")
    server.add_team("acme/security", members=["carol"])
    with server:
        yield server
    server.assert_valid()


def client(fake: FakeGitHub, token: str | None = None, **options: Any) -> Github:
    """PyGithub as the bot builds it: no throttling, and no retries unless asked for."""
    options.setdefault("retry", None)
    return Github(
        base_url=fake.api_url,
        auth=Auth.Token(token or fake.token),
        seconds_between_requests=None,
        seconds_between_writes=None,
        **options,
    )


@pytest.fixture
def gh(fake: FakeGitHub) -> Github:
    """PyGithub authenticated as the bot."""
    return client(fake)


def open_pr(gh: Github) -> github.PullRequest.PullRequest:
    """Open the hotfix pull request into main."""
    return gh.get_repo(REPO).create_pull(
        base="main", head=BRANCH, title="Hotfix: token check (SEC-1)", body="Why and how."
    )


# --------------------------------------------------------------------------------------------
# Pull requests follow the real repository


def test_pull_request_reflects_the_real_diff_and_new_pushes(
    fake: FakeGitHub, gh: Github, origin: Origin
) -> None:
    repo = gh.get_repo(REPO)
    assert repo.full_name == REPO and repo.default_branch == "main"
    assert repo.url.startswith(fake.api_url)

    pr = open_pr(gh)
    assert pr.number == 1 and pr.state == "open" and pr.user.login == "hotfix-bot"
    assert pr.head.ref == BRANCH and pr.base.ref == "main"
    assert pr.head.sha == origin.rev(BRANCH) and pr.base.sha == origin.rev("main")
    assert pr.html_url == f"{fake.url}/{REPO}/pull/1"
    assert (pr.mergeable, pr.mergeable_state) == (True, "clean")
    assert (pr.commits, pr.additions, pr.deletions, pr.changed_files) == (1, 3, 1, 2)

    files = {f.filename: f for f in pr.get_files()}
    assert {name: (f.status, f.additions, f.deletions, f.changes) for name, f in files.items()} == {
        "app/auth.py": ("modified", 1, 1, 2),
        "tests/test_auth.py": ("added", 2, 0, 2),
    }
    assert "+    return bool(token)" in files["app/auth.py"].patch
    assert [c.commit.message for c in pr.get_commits()] == ["Reject empty tokens"]

    same = repo.get_pull(1)
    assert same.title == "Hotfix: token check (SEC-1)" and same.body == "Why and how."
    assert [p.number for p in repo.get_pulls(state="open", head=f"acme:{BRANCH}", base="main")] == [
        1
    ]
    assert list(repo.get_pulls(head="acme:other-branch")) == []

    second = origin.commit(
        BRANCH, {"app/auth.py": "def check(token):\n    return token != ''\n"}, "Tighten"
    )
    pr = repo.get_pull(1)
    assert pr.head.sha == second
    assert [c.sha for c in pr.get_commits()] == [origin.rev(f"{BRANCH}~1"), second]
    assert pr.commits == 2
    assert {f.filename: f.additions for f in pr.get_files()} == {
        "app/auth.py": 1,
        "tests/test_auth.py": 2,
    }

    pr.edit(title="Hotfix: empty token check (SEC-1)", body="Updated.")
    assert fake.pull(REPO, 1)["title"] == "Hotfix: empty token check (SEC-1)"
    pr.edit(state="closed")
    assert [p.number for p in repo.get_pulls(state="closed")] == [1]
    assert list(repo.get_pulls()) == []


def test_head_filter_needs_the_owner_like_on_github(fake: FakeGitHub, gh: Github) -> None:
    open_pr(gh)
    repo = gh.get_repo(REPO)
    # Without "owner:" GitHub ignores the filter: every open pull request comes back.
    assert [p.head.ref for p in repo.get_pulls(head="some-other-branch")] == [BRANCH]
    assert list(repo.get_pulls(head="acme:some-other-branch")) == []


def test_duplicate_pull_request_is_refused_with_githubs_422(fake: FakeGitHub, gh: Github) -> None:
    open_pr(gh)
    with pytest.raises(GithubException) as caught:
        open_pr(gh)
    error = caught.value
    assert error.status == 422
    assert error.message == "Validation Failed"  # PyGithub exposes the top-level message …
    # … and the reason only in the error list of the body.
    assert error.data["errors"][0]["message"] == f"A pull request already exists for acme:{BRANCH}."
    assert len(fake.pulls(REPO)) == 1


def test_pull_request_without_new_commits_is_refused(
    fake: FakeGitHub, gh: Github, origin: Origin
) -> None:
    git(origin.work, "push", "-q", "origin", "origin/main:refs/heads/empty")
    with pytest.raises(GithubException) as caught:
        gh.get_repo(REPO).create_pull(base="main", head="empty", title="Nothing")
    assert caught.value.status == 422
    assert caught.value.data["errors"][0]["message"] == "No commits between main and empty"


# --------------------------------------------------------------------------------------------
# Labels, review requests and reviews


def test_labels(fake: FakeGitHub, gh: Github) -> None:
    repo = gh.get_repo(REPO)
    label = repo.create_label("hotfix", "d73a4a", "Production hotfix")
    assert (label.name, label.color, label.description) == ("hotfix", "d73a4a", "Production hotfix")
    with pytest.raises(GithubException) as caught:
        repo.create_label("Hotfix", "000000")
    assert caught.value.status == 422
    assert caught.value.data["errors"] == [
        {"resource": "Label", "code": "already_exists", "field": "name"}
    ]
    assert repo.get_label("hotfix").id == label.id

    pr = open_pr(gh)
    pr.add_to_labels("hotfix", "security")  # an unknown label is created, like on GitHub
    assert [x.name for x in pr.get_labels()] == ["hotfix", "security"]
    assert {x.name for x in repo.get_labels()} == {"hotfix", "security"}
    assert [x["name"] for x in fake.pull(REPO, 1)["labels"]] == ["hotfix", "security"]
    pr.remove_from_labels("security")
    assert [x.name for x in pr.get_labels()] == ["hotfix"]


def test_review_requests_for_users_and_a_team(fake: FakeGitHub, gh: Github) -> None:
    pr = open_pr(gh)
    pr.create_review_request(reviewers=["alice", "bob"], team_reviewers=["security"])
    users, teams = pr.get_review_requests()
    assert [u.login for u in users] == ["alice", "bob"]
    assert [(t.slug, t.organization_id is not None) for t in teams] == [("security", True)]
    assert [u.login for u in gh.get_repo(REPO).get_pull(1).requested_reviewers] == ["alice", "bob"]

    with pytest.raises(GithubException) as caught:
        pr.create_review_request(reviewers=["mallory"])
    assert caught.value.status == 422 and "collaborator" in caught.value.message
    with pytest.raises(GithubException) as caught:
        pr.create_review_request(reviewers=["hotfix-bot"])
    assert caught.value.message == "Review cannot be requested from pull request author."

    pr.delete_review_request(reviewers=["bob"])
    assert [u.login for u in pr.get_review_requests()[0]] == ["alice"]

    # Submitting a review answers the request, for a user and for a team member.
    fake.add_review(REPO, 1, "alice", "APPROVED")
    fake.add_review(REPO, 1, "carol", "COMMENTED", body="Looks fine.")
    data = fake.pull(REPO, 1)
    assert data["requested_reviewers"] == [] and data["requested_teams"] == []


def test_reviews(fake: FakeGitHub, gh: Github, origin: Origin) -> None:
    pr = open_pr(gh)
    head = pr.head.sha
    fake.add_review(REPO, 1, "bob", "CHANGES_REQUESTED", body="Add a test.")

    as_alice = client(fake, "ghp_alice").get_repo(REPO).get_pull(1)
    review = as_alice.create_review(body="LGTM", event="APPROVE")
    assert (review.state, review.user.login, review.commit_id) == ("APPROVED", "alice", head)

    reviews = list(pr.get_reviews())
    assert [(r.user.login, r.state, r.commit_id) for r in reviews] == [
        ("bob", "CHANGES_REQUESTED", head),
        ("alice", "APPROVED", head),
    ]
    assert all(r.submitted_at is not None for r in reviews)

    with pytest.raises(GithubException) as caught:
        pr.create_review(event="APPROVE")  # the bot opened it
    assert caught.value.status == 422
    assert caught.value.data["errors"] == ["Can not approve your own pull request"]

    newer = origin.commit(BRANCH, {"README.md": "docs\n"}, "Docs")
    assert fake.add_review(REPO, 1, "bob", "APPROVED")["commit_id"] == newer


# --------------------------------------------------------------------------------------------
# CI: check runs and commit statuses


def test_check_runs_and_combined_status(fake: FakeGitHub, gh: Github) -> None:
    pr = open_pr(gh)
    commit = gh.get_repo(REPO).get_commit(pr.head.sha)
    combined = commit.get_combined_status()
    assert (combined.state, combined.total_count, list(combined.statuses)) == ("pending", 0, [])
    assert commit.get_check_runs().totalCount == 0

    fake.add_check_run(REPO, pr.head.sha, "tests", status="in_progress", conclusion=None)
    fake.add_check_run(REPO, BRANCH, "lint", conclusion="failure", html_url=f"{fake.url}/ci/1")
    runs = {r.name: r for r in commit.get_check_runs()}
    assert (runs["tests"].status, runs["tests"].conclusion) == ("in_progress", None)
    assert (runs["lint"].conclusion, runs["lint"].html_url) == ("failure", f"{fake.url}/ci/1")
    assert runs["lint"].pull_requests[0].number == 1
    assert gh.get_repo(REPO).get_pull(1).mergeable_state == "unstable"

    # Re-runs supersede earlier runs of the same name (GitHub's filter=latest).
    fake.add_check_run(REPO, pr.head.sha, "tests")
    fake.add_check_run(REPO, pr.head.sha, "lint")
    assert {r.name: r.conclusion for r in commit.get_check_runs()} == {
        "tests": "success",
        "lint": "success",
    }

    fake.set_status(REPO, pr.head.sha, "deploy/preview", "pending")
    assert commit.get_combined_status().state == "pending"
    fake.set_status(REPO, pr.head.sha, "deploy/preview", "success", target_url="https://ci/1")
    fake.set_status(REPO, pr.head.sha, "security/scan", "success")
    combined = commit.get_combined_status()
    assert (combined.state, combined.total_count) == ("success", 2)
    assert [s.state for s in commit.get_statuses()] == ["success", "success", "pending"]
    fake.set_status(REPO, pr.head.sha, "security/scan", "failure")
    assert commit.get_combined_status().state == "failure"


# --------------------------------------------------------------------------------------------
# Merging and tagging write to the bare repository


def test_merge_writes_a_real_merge_commit(fake: FakeGitHub, gh: Github, origin: Origin) -> None:
    pr = open_pr(gh)
    head, base = pr.head.sha, pr.base.sha
    assert not pr.is_merged()
    result = pr.merge(merge_method="merge", sha=head)
    assert result.merged and result.message == "Pull Request successfully merged"

    assert origin.rev("main") == result.sha
    assert git(origin.bare, "log", "-1", "--format=%P", "main").split() == [base, head]
    assert git(origin.bare, "log", "-1", "--format=%s", "main") == (
        f"Merge pull request #1 from acme/{BRANCH}"
    )
    assert (
        git(origin.bare, "show", "main:app/auth.py") == "def check(token):\n    return bool(token)"
    )

    merged = gh.get_repo(REPO).get_pull(1)
    assert (merged.state, merged.merged, merged.merge_commit_sha) == ("closed", True, result.sha)
    assert merged.merged_by.login == "hotfix-bot" and merged.is_merged()
    assert [c.sha for c in merged.get_commits()] == [head]
    with pytest.raises(GithubException) as caught:
        merged.merge()
    assert (caught.value.status, caught.value.message) == (405, "Pull Request is not mergeable")


def test_squash_merge_and_conflicts(fake: FakeGitHub, gh: Github, origin: Origin) -> None:
    pr = open_pr(gh)
    origin.commit("other", {"notes.txt": "x\n"}, "Notes")
    other = gh.get_repo(REPO).create_pull(base="main", head="other", title="Notes")

    result = pr.merge(merge_method="squash")
    assert git(origin.bare, "log", "-1", "--format=%P", "main") == pr.base.sha
    assert git(origin.bare, "log", "-1", "--format=%s", "main") == (
        "Hotfix: token check (SEC-1) (#1)"
    )
    assert origin.rev("main") == result.sha

    origin.commit("main", {"notes.txt": "y\n"}, "Conflicting notes")
    other = gh.get_repo(REPO).get_pull(other.number)
    assert (other.mergeable, other.mergeable_state) == (False, "dirty")
    with pytest.raises(GithubException) as caught:
        other.merge()
    assert (caught.value.status, caught.value.message) == (405, "Pull Request is not mergeable")
    with pytest.raises(GithubException) as caught:
        other.merge(sha="0" * 40)
    assert caught.value.status == 409


def test_annotated_tag_through_the_git_data_api(
    fake: FakeGitHub, gh: Github, origin: Origin
) -> None:
    repo = gh.get_repo(REPO)
    target = origin.rev(BRANCH)
    tag = repo.create_git_tag("v1.2.4", "Hotfix release 1.2.4", target, "commit")
    assert (tag.tag, tag.object.sha, tag.object.type) == ("v1.2.4", target, "commit")
    ref = repo.create_git_ref("refs/tags/v1.2.4", tag.sha)
    assert (ref.ref, ref.object.type, ref.object.sha) == ("refs/tags/v1.2.4", "tag", tag.sha)

    assert git(origin.bare, "cat-file", "-t", "v1.2.4") == "tag"
    assert git(origin.bare, "rev-parse", "v1.2.4^{commit}") == target
    assert git(origin.bare, "tag", "-l", "--format=%(contents:subject)", "v1.2.4") == (
        "Hotfix release 1.2.4"
    )
    fetched = repo.get_git_ref("tags/v1.2.4")
    assert (fetched.object.type, fetched.object.sha) == ("tag", tag.sha)
    assert repo.get_git_ref(f"heads/{BRANCH}").object.sha == target

    with pytest.raises(GithubException) as caught:
        repo.create_git_ref("refs/tags/v1.2.4", target)
    assert (caught.value.status, caught.value.message) == (422, "Reference already exists")
    with pytest.raises(github.UnknownObjectException):
        repo.get_git_ref("tags/v9.9.9")


# --------------------------------------------------------------------------------------------
# Pagination, identity, URLs


def test_pagination_follows_link_headers(fake: FakeGitHub) -> None:
    gh = client(fake, per_page=2)
    repo = gh.get_repo(REPO)
    for number in range(5):
        repo.create_label(f"label-{number}", "ededed")
    labels = repo.get_labels()
    assert [x.name for x in labels] == [f"label-{n}" for n in range(5)]
    assert labels.totalCount == 5
    pages = fake.requests_to("GET", r"/labels$")
    assert {r.query.get("page") for r in pages} >= {None, "2", "3"}


def test_user_rate_limit_and_every_url_on_the_fake_host(fake: FakeGitHub, gh: Github) -> None:
    assert gh.get_user().login == "hotfix-bot"
    assert client(fake, "ghp_alice").get_user().email == "alice@example.com"
    assert gh.get_rate_limit().resources.core.limit == 5000

    open_pr(gh)
    urls: list[str] = []

    def collect(node: Any) -> None:
        if isinstance(node, dict):
            for value in node.values():
                collect(value)
        elif isinstance(node, list):
            for value in node:
                collect(value)
        elif isinstance(node, str) and "://" in node:
            urls.append(node)

    collect(fake.pull(REPO, 1))
    collect(fake.add_check_run(REPO, BRANCH, "ci"))
    assert urls and all(
        u.startswith((f"{fake.url}/", f"git://127.0.0.1:{fake.port}/")) for u in urls
    ), [u for u in urls if fake.url not in u]
    assert all(r.headers["authorization"] == "token ghp_bot" for r in fake.requests[:1])


# --------------------------------------------------------------------------------------------
# Failures as PyGithub sees them


def test_bad_token(fake: FakeGitHub) -> None:
    with pytest.raises(github.BadCredentialsException) as caught:
        client(fake, "ghp_wrong").get_repo(REPO)
    assert caught.value.status == 401 and caught.value.data["message"] == "Bad credentials"


def test_server_error_then_recovery(fake: FakeGitHub, gh: Github) -> None:
    failure = fake.fail("GET", rf"^/repos/{REPO}$", status=500)
    with pytest.raises(GithubException) as caught:
        gh.get_repo(REPO)
    assert caught.value.status == 500
    assert gh.get_repo(REPO).name == "payments" and failure.hits == 1

    # PyGithub's default retry (GithubRetry) retries a 500 and succeeds.
    fake.fail("GET", rf"^/repos/{REPO}$", status=502, times=2)
    retrying = client(fake, retry=github.GithubRetry(total=3, backoff_factor=0.01))
    assert retrying.get_repo(REPO).name == "payments"


def test_primary_rate_limit(fake: FakeGitHub, gh: Github) -> None:
    fake.fail("*", r"^/repos/", rate_limit=True, times=None)
    with pytest.raises(github.RateLimitExceededException) as caught:
        gh.get_repo(REPO)
    error = caught.value
    assert error.status == 403
    # PyGithub leaves .message empty for rate limits: the text is in .data.
    assert error.message is None
    assert error.data["message"].startswith("API rate limit exceeded for user ID")
    assert error.headers["x-ratelimit-remaining"] == "0"
    assert int(error.headers["x-ratelimit-reset"]) > time.time()

    # A bounded GithubRetry refuses to sleep until the reset and says so.
    bounded = client(fake, retry=github.GithubRetry(total=3, max_rate_limit_wait=5))
    with pytest.raises(github.RateLimitExceededException) as caught:
        bounded.get_repo(REPO)
    assert type(caught.value).__name__ == "RateLimitExceededExceedsMaxWait"

    # Quirk: GithubRetry(total=0) turns the 403 into requests' RetryError instead.
    with pytest.raises(requests.exceptions.RetryError):
        client(fake, retry=github.GithubRetry(total=0)).get_repo(REPO)
    fake.recover()
    assert gh.get_repo(REPO).name == "payments"


def test_timeout(fake: FakeGitHub) -> None:
    fake.fail("GET", r"/pulls$", delay=2)
    repo = client(fake, timeout=1).get_repo(REPO)
    started = time.monotonic()
    with pytest.raises(requests.exceptions.Timeout):
        list(repo.get_pulls())
    assert time.monotonic() - started < 1.9


# --------------------------------------------------------------------------------------------
# OpenAPI conformance


def test_a_response_that_breaks_the_schema_is_caught(
    fake: FakeGitHub, gh: Github, monkeypatch: pytest.MonkeyPatch
) -> None:
    open_pr(gh)
    original = FakeGitHub._pull_json

    def without_node_id(self: FakeGitHub, *args: Any, **kwargs: Any) -> dict[str, Any]:
        data = original(self, *args, **kwargs)
        del data["node_id"]
        return data

    monkeypatch.setattr(FakeGitHub, "_pull_json", without_node_id)
    gh.get_repo(REPO).get_pull(1)  # PyGithub does not mind …
    with pytest.raises(AssertionError, match=r"'node_id' is a required property"):
        fake.assert_valid()  # … the schema does
    assert any(
        p.startswith("GET /repos/acme/payments/pulls/1 → 200") for p in fake.openapi_problems
    )
    fake.openapi_problems.clear()


def test_a_request_that_breaks_the_schema_is_caught(fake: FakeGitHub) -> None:
    request = urllib.request.Request(
        f"{fake.api_url}/repos/{REPO}/pulls",
        data=json.dumps({"title": 42, "head": BRANCH, "base": "main", "draft": "yes"}).encode(),
        headers={"Authorization": "Bearer ghp_bot", "Content-Type": "application/json"},
        method="POST",
    )
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request, timeout=5)
    assert caught.value.code == 422  # GitHub refuses a body that breaks its schema, too
    assert json.loads(caught.value.read())["message"].startswith("Invalid request.")
    assert fake.pulls(REPO) == []
    problems = "\n".join(fake.openapi_problems)
    assert "POST /repos/acme/payments/pulls: request:" in problems
    assert "$.title" in problems and "$.draft" in problems
    fake.openapi_problems.clear()

    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(
            urllib.request.Request(
                f"{fake.api_url}/repos/{REPO}/branches",
                headers={"Authorization": "token ghp_bot"},
            ),
            timeout=5,
        )
    assert caught.value.code == 404
    assert fake.openapi_problems == [
        "GET /repos/acme/payments/branches: not implemented by the fake GitHub"
    ]
    fake.openapi_problems.clear()


def test_the_subset_is_valid_openapi_and_covers_every_endpoint() -> None:
    from openapi_spec_validator import validate

    spec = json.loads(DEFAULT_SPEC_PATH.read_text())
    validate(spec)
    assert DEFAULT_SPEC_PATH.stat().st_size < 1_500_000
    checker = OpenApiChecker.for_path()
    missing = [(m, p) for m, p in implemented_operations() if checker.operation(p, m) is None]
    assert missing == []


def app_client(fake: FakeGitHub, app_id: int, key: str, installation_id: int) -> Github:
    auth = Auth.AppAuth(app_id, key).get_installation_auth(installation_id)
    return Github(
        base_url=fake.api_url,
        auth=auth,
        seconds_between_requests=None,
        seconds_between_writes=None,
        retry=None,
    )


def test_a_github_app_trades_its_jwt_for_an_expiring_installation_token(
    fake: FakeGitHub,
) -> None:
    key = fake.add_app(4242, installation_id=77, token_lifetime=3600)
    gh = app_client(fake, 4242, key, 77)
    pull = gh.get_repo(REPO).create_pull(base="main", head=BRANCH, title="Fix", body="")
    assert pull.user.login == "hotfix-bot[bot]" and pull.user.type == "Bot"
    assert gh.get_repo(REPO).get_pull(pull.number).title == "Fix"
    [token] = fake.installation_tokens()  # one token, reused until it nears expiry
    assert token.startswith("ghs_")
    minted = fake.requests_to("POST", r"^/app/installations/77/access_tokens$")
    assert minted[0].headers["authorization"].startswith("Bearer ey")

    # Tokens about to expire are replaced before use.
    short = fake.add_app(4343, installation_id=78, slug="short", token_lifetime=1)
    gh = app_client(fake, 4343, short, 78)
    assert gh.get_repo(REPO).get_pulls().totalCount == 1
    assert gh.get_repo(REPO).get_pulls().totalCount == 1
    assert len(fake.installation_tokens()) >= 3


def test_a_github_app_is_refused_with_a_wrong_key_installation_or_token_use(
    fake: FakeGitHub,
) -> None:
    fake.add_app(4242, installation_id=77)
    stranger = fake.add_app(9999, installation_id=99, slug="other")
    with pytest.raises(GithubException) as wrong_key:
        app_client(fake, 4242, stranger, 77).get_repo(REPO)
    assert wrong_key.value.status == 401

    key = fake.add_app(5050, installation_id=50, slug="third")
    with pytest.raises(GithubException) as not_installed:
        app_client(fake, 5050, key, 51).get_repo(REPO)
    assert not_installed.value.status == 404

    # The JWT itself opens only the app endpoints.
    jwt_only = Github(base_url=fake.api_url, auth=Auth.AppAuth(5050, key), retry=None)
    with pytest.raises(GithubException) as repo_with_jwt:
        jwt_only.get_repo(REPO)
    assert repo_with_jwt.value.status == 401
