"""Slack glue: listeners, Block Kit builders and Slack-side adapters."""

from __future__ import annotations

from slack_bolt import App

from bot import errors
from bot.ack import AckPath
from bot.listeners import actions, approvals, assessment, commands, events
from bot.services import BotServices


def register(app: App, services: BotServices, path: AckPath) -> None:
    """Attach every middleware and listener of Hotfix Bot to ``app``."""
    errors.register(app, path.outbox, path.lanes.notices)
    commands.register(app, services, path)
    assessment.register(app, services, path)
    actions.register(app, services, path)
    approvals.register(app, services, path)
    events.register(app, services, path)
