"""The declared lifecycle: every allowed transition, refusals of the rest, and its guards."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from statemachine.exceptions import TransitionNotAllowed

from workflows.lifecycle import (
    ACTIVE_STATES,
    PHASES,
    HotfixLifecycle,
    Refused,
    is_final,
    sources,
    state_name,
)

ALLOWED = {
    ("new", "assess"): "awaiting_approval",  # CRITICAL/HIGH; MEDIUM/LOW → declined (below)
    ("declined", "override"): "awaiting_approval",
    ("awaiting_approval", "record_approval"): "awaiting_approval",
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
    ("deploying", "deploy_failure"): "deploy_failed",
    ("deploy_failed", "deploy"): "deploying",
    ("deploy_failed", "roll_back"): "rolled_back",
    ("deploy_failed", "abort"): "aborted",
    ("monitoring", "roll_back"): "rolled_back",
    ("monitoring", "monitoring_passed"): "merging_back",
    ("rolled_back", "fix_again"): "fixing",
    ("deploy_failed", "fix_again"): "fixing",
    ("rolled_back", "abort"): "aborted",
    ("merging_back", "merged_back"): "closed",
}

STATES = [s.id for s in HotfixLifecycle.states]
EVENTS = sorted({e.id for e in HotfixLifecycle.events})


@dataclass
class Given:
    role: str
    user_id: str


@dataclass
class Row:
    """Stands in for the stored hotfix the machine is bound to."""

    state: str | None = None
    severity: str = "critical"
    requester_id: str = "U0ALICE"
    required_roles: list[str] = field(default_factory=lambda: ["engineering_manager", "cto"])
    approvals: list[Given] = field(default_factory=list)
    key: str = "HF-7"


# Arguments with which every validator agrees: an EM+CTO who is not the requester.
PERMITTED = {
    "actor": "U0DANA",
    "actor_roles": {"engineering_manager", "cto"},
    "role": "engineering_manager",
    "reason": "because",
    "deploy_roles": ("cto",),
}


@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("event", EVENTS)
def test_transition_table(state: str, event: str) -> None:
    row = Row(state=state)
    if event == "approve":
        row.approvals = [Given("engineering_manager", "U1"), Given("cto", "U2")]
    machine = HotfixLifecycle(model=row, state_field="state")
    expected = ALLOWED.get((state, event))
    if expected is None:
        with pytest.raises(TransitionNotAllowed):
            machine.send(event, **PERMITTED)
        assert row.state == state
    else:
        machine.send(event, **PERMITTED)
        assert row.state == expected


def test_assessment_sends_medium_and_low_to_declined() -> None:
    for severity, expected in [
        ("critical", "awaiting_approval"),
        ("high", "awaiting_approval"),
        ("medium", "declined"),
        ("low", "declined"),
    ]:
        row = Row(severity=severity)
        HotfixLifecycle(model=row, state_field="state").send("assess")
        assert row.state == expected


def test_approve_waits_for_every_required_role() -> None:
    row = Row(state="awaiting_approval", approvals=[Given("engineering_manager", "U1")])
    machine = HotfixLifecycle(model=row, state_field="state")
    assert not machine.fully_approved()
    with pytest.raises(TransitionNotAllowed):
        machine.send("approve")
    row.approvals.append(Given("cto", "U2"))
    machine.send("approve")
    assert row.state == "approved"


@pytest.mark.parametrize(
    ("arguments", "approvals", "message"),
    [
        ({"actor": "U0ALICE"}, [], "You requested HF-7, so you cannot approve it"),
        (
            {"actor_roles": {"oncall_lead"}},
            [],
            "Only a holder of the Engineering Manager role can approve HF-7",
        ),
        ({"role": "security"}, [], "HF-7 does not need an approval as Security."),
        (
            {},
            [Given("engineering_manager", "U0OMAR")],
            "Engineering Manager approval for HF-7 was already given by <@U0OMAR>.",
        ),
        (
            {"role": "cto"},
            [Given("engineering_manager", "U0DANA")],
            "You already approved HF-7 as Engineering Manager; each role needs a different person",
        ),
    ],
)
def test_approval_refusals(arguments: dict, approvals: list[Given], message: str) -> None:
    row = Row(state="awaiting_approval", approvals=approvals)
    machine = HotfixLifecycle(model=row, state_field="state")
    with pytest.raises(Refused) as refused:
        machine.send("record_approval", **{**PERMITTED, **arguments})
    assert message in refused.value.user_message
    assert row.state == "awaiting_approval"


def test_one_person_may_fill_two_roles_when_the_policy_allows() -> None:
    row = Row(state="awaiting_approval", approvals=[Given("engineering_manager", "U0DANA")])
    machine = HotfixLifecycle(model=row, state_field="state")
    machine.send("record_approval", **{**PERMITTED, "role": "cto"}, distinct_people=False)


@pytest.mark.parametrize(
    ("state", "event", "arguments", "message"),
    [
        (
            "awaiting_approval",
            "reject",
            {"actor_roles": {"security"}},
            "Only an approver of HF-7 (Engineering Manager or CTO) can reject it",
        ),
        ("awaiting_approval", "reject", {"reason": "  "}, "Give a reason to reject"),
        (
            "declined",
            "override",
            {"actor_roles": {"oncall_lead"}},
            "Only an Engineering Manager or CTO can override the severity matrix",
        ),
        ("declined", "override", {"reason": ""}, "Give a reason to override"),
        (
            "fixing",
            "abort",
            {"actor_roles": set()},
            "Only the requester of HF-7 (<@U0ALICE>) or an Engineering Manager or CTO can abort",
        ),
        ("fixing", "abort", {"reason": ""}, "Give a reason to abort"),
    ],
)
def test_reasoned_events_check_who_and_why(
    state: str, event: str, arguments: dict, message: str
) -> None:
    row = Row(state=state)
    machine = HotfixLifecycle(model=row, state_field="state")
    with pytest.raises(Refused) as refused:
        machine.send(event, **{**PERMITTED, **arguments})
    assert message in refused.value.user_message
    assert row.state == state


def test_the_requester_may_abort_without_a_role() -> None:
    row = Row(state="approved")
    HotfixLifecycle(model=row, state_field="state").send(
        "abort", actor="U0ALICE", actor_roles=set(), reason="fixed by a config change"
    )
    assert row.state == "aborted"


def test_final_and_active_states() -> None:
    assert {s for s in STATES if is_final(s)} == {"closed", "rejected", "aborted"}
    assert set(ACTIVE_STATES) == set(STATES) - {"closed", "rejected", "aborted", "new", "declined"}
    assert PHASES[0] == "awaiting_approval" and PHASES[-1] == "closed"
    assert state_name("in_review") == "In review"


def test_what_each_step_accepts_is_read_from_the_declared_machine() -> None:
    assert sources("roll_back") == ("monitoring", "deploy_failed")
    assert sources("deploy") == ("ready_to_deploy", "deploy_failed")
    assert sources("monitoring_passed") == ("monitoring",)
    with pytest.raises(ValueError, match="no transition is named 'rollback'"):
        sources("rollback")
