"""A hotfix's record: what it was, who approved it, and its whole timeline, as one value.

The timeline is the append-only ``events`` table; ``/hotfix timeline``, ``hotfix-bot
export`` and the post-mortem all read it through :func:`load_record`, so there is one
record and many ways to show it. ``to_json`` / ``from_json`` keep every field (times in
UTC, ISO 8601), so an export read back is the same record.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import UTC, datetime
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload, sessionmaker

from storage.db import transaction
from storage.models import Event, Hotfix
from workflows.errors import HotfixNotFound

FORMAT: Final = "hotfix-bot/record"
FORMAT_VERSION: Final = 1


def _time(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _parse_time(value: str) -> datetime:
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@dataclass(frozen=True)
class TimelineEvent:
    """One line of the timeline: when, who (a Slack user id, or the bot), what changed."""

    at: datetime
    actor: str
    kind: str
    from_state: str | None = None
    to_state: str | None = None
    detail: dict[str, Any] | None = None

    @property
    def moved(self) -> bool:
        return bool(self.to_state) and self.to_state != self.from_state


@dataclass(frozen=True)
class Approver:
    role: str
    user_id: str
    at: datetime


@dataclass(frozen=True)
class HotfixRecord:
    id: int
    title: str
    severity: str
    state: str
    impact: str
    ticket: str | None
    security_fix: bool
    needs_migration: bool
    requester_id: str
    channel_id: str
    created_at: datetime
    discovered_at: datetime
    base_tag: str | None
    branch: str | None
    version: str | None
    previous_version: str | None
    pr_url: str | None
    deploy_attempts: int
    approvals: tuple[Approver, ...]
    events: tuple[TimelineEvent, ...]
    drill: bool = False  # a rehearsal: its post-mortem scores the team against the budgets

    @property
    def key(self) -> str:
        return f"HF-{self.id}"

    # -------------------------------------------------------------------- JSON

    def to_json(self) -> dict[str, Any]:
        hotfix: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name in ("approvals", "events"):
                continue
            hotfix[f.name] = _time(value) if isinstance(value, datetime) else value
        return {
            "format": FORMAT,
            "version": FORMAT_VERSION,
            "hotfix": {"key": self.key, **hotfix},
            "approvals": [
                {"role": a.role, "user_id": a.user_id, "at": _time(a.at)} for a in self.approvals
            ],
            "events": [
                {
                    "at": _time(e.at),
                    "actor": e.actor,
                    "kind": e.kind,
                    "from_state": e.from_state,
                    "to_state": e.to_state,
                    "detail": dict(e.detail or {}),
                }
                for e in self.events
            ],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> HotfixRecord:
        """Read an export back; a file of another format says so."""
        if data.get("format") != FORMAT or data.get("version") != FORMAT_VERSION:
            raise ValueError(
                f"not a Hotfix Bot record (format {data.get('format')!r}, version "
                f"{data.get('version')!r}; expected {FORMAT!r}, version {FORMAT_VERSION})"
            )
        hotfix = dict(data["hotfix"])
        hotfix.pop("key", None)
        for name in ("created_at", "discovered_at"):
            hotfix[name] = _parse_time(hotfix[name])
        return cls(
            **hotfix,
            approvals=tuple(
                Approver(a["role"], a["user_id"], _parse_time(a["at"])) for a in data["approvals"]
            ),
            events=tuple(
                TimelineEvent(
                    at=_parse_time(e["at"]),
                    actor=e["actor"],
                    kind=e["kind"],
                    from_state=e.get("from_state"),
                    to_state=e.get("to_state"),
                    detail=dict(e.get("detail") or {}),
                )
                for e in data["events"]
            ),
        )


def load_record(sessions: sessionmaker[Session], hotfix_id: int) -> HotfixRecord:
    """The record of ``hotfix_id`` as the database holds it now (one read transaction)."""
    with transaction(sessions, read_only=True) as session:
        hotfix = session.scalars(
            select(Hotfix).where(Hotfix.id == hotfix_id).options(selectinload(Hotfix.approvals))
        ).one_or_none()
        if hotfix is None:
            raise HotfixNotFound(f"HF-{hotfix_id}")
        events = session.scalars(
            select(Event).where(Event.hotfix_id == hotfix_id).order_by(Event.id)
        ).all()
        return HotfixRecord(
            id=hotfix.id,
            title=hotfix.title,
            severity=str(hotfix.severity),
            state=hotfix.state,
            impact=hotfix.impact,
            ticket=hotfix.ticket,
            security_fix=bool(hotfix.security_fix),
            drill=bool(hotfix.drill),
            needs_migration=bool(hotfix.needs_migration),
            requester_id=hotfix.requester_id,
            channel_id=hotfix.channel_id,
            created_at=hotfix.created_at,
            discovered_at=hotfix.discovered_at,
            base_tag=hotfix.base_tag,
            branch=hotfix.branch,
            version=hotfix.version,
            previous_version=hotfix.previous_version,
            pr_url=hotfix.pr_url,
            deploy_attempts=hotfix.deploy_attempts or 0,
            approvals=tuple(
                Approver(a.role, a.user_id, a.approved_at)
                for a in sorted(hotfix.approvals, key=lambda a: a.approved_at)
            ),
            events=tuple(
                TimelineEvent(e.at, e.actor, e.kind, e.from_state, e.to_state, dict(e.detail or {}))
                for e in events
            ),
        )
