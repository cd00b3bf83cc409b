"""The policy's ``deploy:`` and ``monitoring:`` sections (procedure Phase 5): how a reviewed
hotfix is deployed, checked and rolled back, and how long it is watched afterwards."""

from __future__ import annotations

import re
import string
from datetime import timedelta
from typing import Annotated, Final

from pydantic import AfterValidator, BeforeValidator, Field, field_validator, model_validator

from workflows.config_fields import (
    Duration,
    RoleReference,
    Section,
    http_url,
    non_empty_unique,
)
from workflows.durations import format_duration

#: What a deploy command, its working directory and a workflow's inputs may name.
DEPLOY_PLACEHOLDERS: Final = ("version", "previous_version", "ticket", "hotfix_id", "checkout")
_DEPLOY_EXAMPLE = 'such as ["./deploy.sh", "production", "{version}"]'


def _deploy_template(value: str) -> str:
    """One argument (or path) of a deploy: only the deploy placeholders, no format specs."""
    try:
        pieces = list(string.Formatter().parse(value))
    except ValueError:
        raise ValueError(f"{value!r} has an unmatched {{ or }}") from None
    for _, name, spec, conversion in pieces:
        if name is None:
            continue
        if name not in DEPLOY_PLACEHOLDERS:
            known = ", ".join(f"{{{p}}}" for p in DEPLOY_PLACEHOLDERS)
            raise ValueError(f"{value!r} has an unknown placeholder {{{name}}}: use {known}")
        if spec or conversion:
            raise ValueError(f"{value!r}: placeholders take no format, write {{{name}}}")
    return value


def _argv(value: object) -> object:
    if isinstance(value, str):
        raise ValueError(
            f"{value!r} is a shell string: give the command as a list of arguments, "
            f"{_DEPLOY_EXAMPLE} (the bot never runs a shell)"
        )
    return value


def _non_empty_argv(value: tuple[str, ...]) -> tuple[str, ...]:
    if not value or not value[0].strip():
        raise ValueError(f"must name a program to run, {_DEPLOY_EXAMPLE}")
    return value


DeployTemplate = Annotated[str, AfterValidator(_deploy_template)]
Argv = Annotated[
    tuple[DeployTemplate, ...], BeforeValidator(_argv), AfterValidator(_non_empty_argv)
]


class HealthExpect(Section):
    """What a healthy answer of ``deploy.health_url`` is."""

    status: int = Field(default=200, ge=100, le=599)
    body: str | None = None  # a substring the body must contain


class GitHubActionsDeploy(Section):
    """Deploy by dispatching a GitHub Actions workflow and following its run."""

    workflow: str
    ref: DeployTemplate = "{version}"
    inputs: dict[str, DeployTemplate] = Field(default_factory=dict)

    @field_validator("workflow")
    @classmethod
    def _workflow_file(cls, value: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9._-]+\.ya?ml|[0-9]+", value.strip()):
            raise ValueError(f"{value!r} is not a workflow file name (deploy.yml) or id")
        return value.strip()


class Deploy(Section):
    """Procedure Phase 5: how a reviewed hotfix is deployed, checked and rolled back."""

    command: Argv | None = None
    workdir: DeployTemplate = "{checkout}"
    timeout: Duration = timedelta(minutes=15)
    rollback_command: Argv | None = None  # default: ``command`` with the previous version
    github_actions: GitHubActionsDeploy | None = None
    health_url: str | None = None
    health_expect: HealthExpect = Field(default_factory=HealthExpect)
    health_timeout: Duration = timedelta(minutes=2)
    dashboards: dict[str, str] = Field(default_factory=dict)  # name → URL
    allowed_roles: Annotated[tuple[RoleReference, ...], non_empty_unique("role")] = ("oncall_lead",)

    @field_validator("health_url")
    @classmethod
    def _health_url(cls, value: str | None) -> str | None:
        return None if value is None else http_url(value, "https://api.example.com/health")

    @field_validator("dashboards")
    @classmethod
    def _dashboard_urls(cls, value: dict[str, str]) -> dict[str, str]:
        return {
            str(name): http_url(str(url), "https://grafana.example.com/d/api")
            for name, url in value.items()
        }

    @model_validator(mode="after")
    def _one_way_to_deploy(self) -> Deploy:
        if self.command is not None and self.github_actions is not None:
            raise ValueError(
                "give either command or github_actions, not both: the bot deploys one way"
            )
        if self.rollback_command is not None and self.github_actions is not None:
            raise ValueError(
                "rollback_command goes with command; with github_actions the rollback "
                "dispatches the same workflow for the previous version"
            )
        return self

    @property
    def configured(self) -> bool:
        return self.command is not None or self.github_actions is not None

    @property
    def rollback(self) -> tuple[str, ...] | None:
        """The rollback argv: as configured, else the deploy run for the previous version."""
        if self.rollback_command is not None:
            return self.rollback_command
        if self.command is None:
            return None
        return tuple(arg.replace("{version}", "{previous_version}") for arg in self.command)


class Monitoring(Section):
    """The watch after a healthy deploy ("monitor for at least 30 minutes")."""

    interval: Duration = timedelta(minutes=10)
    window: Duration = timedelta(minutes=30)

    @model_validator(mode="after")
    def _interval_fits(self) -> Monitoring:
        if self.interval > self.window:
            raise ValueError(
                f"interval ({format_duration(self.interval)}) is longer than window "
                f"({format_duration(self.window)}): no ping would be posted"
            )
        return self
