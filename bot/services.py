"""What the Slack listeners need from the rest of the application, handed in by app.py."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from bot.card import CardPublisher
from bot.git_flow import GitFlow
from workflows.hotfixes import HotfixService


@dataclass(frozen=True)
class BotServices:
    hotfixes: HotfixService
    cards: CardPublisher
    git: GitFlow
    sessions: sessionmaker[Session]
    clock: Callable[[], datetime]
