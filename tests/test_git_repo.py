"""The git adapter against real repositories: a bare origin per test, a real clone, real pushes."""

from __future__ import annotations

import importlib.util
import logging
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests import git_fixtures
from tests.git_fixtures import AUTH_PY, Origin, build_origin, commit_on, run_git
from workflows import git_repo
from workflows.git_repo import (
    BranchTaken,
    GitOperationFailed,
    MergeConflict,
    Repository,
    Tag,
    TagConflict,
    format_tag,
    next_patch,
    redact,
    tag_version,
    validate_branch_name,
)

# The `origin` fixture (a fresh bare origin per test) lives with the builders.
origin = git_fixtures.origin

ROOT = Path(__file__).resolve().parent.parent
FIXED_AUTH_PY = "def authenticate(token):\n    return bool(token) and validate_token(token)\n"


@pytest.fixture(autouse=True)
def _no_user_git_config(monkeypatch: pytest.MonkeyPatch) -> None:
    # The adapter must work with nothing but what the URL and machine provide: keep the
    # developer's own git configuration out of these tests.
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", os.devnull)
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")


@pytest.fixture
def repository(origin: Origin, tmp_path: Path) -> Repository:
    return Repository(origin.url, tmp_path / "data", timeout=30)


def hotfix_branch(repository: Repository, origin: Origin, name: str = "hotfix/SEC-123") -> str:
    """A hotfix branch from v1.2.3 with the fix committed on it; returns its head."""
    repository.create_branch(name, "v1.2.3")
    return origin.commit_on(name, {"auth.py": FIXED_AUTH_PY}, "Check for an empty token")


def git_children() -> list[str]:
    """Descriptions of the ``git`` processes descending from this test process (via /proc)."""
    parents: dict[int, int] = {}
    names: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # "pid (comm) state ppid …": comm may hold spaces, so split after its last ')'.
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        ppid = int(stat[stat.rindex(")") + 2 :].split()[1])
        parents[int(entry.name)] = ppid
        names[int(entry.name)] = name
    mine = {os.getpid()}
    changed = True
    while changed:
        changed = False
        for pid, ppid in parents.items():
            if ppid in mine and pid not in mine:
                mine.add(pid)
                changed = True
    return [f"{pid} {names[pid]}" for pid in mine - {os.getpid()} if names[pid].startswith("git")]


# --------------------------------------------------------------------------- tags


def test_latest_production_tag_is_the_highest_release_not_a_prerelease(
    repository: Repository, origin: Origin
) -> None:
    latest = repository.latest_production_tag()

    assert latest == Tag("v1.2.3", (1, 2, 3), origin.head("main"))
    names = [tag.name for tag in repository.production_tags()]
    # Ordered as numbers (1.0.10 after 1.0.2); rc tags, nightly-2026, v01.2.4, v1.2, v2.0 ignored.
    assert names == [
        "v1.0.0",
        "v1.0.1",
        "v1.0.2",
        "v1.0.10",
        "v1.1.0",
        "v1.1.1",
        "v1.2.0",
        "v1.2.1",
        "v1.2.2",
        "v1.2.3",
    ]


def test_another_tag_pattern(repository: Repository, origin: Origin) -> None:
    tags = repository.production_tags("release-{major}.{minor}.{patch}")

    assert [tag.name for tag in tags] == ["release-1.9.0", "release-2.0.0"]
    assert tags[-1].commit == origin.head("main")
    assert repository.latest_production_tag("build-{major}.{minor}.{patch}") is None


def test_annotated_and_lightweight_tags_resolve_to_their_commit(
    repository: Repository, origin: Origin
) -> None:
    tags = {tag.name: tag for tag in repository.production_tags()}

    assert origin.object_type("refs/tags/v1.2.3") == "tag"
    assert origin.object_type("refs/tags/v1.2.1") == "commit"
    for name, tag in tags.items():
        assert tag.commit == origin.tag_commit(name), name
        assert origin.object_type(tag.commit) == "commit"


def test_tags_are_read_from_the_remote_not_the_clone(
    repository: Repository, origin: Origin
) -> None:
    assert repository.latest_production_tag().name == "v1.2.3"
    fix = origin.commit_on("main", {"auth.py": FIXED_AUTH_PY}, "Hotfix")
    origin.git("tag", "v1.2.4", fix)

    assert repository.latest_production_tag() == Tag("v1.2.4", (1, 2, 4), fix)
    origin.git("tag", "-d", "v1.2.4")
    assert repository.latest_production_tag().name == "v1.2.3"


def test_tag_names_and_versions() -> None:
    assert format_tag("v{major}.{minor}.{patch}", (1, 2, 4)) == "v1.2.4"
    assert format_tag("release-{major}.{minor}.{patch}", next_patch((2, 0, 9))) == "release-2.0.10"
    assert next_patch((1, 2, 3)) == (1, 2, 4)
    assert tag_version("v{major}.{minor}.{patch}", "v1.10.0") == (1, 10, 0)
    for not_a_release in ["v1.10.0-rc.2", "v01.2.3", "v1.2", "1.2.3", "v1.2.3 ", "nightly-2026"]:
        assert tag_version("v{major}.{minor}.{patch}", not_a_release) is None, not_a_release
    for bad_pattern in ["v{major}.{minor}", "v{major}.{minor}.{patch}.{build}", "v{major", ""]:
        with pytest.raises(ValueError):
            format_tag(bad_pattern, (1, 2, 3))


def test_remote_branches(repository: Repository, origin: Origin) -> None:
    assert repository.remote_branches() == origin.branches()
    assert list(repository.remote_branches("release/")) == ["release/1.3.0"]
    assert repository.branch_head("develop") == origin.head("develop")
    assert repository.branch_head("hotfix/none") is None


# --------------------------------------------------------------------------- branches


def test_create_branch_at_the_tag_and_again(repository: Repository, origin: Origin) -> None:
    tag_commit = origin.tag_commit("v1.2.3")

    first = repository.create_branch("hotfix/SEC-123-auth-bypass", "v1.2.3")
    assert (first.name, first.commit, first.created) == (
        "hotfix/SEC-123-auth-bypass",
        tag_commit,
        True,
    )
    assert origin.head("hotfix/SEC-123-auth-bypass") == tag_commit

    again = repository.create_branch("hotfix/SEC-123-auth-bypass", "v1.2.3")
    assert (again.commit, again.created) == (tag_commit, False)

    # Fixes already pushed: a re-run goes on and leaves them alone.
    fix = origin.commit_on("hotfix/SEC-123-auth-bypass", {"auth.py": FIXED_AUTH_PY}, "Fix")
    after_fix = repository.create_branch("hotfix/SEC-123-auth-bypass", "v1.2.3")
    assert (after_fix.commit, after_fix.created) == (fix, False)
    assert origin.head("hotfix/SEC-123-auth-bypass") == fix


def test_create_branch_at_the_approved_commit_of_a_tag_that_moved(
    repository: Repository, origin: Origin
) -> None:
    approved = origin.tag_commit("v1.2.3")
    repository.create_branch("hotfix/first", "v1.2.3")  # the clone knows the tag there
    moved_to = origin.git("rev-parse", "v1.2.2^{commit}")
    origin.git("tag", "-f", "v1.2.3", moved_to)

    cut = repository.create_branch("hotfix/SEC-1", "v1.2.3", at_commit=approved)
    assert (cut.commit, cut.tag_commit, cut.created) == (approved, moved_to, True)
    assert origin.head("hotfix/SEC-1") == approved

    with pytest.raises(GitOperationFailed) as gone:
        repository.create_branch("hotfix/SEC-2", "v1.2.3", at_commit="0" * 40)
    assert "the approved base commit 000000000000 of v1.2.3 is not on the remote" in str(gone.value)


def test_an_unrelated_branch_of_that_name_is_taken(repository: Repository, origin: Origin) -> None:
    origin.commit_on("hotfix/SEC-123", {"old.txt": "old\n"}, "Old experiment", start="v1.0.0")

    with pytest.raises(BranchTaken) as taken:
        repository.create_branch("hotfix/SEC-123", "v1.2.3")
    assert taken.value.name == "hotfix/SEC-123"
    assert isinstance(taken.value, GitOperationFailed)
    assert repository.create_branch("hotfix/SEC-123-2", "v1.2.3").created


def test_create_branch_from_a_missing_tag(repository: Repository) -> None:
    with pytest.raises(GitOperationFailed) as failed:
        repository.create_branch("hotfix/x", "v9.9.9")
    assert failed.value.reason == "tag v9.9.9 does not exist on the remote"


@pytest.mark.parametrize(
    "name",
    [
        "-x",
        "a..b",
        "HEAD",
        "x.lock",
        "a//b",
        "hotfix/café",
        "hotfix/auth bypass",
        "/x",
        "x/",
        "",
        "a" * 201,
        "a~1",
        "a:b",
        "x/.hidden",
        "x.",
        "refs/heads/x",
        "hotfix/\u0430uth",  # Cyrillic a
    ],
)
def test_validate_branch_name_refuses(name: str) -> None:
    with pytest.raises(ValueError, match="not a valid branch name"):
        validate_branch_name(name)


@pytest.mark.parametrize(
    "name", ["hotfix/SEC-123-auth-bypass", "hotfix/1.2.4-auth-bypass", "hotfix/critical_leak"]
)
def test_validate_branch_name_accepts(name: str) -> None:
    assert validate_branch_name(name) == name


def test_operations_refuse_bad_names_before_running_git(repository: Repository) -> None:
    with pytest.raises(ValueError):
        repository.create_branch("--upload-pack=touch /tmp/pwned", "v1.2.3")
    with pytest.raises(ValueError):
        repository.create_tag("-v1", "main", "message")
    with pytest.raises(ValueError):
        repository.create_tag("v1.2.4", "main", "message", expected_commit="HEAD~1")
    assert not repository.path.exists()


def test_commits_on_branch_lists_what_came_after_the_tag(
    repository: Repository, origin: Origin
) -> None:
    assert repository.commits_on_branch("main", "v1.2.3") == []
    first = hotfix_branch(repository, origin)
    second = origin.commit_on(
        "hotfix/SEC-123", {"tests/test_auth.py": "def test_empty(): ...\n"}, "Test it\n\nSEC-123"
    )

    commits = repository.commits_on_branch("hotfix/SEC-123", "v1.2.3")

    assert [c.sha for c in commits] == [first, second]
    assert commits[0].summary == "Check for an empty token"
    assert (commits[1].summary, commits[1].message) == ("Test it", "Test it\n\nSEC-123")
    assert (commits[0].author_name, commits[0].author_email) == (
        "Dana Developer",
        "dana@example.com",
    )
    assert [c.summary for c in repository.commits_on_branch("develop", "v1.2.3")] == [
        "Add feature flags",
        "Add dark mode",
    ]
    with pytest.raises(GitOperationFailed, match="branch hotfix/none does not exist"):
        repository.commits_on_branch("hotfix/none", "v1.2.3")


# --------------------------------------------------------------------------- tags we create


def test_create_tag_is_annotated_idempotent_and_never_moves(
    repository: Repository, origin: Origin
) -> None:
    head = hotfix_branch(repository, origin)
    message = "Hotfix: Authentication bypass fix (SEC-123)\n\n# not a comment"

    created = repository.create_tag("v1.2.4", "hotfix/SEC-123", message)

    assert (created.name, created.commit, created.created) == ("v1.2.4", head, True)
    assert origin.object_type("refs/tags/v1.2.4") == "tag"
    assert origin.tag_commit("v1.2.4") == head
    assert origin.tag_message("v1.2.4") == message
    assert repository.create_tag("v1.2.4", "hotfix/SEC-123", message).created is False
    assert repository.latest_production_tag() == Tag("v1.2.4", (1, 2, 4), head)

    with pytest.raises(TagConflict) as conflict:
        repository.create_tag("v1.2.2", "hotfix/SEC-123", "Hotfix")
    assert conflict.value.reason == "tag v1.2.2 exists on another commit"
    assert origin.tag_commit("v1.2.2") != head

    origin.commit_on("hotfix/SEC-123", {"more.txt": "more\n"}, "More")
    with pytest.raises(TagConflict):
        repository.create_tag("v1.2.4", "hotfix/SEC-123", message)
    assert origin.tag_commit("v1.2.4") == head


def test_create_tag_on_the_reviewed_commit_only(repository: Repository, origin: Origin) -> None:
    reviewed = hotfix_branch(repository, origin)
    origin.commit_on("hotfix/SEC-123", {"late.txt": "pushed after the review\n"}, "Late change")

    with pytest.raises(GitOperationFailed) as moved:
        repository.create_tag("v1.2.4", "hotfix/SEC-123", "Hotfix", expected_commit=reviewed)
    assert moved.value.reason == "branch moved since review"
    assert str(moved.value) == "tag v1.2.4: branch moved since review"
    assert "v1.2.4" not in origin.git("tag", "--list")

    head = origin.head("hotfix/SEC-123")
    result = repository.create_tag("v1.2.4", "hotfix/SEC-123", "Hotfix", expected_commit=head[:12])
    assert (result.commit, result.created) == (head, True)
    # After tagging, the re-run with the reviewed commit is recognised even if the branch moves.
    origin.commit_on("hotfix/SEC-123", {"later.txt": "x\n"}, "Even later")
    again = repository.create_tag("v1.2.4", "hotfix/SEC-123", "Hotfix", expected_commit=head)
    assert (again.commit, again.created) == (head, False)


def test_an_existing_lightweight_tag_on_the_same_commit_counts_as_done(
    repository: Repository, origin: Origin
) -> None:
    repository.create_branch("hotfix/same", "v1.2.1")
    result = repository.create_tag("v1.2.1", "hotfix/same", "Release 1.2.1")
    assert (result.commit, result.created) == (origin.tag_commit("v1.2.1"), False)


# --------------------------------------------------------------------------- merging back


def test_merge_check_without_a_work_tree(repository: Repository, origin: Origin) -> None:
    hotfix_branch(repository, origin)
    before = origin.branches()

    assert repository.merge_check("main", "develop") == git_repo.MergeCheck("develop", True, ())
    clean = repository.merge_check("hotfix/SEC-123", "develop")
    assert (clean.already_merged, clean.conflicts, clean.clean) == (False, (), True)

    origin.commit_on("develop", {"auth.py": AUTH_PY.replace("return", "return None or")}, "Tweak")
    conflicting = repository.merge_check("hotfix/SEC-123", "develop")
    assert (conflicting.already_merged, conflicting.conflicts) == (False, ("auth.py",))
    assert repository.merge_check("hotfix/SEC-123", "release/1.3.0").clean

    # Nothing moved on the origin, and the clone never had a work tree or even an index.
    assert {k: v for k, v in origin.branches().items() if k != "develop"} == {
        k: v for k, v in before.items() if k != "develop"
    }
    assert run_git(repository.path, "rev-parse", "--is-bare-repository") == "true"
    assert not (repository.path / "index").exists()


def test_merge_makes_a_two_parent_commit_once(repository: Repository, origin: Origin) -> None:
    fix = hotfix_branch(repository, origin)
    develop_before = origin.head("develop")
    assert not repository.is_merged("hotfix/SEC-123", "develop")

    result = repository.merge("hotfix/SEC-123", "develop", "Merge hotfix SEC-123 into develop")

    assert result.merged and result.target == "develop"
    assert origin.head("develop") == result.commit
    assert origin.parents(result.commit) == [develop_before, fix]
    assert origin.message(result.commit) == "Merge hotfix SEC-123 into develop"
    assert origin.read("develop", "auth.py") == FIXED_AUTH_PY
    assert origin.read("develop", "ui.py") == 'THEME = "dark"\n'
    assert repository.is_merged("hotfix/SEC-123", "develop")
    assert repository.is_merged(fix, "develop")
    assert repository.is_merged(fix[:10], "develop")

    again = repository.merge("hotfix/SEC-123", "develop", "Merge hotfix SEC-123 into develop")
    assert (again.merged, again.commit) == (False, result.commit)
    assert origin.head("develop") == result.commit

    # main is the tag's branch: --no-ff still gives a merge commit, not a fast-forward.
    main_before = origin.head("main")
    into_main = repository.merge("hotfix/SEC-123", "main", "Merge hotfix SEC-123")
    assert origin.parents(into_main.commit) == [main_before, fix]


def test_merge_conflict_names_the_files(repository: Repository, origin: Origin) -> None:
    hotfix_branch(repository, origin)
    origin.commit_on(
        "develop",
        {"auth.py": "def authenticate(token):\n    return check(token)\n", "README.md": "x\n"},
        "Rewrite auth",
    )
    develop_before = origin.head("develop")

    with pytest.raises(MergeConflict) as conflict:
        repository.merge("hotfix/SEC-123", "develop", "Merge hotfix")

    assert conflict.value.files == ("auth.py",)
    assert conflict.value.target == "develop"
    assert str(conflict.value) == "merge hotfix/SEC-123 into develop: conflicts in auth.py"
    assert origin.head("develop") == develop_before


def test_merge_retries_once_when_the_target_moves(
    repository: Repository, origin: Origin, monkeypatch: pytest.MonkeyPatch
) -> None:
    fix = hotfix_branch(repository, origin)
    real_push = git_repo._Session.push_commit
    moves: list[str] = []

    def push_after_someone_else(self: git_repo._Session, commit: str, ref: str, **kw: str) -> None:
        if ref == "refs/heads/develop" and len(moves) < 1:
            moves.append(origin.commit_on("develop", {"other.txt": "x\n"}, "Someone else"))
        real_push(self, commit, ref, **kw)

    monkeypatch.setattr(git_repo._Session, "push_commit", push_after_someone_else)
    result = repository.merge("hotfix/SEC-123", "develop", "Merge hotfix")

    assert result.merged
    assert origin.parents(result.commit) == [moves[0], fix]
    assert origin.head("develop") == result.commit


def test_merge_gives_up_when_the_target_keeps_moving(
    repository: Repository, origin: Origin, monkeypatch: pytest.MonkeyPatch
) -> None:
    hotfix_branch(repository, origin)
    real_push = git_repo._Session.push_commit

    def always_beaten(self: git_repo._Session, commit: str, ref: str, **kw: str) -> None:
        if ref == "refs/heads/develop":
            origin.commit_on("develop", {"other.txt": str(time.time())}, "Someone else")
        real_push(self, commit, ref, **kw)

    monkeypatch.setattr(git_repo._Session, "push_commit", always_beaten)
    with pytest.raises(GitOperationFailed) as failed:
        repository.merge("hotfix/SEC-123", "develop", "Merge hotfix")
    assert failed.value.reason.startswith("develop kept moving while the bot merged into it")


def test_delete_branch(repository: Repository, origin: Origin) -> None:
    hotfix_branch(repository, origin)

    assert repository.delete_branch("hotfix/SEC-123") is True
    assert origin.head("hotfix/SEC-123") is None
    refs = run_git(repository.path, "for-each-ref", "--format=%(refname)")
    assert "hotfix/SEC-123" not in refs
    assert repository.delete_branch("hotfix/SEC-123") is False


def test_delete_branch_named_like_a_tag_keeps_the_tag(
    repository: Repository, origin: Origin
) -> None:
    # The short name would be ambiguous on the remote; the full ref name is not.
    repository.create_branch("v1.2.3", "v1.2.3")
    assert repository.delete_branch("v1.2.3") is True
    assert origin.head("v1.2.3") is None
    assert origin.object_type("refs/tags/v1.2.3") == "tag"


# --------------------------------------------------------------------------- failures


def test_unreachable_path(tmp_path: Path) -> None:
    repository = Repository(str(tmp_path / "no-such-repository.git"), tmp_path / "data")

    with pytest.raises(GitOperationFailed) as failed:
        repository.create_branch("hotfix/x", "v1.2.3")

    assert failed.value.operation == "create branch hotfix/x"
    assert failed.value.reason == git_repo.NOT_FOUND
    assert str(failed.value) == f"create branch hotfix/x: {git_repo.NOT_FOUND}"


def test_credentials_never_show(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    repository = Repository("https://user:s3cr3t@127.0.0.1:9/x.git", tmp_path / "data", timeout=20)

    with pytest.raises(GitOperationFailed) as failed:
        repository.latest_production_tag()

    error = failed.value
    assert error.reason == git_repo.UNREACHABLE
    assert "\n" not in error.reason
    shown = " ".join([str(error), repr(error), error.reason, error.detail, repr(repository)])
    shown += caplog.text + str(repository.path)
    assert "s3cr3t" not in shown
    assert "https://***@127.0.0.1:9/x.git" in repr(repository)
    assert error.__cause__ is None and error.__context__ is None
    assert redact("fatal: https://u:s3cr3t@h/x and https://tok3n@h/y") == (
        "fatal: https://***@h/x and https://***@h/y"
    )
    assert redact("git@github.com:acme/api.git") == "git@github.com:acme/api.git"


class _AskForPassword(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(401)
        self.send_header("WWW-Authenticate", 'Basic realm="git"')
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def http_server_asking_for_a_password() -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _AskForPassword)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def test_authentication_fails_fast_instead_of_prompting(
    tmp_path: Path, http_server_asking_for_a_password: int
) -> None:
    port = http_server_asking_for_a_password
    for url in [f"http://127.0.0.1:{port}/x.git", f"http://bot:s3cr3t@127.0.0.1:{port}/x.git"]:
        repository = Repository(url, tmp_path / "data", timeout=20)
        started = time.monotonic()
        with pytest.raises(GitOperationFailed) as failed:
            repository.remote_branches()
        assert failed.value.reason == git_repo.AUTH_FAILED
        assert "s3cr3t" not in str(failed.value) + failed.value.detail
        assert time.monotonic() - started < 10


def test_a_remote_that_never_answers_times_out(tmp_path: Path) -> None:
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    try:
        port = silent.getsockname()[1]
        repository = Repository(f"git://127.0.0.1:{port}/x.git", tmp_path / "data", timeout=1)
        started = time.monotonic()
        with pytest.raises(GitOperationFailed) as failed:
            repository.production_tags()
        assert failed.value.reason == "timed out after 1 s"
        assert time.monotonic() - started < 5
    finally:
        silent.close()
    assert git_children() == []


def test_a_protected_branch_gives_a_clear_reason(repository: Repository, origin: Origin) -> None:
    hotfix_branch(repository, origin)
    origin.protect("main")
    before = origin.head("main")

    with pytest.raises(GitOperationFailed) as refused:
        repository.merge("hotfix/SEC-123", "main", "Merge hotfix")

    assert refused.value.reason == "remote rejected: protected branch"
    assert str(refused.value) == "merge hotfix/SEC-123 into main: remote rejected: protected branch"
    assert origin.head("main") == before
    # Other branches still take pushes.
    assert repository.merge("hotfix/SEC-123", "develop", "Merge hotfix").merged


def test_a_refused_tag_push_is_not_remembered_as_done(
    repository: Repository, origin: Origin
) -> None:
    head = hotfix_branch(repository, origin)
    hook = origin.path / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\necho 'tags are locked during the freeze' >&2\nexit 1\n")
    hook.chmod(0o755)

    with pytest.raises(GitOperationFailed) as refused:
        repository.create_tag("v1.2.4", "hotfix/SEC-123", "Hotfix")
    assert refused.value.reason == "remote rejected: tags are locked during the freeze"

    hook.unlink()
    # The tag object made locally before the refused push must not count as "already there".
    result = repository.create_tag("v1.2.4", "hotfix/SEC-123", "Hotfix")
    assert (result.commit, result.created) == (head, True)
    assert origin.tag_commit("v1.2.4") == head

    # Nor does a tag someone deleted on the remote since the last fetch.
    origin.git("tag", "-d", "v1.2.4")
    assert repository.create_tag("v1.2.4", "hotfix/SEC-123", "Hotfix").created is True


def test_gitpython_log_records_are_redacted(
    repository: Repository, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    logging.getLogger("git.remote").warning(
        "Error lines received while pushing: %s",
        "error: failed to push some refs to 'https://bot:gh-t0ken-123@example.com/a.git'",
    )
    assert "gh-t0ken-123" not in caplog.text
    assert "https://***@example.com/a.git" in caplog.text


def test_push_failure_reasons() -> None:
    reason = git_repo._push_reason
    assert reason(["[rejected] (non-fast-forward)"], [], "", 60, timed_out=False) == (
        "non-fast-forward",
        "someone pushed to the branch meanwhile; retry",
    )
    assert reason(["[rejected] (fetch first)"], [], "", 60, timed_out=False)[0] == (
        "non-fast-forward"
    )
    github = ["error: GH006: Protected branch update failed for refs/heads/main."]
    assert reason(["[remote rejected] (protected branch hook declined)"], github, "", 60,
                  timed_out=False) == (
        None,
        "remote rejected: GH006: Protected branch update failed for refs/heads/main.",
    )  # fmt: skip
    assert reason(["[remote rejected] (pre-receive hook declined)"], [], "", 60, timed_out=False)[
        1
    ] == ("remote rejected: pre-receive hook declined")
    assert reason([], [], "fatal: Authentication failed for 'https://x'", 60, timed_out=False)[
        1
    ] == (git_repo.AUTH_FAILED)
    assert reason([], [], "", 60, timed_out=True)[1] == "timed out after 60 s"


# --------------------------------------------------------------------------- concurrency, leaks


def test_two_threads_on_the_same_remote(origin: Origin, tmp_path: Path) -> None:
    first = Repository(origin.url, tmp_path / "data")
    second = Repository(origin.url, tmp_path / "data")
    assert first._lock is second._lock
    first.create_branch("hotfix/base", "v1.2.3")
    errors: list[BaseException] = []
    results: list[object] = []

    def work(repository: Repository, label: str) -> None:
        try:
            for number in range(6):
                name = f"hotfix/{label}-{number}"
                results.append(repository.create_branch(name, "v1.2.3"))
                results.append(repository.create_tag(f"{label}-{number}", name, f"Tag {number}"))
                results.append(repository.merge_check(name, "develop"))
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    threads = [
        threading.Thread(target=work, args=(first, "a")),
        threading.Thread(target=work, args=(second, "b")),
        threading.Thread(target=work, args=(first, "c")),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert errors == []
    assert len(results) == 54
    branches = origin.branches()
    tags = origin.git("tag", "--list").split()
    for label in "abc":
        for number in range(6):
            assert branches[f"hotfix/{label}-{number}"] == origin.tag_commit("v1.2.3")
            assert f"{label}-{number}" in tags
    run_git(origin.path, "fsck", "--strict", "--no-progress")
    run_git(first.path, "fsck", "--strict", "--no-progress")
    assert git_children() == []


def test_no_git_process_outlives_hundreds_of_operations(
    repository: Repository, origin: Origin
) -> None:
    hotfix_branch(repository, origin)
    for number in range(50):  # 200 operations, each several git calls
        repository.latest_production_tag()
        repository.remote_branches("hotfix/")
        repository.branch_head("hotfix/SEC-123")
        repository.create_branch(f"hotfix/leak-{number}", "v1.2.3")
    assert len(origin.branches()) == 54
    repository.merge_check("hotfix/SEC-123", "develop")
    repository.merge("hotfix/SEC-123", "develop", "Merge hotfix")

    assert git_children() == []


def test_a_failed_clone_can_be_retried(origin: Origin, tmp_path: Path) -> None:
    missing = tmp_path / "later.git"
    repository = Repository(str(missing), tmp_path / "data")
    with pytest.raises(GitOperationFailed):
        repository.latest_production_tag()

    build_origin(missing)
    assert repository.latest_production_tag().name == "v1.2.3"
    # An old-style module-level helper works on a plain path too.
    commit = commit_on(missing, "main", {"x.txt": "x\n"}, "x")
    assert repository.branch_head("main") == commit


# --------------------------------------------------------------------------- benchmark smoke run


def test_benchmark_smoke_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    spec = importlib.util.spec_from_file_location("git_bench", ROOT / "bench" / "git_bench.py")
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "git_bench", bench)  # dataclasses look their module up
    spec.loader.exec_module(bench)

    started = time.monotonic()
    report = bench.run(commits=200, tags=50, ops=20, runs=5, workdir=tmp_path)

    assert time.monotonic() - started < 10
    assert report.leftover_git_processes == 0
    assert report.latest_tag == "v1.0.49"
    assert "| latest_production_tag" in bench.markdown(report)


def test_bench_command_line_runs(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            str(ROOT / ".venv" / "bin" / "python"),
            str(ROOT / "bench" / "git_bench.py"),
            "--commits",
            "50",
            "--tags",
            "10",
            "--ops",
            "5",
            "--runs",
            "3",
            "--workdir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "| git processes left" in result.stdout
