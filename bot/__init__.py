"""Slack glue: listeners, Block Kit builders and Slack-side adapters."""

from __future__ import annotations

from slack_bolt import App

from bot import dedupe, errors
from bot.listeners import actions, approvals, assessment, commands, events
from bot.services import BotServices


def register(app: App, services: BotServices) -> None:
    """Attach every middleware and listener of Hotfix Bot to ``app``."""
    errors.register(app)
    dedupe.register(app, services.sessions, services.clock)
    commands.register(app, services)
    assessment.register(app, services)
    actions.register(app, services)
    approvals.register(app, services)
    events.register(app, services)
