"""Phase 1 of the hotfix service: opening a hotfix from its assessment, each approval (the
last moves it to approved), an override of a declined assessment, and the endings (reject,
abort). Part of ``HotfixService`` (``workflows.hotfixes``), which provides the locked
transaction, the timeline and the snapshots."""

from __future__ import annotations

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError

from storage.db import transaction
from storage.models import Approval, Hotfix, ProcessedRequest, VersionReservation
from workflows.assessment import Assessment
from workflows.lifecycle import HotfixLifecycle
from workflows.roles import mention
from workflows.service_common import UNSHIPPED_STATES, AlreadyDone, ServicePart
from workflows.severity import Severity
from workflows.snapshot import ApprovalOutcome, HotfixSnapshot


class ApprovalSteps(ServicePart):
    """Opening, approving, overriding and ending a hotfix."""

    def open(
        self,
        assessment: Assessment,
        *,
        requester_id: str,
        channel_id: str,
        idempotency_key: str,
        drill: bool = False,
    ) -> HotfixSnapshot | None:
        """Record an assessment: CRITICAL/HIGH await approval, MEDIUM/LOW are declined.

        ``idempotency_key`` (the submitted view's id) is claimed in the same transaction,
        so a double submission records one hotfix; the second call returns ``None``.
        Listeners are *not* called: the caller publishes once it has answered Slack.
        """
        now = self._clock()
        try:
            with transaction(self._sessions) as session:
                session.add(ProcessedRequest(key=idempotency_key, seen_at=now))
                try:
                    session.flush()
                except IntegrityError:
                    raise AlreadyDone from None
                hotfix = Hotfix(
                    title=assessment.title,
                    severity=assessment.severity.value,
                    impact=assessment.impact,
                    ticket=assessment.ticket,
                    discovered_at=assessment.discovered_at,
                    reporter_id=assessment.reporter_id,
                    estimated_fix_seconds=(
                        int(assessment.estimated_fix.total_seconds())
                        if assessment.estimated_fix
                        else None
                    ),
                    risk_if_delayed=assessment.risk_if_delayed,
                    security_fix=assessment.security_fix,
                    needs_migration=assessment.needs_migration,
                    drill=drill,
                    requester_id=requester_id,
                    required_roles=self._policy.required_roles(assessment.severity.value),
                    channel_id=channel_id,
                    created_at=now,
                    updated_at=now,
                    escalation_step=0,
                    approval_requested_at=now,
                )
                session.add(hotfix)
                self._fire(
                    session,
                    hotfix,
                    "assess",
                    actor=requester_id,
                    detail={
                        "severity": hotfix.severity,
                        "title": hotfix.title,
                        **({"drill": True} if drill else {}),
                    },
                )
                snapshot = self._snapshot(session, hotfix)
        except AlreadyDone:
            return None
        return snapshot

    # -------------------------------------------------------------- transitions

    def approve(self, hotfix_id: int, *, role: str, actor: str) -> ApprovalOutcome:
        """Record ``actor``'s approval as ``role``; the last one moves the hotfix to approved."""
        actor_roles = self._directory.roles_of(actor)
        holders = ", ".join(mention(p) for p in self._directory.principals(role))
        with self._locked(hotfix_id) as (session, hotfix):
            self._fire(
                session,
                hotfix,
                "record_approval",
                actor=actor,
                kind="approval",
                detail={"role": role},
                role=role,
                actor_roles=actor_roles,
                distinct_people=self._policy.approvals.distinct_people,
                role_holders=holders,
            )
            hotfix.approvals.append(
                Approval(hotfix_id=hotfix.id, role=role, user_id=actor, approved_at=self._clock())
            )
            session.flush()
            machine = HotfixLifecycle(model=hotfix, state_field="state")
            completed = machine.fully_approved()
            if completed:
                self._fire(session, hotfix, "approve", actor=actor)
            snapshot = self._snapshot(session, hotfix)
        self._changed(hotfix_id)
        return ApprovalOutcome(snapshot, completed)

    def reject(self, hotfix_id: int, *, actor: str, reason: str) -> HotfixSnapshot:
        return self._end(hotfix_id, "reject", actor=actor, reason=reason)

    def abort(self, hotfix_id: int, *, actor: str, reason: str) -> HotfixSnapshot:
        return self._end(hotfix_id, "abort", actor=actor, reason=reason)

    def override(self, hotfix_id: int, *, actor: str, reason: str) -> HotfixSnapshot:
        """Open a declined (MEDIUM/LOW) assessment as a hotfix anyway, with a recorded reason."""
        actor_roles = self._directory.roles_of(actor)
        reason = reason.strip()
        with self._locked(hotfix_id) as (session, hotfix):
            self._fire(
                session,
                hotfix,
                "override",
                actor=actor,
                detail={"reason": reason, "severity": hotfix.severity},
                actor_roles=actor_roles,
                reason=reason,
            )
            hotfix.override_by = actor
            hotfix.override_reason = reason
            # An overridden MEDIUM/LOW needs what a HIGH needs.
            hotfix.required_roles = self._policy.required_roles(Severity.HIGH.value)
            hotfix.escalation_step = 0
            hotfix.approval_requested_at = self._clock()
            snapshot = self._snapshot(session, hotfix)
        self._changed(hotfix_id)
        return snapshot

    def _end(self, hotfix_id: int, event: str, *, actor: str, reason: str) -> HotfixSnapshot:
        actor_roles = self._directory.roles_of(actor)
        reason = reason.strip()
        with self._locked(hotfix_id) as (session, hotfix):
            if hotfix.state in UNSHIPPED_STATES and hotfix.version:
                # Nothing was tagged: the version goes back to the pool for other hotfixes.
                session.execute(
                    delete(VersionReservation).where(VersionReservation.hotfix_id == hotfix.id)
                )
                hotfix.version = None
            self._fire(
                session,
                hotfix,
                event,
                actor=actor,
                detail={"reason": reason},
                actor_roles=actor_roles,
                reason=reason,
            )
            hotfix.ended_by = actor
            hotfix.end_reason = reason
            snapshot = self._snapshot(session, hotfix)
        self._changed(hotfix_id)
        return snapshot
