"""The hotfix lifecycle, declared once: states, events, guards and validators.

The machine does no I/O. ``workflows.hotfixes`` binds it to a stored row (the model),
resolves who the actor is (roles come from the server, never from a payload), fires the
event, and records every transition in the timeline. Later capabilities (branch, review,
deploy, monitoring, merge back) add the work done in each state, not new ways to move.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from typing import Any

from statemachine import State, StateMachine

from workflows.errors import DomainError
from workflows.roles import HeldRoles, role_title
from workflows.severity import Severity

#: Roles that may override a MEDIUM/LOW refusal, and abort any hotfix (besides its requester).
OVERRIDE_ROLES: tuple[str, ...] = ("engineering_manager", "cto")


class Refused(DomainError):
    """The actor may not do this; nothing was recorded."""


def _titles(roles: Collection[str]) -> str:
    names = [role_title(r) for r in roles]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]


class HotfixLifecycle(StateMachine):
    """From the assessment to close-out, following the hotfix procedure's phases."""

    new = State("New", initial=True)
    declined = State("Declined")
    awaiting_approval = State("Awaiting approval")
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

    # Phase 1: assessment and approval.
    assess = new.to(awaiting_approval, cond="warrants_hotfix") | new.to(declined)
    override = declined.to(awaiting_approval, validators="may_override")
    record_approval = awaiting_approval.to.itself(internal=True, validators="may_approve")
    approve = awaiting_approval.to(approved, cond="fully_approved")
    reject = awaiting_approval.to(rejected, validators="may_reject")
    # Phases 2-6 (their work arrives with the git, review, deploy and close-out capabilities).
    branch_created = approved.to(fixing)
    pr_opened = fixing.to(in_review)
    review_passed = in_review.to(ready_to_deploy)
    review_reset = ready_to_deploy.to(in_review) | in_review.to.itself(internal=True)
    deploy = ready_to_deploy.to(deploying, validators="may_deploy") | deploy_failed.to(
        deploying, validators="may_deploy"
    )
    deploy_succeeded = deploying.to(monitoring)
    deploy_failure = deploying.to(deploy_failed)
    roll_back = monitoring.to(rolled_back, validators="may_deploy") | deploy_failed.to(
        rolled_back, validators="may_deploy"
    )
    # "Fix the fix": corrections on the same branch, reviewed again, shipped as a new version.
    fix_again = rolled_back.to(fixing, validators="may_drive") | deploy_failed.to(
        fixing, validators="may_drive"
    )
    monitoring_passed = monitoring.to(merging_back)
    merged_back = merging_back.to(closed)
    abort = aborted.from_(
        awaiting_approval,
        approved,
        fixing,
        in_review,
        ready_to_deploy,
        deploy_failed,
        rolled_back,
        validators="may_abort",
    )

    # ------------------------------------------------------------------ guards

    def warrants_hotfix(self) -> bool:
        return Severity(self.model.severity).warrants_hotfix

    def fully_approved(self) -> bool:
        given = {a.role for a in self.model.approvals}
        return all(role in given for role in self.model.required_roles)

    # ------------------------------------------------------------- validators

    def may_approve(
        self,
        actor: str,
        role: str,
        actor_roles: Collection[str],
        distinct_people: bool = True,
        role_holders: str = "",
        **_: Any,
    ) -> None:
        hotfix = self.model
        title = role_title(role)
        if role not in hotfix.required_roles:
            raise Refused(f"{hotfix.key} does not need an approval as {title}.")
        given = next((a for a in hotfix.approvals if a.role == role), None)
        if given is not None:
            raise Refused(
                f"{title} approval for {hotfix.key} was already given by <@{given.user_id}>."
            )
        if actor == hotfix.requester_id:
            raise Refused(
                f"You requested {hotfix.key}, so you cannot approve it: a hotfix needs at "
                "least one other pair of eyes. Nothing was recorded."
            )
        if role not in actor_roles:
            _sure_lacks(actor_roles, [role])
            who = f": {role_holders}" if role_holders else ""
            raise Refused(
                f"Only a holder of the {title} role can approve {hotfix.key} as {title}{who}. "
                "Nothing was recorded."
            )
        if distinct_people:
            mine = next((a for a in hotfix.approvals if a.user_id == actor), None)
            if mine is not None:
                raise Refused(
                    f"You already approved {hotfix.key} as {role_title(mine.role)}; each role "
                    f"needs a different person, so someone else must approve as {title}."
                )

    def may_reject(
        self, actor: str, actor_roles: Collection[str], reason: str = "", **_: Any
    ) -> None:
        hotfix = self.model
        if not set(actor_roles) & set(hotfix.required_roles):
            _sure_lacks(actor_roles, hotfix.required_roles)
            raise Refused(
                f"Only an approver of {hotfix.key} ({_titles(hotfix.required_roles)}) can "
                "reject it. Nothing was recorded."
            )
        _require_reason(reason, "reject")

    def may_override(
        self, actor: str, actor_roles: Collection[str], reason: str = "", **_: Any
    ) -> None:
        if not set(actor_roles) & set(OVERRIDE_ROLES):
            _sure_lacks(actor_roles, OVERRIDE_ROLES)
            raise Refused(
                f"Only an {_titles(OVERRIDE_ROLES)} can override the severity matrix. "
                "Nothing was recorded."
            )
        _require_reason(reason, "override")

    def may_deploy(
        self, actor: str, actor_roles: Collection[str], deploy_roles: Collection[str] = (), **_: Any
    ) -> None:
        """Deploy and roll back: the requester, or a holder of ``deploy.allowed_roles``."""
        hotfix = self.model
        if actor != hotfix.requester_id and not set(actor_roles) & set(deploy_roles):
            _sure_lacks(actor_roles, deploy_roles)
            others = f" or an {_titles(deploy_roles)}" if deploy_roles else ""
            raise Refused(
                f"Only the requester of {hotfix.key} (<@{hotfix.requester_id}>){others} can "
                "deploy or roll it back. Nothing was changed."
            )

    def may_drive(self, actor: str, actor_roles: Collection[str], **_: Any) -> None:
        """Move the work along: the requester, or anyone holding a Hotfix Bot role."""
        hotfix = self.model
        if actor != hotfix.requester_id and not actor_roles:
            raise Refused(
                f"Only the requester of {hotfix.key} or someone with a Hotfix Bot role can "
                "send it back to fixing."
            )

    def may_abort(
        self, actor: str, actor_roles: Collection[str], reason: str = "", **_: Any
    ) -> None:
        hotfix = self.model
        if actor != hotfix.requester_id and not set(actor_roles) & set(OVERRIDE_ROLES):
            _sure_lacks(actor_roles, OVERRIDE_ROLES)
            raise Refused(
                f"Only the requester of {hotfix.key} (<@{hotfix.requester_id}>) or an "
                f"{_titles(OVERRIDE_ROLES)} can abort it. Nothing was recorded."
            )
        _require_reason(reason, "abort")


def _sure_lacks(actor_roles: Collection[str], roles: Iterable[str]) -> None:
    """A refusal for a missing role is only given when that role could be checked."""
    if isinstance(actor_roles, HeldRoles):
        actor_roles.require_known(roles)


def _require_reason(reason: str, verb: str) -> None:
    if not reason or not reason.strip():
        raise Refused(f"Give a reason to {verb}: it goes on the card and into the timeline.")


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


def sources(event: str) -> tuple[str, ...]:
    """The states ``event`` can fire from, read from the declaration above: what a request
    for that step accepts (anything else is stale: the hotfix moved on)."""
    found = tuple(
        state.id
        for state in HotfixLifecycle.states
        if any(transition.match(event) for transition in state.transitions)
    )
    if not found:
        raise ValueError(f"no transition is named {event!r}")
    return found


def is_final(state_id: str) -> bool:
    """True once a hotfix can no longer change (closed, rejected, aborted)."""
    return bool(_STATES[state_id].final)


#: Hotfixes in these states are running: shown in lists, counted, escalated.
ACTIVE_STATES: tuple[str, ...] = tuple(
    s.id for s in HotfixLifecycle.states if not s.final and s.id not in ("new", "declined")
)


def mermaid() -> str:
    """The lifecycle as a Mermaid state diagram (the README embeds exactly this)."""
    return format(HotfixLifecycle, "mermaid").rstrip() + "\n"
