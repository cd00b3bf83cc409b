"""What the Slack listeners need from the rest of the application, handed in by app.py."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from slack_sdk import WebClient
from sqlalchemy.orm import Session, sessionmaker

from bot.card import CardPublisher
from bot.deploy_flow import DeployFlow
from bot.git_flow import GitFlow
from bot.postmortem import PostMortems
from bot.security_close import SecurityCloseOut
from workflows.config import Policy
from workflows.hotfixes import HotfixService
from workflows.roles import RolesUnavailable
from workflows.snapshot import HotfixSnapshot


@dataclass(frozen=True)
class BotServices:
    hotfixes: HotfixService
    cards: CardPublisher
    git: GitFlow
    sessions: sessionmaker[Session]
    clock: Callable[[], datetime]
    slack: WebClient  # bounded in time, stopped while Slack does not answer (bot.slack_api)
    deploys: DeployFlow
    policy: Policy
    postmortems: PostMortems
    security: SecurityCloseOut
    public_url: str | None = None  # where Slack reaches the bot (the Home tab's chart)

    def visible_to(self, user_id: str) -> Callable[[HotfixSnapshot], bool]:
        """Whether ``user_id`` may see a hotfix's details: always, except a security fix,
        whose title and timeline only its requester and role holders see (the procedure's
        Security Hotfix Pattern: internal first, the rest after mitigation)."""
        try:
            insider = bool(self.hotfixes.directory.roles_of(user_id))
        except RolesUnavailable:
            insider = False  # unknown: show the neutral title

        return lambda hotfix: not hotfix.security_fix or insider or hotfix.requester_id == user_id
