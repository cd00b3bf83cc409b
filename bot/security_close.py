"""A security fix's close-out: the checklist posted once it is deployed, ticked or waived by
a holder of ``security``; the hotfix closes when merge back is done and so is this."""

from __future__ import annotations

import logging

from bot.card import CardPublisher
from bot.git_flow import GitFlow
from bot.render.security import security_checklist
from storage.db import DatabaseUnavailable
from workflows.errors import DomainError
from workflows.hotfixes import BOT_ACTOR, HotfixService
from workflows.lifecycle import Refused
from workflows.roles import mention
from workflows.security_close import (
    SECURITY_ITEMS,
    SECURITY_ROLE,
    TICKABLE,
    WAIVED,
    security_pending,
)
from workflows.snapshot import HotfixSnapshot

log = logging.getLogger(__name__)

POSTED = "security_checklist_posted"


class SecurityCloseOut:
    def __init__(self, service: HotfixService, cards: CardPublisher, git: GitFlow) -> None:
        self._service = service
        self._cards = cards
        self._git = git

    def _holders(self) -> str:
        return ", ".join(mention(p) for p in self._service.directory.principals(SECURITY_ROLE))

    def sync(self, hotfix_id: int) -> None:
        """After a change: a security fix just deployed gets its checklist, once."""
        try:
            hotfix = self._service.get(hotfix_id)
            if not hotfix.security_fix or hotfix.state not in TICKABLE:
                return
            if not self._service.note_once(hotfix_id, actor=BOT_ACTOR, kind=POSTED):
                return
        except DatabaseUnavailable:
            return  # the next change, or the next start, posts it
        self._cards.say(hotfix, *security_checklist(hotfix, self._holders()))

    def _check(self, hotfix: HotfixSnapshot, user: str) -> None:
        if not hotfix.security_fix:
            raise DomainError(f"{hotfix.key} is not a security fix: it has no such checklist.")
        roles = self._service.directory.roles_of(user)
        roles.require_known([SECURITY_ROLE])
        if SECURITY_ROLE not in roles:
            raise Refused(
                f"Only a holder of the Security role ({self._holders() or 'nobody yet'}) can "
                f"tick or waive {hotfix.key}'s security close-out. Nothing was recorded."
            )

    def tick(self, hotfix_id: int, user: str, selected: list[str]) -> None:
        self._check(self._service.get(hotfix_id), user)
        group = [item for item, _ in SECURITY_ITEMS]

        def update(ticks: dict[str, str]) -> dict[str, str]:
            kept = {item: who for item, who in ticks.items() if item not in group}
            kept.update({item: ticks.get(item, user) for item in group if item in selected})
            return kept

        done = self._service.update_deploy_ticks(
            hotfix_id, update, actor=user, allowed_states=TICKABLE
        )
        self._after(done, user)

    def waive(self, hotfix_id: int, user: str, reason: str) -> HotfixSnapshot:
        reason = reason.strip()
        if not reason:
            raise DomainError("Usage: `/hotfix security-waive HF-n <reason>` — the reason is kept.")
        self._check(self._service.get(hotfix_id), user)
        done = self._service.update_deploy_ticks(
            hotfix_id, lambda ticks: {**ticks, WAIVED: user}, actor=user, allowed_states=TICKABLE
        )
        self._service.record_event(
            hotfix_id, actor=user, kind="security_waived", detail={"reason": reason[:500]}
        )
        self._after(done, user)
        return done

    def _after(self, hotfix: HotfixSnapshot, user: str) -> None:
        """Everything done while merge back waits for it: finish merge back, which closes."""
        if security_pending(hotfix) or hotfix.state != "merging_back":
            return
        merged = any(e.kind == "merge_back_waiting" for e in self._service.timeline(hotfix.id))
        if merged:
            self._cards.say(hotfix, f"🔒 {hotfix.key}'s security close-out is done; closing it.")
            self._git.finish_merge_back(hotfix.id, user)
