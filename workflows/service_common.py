"""What the hotfix service's parts share: the clock, the state groups they check, and the
errors a stale or repeated request meets (``workflows.hotfixes`` re-exports them)."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import UTC, datetime

from sqlalchemy.orm import Session, sessionmaker

from storage.models import Hotfix
from workflows.config import Policy
from workflows.errors import DomainError
from workflows.lifecycle import state_name
from workflows.roles import RoleDirectory
from workflows.snapshot import HotfixSnapshot

Clock = Callable[[], datetime]
ChangeListener = Callable[[int], None]
#: While the PR is reviewed, or reviewed and not yet deployed, a new head resets the review.
REVIEW_STATES = ("in_review", "ready_to_deploy")
#: States in which no tag can exist yet, so an ending gives the reserved version back.
UNSHIPPED_STATES = ("awaiting_approval", "approved", "fixing", "in_review", "ready_to_deploy")


def system_clock() -> datetime:
    return datetime.now(UTC)


class AlreadyDone(Exception):
    """The idempotency key was claimed before: roll back and report a duplicate."""


class HotfixMovedOn(DomainError):
    """The action was meant for an earlier state (a stale message or a double click)."""

    def __init__(self, key: str, state: str) -> None:
        super().__init__(f"{key} is now *{state_name(state)}*, so that no longer applies.")
        self.state = state


class ServicePart:
    """A part of ``HotfixService`` (``workflows.hotfixes``): what the service provides to
    each of its parts — the sessions, the policy, the roles, the clock, the locked
    transaction, the timeline, the snapshots and the change listeners."""

    _sessions: sessionmaker[Session]
    _policy: Policy
    _directory: RoleDirectory
    _clock: Clock
    _locked: Callable[..., AbstractContextManager[tuple[Session, Hotfix]]]
    _log: Callable[..., None]
    _fire: Callable[..., None]
    _snapshot: Callable[[Session, Hotfix], HotfixSnapshot]
    _changed: Callable[[int], None]
    get: Callable[[int], HotfixSnapshot]
