"""Phase budgets (the procedure's time boxes): which phase a hotfix is in, since when, and
how long that phase may take before the thread is nudged.

A phase spans one or more states (the deploy phase: ready to deploy, deploying, a failed
deploy). It starts when the hotfix enters it from another phase (``phase_started_at``, set
with the state change) and runs until it leaves; a hotfix sent back to fixing starts a new
fix phase with a budget of its own. Monitoring has its own window and pings, so it has no
budget here; the assessment's overrun is what the escalation path announces.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

PHASE_OF_STATE: Final = {
    "awaiting_approval": "assessment",
    "approved": "branch",
    "fixing": "fix",
    "in_review": "review",
    "ready_to_deploy": "deploy",
    "deploying": "deploy",
    "deploy_failed": "deploy",
    "merging_back": "merge_back",
}
PHASE_TITLES: Final = {
    "assessment": "Assessment",
    "branch": "Branch",
    "fix": "Fix",
    "review": "Review",
    "deploy": "Deploy",
    "merge_back": "Merge back",
}
#: Phases whose overrun the budget nudge announces (the assessment's: the escalation path).
NUDGED: Final = frozenset(PHASE_TITLES) - {"assessment"}


def phase_of(state: str) -> str | None:
    return PHASE_OF_STATE.get(state)


def enters_phase(before: str | None, after: str) -> bool:
    """Whether moving from ``before`` to ``after`` starts a phase (and its clock)."""
    return phase_of(after) is not None and phase_of(after) != (phase_of(before) if before else None)


@dataclass(frozen=True)
class PhaseClock:
    """The current phase against its budget."""

    phase: str
    since: datetime
    budget: timedelta

    @property
    def title(self) -> str:
        return PHASE_TITLES[self.phase]

    @property
    def due(self) -> datetime:
        return self.since + self.budget

    def elapsed(self, now: datetime) -> timedelta:
        return max(now - self.since, timedelta(0))

    def over(self, now: datetime) -> bool:
        return now >= self.due
