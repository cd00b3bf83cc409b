"""``GET /metrics``: Prometheus metrics, read from the database at each scrape.

What the hotfixes did is on their timeline, so the process that answers the scrape (the
front) reads it there rather than counting in memory: the numbers are the same whichever
process did the work, and survive restarts. Only the timers' lag (how late a timer fired
after it was due) is measured where the timers run (the worker) and told to the front.

- ``hotfix_bot_hotfixes{state}``: hotfixes by state
- ``hotfix_bot_phase_duration_seconds{phase}``: how long each finished phase took
- ``hotfix_bot_approval_latency_seconds{role}``: from asking for approvals to each approval
- ``hotfix_bot_deploy_outcomes_total{outcome}``: deploys and rollbacks, by how they ended
- ``hotfix_bot_timer_lag_seconds``: from when a timer was due to when it fired
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, sessionmaker

from storage.db import transaction
from storage.models import Approval, Event, Hotfix
from workflows.budgets import phase_of
from workflows.lifecycle import HotfixLifecycle

log = logging.getLogger(__name__)

METRICS_PATH = "/metrics"
# Minutes to hours: phases and approvals take that long.
DURATION_BUCKETS = (60, 300, 600, 900, 1800, 3600, 7200, 14400, 43200, 86400)
LAG_BUCKETS = (0.1, 0.5, 1, 2, 5, 10, 30, 60, 300)
OUTCOMES = {
    "deploy_succeeded": "deploy_succeeded",
    "deploy_failure": "deploy_failed",
    "rollback_finished": "rollback_succeeded",
    "rollback_failed": "rollback_failed",
}


def _histogram(
    name: str, doc: str, label: str, samples: dict[str, list[float]]
) -> HistogramMetricFamily:
    family = HistogramMetricFamily(name, doc, labels=[label])
    for value, seconds in sorted(samples.items()):
        buckets = [(str(float(b)), sum(1 for s in seconds if s <= b)) for b in DURATION_BUCKETS]
        buckets.append(("+Inf", len(seconds)))
        family.add_metric([value], buckets=buckets, sum_value=sum(seconds))
    return family


def phase_durations(events: Iterable[tuple[int, datetime, str | None, str | None]]) -> dict:
    """Seconds each finished phase took, by phase, from (hotfix, at, from, to) moves."""
    durations: dict[str, list[float]] = defaultdict(list)
    current: dict[int, tuple[str, datetime]] = {}
    for hotfix_id, at, _, to_state in events:
        phase = phase_of(to_state) if to_state else None
        running = current.get(hotfix_id)
        if running is not None and running[0] != phase:
            durations[running[0]].append((at - running[1]).total_seconds())
            del current[hotfix_id]
        if phase is not None and (running is None or running[0] != phase):
            current[hotfix_id] = (phase, at)
    return durations


class HotfixCollector(Collector):
    """Reads the metrics from the database at each scrape (a few grouped queries)."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def collect(self) -> Iterator[Any]:
        try:
            yield from self._collect()
        except Exception as error:  # a scrape while the database is down: no hotfix numbers
            log.warning("metrics: could not read the database (%s)", error)

    def _collect(self) -> Iterator[Any]:
        with transaction(self._sessions, read_only=True) as session:
            by_state = dict(
                session.execute(select(Hotfix.state, func.count()).group_by(Hotfix.state)).all()
            )
            moves = session.execute(
                select(Event.hotfix_id, Event.at, Event.from_state, Event.to_state)
                .where(
                    Event.to_state.is_not(None),
                    or_(Event.from_state.is_(None), Event.to_state != Event.from_state),
                )
                .order_by(Event.id)
            ).all()
            approvals = session.execute(
                select(Approval.role, Approval.approved_at, Hotfix.approval_requested_at)
                .join(Hotfix, Hotfix.id == Approval.hotfix_id)
                .where(Hotfix.approval_requested_at.is_not(None))
            ).all()
            outcomes = dict(
                session.execute(
                    select(Event.kind, func.count())
                    .where(Event.kind.in_(OUTCOMES))
                    .group_by(Event.kind)
                ).all()
            )
        states = GaugeMetricFamily("hotfix_bot_hotfixes", "Hotfixes by state", labels=["state"])
        for state in HotfixLifecycle.states:
            states.add_metric([state.id], by_state.get(state.id, 0))
        yield states
        yield _histogram(
            "hotfix_bot_phase_duration_seconds",
            "How long each finished phase of a hotfix took",
            "phase",
            phase_durations(moves),
        )
        latency: dict[str, list[float]] = defaultdict(list)
        for role, approved_at, requested_at in approvals:
            latency[role].append(max((approved_at - requested_at).total_seconds(), 0.0))
        yield _histogram(
            "hotfix_bot_approval_latency_seconds",
            "From asking for approvals to each approval",
            "role",
            latency,
        )
        counted = CounterMetricFamily(
            "hotfix_bot_deploy_outcomes", "Deploys and rollbacks by outcome", labels=["outcome"]
        )
        for kind, outcome in OUTCOMES.items():
            counted.add_metric([outcome], outcomes.get(kind, 0))
        yield counted


class Metrics:
    """One bot's registry: the database collector and the timers' lag."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.registry.register(HotfixCollector(sessions))
        self.timer_lag = Histogram(
            "hotfix_bot_timer_lag_seconds",
            "From when a timer was due to when it fired",
            buckets=LAG_BUCKETS,
            registry=self.registry,
        )

    def observe_lag(self, seconds: float) -> None:
        self.timer_lag.observe(max(seconds, 0.0))

    def wsgi(self, start_response: Any) -> list[bytes]:
        body = generate_latest(self.registry)
        start_response(
            "200 OK", [("Content-Type", CONTENT_TYPE_LATEST), ("Content-Length", str(len(body)))]
        )
        return [body]
