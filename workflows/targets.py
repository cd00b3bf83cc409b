"""Where a hotfix's git and GitHub work goes: the team's repository, or — for a drill — the
scratch repository given in ``drill.repository`` (and ``drill.github``), so that a
rehearsal never branches, tags or merges in the real one."""

from __future__ import annotations

from dataclasses import dataclass

from workflows.errors import DomainError
from workflows.git_repo import Repository
from workflows.github_client import GitHubRepository
from workflows.snapshot import HotfixSnapshot

NO_DRILL = (
    "This hotfix is a drill, and the policy file no longer names a scratch repository for "
    "drills (`drill.repository`): put it back, or abort the drill with /hotfix abort."
)


@dataclass(frozen=True)
class Target:
    repository: Repository
    github: GitHubRepository | None = None


@dataclass(frozen=True)
class Targets:
    real: Target
    drill: Target | None = None

    def of(self, hotfix: HotfixSnapshot) -> Target:
        if not hotfix.drill:
            return self.real
        if self.drill is None:
            raise DomainError(NO_DRILL)
        return self.drill
