"""The bot's private bare clone of one remote, and the lock every operation holds on it.

The clone lives under ``data_dir/repos/<name>-<hash>.git``: made on first use (locally,
nothing fetched yet), its remote URL written to its config file (never to a command line) and
repaired when the configured remote changes. An operation takes one lock per clone, shared by
every ``Repository`` of the process, plus an ``flock`` for other processes, and works through a
:class:`~workflows.git_repo.session._Session` that closes its ``git.Repo`` when it ends. A
deploy gets a detached worktree of a tag from the same clone, so nothing is fetched twice.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import re
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Final

import git
from git.exc import GitCommandError

from workflows.git_repo.errors import GitOperationFailed
from workflows.git_repo.names import validate_tag_name
from workflows.git_repo.redaction import (
    _URL_PASSWORD,
    _URL_USERINFO,
    _install_log_redaction,
    _remember_secrets,
    _sanitized,
    redact,
)
from workflows.git_repo.session import _REMOTE, _Session

# The adapter has always logged under the package's name.
log = logging.getLogger("workflows.git_repo")

DEFAULT_IDENTITY: Final = ("Hotfix Bot", "hotfix-bot@localhost")

_LOCKS: dict[Path, threading.RLock] = {}
_LOCKS_GUARD = threading.Lock()


def _lock_for(path: Path) -> threading.RLock:
    with _LOCKS_GUARD:
        return _LOCKS.setdefault(path, threading.RLock())


class _Clone:
    """The clone behind a ``Repository``: where it is, how it is made and locked, and the
    working trees of tags made from it. The operations are mixins over this class."""

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
