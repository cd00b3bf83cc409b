"""The declared lifecycle: every allowed transition, and refusals of the rest."""

from __future__ import annotations

import pytest
from statemachine.exceptions import TransitionNotAllowed

from workflows.lifecycle import ACTIVE_STATES, PHASES, HotfixLifecycle, is_final, state_name

ALLOWED = {
    ("awaiting_approval", "approve"): "approved",
    ("awaiting_approval", "reject"): "rejected",
    ("awaiting_approval", "abort"): "aborted",
    ("approved", "branch_created"): "fixing",
    ("approved", "abort"): "aborted",
    ("fixing", "pr_opened"): "in_review",
    ("fixing", "abort"): "aborted",
    ("in_review", "review_passed"): "ready_to_deploy",
    ("in_review", "review_reset"): "in_review",
    ("in_review", "abort"): "aborted",
    ("ready_to_deploy", "review_reset"): "in_review",
    ("ready_to_deploy", "deploy"): "deploying",
    ("ready_to_deploy", "abort"): "aborted",
    ("deploying", "deploy_succeeded"): "monitoring",
    ("deploying", "deploy_failed_event"): "deploy_failed",
    ("deploy_failed", "deploy"): "deploying",
    ("deploy_failed", "roll_back"): "rolled_back",
    ("deploy_failed", "abort"): "aborted",
    ("monitoring", "roll_back"): "rolled_back",
    ("monitoring", "monitoring_passed"): "merging_back",
    ("rolled_back", "branch_created"): "fixing",
    ("rolled_back", "abort"): "aborted",
    ("merging_back", "merged_back"): "closed",
}

STATES = [s.id for s in HotfixLifecycle.states]
EVENTS = sorted({e.id for e in HotfixLifecycle.events})


class Row:
    def __init__(self, state: str | None = None) -> None:
        self.state = state


@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("event", EVENTS)
def test_transition_table(state: str, event: str) -> None:
    row = Row(state)
    machine = HotfixLifecycle(model=row, state_field="state")
    expected = ALLOWED.get((state, event))
    if expected is None:
        with pytest.raises(TransitionNotAllowed):
            machine.send(event)
        assert row.state == state
    else:
        machine.send(event)
        assert row.state == expected


def test_a_new_hotfix_awaits_approval() -> None:
    row = Row()
    HotfixLifecycle(model=row, state_field="state")
    assert row.state == "awaiting_approval"


def test_final_and_active_states() -> None:
    assert {s for s in STATES if is_final(s)} == {"closed", "rejected", "aborted"}
    assert set(ACTIVE_STATES) == set(STATES) - {"closed", "rejected", "aborted"}
    assert PHASES[0] == "awaiting_approval" and PHASES[-1] == "closed"
    assert state_name("in_review") == "In review"
