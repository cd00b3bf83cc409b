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

This package holds one idea a module: ``repository`` (the ``Repository`` class, combining the
rest), ``clone`` (the bare clone, its locks and the checkouts of a tag), ``session`` (running
git, fetching and pushing within one locked operation), ``remote_reads`` (tags, branches and
commits read from the remote), ``branching`` (cutting branches, tagging releases),
``merging`` (merging the hotfix back), ``versions`` (tag patterns and versions), ``names``
(checking branch and tag names), ``errors`` (what failed and why, in one line) and
``redaction`` (keeping credentials out of sight). Import from ``workflows.git_repo``.
"""

from __future__ import annotations

from workflows.git_repo.branching import BranchResult, TagResult
from workflows.git_repo.clone import DEFAULT_IDENTITY
from workflows.git_repo.errors import (
    AUTH_FAILED,
    HOST_KEY_UNKNOWN,
    NOT_FOUND,
    UNREACHABLE,
    BranchTaken,
    GitOperationFailed,
    MergeConflict,
    TagConflict,
)
from workflows.git_repo.errors import _push_reason as _push_reason
from workflows.git_repo.errors import _PushRejected as _PushRejected
from workflows.git_repo.errors import _reason as _reason
from workflows.git_repo.merging import MergeCheck, MergeResult
from workflows.git_repo.names import MAX_BRANCH_NAME, validate_branch_name, validate_tag_name
from workflows.git_repo.redaction import redact
from workflows.git_repo.remote_reads import Commit
from workflows.git_repo.repository import Repository
from workflows.git_repo.session import PACK_REFS_EVERY
from workflows.git_repo.session import _Session as _Session
from workflows.git_repo.versions import (
    DEFAULT_TAG_PATTERN,
    Tag,
    Version,
    format_tag,
    next_patch,
    tag_version,
)

__all__ = [
    "AUTH_FAILED",
    "DEFAULT_IDENTITY",
    "DEFAULT_TAG_PATTERN",
    "HOST_KEY_UNKNOWN",
    "MAX_BRANCH_NAME",
    "NOT_FOUND",
    "PACK_REFS_EVERY",
    "UNREACHABLE",
    "BranchResult",
    "BranchTaken",
    "Commit",
    "GitOperationFailed",
    "MergeCheck",
    "MergeConflict",
    "MergeResult",
    "Repository",
    "Tag",
    "TagConflict",
    "TagResult",
    "Version",
    "format_tag",
    "next_patch",
    "redact",
    "tag_version",
    "validate_branch_name",
    "validate_tag_name",
]
