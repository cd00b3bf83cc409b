"""The close-out sections of the policy file: phase budgets, the post-mortem, the
announcement webhook (``workflows.config_policy`` assembles them into ``Policy``)."""

from __future__ import annotations

from datetime import timedelta

from pydantic import Field, field_validator

from workflows.config_fields import Duration, Section, http_url


class Budgets(Section):
    """How long each phase may take (the procedure's time boxes) before the bot escalates
    (assessment) or nudges the thread (the others)."""

    assessment: Duration = timedelta(minutes=15)
    branch: Duration = timedelta(minutes=5)
    fix: Duration = timedelta(minutes=60)
    review: Duration = timedelta(minutes=30)
    deploy: Duration = timedelta(minutes=30)
    merge_back: Duration = timedelta(minutes=30)

    @field_validator("*")
    @classmethod
    def _positive(cls, value: timedelta) -> timedelta:
        if value <= timedelta(0):
            raise ValueError("give a duration longer than zero, such as 30m")
        return value

    def of(self, phase: str) -> timedelta:
        return getattr(self, phase)


class Postmortem(Section):
    """The post-mortem draft posted when a hotfix closes."""

    github_issue: bool = False  # also open a GitHub issue holding the draft
    labels: tuple[str, ...] = ("postmortem",)


class Announce(Section):
    """Where the bot also announces a hotfix's milestones, besides ``channels.stakeholders``."""

    webhook_url: str | None = None  # POSTed one JSON object per milestone
    timeout: Duration = timedelta(seconds=5)
    attempts: int = Field(default=3, ge=1, le=10)

    @field_validator("webhook_url")
    @classmethod
    def _webhook_url(cls, value: str | None) -> str | None:
        return None if value is None else http_url(value, "https://status.example.com/hooks/hotfix")
