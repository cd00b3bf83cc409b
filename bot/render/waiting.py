"""Who a hotfix waits on, and for what — for the phase nudge and the App Home tab."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from workflows.roles import mention, role_title
from workflows.snapshot import HotfixSnapshot

Principals = Callable[[str], Sequence[str]]


def waits_on(hotfix: HotfixSnapshot, principals: Principals, deploy_roles: Sequence[str]) -> str:
    """``<@U…>, to push the fix and open the PR (`/hotfix pr HF-3`)`` and the like."""
    requester = mention(hotfix.requester_id)
    state = hotfix.state
    if state == "awaiting_approval":
        missing = ", ".join(role_title(r) for r in hotfix.missing_roles)
        return f"approvals: {missing or 'none missing'}"
    if state == "approved":
        return f"{requester}, to cut the hotfix branch (the *Create branch* button)"
    if state == "fixing":
        return f"{requester}, to push the fix and open the PR (`/hotfix pr {hotfix.key}`)"
    if state == "in_review":
        reviewers = [mention(p) for p in principals("security")] if hotfix.security_fix else []
        who = ", ".join(reviewers) or "a reviewer other than the requester"
        ci = "" if hotfix.ci_state in (None, "success") else f" and CI ({hotfix.ci_state})"
        return f"the review: {who}, to tick the checklist and approve{ci}"
    if state == "deploying":
        who = mention(hotfix.deployer_id) if hotfix.deployer_id else requester
        return f"the deploy still running (started by {who})"
    if state in ("ready_to_deploy", "deploy_failed"):
        deployers = [requester] + [mention(p) for role in deploy_roles for p in principals(role)]
        verb = "to tag and deploy" if state == "ready_to_deploy" else "to retry, roll back or fix"
        return f"{', '.join(dict.fromkeys(deployers))}, {verb}"
    if state == "monitoring":
        return "the monitoring window (its checks are in the thread)"
    if state == "rolled_back":
        return f"{requester}, to fix the fix or abort"
    if state == "merging_back":
        return f"{requester}, to finish merging the fix back (`/hotfix merge-back {hotfix.key}`)"
    return "nothing"
