"""Slack retries events (even while the first delivery is still running): handle each once."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

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


def first_delivery(sessions: sessionmaker[Session], body: dict[str, Any], now: datetime) -> bool:
    """Whether this event is seen for the first time (by any process); run after the ack, on
    a lane, so a retry answered while the first delivery still runs is simply dropped here."""
    event_id = body.get("event_id") if body.get("type") == "event_callback" else None
    if not event_id:
        return True
    try:
        first = claim(sessions, f"event:{event_id}", now)
    except DatabaseUnavailable:
        # Deliver anyway: every effect of an event goes through the same database, so
        # nothing can be done twice while it is down.
        log.warning("dedupe store unavailable; handling event %s unchecked", event_id)
        return True
    if not first:
        log.info("event %s already handled; dropping the retry", event_id)
    return first
