"""Merging the hotfix back: whether it is merged, what a merge would conflict in, and the merge.

Merges are built without a work tree (``git merge-tree --write-tree`` and ``git
commit-tree``), always as a merge commit, and pushed as a fast-forward of the target: a hotfix
already merged is not merged again, a conflict is left to a person, and a target that moves
meanwhile gets the merge made again once on its new head.
"""

from __future__ import annotations

from dataclasses import dataclass

from workflows.git_repo.clone import _Clone
from workflows.git_repo.errors import GitOperationFailed, MergeConflict, _PushRejected
from workflows.git_repo.names import _message, validate_branch_name


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


class _Merging(_Clone):
    """The ``Repository`` methods that check and make the merge of a hotfix into a branch."""

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
