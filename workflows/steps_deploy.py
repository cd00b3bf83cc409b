"""Phase 5 of the hotfix service: the deploy checklist's ticks, starting a deploy (who may,
and which version it ships), the running deploy's heartbeat, and "fix the fix" after a
rollback. Part of ``HotfixService`` (``workflows.hotfixes``), which provides the locked
transaction, the timeline and the snapshots."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import select

from storage.db import transaction
from storage.models import Hotfix, ReviewTicks
from workflows.service_common import HotfixMovedOn, ServicePart
from workflows.snapshot import HotfixSnapshot


class DeploySteps(ServicePart):
    """The deploy's checklist, its start and heartbeat, and going back to fixing."""

    def update_deploy_ticks(
        self,
        hotfix_id: int,
        update: Callable[[dict[str, str]], dict[str, str]],
        *,
        actor: str,
        allowed_states: tuple[str, ...],
    ) -> HotfixSnapshot:
        """Change the deploy checklist's ticks (item → who ticked it) under the row lock."""
        with self._locked(hotfix_id) as (session, hotfix):
            if hotfix.state not in allowed_states:
                raise HotfixMovedOn(hotfix.key, hotfix.state)
            before = dict(hotfix.deploy_ticks or {})
            hotfix.deploy_ticks = update(before)
            added = sorted(set(hotfix.deploy_ticks) - set(before))
            removed = sorted(set(before) - set(hotfix.deploy_ticks))
            if added or removed:
                self._log(
                    session,
                    hotfix,
                    actor=actor,
                    kind="deploy_ticked",
                    detail={"ticked": added, "unticked": removed},
                )
            snapshot = self._snapshot(session, hotfix)
        self._changed(hotfix_id)
        return snapshot

    def start_deploy(
        self,
        hotfix_id: int,
        *,
        actor: str,
        deploy_roles: tuple[str, ...],
        new_version: bool,
    ) -> HotfixSnapshot:
        """Fire ``deploy`` for ``actor`` (requester or a deploy role); a version an earlier
        attempt shipped is let go, so this attempt is tagged with the next one."""
        actor_roles = self._directory.roles_of(actor)
        with self._locked(hotfix_id) as (session, hotfix):
            attempt = (hotfix.deploy_attempts or 0) + 1
            self._fire(
                session,
                hotfix,
                "deploy",
                actor=actor,
                detail={"attempt": attempt},
                actor_roles=actor_roles,
                deploy_roles=deploy_roles,
            )
            if new_version and hotfix.version == hotfix.deployed_version:
                hotfix.version = None  # tagged already: its reservation stays, as history
            now = self._clock()
            hotfix.deployer_id = actor
            hotfix.deploy_attempts = attempt
            hotfix.deploy_started_at = now
            hotfix.deploy_heartbeat_at = now
            snapshot = self._snapshot(session, hotfix)
        self._changed(hotfix_id)
        return snapshot

    def heartbeat(self, hotfix_id: int, now: datetime) -> None:
        """A running deploy is alive (no timeline line, no listeners: only the lease)."""
        with transaction(self._sessions) as session:
            hotfix = session.get(Hotfix, hotfix_id)
            if hotfix is not None and hotfix.state == "deploying":
                hotfix.deploy_heartbeat_at = now

    def fix_again(self, hotfix_id: int, *, actor: str) -> HotfixSnapshot:
        """Back to fixing after a rollback or a failed deploy: the review's ticks were for
        the change that shipped, so they go; the next attempt gets the next version."""
        actor_roles = self._directory.roles_of(actor)
        with self._locked(hotfix_id) as (session, hotfix):
            self._fire(
                session,
                hotfix,
                "fix_again",
                actor=actor,
                detail={"shipped": hotfix.deployed_version},
                actor_roles=actor_roles,
            )
            for row in session.scalars(
                select(ReviewTicks).where(ReviewTicks.hotfix_id == hotfix.id)
            ):
                session.delete(row)
            if hotfix.version == hotfix.deployed_version:
                hotfix.version = None
            hotfix.deploy_ticks = {}
            snapshot = self._snapshot(session, hotfix)
        self._changed(hotfix_id)
        return snapshot
