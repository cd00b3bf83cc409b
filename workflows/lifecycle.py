"""The hotfix lifecycle, declared once: states, the events that move between them.

The machine does no I/O. ``workflows.hotfixes`` binds it to a stored row, fires events and
records every transition in the timeline; later capabilities (branch, review, deploy,
monitoring, merge back) only add the work done in each state.
"""

from __future__ import annotations

from statemachine import State, StateMachine


class HotfixLifecycle(StateMachine):
    """From the assessment to close-out, following the hotfix procedure's phases."""

    awaiting_approval = State("Awaiting approval", initial=True)
    approved = State("Approved")
    fixing = State("Fixing")
    in_review = State("In review")
    ready_to_deploy = State("Ready to deploy")
    deploying = State("Deploying")
    monitoring = State("Monitoring")
    merging_back = State("Merging back")
    closed = State("Closed", final=True)
    rejected = State("Rejected", final=True)
    aborted = State("Aborted", final=True)
    deploy_failed = State("Deploy failed")
    rolled_back = State("Rolled back")

    approve = awaiting_approval.to(approved)
    reject = awaiting_approval.to(rejected)
    branch_created = approved.to(fixing) | rolled_back.to(fixing)
    pr_opened = fixing.to(in_review)
    review_passed = in_review.to(ready_to_deploy)
    review_reset = ready_to_deploy.to(in_review) | in_review.to(in_review)
    deploy = ready_to_deploy.to(deploying) | deploy_failed.to(deploying)
    deploy_succeeded = deploying.to(monitoring)
    deploy_failed_event = deploying.to(deploy_failed)
    roll_back = monitoring.to(rolled_back) | deploy_failed.to(rolled_back)
    monitoring_passed = monitoring.to(merging_back)
    merged_back = merging_back.to(closed)
    abort = (
        awaiting_approval.to(aborted)
        | approved.to(aborted)
        | fixing.to(aborted)
        | in_review.to(aborted)
        | ready_to_deploy.to(aborted)
        | deploy_failed.to(aborted)
        | rolled_back.to(aborted)
    )


#: The phases in the order the card shows them (the "progress bar").
PHASES: tuple[str, ...] = (
    "awaiting_approval",
    "approved",
    "fixing",
    "in_review",
    "ready_to_deploy",
    "deploying",
    "monitoring",
    "merging_back",
    "closed",
)

_STATES = {state.id: state for state in HotfixLifecycle.states}


def state_name(state_id: str) -> str:
    """The human name of a state (``"in_review"`` → ``"In review"``)."""
    return _STATES[state_id].name


def is_final(state_id: str) -> bool:
    """True once a hotfix can no longer change (closed, rejected, aborted)."""
    return bool(_STATES[state_id].final)


ACTIVE_STATES: tuple[str, ...] = tuple(s.id for s in HotfixLifecycle.states if not s.final)
