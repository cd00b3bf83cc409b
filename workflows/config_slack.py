"""How the bot works with Slack: the ``channels:`` it posts to besides the hotfix channel,
the ``workers:`` threads that do the work after a command or click has been acknowledged,
and the ``slack:`` timeout after which a message is delivered later instead."""

from __future__ import annotations

import re
from datetime import timedelta

from pydantic import Field, field_validator

from workflows.config_fields import Duration, Section

_SLACK_CHANNEL = re.compile(r"[CG][A-Z0-9]{2,}")


class Channels(Section):
    """Slack channels the bot posts to besides the hotfix channel."""

    stakeholders: str | None = None
    review: str | None = None

    @field_validator("stakeholders", "review")
    @classmethod
    def _channel_id(cls, value: str | None) -> str | None:
        if value is not None and not _SLACK_CHANNEL.fullmatch(value):
            raise ValueError(f"{value!r} is not a Slack channel id (C…/G…)")
        return value


class Workers(Section):
    """Threads that do the work after a command or click has been acknowledged."""

    requests: int = Field(default=8, ge=1, le=256)
    forms: int = Field(default=4, ge=1, le=64)
    updates: int = Field(default=4, ge=1, le=64)
    queue: int = Field(default=1000, ge=1, le=100_000)


class Slack(Section):
    """How long the bot waits for Slack before it delivers a message later instead."""

    timeout: Duration = timedelta(seconds=5)

    @field_validator("timeout")
    @classmethod
    def _seconds(cls, value: timedelta) -> timedelta:
        if not timedelta(seconds=1) <= value <= timedelta(seconds=60):
            raise ValueError("must be between 1s and 60s")
        return value
