"""The git adapter: read release tags and branches from the remote, create hotfix branches and
tags, and merge the hotfix back — exactly, idempotently and safe to retry.

One ``Repository`` per configured remote. It keeps a bare clone under
``data_dir/repos/<name>-<hash>.git`` (no work tree, ever: merges are built with
``git merge-tree --write-tree`` and ``git commit-tree``) and fetches it before every operation
that reads history. Everything that can be read from ``git ls-remote`` is read from there, so a
stale clone can never hide a tag or a branch.

Every operation holds one lock per clone (shared by every ``Repository`` of this process for the
same remote, plus an ``flock`` for other processes), every git call has a timeout, and every
``git.Repo`` is closed when the operation ends, so no ``git`` process outlives a call.

Re-running an operation after a failure goes on where it stopped: a branch that is already
there (at the tag or ahead of it), a tag already on the right commit, a merge already made are
reported with ``created=False`` / ``merged=False``. Nothing is ever force-pushed.

Credentials in an HTTPS remote (``https://user:token@host/…``) never reach an exception, a log
record or a process command line: the URL is written to the clone's config file directly and
everything quoted from git is passed through :func:`redact`.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import re
import shutil
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import git
from git.exc import GitCommandError
from git.remote import PushInfo
from git.util import RemoteProgress

from workflows.git_repo.errors import (
    AUTH_FAILED,
    HOST_KEY_UNKNOWN,
    NOT_FOUND,
    UNREACHABLE,
    BranchTaken,
    GitOperationFailed,
    MergeConflict,
    TagConflict,
    _push_reason,
    _PushRejected,
    _reason,
)
from workflows.git_repo.names import (
    MAX_BRANCH_NAME,
    _commit_id,
    _message,
    validate_branch_name,
    validate_tag_name,
)
from workflows.git_repo.redaction import (
    _URL_PASSWORD,
    _URL_USERINFO,
    _install_log_redaction,
    _remember_secrets,
    _sanitized,
    redact,
)
from workflows.git_repo.versions import (
    DEFAULT_TAG_PATTERN,
    Tag,
    Version,
    _pattern_regex,
    format_tag,
    next_patch,
    tag_version,
)

# Re-exported: the names importers use from ``workflows.git_repo``.
__all__ = [
    "AUTH_FAILED",
    "DEFAULT_TAG_PATTERN",
    "HOST_KEY_UNKNOWN",
    "MAX_BRANCH_NAME",
    "NOT_FOUND",
    "UNREACHABLE",
    "BranchTaken",
    "GitOperationFailed",
    "MergeConflict",
    "Tag",
    "TagConflict",
    "Version",
    "format_tag",
    "next_patch",
    "redact",
    "tag_version",
    "validate_branch_name",
    "validate_tag_name",
]

log = logging.getLogger(__name__)
DEFAULT_IDENTITY: Final = ("Hotfix Bot", "hotfix-bot@localhost")

_REMOTE: Final = "origin"
# The one local ref a branch push is staged on. GitPython cannot describe the result of a push
# whose source is a bare commit id (it drops the line), so pushes always come from a ref.
_OUTGOING: Final = "refs/hotfix-bot/outgoing"
_SHA: Final = re.compile(r"[0-9a-f]{40}(?:[0-9a-f]{24})?")
_PUSH_FAILED: Final = (
    PushInfo.ERROR | PushInfo.REJECTED | PushInfo.REMOTE_REJECTED | PushInfo.REMOTE_FAILURE
)


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class Commit:
    """One commit of a hotfix branch."""

    sha: str
    author_name: str
    author_email: str
    summary: str
    message: str


@dataclass(frozen=True)
class BranchResult:
    """``commit`` is where the branch is now on the remote; ``created`` is False on a re-run."""

    name: str
    commit: str
    created: bool
    tag_commit: str | None = None  # where the base tag points now


@dataclass(frozen=True)
class TagResult:
    """``commit`` is the commit the tag points to; ``created`` is False if it was already there."""

    name: str
    commit: str
    created: bool


@dataclass(frozen=True)
class MergeCheck:
    """What merging a hotfix into ``target`` would do, decided without touching anything."""

    target: str
    already_merged: bool
    conflicts: tuple[str, ...]

    @property
    def clean(self) -> bool:
        """True when the merge can be made (or is not needed) without conflicts."""
        return not self.conflicts


@dataclass(frozen=True)
class MergeResult:
    """``commit`` is the target's head after the call; ``merged`` is False if nothing was done."""

    target: str
    commit: str
    merged: bool


# --------------------------------------------------------------------------- locks

_LOCKS: dict[Path, threading.RLock] = {}
_LOCKS_GUARD = threading.Lock()
# Fetches per clone in this process; each entry is only touched under that clone's lock.
_FETCHES: dict[Path, int] = {}
PACK_REFS_EVERY: Final = 50


def _lock_for(path: Path) -> threading.RLock:
    with _LOCKS_GUARD:
        return _LOCKS.setdefault(path, threading.RLock())


# --------------------------------------------------------------------------- the repository


class Repository:
    """One configured remote, worked through a private bare clone under ``data_dir``.

    Thread-safe: every public method takes the clone's lock for its whole duration.
    ``identity`` is the (name, email) written as author, committer and tagger.
    """

    def __init__(
        self,
        remote: str,
        data_dir: Path,
        *,
        timeout: float = 120.0,
        identity: tuple[str, str] = DEFAULT_IDENTITY,
    ) -> None:
        if not remote or not remote.strip():
            raise ValueError("the remote must not be empty")
        if timeout <= 0:
            raise ValueError("the timeout must be positive")
        _install_log_redaction()
        _remember_secrets(remote)
        self.remote = _absolute_if_local(remote.strip())
        self.display_remote = redact(self.remote)
        self.timeout = float(timeout)
        self.identity = identity
        self.path = (Path(data_dir) / "repos" / _clone_name(self.remote)).absolute()
        self._lock = _lock_for(self.path)

    def __repr__(self) -> str:
        return f"Repository({self.display_remote!r}, path={str(self.path)!r})"

    # ----------------------------------------------------------------- reading the remote

    def production_tags(self, pattern: str = DEFAULT_TAG_PATTERN) -> list[Tag]:
        """The remote's release tags matching ``pattern``, in version order (oldest first).

        Read with ``git ls-remote``; annotated tags are resolved to the commit they tag.
        Pre-releases (``v1.3.0-rc.1``) and other tags are left out.
        """
        regex = _pattern_regex(pattern)
        with self._session("read production tags") as session:
            refs = session.ls_remote("--tags")
        commits: dict[str, str] = {}
        for ref, sha in refs.items():
            name = ref.removeprefix("refs/tags/")
            if name.endswith("^{}"):
                commits[name[:-3]] = sha  # the peeled line wins over the tag object
            else:
                commits.setdefault(name, sha)
        tags = []
        for name, commit in commits.items():
            match = regex.fullmatch(name)
            if match:
                version = (int(match["major"]), int(match["minor"]), int(match["patch"]))
                tags.append(Tag(name, version, commit))
        return sorted(tags, key=lambda tag: tag.version)

    def latest_production_tag(self, pattern: str = DEFAULT_TAG_PATTERN) -> Tag | None:
        """The highest release tag on the remote, or None if there is none."""
        tags = self.production_tags(pattern)
        return tags[-1] if tags else None

    def remote_branches(self, prefix: str = "") -> dict[str, str]:
        """Branches on the remote whose name starts with ``prefix``: name → head commit."""
        with self._session("list branches") as session:
            refs = session.ls_remote("--heads")
        names = {ref.removeprefix("refs/heads/"): sha for ref, sha in refs.items()}
        return {name: sha for name, sha in sorted(names.items()) if name.startswith(prefix)}

    def branch_head(self, name: str) -> str | None:
        """The commit ``name`` points to on the remote, or None if there is no such branch."""
        validate_branch_name(name)
        with self._session(f"read branch {name}") as session:
            return session.ls_remote("--heads", f"refs/heads/{name}").get(f"refs/heads/{name}")

    def commits_on_branch(self, branch: str, since_tag: str) -> list[Commit]:
        """Commits on the remote ``branch`` that ``since_tag`` does not contain, oldest first."""
        validate_branch_name(branch)
        validate_tag_name(since_tag)
        with self._session(f"list commits of {branch}") as session:
            session.fetch()
            head = session.require_branch(branch)
            tag = session.require_tag(since_tag)
            output = session.git(
                "log",
                "-z",
                "--topo-order",
                "--reverse",
                "--format=%H%x00%an%x00%ae%x00%s%x00%B",
                head,
                f"^{tag}",
                "--",
            )
        fields = output.split("\0")
        if fields and fields[-1] == "":
            fields.pop()
        commits = []
        for index in range(0, len(fields) - 4, 5):
            sha, name, email, summary, message = fields[index : index + 5]
            commits.append(Commit(sha.strip(), name, email, summary, message.rstrip("\n")))
        return commits

    def is_merged(self, source_branch_or_commit: str, target_branch: str) -> bool:
        """Whether the source branch's head (or the given commit) is contained in ``target``."""
        validate_branch_name(target_branch)
        with self._session(f"check {source_branch_or_commit} in {target_branch}") as session:
            session.fetch()
            target = session.require_branch(target_branch)
            source = session.resolve_source(source_branch_or_commit)
            return session.is_ancestor(source, target)

    def merge_check(self, source_branch: str, target_branch: str) -> MergeCheck:
        """Whether ``source_branch`` is already in ``target_branch`` and, if not, which files
        a merge would conflict in (``git merge-tree --write-tree``: no work tree is touched)."""
        validate_branch_name(source_branch)
        validate_branch_name(target_branch)
        with self._session(f"check merge of {source_branch} into {target_branch}") as session:
            session.fetch()
            source = session.require_branch(source_branch)
            target = session.require_branch(target_branch)
            if session.is_ancestor(source, target):
                return MergeCheck(target_branch, True, ())
            _, conflicts = session.merge_tree(target, source)
            return MergeCheck(target_branch, False, conflicts)

    # ----------------------------------------------------------------- changing the remote

    def create_branch(
        self, name: str, at_tag: str, *, at_commit: str | None = None
    ) -> BranchResult:
        """Create ``name`` on the remote at the commit of tag ``at_tag`` — or at ``at_commit``
        (the tag's commit when it was approved), which must be on the remote; the result's
        ``tag_commit`` says where the tag is now, so a moved tag can be told.

        If the branch is already there at that commit or ahead of it (fixes were pushed),
        nothing is done and ``created`` is False. A branch of that name that does not contain
        the commit raises :class:`BranchTaken`.
        """
        validate_branch_name(name)
        validate_tag_name(at_tag)
        wanted = _commit_id(at_commit) if at_commit is not None else None
        operation = f"create branch {name}"
        with self._session(operation) as session:
            for attempt in (1, 2):
                session.fetch()
                tag_commit = session.require_tag(at_tag)
                commit = tag_commit
                if wanted is not None:
                    found = session.resolve(f"{wanted}^{{commit}}")
                    if found is None:
                        raise GitOperationFailed(
                            operation,
                            f"the approved base commit {wanted[:12]} of {at_tag} is not on "
                            "the remote any more",
                        )
                    commit = found
                existing = session.resolve(f"refs/remotes/{_REMOTE}/{name}")
                if existing is not None:
                    if existing == commit or session.is_ancestor(commit, existing):
                        return BranchResult(name, existing, False, tag_commit)
                    raise BranchTaken(name, existing)
                try:
                    # The lease with no value means "only if the branch does not exist yet".
                    session.push_commit(commit, f"refs/heads/{name}", lease="")
                except _PushRejected as rejected:
                    if attempt == 1 and rejected.kind in {"stale", "non-fast-forward"}:
                        continue  # someone created it meanwhile: look again
                    raise
                return BranchResult(name, commit, True, tag_commit)
        raise AssertionError("unreachable")  # pragma: no cover

    def create_tag(
        self, tag: str, branch: str, message: str, *, expected_commit: str | None = None
    ) -> TagResult:
        """Create the annotated tag ``tag`` with ``message`` on the head of the remote
        ``branch`` and push it.

        With ``expected_commit`` (the head that was reviewed) the tag goes on that commit, and
        only if the branch is still there. A tag already on the remote on the same commit gives
        ``created=False``; on another commit :class:`TagConflict`. Tags are never moved.
        """
        validate_tag_name(tag)
        validate_branch_name(branch)
        _message(message, "tag")
        expected = _commit_id(expected_commit) if expected_commit is not None else None
        operation = f"tag {tag}"
        with self._session(operation) as session:
            for attempt in (1, 2):
                session.fetch()
                head = session.resolve(f"refs/remotes/{_REMOTE}/{branch}")
                if expected is not None:
                    target = session.resolve(f"{expected}^{{commit}}")
                    if target is None:
                        raise GitOperationFailed(
                            operation, f"commit {expected} is not on the remote"
                        )
                elif head is None:
                    raise GitOperationFailed(
                        operation, f"branch {branch} does not exist on the remote"
                    )
                else:
                    target = head
                existing = session.resolve(f"refs/tags/{tag}^{{commit}}")
                if existing is not None:
                    if existing == target:
                        return TagResult(tag, target, False)
                    raise TagConflict(tag, existing, target)
                if head is None:
                    raise GitOperationFailed(
                        operation, f"branch {branch} does not exist on the remote"
                    )
                if head != target:
                    raise GitOperationFailed(
                        operation,
                        "branch moved since review",
                        detail=f"{branch} is at {head}, the review saw {target}",
                    )
                session.git(
                    "-c",
                    "tag.gpgSign=false",
                    "tag",
                    "--annotate",
                    "--force",
                    "--cleanup=whitespace",
                    "-m",
                    message,
                    "--",
                    tag,
                    target,
                )
                try:
                    session.push(
                        [(f"refs/tags/{tag}", f"refs/tags/{tag}")], leases={f"refs/tags/{tag}": ""}
                    )
                except GitOperationFailed as failed:
                    # The local tag only stands for the remote's; it must not outlive a failure.
                    session.run("update-ref", "-d", f"refs/tags/{tag}", ok=(0, 1))
                    if (
                        attempt == 1
                        and isinstance(failed, _PushRejected)
                        and failed.kind in {"stale", "exists", "non-fast-forward"}
                    ):
                        continue  # someone pushed that tag meanwhile: look again
                    raise
                return TagResult(tag, target, True)
        raise AssertionError("unreachable")  # pragma: no cover

    def merge(self, source_branch: str, target_branch: str, message: str) -> MergeResult:
        """Merge ``source_branch`` into ``target_branch`` on the remote with a merge commit
        (``--no-ff``: parents are the target's head and the source's head) and ``message``.

        Already merged: nothing is done, ``merged`` is False. Conflicts raise
        :class:`MergeConflict`. If the target moves while merging, the merge is made again
        once on the new head.
        """
        validate_branch_name(source_branch)
        validate_branch_name(target_branch)
        _message(message, "merge")
        operation = f"merge {source_branch} into {target_branch}"
        with self._session(operation) as session:
            for attempt in (1, 2):
                session.fetch()
                source = session.require_branch(source_branch)
                target = session.require_branch(target_branch)
                if session.is_ancestor(source, target):
                    return MergeResult(target_branch, target, False)
                tree, conflicts = session.merge_tree(target, source)
                if conflicts:
                    raise MergeConflict(target_branch, conflicts, source=source_branch)
                commit = session.git(
                    "commit-tree", tree, "-p", target, "-p", source, "-m", message
                ).strip()
                try:
                    session.push_commit(commit, f"refs/heads/{target_branch}")
                except _PushRejected as rejected:
                    if rejected.kind != "non-fast-forward":
                        raise
                    if attempt == 1:
                        continue
                    raise GitOperationFailed(
                        operation,
                        f"{target_branch} kept moving while the bot merged into it (people are "
                        "pushing to it): retry in a moment",
                        detail=rejected.detail,
                    ) from None
                return MergeResult(target_branch, commit, True)
        raise AssertionError("unreachable")  # pragma: no cover

    def delete_branch(self, name: str) -> bool:
        """Delete ``name`` on the remote (and its local copy). False if it did not exist."""
        validate_branch_name(name)
        ref = f"refs/heads/{name}"
        operation = f"delete branch {name}"
        with self._session(operation) as session:
            for attempt in (1, 2):
                head = session.ls_remote("--heads", ref).get(ref)
                if head is None:
                    session.forget_branch(name)
                    return False
                try:
                    # The full ref name, so a tag of the same name cannot make it ambiguous;
                    # the lease makes it fail instead of reporting success when the branch
                    # vanished (or moved) since we looked.
                    session.push([("", ref)], leases={ref: head}, delete=True)
                except _PushRejected as rejected:
                    if attempt == 1 and rejected.kind == "stale":
                        continue
                    raise
                session.forget_branch(name)
                return True
        raise AssertionError("unreachable")  # pragma: no cover

    def checkout(self, tag: str, into: Path) -> str:
        """A clean working tree of ``tag`` at ``into`` (for a deploy to run in): a detached
        worktree of the bot's clone, so nothing is fetched twice. Returns the commit."""
        validate_tag_name(tag)
        operation = f"check out {tag}"
        with self._session(operation) as session:
            session.fetch()
            commit = session.require_tag(tag)
            session.run("worktree", "prune")
            if into.exists():
                session.run("worktree", "remove", "--force", str(into), ok=(0, 128))
                _remove_tree(into)
            into.parent.mkdir(parents=True, exist_ok=True)
            session.git("worktree", "add", "--detach", "--force", str(into), commit)
        return commit

    def remove_checkout(self, into: Path) -> None:
        """Remove a working tree made by :meth:`checkout` (gone already: nothing to do)."""
        with self._session(f"remove the checkout {into.name}") as session:
            session.run("worktree", "remove", "--force", str(into), ok=(0, 128))
            session.run("worktree", "prune")
        _remove_tree(into)

    # ----------------------------------------------------------------- plumbing

    @contextmanager
    def _session(self, operation: str) -> Iterator[_Session]:
        with self._lock, _process_lock(self.path.with_name(self.path.name + ".lock")):
            self._ensure_clone(operation)
            with git.Repo(self.path) as repo:
                repo.git.update_environment(**self._environment())
                yield _Session(self, repo, operation)

    def _environment(self) -> dict[str, str]:
        name, email = self.identity
        env = {
            # Never ask: a missing credential must fail now, not wait for a terminal.
            "GIT_TERMINAL_PROMPT": "0",
            "GIT_ASKPASS": "",
            "SSH_ASKPASS": "",
            "GCM_INTERACTIVE": "never",
            "GIT_AUTHOR_NAME": name,
            "GIT_AUTHOR_EMAIL": email,
            "GIT_COMMITTER_NAME": name,
            "GIT_COMMITTER_EMAIL": email,
        }
        if "GIT_SSH_COMMAND" not in os.environ and "GIT_SSH" not in os.environ:
            env["GIT_SSH_COMMAND"] = "ssh -o BatchMode=yes"
        return env

    def _ensure_clone(self, operation: str) -> None:
        """Create the bare clone (locally: nothing is fetched yet) or repair its remote URL."""
        if (self.path / "HEAD").is_file() and (self.path / "config").is_file():
            with git.Repo(self.path) as repo:
                reader = repo.config_reader("repository")
                try:
                    current = reader.get_value(f'remote "{_REMOTE}"', "url", default="")
                finally:
                    reader.release()
                if current != self.remote:
                    self._configure(repo)
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        staging = self.path.with_name(f"{self.path.name}.new-{os.getpid()}")
        if staging.exists():
            _remove_tree(staging)
        if self.path.exists():  # half-made by a crashed process: start over
            _remove_tree(self.path)
        try:
            staging.mkdir(parents=True)
            git.Git(staging).execute(
                ["git", "init", "--quiet", "--bare"], kill_after_timeout=self.timeout
            )
            with git.Repo(staging) as repo:
                self._configure(repo)
            staging.rename(self.path)
        except (OSError, GitCommandError) as exc:
            _remove_tree(staging)
            raise GitOperationFailed(
                operation, f"could not create the local clone in {self.path.parent}"
            ) from _sanitized(exc)
        log.info("created the clone of %s in %s", self.display_remote, self.path)

    def _configure(self, repo: git.Repo) -> None:
        # Written through the config file, not `git remote add URL`: a token in the URL must
        # not appear on a command line (visible to every local user in /proc).
        with repo.config_writer("repository") as writer:
            section = f'remote "{_REMOTE}"'
            writer.set_value(section, "url", self.remote)
            writer.set_value(section, "fetch", f"+refs/heads/*:refs/remotes/{_REMOTE}/*")
            writer.set_value(section, "tagOpt", "--no-tags")
            # Automatic gc runs in the foreground, inside the lock, instead of a detached
            # process that would outlive the operation.
            writer.set_value("gc", "autoDetach", "false")
            writer.set_value("core", "logAllRefUpdates", "false")


class _Session:
    """One locked operation on the clone: runs git with timeouts, turns failures into
    :class:`GitOperationFailed` with redacted, one-line reasons."""

    def __init__(self, owner: Repository, repo: git.Repo, operation: str) -> None:
        self.owner = owner
        self.repo = repo
        self.operation = operation

    # ----------------------------------------------------------------- running git

    def run(self, *args: str, ok: Sequence[int] = (0,)) -> tuple[int, str, str]:
        started = time.monotonic()
        status, stdout, stderr = self.repo.git.execute(
            ["git", *args],
            with_exceptions=False,
            with_extended_output=True,
            kill_after_timeout=self.owner.timeout,
            strip_newline_in_stdout=False,
        )
        stdout, stderr = str(stdout), str(stderr)
        if status not in ok:
            timed_out = time.monotonic() - started >= self.owner.timeout * 0.98
            raise GitOperationFailed(
                self.operation,
                _reason(stderr, self.owner.timeout, timed_out=timed_out, status=status),
                detail=stderr,
            )
        return status, stdout, stderr

    def git(self, *args: str) -> str:
        return self.run(*args)[1]

    def fetch(self) -> None:
        # --prune alone never prunes tags: without --prune-tags a tag deleted on the remote, or
        # made here for a push that was refused, would stay and pass for "already tagged".
        self.run(
            "fetch",
            "--quiet",
            "--prune",
            "--prune-tags",
            "--tags",
            "--force",
            "--no-write-fetch-head",
            _REMOTE,
        )
        # fetch writes every new ref as its own file; with thousands of tags, reading them all
        # back dominates each later git call. Pack them on the first fetch of this process and
        # every PACK_REFS_EVERY fetches after that (tens of milliseconds).
        count = _FETCHES[self.owner.path] = _FETCHES.get(self.owner.path, 0) + 1
        if count % PACK_REFS_EVERY == 1:
            self.run("pack-refs", "--all", "--prune")

    def ls_remote(self, kind: str, *patterns: str) -> dict[str, str]:
        output = self.git("ls-remote", kind, _REMOTE, *patterns)
        refs = {}
        for line in output.splitlines():
            sha, _, ref = line.partition("\t")
            if ref and _SHA.fullmatch(sha):
                refs[ref] = sha
        return refs

    def resolve(self, revision: str) -> str | None:
        status, stdout, _ = self.run(
            "rev-parse", "--verify", "--quiet", "--end-of-options", revision, ok=(0, 1, 128)
        )
        value = stdout.strip()
        return value if status == 0 and _SHA.fullmatch(value) else None

    def require_branch(self, branch: str) -> str:
        commit = self.resolve(f"refs/remotes/{_REMOTE}/{branch}^{{commit}}")
        if commit is None:
            raise GitOperationFailed(
                self.operation, f"branch {branch} does not exist on the remote"
            )
        return commit

    def require_tag(self, tag: str) -> str:
        commit = self.resolve(f"refs/tags/{tag}^{{commit}}")
        if commit is None:
            raise GitOperationFailed(self.operation, f"tag {tag} does not exist on the remote")
        return commit

    def resolve_source(self, source: str) -> str:
        with suppress(ValueError):
            validate_branch_name(source)
            commit = self.resolve(f"refs/remotes/{_REMOTE}/{source}^{{commit}}")
            if commit is not None:
                return commit
        with suppress(ValueError):
            commit = self.resolve(f"{_commit_id(source)}^{{commit}}")
            if commit is not None:
                return commit
        raise GitOperationFailed(
            self.operation, f"{source} is neither a branch on the remote nor a known commit"
        )

    def is_ancestor(self, ancestor: str, descendant: str) -> bool:
        status, _, _ = self.run("merge-base", "--is-ancestor", ancestor, descendant, ok=(0, 1))
        return status == 0

    def merge_tree(self, ours: str, theirs: str) -> tuple[str, tuple[str, ...]]:
        """The merged tree and the conflicted files of merging ``theirs`` into ``ours``."""
        status, stdout, stderr = self.run(
            "merge-tree",
            "--write-tree",
            "--name-only",
            "--no-messages",
            "-z",
            ours,
            theirs,
            ok=(0, 1),
        )
        fields = stdout.split("\0")
        tree = fields[0].strip()
        if not _SHA.fullmatch(tree):
            # merge-tree also exits with 1 when it cannot merge at all (unrelated histories…)
            raise GitOperationFailed(
                self.operation, _reason(stderr, self.owner.timeout, status=status), detail=stderr
            )
        if status == 0:
            return tree, ()
        files = tuple(dict.fromkeys(name for name in fields[1:] if name))
        return tree, files

    def forget_branch(self, name: str) -> None:
        self.run("update-ref", "-d", f"refs/remotes/{_REMOTE}/{name}", ok=(0, 1))

    # ----------------------------------------------------------------- pushing

    def push_commit(self, commit: str, ref: str, *, lease: str | None = None) -> None:
        """Push ``commit`` to the remote's ``ref`` (never forced), staged on a local ref."""
        self.run("update-ref", _OUTGOING, commit)
        try:
            self.push([(_OUTGOING, ref)], leases={} if lease is None else {ref: lease})
        finally:
            self.run("update-ref", "-d", _OUTGOING, ok=(0, 1))

    def push(
        self,
        updates: Sequence[tuple[str, str]],
        *,
        leases: Mapping[str, str] | None = None,
        delete: bool = False,
    ) -> None:
        """Push (source ref, remote ref) pairs; several refs go in one atomic push.

        GitPython reports a failed push either as a ``GitCommandError`` or only through error
        flags on the returned ``PushInfo`` list: both are checked, and a ref missing from the
        report counts as failed too.
        """
        progress = RemoteProgress()
        options: dict[str, object] = {}
        if len(updates) > 1:
            options["atomic"] = True
        if leases:
            options["force_with_lease"] = [f"{ref}:{old}" for ref, old in leases.items()]
        if delete:
            options["delete"] = True
            refspecs = [remote_ref for _, remote_ref in updates]
        else:
            refspecs = [f"{local}:{remote_ref}" for local, remote_ref in updates]
        started = time.monotonic()
        stderr = ""
        infos: list[PushInfo] = []
        error: Exception | None = None
        try:
            result = self.repo.remote(_REMOTE).push(
                refspec=refspecs,
                progress=progress,
                kill_after_timeout=self.owner.timeout,
                **options,
            )
            infos, error = list(result), result.error
        except GitCommandError as exc:
            error = exc
        if isinstance(error, GitCommandError):
            stderr = str(error.stderr or "")
        reported = {info.remote_ref_string: info for info in infos}
        failed = [info for info in infos if info.flags & _PUSH_FAILED]
        missing = [ref for _, ref in updates if ref not in reported]
        if error is None and not failed and not missing:
            return
        remote_lines = [
            line.strip()[len("remote:") :].strip()
            for line in progress.other_lines
            if line.strip().startswith("remote:")
        ]
        remote_lines = [line for line in remote_lines if line]
        summaries = [info.summary.strip() for info in failed]
        detail = "\n".join([*progress.error_lines, stderr, *progress.other_lines, *summaries])
        timed_out = time.monotonic() - started >= self.owner.timeout * 0.98
        kind, reason = _push_reason(
            summaries, remote_lines, detail, self.owner.timeout, timed_out=timed_out
        )
        if kind:
            raise _PushRejected(self.operation, reason, kind=kind, detail=detail)
        raise GitOperationFailed(self.operation, reason, detail=detail)


# --------------------------------------------------------------------------- small helpers


@contextmanager
def _process_lock(path: Path) -> Iterator[None]:
    """An exclusive ``flock`` so two processes sharing ``data_dir`` take turns too."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+b") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _absolute_if_local(remote: str) -> str:
    """Local paths are made absolute: git runs inside the clone, not in our directory."""
    scp_like = re.match(r"^[^/]+:", remote) is not None and not os.path.exists(remote)
    if "://" in remote or scp_like:
        return remote
    return os.path.abspath(os.path.expanduser(remote))


def _clone_name(remote: str) -> str:
    """A directory name for the clone: readable part of the remote plus a short hash.

    Credentials are left out of both, so rotating a token keeps the same clone.
    """
    without_credentials = _URL_PASSWORD.sub(r"\1", _URL_USERINFO.sub(r"\1", remote))
    last = re.split(r"[/:\\]", without_credentials.rstrip("/"))[-1].removesuffix(".git")
    readable = re.sub(r"[^A-Za-z0-9._-]+", "-", last).strip(".-")[:40] or "repository"
    digest = hashlib.sha256(without_credentials.encode()).hexdigest()[:12]
    return f"{readable}-{digest}.git"


def _remove_tree(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
