"""Cutting a hotfix branch from its tag, tagging the release, and deleting a branch.

Each operation is safe to retry: a branch already there at the tag (or ahead of it) or a tag
already on the right commit is reported with ``created=False``; a branch of that name that
does not start at the tag, or a tag on another commit, is an error, never overwritten. If
someone else pushes the same ref meanwhile, the operation looks again once.
"""

from __future__ import annotations

from dataclasses import dataclass

from workflows.git_repo.clone import _Clone
from workflows.git_repo.errors import BranchTaken, GitOperationFailed, TagConflict, _PushRejected
from workflows.git_repo.names import _commit_id, _message, validate_branch_name, validate_tag_name
from workflows.git_repo.session import _REMOTE


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


class _Branching(_Clone):
    """The ``Repository`` methods that create and delete branches and tags on the remote."""

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
