"""Slack retries events (even while the first delivery is still running): handle each once."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from slack_bolt import App, BoltResponse
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from storage.db import DatabaseUnavailable, transaction
from storage.models import ProcessedRequest

log = logging.getLogger(__name__)


def claim(sessions: sessionmaker[Session], key: str, now: datetime) -> bool:
    """Record ``key`` as processed; False if it already was (by any process)."""
    try:
        with transaction(sessions) as session:
            session.add(ProcessedRequest(key=key, seen_at=now))
    except IntegrityError:
        return False
    return True


def register(app: App, sessions: sessionmaker[Session], clock: Callable[[], datetime]) -> None:
    @app.middleware
    def once_per_event(body: dict, next: Callable[[], BoltResponse]) -> BoltResponse | None:
        event_id = body.get("event_id") if body.get("type") == "event_callback" else None
        if event_id:
            try:
                first = claim(sessions, f"event:{event_id}", clock())
            except DatabaseUnavailable:
                # Deliver anyway: every effect of an event goes through the same database,
                # so nothing can be done twice while it is down.
                log.warning("dedupe store unavailable; handling event %s unchecked", event_id)
                first = True
            if not first:
                log.info("event %s already handled; acknowledging the retry", event_id)
                return BoltResponse(status=200, body="")
        return next()
