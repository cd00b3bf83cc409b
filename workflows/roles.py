"""Who holds which role: decided on the server from the policy, never from a payload.

A role lists Slack user ids (U…/W…) and user group ids (S…). Group members are looked up
through a ``GroupMembers`` port (``usergroups.users.list`` in production), cached briefly;
if the lookup fails, the last known members are used and the log says so. With a
``refresh`` runner, an answer older than the cache's life is still used once while a fresh
one is fetched in the background, so a check waits for Slack only the first time a group is
ever asked about (``warm`` at start avoids even that, and tries again a few times when Slack
does not answer then).

Checks that find nothing known wait for one lookup in flight rather than each asking Slack:
ten clicks at once cost one ``usergroups.users.list`` (a Tier 2 method: 20 a minute), not ten
that a rate limit would turn into ten "try again" answers.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

from workflows.errors import DomainError

log = logging.getLogger(__name__)

_ROLE_TITLES: Final = {
    "engineering_manager": "Engineering Manager",
    "oncall_lead": "On-call Lead",
    "cto": "CTO",
    "security": "Security",
}
_ACRONYMS: Final = frozenset({"ceo", "cio", "ciso", "coo", "cto", "dba", "qa", "sre", "vp"})


def role_title(role: str) -> str:
    """How a role is shown to people: ``oncall_lead`` → ``On-call Lead``, ``cto`` → ``CTO``."""
    if role in _ROLE_TITLES:
        return _ROLE_TITLES[role]
    words = [w for w in role.split("_") if w]
    return " ".join(w.upper() if w in _ACRONYMS else w.capitalize() for w in words)


def mention(principal: str) -> str:
    """How a user (``<@U…>``) or a user group (``<!subteam^S…>``) is named in a message.

    Refusals name who *can* act, so domain messages carry Slack's mention markup; ids come
    from the policy file, which validates their shape.
    """
    return f"<!subteam^{principal}>" if principal.startswith("S") else f"<@{principal}>"


class GroupLookupError(Exception):
    """The user group's members could not be read (Slack error, network, …)."""


class RolesUnavailable(DomainError):
    """A role's user group could not be read and no earlier answer is known: whoever acts
    is told to retry, rather than told they hold no role."""

    def __init__(self, group_id: str, reason: str) -> None:
        super().__init__(
            f"Slack did not say who is in the user group <!subteam^{group_id}> ({reason}), so "
            "roles cannot be checked right now. Nothing was recorded; try again in a minute."
        )


GroupMembers = Callable[[str], Sequence[str]]
WARM_RETRIES: Final = (2.0, 5.0, 10.0)  # seconds between the start's tries


class HeldRoles(frozenset[str]):
    """The roles someone holds, and the roles that could not be checked (a user group Slack
    would not list, with nothing known from before)."""

    unknown: dict[str, RolesUnavailable]

    def __new__(
        cls, held: Iterable[str], unknown: Mapping[str, RolesUnavailable] | None = None
    ) -> HeldRoles:
        roles = super().__new__(cls, held)
        roles.unknown = dict(unknown or {})
        return roles

    def require_known(self, roles: Iterable[str]) -> None:
        """Before refusing for a missing role: if it could not be checked, say that instead."""
        for role in roles:
            if role not in self and role in self.unknown:
                raise self.unknown[role]


@dataclass
class _Cached:
    members: frozenset[str]
    fetched_at: float


@dataclass
class _Lookup:
    """One lookup in flight; who needs its answer meanwhile waits for ``done``."""

    done: threading.Event = field(default_factory=threading.Event)
    members: frozenset[str] | None = None
    error: RolesUnavailable | None = None


class RoleDirectory:
    """Resolves roles to people. Thread-safe; group lookups cached for ``ttl`` seconds."""

    def __init__(
        self,
        roles: Mapping[str, Sequence[str]],
        group_members: GroupMembers,
        *,
        ttl: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        refresh: Callable[[Callable[[], None]], bool] | None = None,
    ) -> None:
        self._roles = {role: tuple(ids) for role, ids in roles.items()}
        self._group_members = group_members
        self._ttl = ttl
        self._clock = clock
        self._refresh = refresh
        self._cache: dict[str, _Cached] = {}
        self._refreshing: set[str] = set()
        self._in_flight: dict[str, _Lookup] = {}
        self._lock = threading.Lock()
        self._closed = threading.Event()

    def principals(self, role: str) -> tuple[str, ...]:
        """The ids the policy lists for ``role`` (users and groups), as configured."""
        return self._roles.get(role, ())

    def members(self, role: str) -> frozenset[str]:
        """Every user who holds ``role`` right now."""
        users: set[str] = set()
        for principal in self.principals(role):
            if principal.startswith("S"):
                users |= self._group(principal)
            else:
                users.add(principal)
        return frozenset(users)

    def roles_of(self, user_id: str) -> HeldRoles:
        """Every role ``user_id`` holds (directly or through a user group).

        A group Slack cannot list (and whose members were never known) makes its roles
        unknown: someone who holds no role at all is asked to retry at once; otherwise a
        check that needs an unknown role does so (``HeldRoles.require_known``).
        """
        held: set[str] = set()
        unknown: dict[str, RolesUnavailable] = {}
        for role in self._roles:
            try:
                if user_id in self.members(role):
                    held.add(role)
            except RolesUnavailable as error:
                unknown[role] = error
        if unknown and not held:
            raise next(iter(unknown.values()))
        return HeldRoles(held, unknown)

    def warm(self, *, retries: Sequence[float] = WARM_RETRIES) -> None:
        """Look up every user group the roles name (at start, off the request path); a
        group Slack does not list is asked again after each of ``retries`` seconds."""
        groups = sorted({p for ids in self._roles.values() for p in ids if p.startswith("S")})
        for delay in (0.0, *retries):
            if self._closed.wait(delay):
                return
            missing = []
            for group_id in groups:
                try:
                    self._fetch(group_id)
                except RolesUnavailable:  # logged; asked again below, or when needed
                    missing.append(group_id)
            if not missing:
                return
            groups = missing

    def close(self) -> None:
        """Stop the start's tries (the bot is stopping)."""
        self._closed.set()

    def _group(self, group_id: str) -> frozenset[str]:
        now = self._clock()
        with self._lock:
            cached = self._cache.get(group_id)
            if cached is not None and now - cached.fetched_at < self._ttl:
                return cached.members
            stale_ok = cached is not None and self._refresh is not None
            if stale_ok and group_id in self._refreshing:
                return cached.members  # type: ignore[union-attr]
            if stale_ok:
                self._refreshing.add(group_id)
        if stale_ok:
            assert cached is not None and self._refresh is not None
            if self._refresh(lambda: self._refetch(group_id)):
                return cached.members
            with self._lock:
                self._refreshing.discard(group_id)
        return self._fetch(group_id)

    def _refetch(self, group_id: str) -> None:
        try:
            with contextlib.suppress(RolesUnavailable):  # logged; the known members stay
                self._fetch(group_id)
        finally:
            with self._lock:
                self._refreshing.discard(group_id)

    def _fetch(self, group_id: str) -> frozenset[str]:
        """Ask Slack, or wait for the same question already asked."""
        with self._lock:
            lookup = self._in_flight.get(group_id)
            asking = lookup is None
            if lookup is None:
                lookup = self._in_flight[group_id] = _Lookup()
        if not asking:
            lookup.done.wait()  # bounded: the lookup has its own timeout
            if lookup.members is None:
                raise lookup.error or RolesUnavailable(group_id, "the lookup failed")
            return lookup.members
        try:
            lookup.members = self._ask(group_id)
            return lookup.members
        except RolesUnavailable as error:
            lookup.error = error
            raise
        finally:
            with self._lock:
                del self._in_flight[group_id]
            lookup.done.set()

    def _ask(self, group_id: str) -> frozenset[str]:
        now = self._clock()
        with self._lock:
            cached = self._cache.get(group_id)
        try:
            members = frozenset(self._group_members(group_id))
        except GroupLookupError as error:
            if cached is not None:
                log.warning(
                    "user group %s: lookup failed (%s); using the %d members known from %.0f s ago",
                    group_id,
                    error,
                    len(cached.members),
                    now - cached.fetched_at,
                )
                return cached.members
            log.error("user group %s: lookup failed (%s) and no members are known", group_id, error)
            raise RolesUnavailable(group_id, str(error)) from None
        with self._lock:
            self._cache[group_id] = _Cached(members, now)
        return members
