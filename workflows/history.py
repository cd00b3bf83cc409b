"""What the last weeks looked like: closed hotfixes, their durations, and the median time
from declaration to deploy, read from the timeline (for the App Home tab)."""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from storage.db import transaction
from storage.models import Event, Hotfix

SPARK = "▁▂▃▄▅▆▇█"


@dataclass(frozen=True)
class Closed:
    """A hotfix that closed: when it was declared, first deployed, and closed."""

    id: int
    title: str
    security_fix: bool
    requester_id: str
    channel_id: str
    severity: str
    declared_at: datetime
    deployed_at: datetime | None
    closed_at: datetime

    @property
    def key(self) -> str:
        return f"HF-{self.id}"

    @property
    def duration(self) -> timedelta:
        return self.closed_at - self.declared_at

    @property
    def to_deploy(self) -> timedelta | None:
        return None if self.deployed_at is None else self.deployed_at - self.declared_at


def closed_since(sessions: sessionmaker[Session], since: datetime) -> list[Closed]:
    """Hotfixes closed at or after ``since``, newest first."""
    with transaction(sessions, read_only=True) as session:
        closings = session.execute(
            select(Event.hotfix_id, Event.at)
            .where(Event.to_state == "closed", Event.from_state != "closed", Event.at >= since)
            .order_by(Event.at.desc())
        ).all()
        ids = [hotfix_id for hotfix_id, _ in closings]
        if not ids:
            return []
        hotfixes = {h.id: h for h in session.scalars(select(Hotfix).where(Hotfix.id.in_(ids)))}
        deployed: dict[int, datetime] = {}
        for hotfix_id, at in session.execute(
            select(Event.hotfix_id, Event.at)
            .where(Event.hotfix_id.in_(ids), Event.to_state == "monitoring")
            .order_by(Event.id)
        ):
            deployed.setdefault(hotfix_id, at)
        return [
            Closed(
                id=h.id,
                title=h.title,
                security_fix=bool(h.security_fix),
                requester_id=h.requester_id,
                channel_id=h.channel_id,
                severity=h.severity,
                declared_at=h.created_at,
                deployed_at=deployed.get(h.id),
                closed_at=at,
            )
            for hotfix_id, at in closings
            if (h := hotfixes.get(hotfix_id)) is not None
        ]


def median_to_deploy(closed: list[Closed]) -> timedelta | None:
    times = [c.to_deploy.total_seconds() for c in closed if c.to_deploy is not None]
    return timedelta(seconds=statistics.median(times)) if times else None


def daily_medians(closed: list[Closed], *, until: datetime, days: int = 30) -> list[float | None]:
    """Median seconds from declaration to deploy of the hotfixes closed on each of the last
    ``days`` days (oldest first; None where none closed)."""
    start = until - timedelta(days=days)
    per_day: list[list[float]] = [[] for _ in range(days)]
    for c in closed:
        if c.to_deploy is None or c.closed_at < start:
            continue
        index = min(int((c.closed_at - start) / timedelta(days=1)), days - 1)
        per_day[index].append(c.to_deploy.total_seconds())
    return [statistics.median(d) if d else None for d in per_day]


def sparkline(values: list[float | None]) -> str:
    """``▁▃█`` for the values (a dot where there is none), scaled from zero to the largest."""
    top = max((v for v in values if v is not None), default=0.0)
    if top <= 0:
        return "".join("·" if v is None else SPARK[0] for v in values)
    return "".join(
        "·" if v is None else SPARK[min(int(v / top * (len(SPARK) - 1) + 0.5), len(SPARK) - 1)]
        for v in values
    )
