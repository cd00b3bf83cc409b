"""The whole policy file as one model, :class:`Policy`: each section in its place, empty
sections meaning the defaults, and the checks that span sections (every role reference is
defined, drills stay out of production)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import Field, ValidationInfo, model_validator

from workflows.config_closeout import Announce, Budgets, Postmortem
from workflows.config_deploy import Deploy, Monitoring
from workflows.config_drill import Drill
from workflows.config_fields import KNOWN_ROLES_CONTEXT, Section, unknown_role
from workflows.config_repository import Repository
from workflows.config_review import Review, Security
from workflows.config_roles import (
    DEFAULT_ESCALATION,
    Approvals,
    PrincipalList,
    RoleList,
    RoleName,
    SlackPrincipal,
)
from workflows.config_slack import Channels, Slack, Workers


class Policy(Section):
    """The hotfix policy file (``hotfix.yml``): who approves, who is escalated to, budgets."""

    repository: Repository
    roles: dict[RoleName, PrincipalList]
    approvals: Approvals = Field(default_factory=Approvals)
    budgets: Budgets = Field(default_factory=Budgets)
    escalation: RoleList = DEFAULT_ESCALATION
    channels: Channels = Field(default_factory=Channels)
    security: Security = Field(default_factory=Security)
    review: Review = Field(default_factory=Review)
    people: dict[str, SlackPrincipal] = Field(default_factory=dict)
    data_dir: Path = Path("data")
    workers: Workers = Field(default_factory=Workers)
    slack: Slack = Field(default_factory=Slack)
    deploy: Deploy = Field(default_factory=Deploy)
    monitoring: Monitoring = Field(default_factory=Monitoring)
    announce: Announce = Field(default_factory=Announce)
    postmortem: Postmortem = Field(default_factory=Postmortem)
    drill: Drill = Field(default_factory=Drill)

    @model_validator(mode="before")
    @classmethod
    def _empty_sections_use_defaults(cls, data: Any) -> Any:
        # "channels:" with every key commented out reads as null; it means "the defaults".
        if isinstance(data, Mapping):
            optional = (
                "approvals",
                "budgets",
                "channels",
                "security",
                "review",
                "people",
                "workers",
                "slack",
                "deploy",
                "monitoring",
                "announce",
                "postmortem",
                "drill",
            )
            return {k: v for k, v in data.items() if not (k in optional and v is None)}
        return data

    @model_validator(mode="after")
    def _roles_are_defined(self, info: ValidationInfo) -> Policy:
        if (info.context or {}).get(KNOWN_ROLES_CONTEXT) is not None:
            return self  # load_policy checked every reference, with exact locations
        problems = []
        for path, roles in self._role_references():
            problems += [
                f"{path}: {unknown_role(r, self.roles)}" for r in roles if r not in self.roles
            ]
        if problems:
            raise ValueError("\n".join(problems))
        return self

    @model_validator(mode="after")
    def _drills_stay_out_of_production(self) -> Policy:
        drill = self.drill
        if drill.repository is not None and drill.repository.strip() == self.repository.remote:
            raise ValueError(
                "drill.repository is repository.remote: a drill would branch, tag and merge in "
                "the real repository. Give drills a scratch repository of their own."
            )
        if drill.github is not None and drill.github == self.repository.github:
            raise ValueError(
                "drill.github is repository.github: a drill would open pull requests in the "
                "real repository. Give drills a scratch repository of their own."
            )
        if drill.deploy_command is not None and drill.deploy_command == self.deploy.command:
            raise ValueError(
                "drill.deploy_command is deploy.command: a drill never runs the production "
                "deploy. Leave drill.deploy_command out to use the simulated one."
            )
        return self

    def _role_references(self) -> list[tuple[str, tuple[str, ...]]]:
        return [
            ("approvals.critical", self.approvals.critical),
            ("approvals.high", self.approvals.high),
            ("escalation", self.escalation),
        ] + (
            # The default names oncall_lead; a team without one deploys as requester only.
            [("deploy.allowed_roles", self.deploy.allowed_roles)]
            if "allowed_roles" in self.deploy.model_fields_set
            else []
        )

    def required_roles(self, severity: str) -> list[str]:
        """Roles whose approval a hotfix of ``severity`` needs; none for medium and low."""
        match severity.strip().lower():
            case "critical":
                return list(self.approvals.critical)
            case "high":
                return list(self.approvals.high)
            case _:
                return []
