"""The ``drill`` section of the policy file: game-day drills (``/hotfix start --drill``)."""

from __future__ import annotations

import sys

from workflows.config_deploy import Argv
from workflows.config_fields import Section

# The deploy of a drill when none is configured: it walks the deploy's steps and changes
# nothing (``workflows.drill_deploy``).
SIMULATED_DEPLOY = (sys.executable, "-m", "workflows.drill_deploy", "{version}")


class Drill(Section):
    """A drill walks the whole procedure for real — approvals, branch, PR, review, tag,
    deploy, monitoring, merge-back, post-mortem — against a scratch repository, with a
    deploy that never is the production one."""

    repository: str | None = None  # the scratch remote; without it, drills are refused
    github: str | None = None  # the scratch repository on GitHub (owner/name), for its PR
    deploy_command: Argv | None = None  # default: the simulated deploy (changes nothing)
    rollback_command: Argv | None = None

    @property
    def command(self) -> tuple[str, ...]:
        return self.deploy_command or SIMULATED_DEPLOY

    @property
    def rollback(self) -> tuple[str, ...]:
        if self.rollback_command is not None:
            return self.rollback_command
        return tuple(arg.replace("{version}", "{previous_version}") for arg in self.command)
