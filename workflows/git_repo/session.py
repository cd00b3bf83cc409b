"""One locked operation on the clone: running git, reading refs, fetching and pushing.

A :class:`_Session` is what every operation of a ``Repository`` works through while it holds
the clone's lock: each git call has the remote's timeout and turns a failure into a
:class:`GitOperationFailed` with a redacted one-line reason; the fetch brings branches and
tags (pruned) from the remote; pushes are never forced, go from a local ref, and a refusal the
caller may recover from is told apart from one it cannot.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping, Sequence
from contextlib import suppress
from pathlib import Path
from typing import TYPE_CHECKING, Final

import git
from git.exc import GitCommandError
from git.remote import PushInfo
from git.util import RemoteProgress

from workflows.git_repo.errors import GitOperationFailed, _push_reason, _PushRejected, _reason
from workflows.git_repo.names import _commit_id, validate_branch_name

if TYPE_CHECKING:
    from workflows.git_repo.clone import _Clone

_REMOTE: Final = "origin"
# The one local ref a branch push is staged on. GitPython cannot describe the result of a push
# whose source is a bare commit id (it drops the line), so pushes always come from a ref.
_OUTGOING: Final = "refs/hotfix-bot/outgoing"
_SHA: Final = re.compile(r"[0-9a-f]{40}(?:[0-9a-f]{24})?")
_PUSH_FAILED: Final = (
    PushInfo.ERROR | PushInfo.REJECTED | PushInfo.REMOTE_REJECTED | PushInfo.REMOTE_FAILURE
)
# Fetches per clone in this process; each entry is only touched under that clone's lock.
_FETCHES: dict[Path, int] = {}
PACK_REFS_EVERY: Final = 50


class _Session:
    """One locked operation on the clone: runs git with timeouts, turns failures into
    :class:`GitOperationFailed` with redacted, one-line reasons."""

    def __init__(self, owner: _Clone, repo: git.Repo, operation: str) -> None:
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
