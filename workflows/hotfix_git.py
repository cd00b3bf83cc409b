"""The procedure's git steps for one hotfix: its base, branch, version, tag and merge back.

``workflows.git_repo`` does the git work; this module decides what to do for a hotfix,
names things (neutrally for security fixes) and records each result through the hotfix
service, so every step is in the timeline and the card. Every step can be re-run: what is
already done is found and skipped.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace

from workflows.config import Policy
from workflows.errors import DomainError
from workflows.git_repo import (
    BranchResult,
    BranchTaken,
    MergeConflict,
    Repository,
    Tag,
    TagResult,
    format_tag,
    next_patch,
    validate_branch_name,
)
from workflows.github_client import GitHubRepository
from workflows.hotfixes import BOT_ACTOR, HotfixMovedOn, HotfixService
from workflows.naming import (
    Disclosure,
    branch_name,
    find_disclosures,
    merge_message,
    tag_message,
)
from workflows.security_close import security_pending
from workflows.snapshot import HotfixSnapshot
from workflows.targets import Target, Targets

#: While these hold, the base tag may still be chosen (no branch exists yet).
BASE_STATES = ("awaiting_approval", "approved")
RELEASE_BRANCHES = "release/*"


@dataclass(frozen=True)
class MergeBackReport:
    """What one merge-back run found and did, per target branch."""

    hotfix: HotfixSnapshot
    merged: tuple[str, ...] = ()
    already: tuple[str, ...] = ()
    conflicts: dict[str, tuple[str, ...]] = field(default_factory=dict)
    missing: tuple[str, ...] = ()
    pull_requests: dict[str, str] = field(default_factory=dict)  # target → PR link
    security_pending: tuple[str, ...] = ()  # a security fix's close-out items still open
    closed: bool = False


class HotfixGit:
    """Git for hotfixes, through one ``Repository`` (the configured remote)."""

    def __init__(
        self,
        service: HotfixService,
        policy: Policy,
        repository: Repository | Targets,
        github: GitHubRepository | None = None,
    ) -> None:
        self._service = service
        self._policy = policy
        # One repository (and GitHub), or the team's and the drills' (``workflows.targets``).
        self._targets = (
            repository if isinstance(repository, Targets) else Targets(Target(repository, github))
        )
        #: Told (hotfix, where the tag is now) when the base tag moved after approval.
        self.on_base_moved: Callable[[HotfixSnapshot, str], None] | None = None

    @property
    def pattern(self) -> str:
        return self._policy.repository.tag_pattern

    # ----------------------------------------------------------------- the base

    def _repo(self, hotfix: HotfixSnapshot) -> Repository:
        return self._targets.of(hotfix).repository

    def _github(self, hotfix: HotfixSnapshot) -> GitHubRepository | None:
        return self._targets.of(hotfix).github

    def latest_production_tag(self, hotfix: HotfixSnapshot) -> Tag | None:
        return self._repo(hotfix).latest_production_tag(self.pattern)

    def find_base(self, hotfix_id: int) -> HotfixSnapshot:
        """Record the latest production tag as the hotfix's base (once, if none is chosen)."""
        hotfix = self._service.get(hotfix_id)
        if hotfix.base_tag:
            return hotfix
        tag = self.latest_production_tag(hotfix)
        if tag is None:
            return self._service.note(
                hotfix_id,
                actor=BOT_ACTOR,
                kind="no_base",
                detail={"pattern": self.pattern},
                unless=lambda row: row.base_tag is not None,
            )
        # Someone may have chosen a base while the remote was read: theirs wins.
        return self._set_base(hotfix_id, tag, actor=BOT_ACTOR, only_if_unset=True)

    def choose_base(self, hotfix_id: int, tag_name: str, *, actor: str) -> HotfixSnapshot:
        """``/hotfix base HF-n v1.2.3``: the requester or a role holder picks the base."""
        hotfix = self._service.get(hotfix_id)
        self._service.may_drive(hotfix, actor, "choose its base")
        tags = {t.name: t for t in self._repo(hotfix).production_tags(self.pattern)}
        tag = tags.get(tag_name.strip())
        if tag is None:
            latest = max(tags.values(), key=lambda t: t.version).name if tags else None
            hint = f" The latest is {latest}." if latest else ""
            raise DomainError(
                f"`{tag_name[:60]}` is not a production tag on the remote (tags matching "
                f"`{self.pattern}`).{hint}"
            )
        return self._set_base(hotfix_id, tag, actor=actor)

    def _set_base(
        self, hotfix_id: int, tag: Tag, *, actor: str, only_if_unset: bool = False
    ) -> HotfixSnapshot:
        return self._service.note(
            hotfix_id,
            actor=actor,
            kind="base_chosen",
            detail={"tag": tag.name, "commit": tag.commit},
            changes={"base_tag": tag.name, "base_commit": tag.commit},
            allowed_states=BASE_STATES,
            unless=(lambda row: row.base_tag is not None) if only_if_unset else None,
        )

    # --------------------------------------------------------- branch, version

    def create_branch(self, hotfix_id: int, *, actor: str) -> HotfixSnapshot:
        """Cut the hotfix branch from its base tag and push it; re-running goes on."""
        hotfix = self._service.get(hotfix_id)
        if hotfix.state != "approved":
            raise HotfixMovedOn(hotfix.key, hotfix.state)
        if not hotfix.base_tag:
            hotfix = self.find_base(hotfix_id)
        if not hotfix.base_tag:
            raise DomainError(
                f"No tag on the remote matches `{self.pattern}`, so {hotfix.key} has no "
                "production base to branch from. Push the tag of the release in production "
                "(or fix `repository.tag_pattern` in the policy file), then retry."
            )
        version = hotfix.version or self.reserve_version(hotfix)
        name, result = self._cut(hotfix, hotfix.branch or self._branch_name(hotfix, version))
        moved = (
            result.tag_commit
            if hotfix.base_commit and result.tag_commit not in (None, hotfix.base_commit)
            else None
        )
        detail = {"branch": name, "commit": result.commit, "base": hotfix.base_tag}
        if moved:
            detail["tag_now_at"] = moved
        cut = self._service.fire(
            hotfix_id, "branch_created", actor=actor, detail=detail, changes={"branch": name}
        )
        if moved and self.on_base_moved is not None:
            self.on_base_moved(cut, moved)
        return cut

    def _cut(self, hotfix: HotfixSnapshot, name: str) -> tuple[str, BranchResult]:
        """Push ``name`` (or ``name-2``, ``name-3``…) at the approved base commit (the base
        tag's commit when the approvers saw it; the tag as it is now if none was stored). A
        name another hotfix holds is skipped; a branch already there at that commit (this
        hotfix's own earlier push, whose recording failed) is taken as is; one elsewhere is
        someone else's."""
        assert hotfix.base_tag is not None
        candidates = [name] if hotfix.branch else [name] + [f"{name}-{n}" for n in range(2, 50)]
        for candidate in candidates:
            holder = self._service.branch_holder(candidate)
            if holder not in (None, hotfix.id):
                continue
            try:
                return candidate, self._repo(hotfix).create_branch(
                    candidate, at_tag=hotfix.base_tag, at_commit=hotfix.base_commit
                )
            except BranchTaken:
                if hotfix.branch:
                    raise
        raise DomainError(f"Every name from `{name}` to `{name}-49` is taken on the remote.")

    def _branch_name(self, hotfix: HotfixSnapshot, version: str) -> str:
        name = branch_name(
            self._policy.repository.branch_pattern,
            hotfix_key=hotfix.key,
            ticket=hotfix.ticket,
            title=hotfix.title,
            security_fix=hotfix.security_fix,
            version=version.lstrip("v"),
        )
        try:
            return validate_branch_name(name)
        except ValueError as error:
            raise DomainError(f"Cannot name the hotfix branch `{name[:80]}`: {error}") from None

    def reserve_version(self, hotfix: HotfixSnapshot) -> str:
        """The next patch after the base, skipping versions tagged on the remote and versions
        other open hotfixes hold (``v1.2.4``, then ``v1.2.5`` for the second hotfix)."""
        if not hotfix.base_tag:
            raise DomainError(f"{hotfix.key} has no base tag yet.")
        tags = self._repo(hotfix).production_tags(self.pattern)
        base = next((t for t in tags if t.name == hotfix.base_tag), None)
        if base is None:
            raise DomainError(f"The base tag {hotfix.base_tag} is no longer on the remote.")
        taken = {t.name for t in tags}

        def candidates() -> Iterator[str]:
            version = next_patch(base.version)
            for _ in range(1000):
                name = format_tag(self.pattern, version)
                if name not in taken:
                    yield name
                version = next_patch(version)

        return self._service.reserve_version(hotfix.id, candidates())

    # ------------------------------------------------------------------- the tag

    def tag(self, hotfix_id: int, *, expected_commit: str | None = None) -> TagResult:
        """The annotated release tag on the reviewed head of the hotfix branch, pushed.

        The commit is ``expected_commit``, else the head the review passed on
        (``review_head``); only a hotfix never reviewed through the bot is tagged on the
        branch's head as it is."""
        hotfix = self._service.get(hotfix_id)
        expected_commit = expected_commit or hotfix.review_head
        if not hotfix.branch:
            raise DomainError(f"{hotfix.key} has no branch yet, so there is nothing to tag.")
        version = hotfix.version or self.reserve_version(hotfix)
        message = tag_message(
            title=hotfix.title,
            ticket=hotfix.ticket,
            version=version,
            security_fix=hotfix.security_fix,
        )
        result = self._repo(hotfix).create_tag(
            version, hotfix.branch, message, expected_commit=expected_commit
        )
        self._service.note(
            hotfix_id,
            actor=BOT_ACTOR,
            kind="tagged",
            detail={"tag": result.name, "commit": result.commit, "created": result.created},
        )
        return result

    # -------------------------------------------------------------- the wording

    def disclosures(self, hotfix_id: int) -> list[Disclosure]:
        """For a security fix: commits on its branch whose messages name what it fixes."""
        hotfix = self._service.get(hotfix_id)
        if not hotfix.security_fix or not hotfix.branch or not hotfix.base_tag:
            return []
        commits = self._repo(hotfix).commits_on_branch(hotfix.branch, hotfix.base_tag)
        return find_disclosures(
            ((f"commit {c.sha[:7]}", c.message) for c in commits),
            self._policy.security.disclosing_words,
        )

    # ---------------------------------------------------------------- merge back

    def targets(self, hotfix: HotfixSnapshot) -> tuple[list[str], list[str]]:
        """(branches that must receive the fix and exist, configured ones that do not)."""
        branches = self._repo(hotfix).remote_branches()
        wanted = list(self._policy.repository.merge_back)
        if self._policy.repository.merge_into_release_branches:
            wanted += sorted(b for b in branches if fnmatch.fnmatch(b, RELEASE_BRANCHES))
        present = [b for b in dict.fromkeys(wanted) if b in branches]
        missing = [b for b in self._policy.repository.merge_back if b not in branches]
        return present, missing

    def merge_back(self, hotfix_id: int, *, actor: str) -> MergeBackReport:
        """Merge the fix into every target that lacks it; report conflicts; close when done.

        ``direct`` merges and pushes; ``pull_request`` opens (or finds) one PR per target and
        the fix counts as merged once git sees it on the target. Safe to re-run, like
        git-flow's ``finish``: targets that have the fix are skipped.
        """
        hotfix = self._service.get(hotfix_id)
        if hotfix.state != "merging_back":
            raise HotfixMovedOn(hotfix.key, hotfix.state)
        if not hotfix.branch:
            raise DomainError(f"{hotfix.key} has no branch to merge back.")
        by_pull_request = self._policy.repository.merge_strategy == "pull_request"
        github = self._github(hotfix)
        if by_pull_request and github is None:
            raise DomainError(
                "`repository.merge_strategy` is `pull_request`, but GitHub is not configured: "
                "set `repository.github` and `GITHUB_TOKEN` (or a GitHub App), or use "
                "`merge_strategy: direct`."
            )
        targets, missing = self.targets(hotfix)
        merged: list[str] = []
        already: list[str] = []
        conflicts: dict[str, tuple[str, ...]] = {}
        pulls: dict[str, str] = {}
        message = merge_message(
            branch=hotfix.branch,
            version=hotfix.version,
            title=hotfix.title,
            security_fix=hotfix.security_fix,
        )
        for target in targets:
            check = self._repo(hotfix).merge_check(hotfix.branch, target)
            if check.already_merged or (
                github is not None and github.merged_pull(hotfix.branch, target)
            ):
                already.append(target)
                continue
            if check.conflicts:
                conflicts[target] = check.conflicts
            if by_pull_request or (check.conflicts and github is not None):
                # A conflicting target gets a PR in either strategy: it is where the
                # resolution is reviewed.
                pulls[target] = self._pull_request(hotfix, target, message)
            elif not check.conflicts:
                try:
                    result = self._repo(hotfix).merge(hotfix.branch, target, message)
                except MergeConflict as conflict:  # the target moved between check and merge
                    conflicts[target] = tuple(conflict.files)
                    continue
                (merged if result.merged else already).append(target)
        detail = {
            "merged": merged,
            "already": already,
            "conflicts": conflicts,
            "missing": missing,
            "pull_requests": pulls,
        }
        report = MergeBackReport(
            hotfix, tuple(merged), tuple(already), conflicts, tuple(missing), pulls
        )
        pending = security_pending(self._service.get(hotfix_id))
        if conflicts or pulls or pending:
            hotfix = self._service.note(
                hotfix_id,
                actor=actor,
                kind="merge_back_waiting",
                detail={**detail, "security_pending": pending},
            )
            return replace(report, hotfix=hotfix, security_pending=tuple(pending))
        # Close first: if recording fails the branch is still there for the re-run.
        closed = self._service.fire(hotfix_id, "merged_back", actor=actor, detail=detail)
        self._repo(hotfix).delete_branch(hotfix.branch)  # False (no error) if it is already gone
        return replace(report, hotfix=closed, closed=True)

    def _pull_request(self, hotfix: HotfixSnapshot, target: str, title: str) -> str:
        github = self._github(hotfix)
        assert github is not None
        body = (
            f"Merging the {hotfix.version or 'hotfix'} hotfix back into `{target}` "
            f"(procedure Phase 6), so the next release keeps the fix.\n\n"
            f"Opened by Hotfix Bot for {hotfix.key}."
        )
        pull, _created = github.open_pull(
            head_branch=hotfix.branch or "", base=target, title=title, body=body
        )
        return pull.url
