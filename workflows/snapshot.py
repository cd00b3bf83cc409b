"""What a hotfix is at one moment, as every reader sees it: ``HotfixSnapshot`` (read-only,
taken inside the transaction that read or changed the hotfix) and the small results of the
service's changes. Nothing here talks to the database."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from workflows.budgets import PhaseClock
from workflows.severity import Severity


@dataclass(frozen=True)
class ApprovalRecord:
    role: str
    user_id: str
    at: datetime


@dataclass(frozen=True)
class MessageRef:
    channel_id: str
    ts: str


@dataclass(frozen=True)
class HotfixSnapshot:
    """Everything the Slack layer may show about a hotfix, read in one transaction."""

    id: int
    state: str
    title: str
    severity: Severity
    impact: str
    ticket: str | None
    discovered_at: datetime
    reporter_id: str
    estimated_fix: timedelta | None
    risk_if_delayed: str | None
    security_fix: bool
    needs_migration: bool
    requester_id: str
    channel_id: str
    created_at: datetime
    required_roles: tuple[str, ...]
    approvals: tuple[ApprovalRecord, ...]
    messages: dict[str, MessageRef]
    override_by: str | None = None
    override_reason: str | None = None
    ended_by: str | None = None
    end_reason: str | None = None
    escalation_step: int = 0
    approval_requested_at: datetime | None = None
    base_tag: str | None = None
    base_commit: str | None = None
    branch: str | None = None
    version: str | None = None
    pr_number: int | None = None
    drill: bool = False  # a rehearsal (/hotfix start --drill): never the real repository or deploy
    pr_url: str | None = None
    ci_state: str | None = None
    ci_detail: dict[str, Any] | None = None
    review_head: str | None = None
    review_ticks: dict[str, tuple[str, ...]] = field(default_factory=dict)
    deploy_ticks: dict[str, str] = field(default_factory=dict)
    deployer_id: str | None = None
    deployed_version: str | None = None
    previous_version: str | None = None
    deploy_attempts: int = 0
    deploy_started_at: datetime | None = None
    deploy_heartbeat_at: datetime | None = None
    monitoring_started_at: datetime | None = None
    monitoring_step: int = 0
    phase: PhaseClock | None = None  # the current phase against its budget

    @property
    def key(self) -> str:
        return f"HF-{self.id}"

    def approval_for(self, role: str) -> ApprovalRecord | None:
        return next((a for a in self.approvals if a.role == role), None)

    @property
    def missing_roles(self) -> tuple[str, ...]:
        return tuple(r for r in self.required_roles if self.approval_for(r) is None)


@dataclass(frozen=True)
class FollowedHead:
    """A new PR head recorded; ``was_in`` is the state whose review it reset (None: nothing
    needed resetting)."""

    hotfix: HotfixSnapshot
    was_in: str | None


@dataclass(frozen=True)
class ApprovalOutcome:
    hotfix: HotfixSnapshot
    completed: bool  # this approval was the last one required


def parse_key(text: str) -> int | None:
    """``HF-12`` / ``hf-12`` / ``12`` → 12; anything else → None."""
    value = text.strip().upper().removeprefix("HF-")
    return int(value) if value.isdigit() and len(value) <= 12 else None
