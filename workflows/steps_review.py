"""Phases 2 to 4 of the hotfix service: the version a hotfix will ship as, the reviewers'
ticks, a PR head that moved (the review starts again), and the passed review. Part of
``HotfixService`` (``workflows.hotfixes``), which provides the locked transaction, the
timeline and the snapshots."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from storage.models import ReviewTicks, VersionReservation
from workflows.claims import BOT_ACTOR
from workflows.errors import DomainError
from workflows.lifecycle import Refused
from workflows.service_common import REVIEW_STATES, HotfixMovedOn, ServicePart
from workflows.snapshot import FollowedHead, HotfixSnapshot


class ReviewSteps(ServicePart):
    """The version, the review's ticks and its outcome."""

    def reserve_version(self, hotfix_id: int, candidates: Iterator[str]) -> str:
        """Hold the first free version of ``candidates`` for the hotfix (atomically: a unique
        constraint decides between two hotfixes asking at the same moment)."""
        for name in candidates:
            try:
                with self._locked(hotfix_id) as (session, hotfix):
                    if hotfix.version:
                        return hotfix.version
                    session.add(
                        VersionReservation(
                            name=name, hotfix_id=hotfix.id, reserved_at=self._clock()
                        )
                    )
                    session.flush()
                    hotfix.version = name
                    self._log(
                        session,
                        hotfix,
                        actor=BOT_ACTOR,
                        kind="version_reserved",
                        detail={"version": name},
                    )
            except IntegrityError:
                continue  # held by another hotfix: try the next one
            self._changed(hotfix_id)
            return name
        raise DomainError("No free version is left to reserve.")

    def tick(
        self, hotfix_id: int, *, reviewer: str, group: tuple[str, ...], selected: list[str]
    ) -> HotfixSnapshot:
        """Record what ``reviewer`` has ticked of one group of checklist items."""
        with self._locked(hotfix_id) as (session, hotfix):
            if hotfix.state != "in_review":
                raise HotfixMovedOn(hotfix.key, hotfix.state)
            row = session.scalars(
                select(ReviewTicks).where(
                    ReviewTicks.hotfix_id == hotfix.id, ReviewTicks.reviewer_id == reviewer
                )
            ).one_or_none()
            if row is None:
                row = ReviewTicks(hotfix_id=hotfix.id, reviewer_id=reviewer, items=[])
                session.add(row)
            kept = [item for item in row.items or [] if item not in group]
            row.items = kept + [item for item in group if item in selected]
            row.updated_at = self._clock()
            session.flush()
            snapshot = self._snapshot(session, hotfix)
        self._changed(hotfix_id)
        return snapshot

    def follow_head(
        self, hotfix_id: int, *, seen: str | None, head: str, detail: dict[str, Any]
    ) -> FollowedHead | None:
        """The PR's head moved from ``seen`` to ``head``: ticks and a passed review were for
        another change, so they are cleared and the hotfix is back in review. None when
        another reader got there first."""
        with self._locked(hotfix_id) as (session, hotfix):
            if hotfix.review_head != seen:
                return None
            if hotfix.state not in REVIEW_STATES:
                raise HotfixMovedOn(hotfix.key, hotfix.state)
            ticks = session.scalars(
                select(ReviewTicks).where(ReviewTicks.hotfix_id == hotfix.id)
            ).all()
            was_in = hotfix.state
            # (no head seen yet — a PR from before heads were recorded — nothing to compare)
            reset = seen is not None and (
                hotfix.state == "ready_to_deploy" or any(t.items for t in ticks)
            )
            if reset:
                for row in ticks:
                    session.delete(row)
                self._fire(session, hotfix, "review_reset", actor=BOT_ACTOR, detail=detail)
            hotfix.review_head = head
            session.flush()
            snapshot = self._snapshot(session, hotfix)
        self._changed(hotfix_id)
        return FollowedHead(snapshot, was_in if reset else None)

    def pass_review(
        self,
        hotfix_id: int,
        *,
        reviewer: str,
        head: str,
        required: tuple[str, ...],
        detail: dict[str, Any],
    ) -> HotfixSnapshot:
        """Record that ``reviewer`` passed the review of ``head`` — only if that is still the
        head the review is of and their ticks are all still there."""
        with self._locked(hotfix_id) as (session, hotfix):
            if hotfix.review_head not in (None, head):
                raise Refused(
                    f"{hotfix.key}'s PR changed while you were approving it: review the new "
                    "head and tick the checklist again."
                )
            row = session.scalars(
                select(ReviewTicks).where(
                    ReviewTicks.hotfix_id == hotfix.id, ReviewTicks.reviewer_id == reviewer
                )
            ).one_or_none()
            if not set(required) <= set(row.items if row else ()):
                raise Refused(
                    f"Your ticks on {hotfix.key}'s checklist were cleared meanwhile: tick "
                    "the checklist again."
                )
            self._fire(session, hotfix, "review_passed", actor=reviewer, detail=detail)
            hotfix.review_head = head
            snapshot = self._snapshot(session, hotfix)
        self._changed(hotfix_id)
        return snapshot
