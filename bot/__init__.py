"""Slack glue: listeners, Block Kit builders and Slack-side adapters."""

from __future__ import annotations

from slack_bolt import App

from bot import errors
from bot.ack import AckPath
from bot.listeners import actions, approvals, assessment, commands, deploy, events
from bot.router import Router
from bot.services import BotServices


def register(app: App, services: BotServices, path: AckPath) -> Router:
    """Attach every middleware and listener of Hotfix Bot to ``app``; the router says which
    ids it listens to."""
    errors.register(app, path.outbox, path.lanes.notices)
    router = Router(app)
    for listeners in (commands, assessment, actions, approvals, deploy, events):
        listeners.register(router, services, path)
    return router
