"""The role directory: users and user groups, a short cache, and a fallback when Slack fails."""

from __future__ import annotations

import logging

import pytest

from workflows.roles import GroupLookupError, RoleDirectory, RolesUnavailable, role_title


class Groups:
    def __init__(self) -> None:
        self.members = {"S0ONCALL": ["U0OMAR"]}
        self.calls = 0
        self.failing = False

    def __call__(self, group_id: str) -> list[str]:
        self.calls += 1
        if self.failing:
            raise GroupLookupError("ratelimited")
        return self.members[group_id]


def test_roles_come_from_users_and_groups() -> None:
    directory = RoleDirectory({"cto": ["U0CHLOE"], "oncall_lead": ["S0ONCALL", "U0BEN"]}, Groups())
    assert directory.members("oncall_lead") == {"U0OMAR", "U0BEN"}
    assert directory.roles_of("U0OMAR") == {"oncall_lead"}
    assert directory.roles_of("U0CHLOE") == {"cto"}
    assert directory.roles_of("U0NOBODY") == frozenset()


def test_group_members_are_cached_briefly() -> None:
    now = [0.0]
    groups = Groups()
    directory = RoleDirectory({"oncall_lead": ["S0ONCALL"]}, groups, ttl=60, clock=lambda: now[0])
    directory.members("oncall_lead")
    directory.members("oncall_lead")
    assert groups.calls == 1
    groups.members["S0ONCALL"] = ["U0NEW"]
    now[0] = 61
    assert directory.members("oncall_lead") == {"U0NEW"}  # the rota changed
    assert groups.calls == 2


def test_a_failed_lookup_falls_back_to_the_last_known_members(
    caplog: pytest.LogCaptureFixture,
) -> None:
    now = [0.0]
    groups = Groups()
    directory = RoleDirectory({"oncall_lead": ["S0ONCALL"]}, groups, ttl=60, clock=lambda: now[0])
    assert directory.members("oncall_lead") == {"U0OMAR"}
    groups.failing = True
    now[0] = 120
    with caplog.at_level(logging.WARNING):
        assert directory.members("oncall_lead") == {"U0OMAR"}
    assert "S0ONCALL: lookup failed (ratelimited); using the 1 members known" in caplog.text


def test_a_failed_first_lookup_grants_nothing_and_says_so(caplog: pytest.LogCaptureFixture) -> None:
    groups = Groups()
    groups.failing = True
    directory = RoleDirectory({"oncall_lead": ["S0ONCALL"]}, groups)
    with caplog.at_level(logging.ERROR), pytest.raises(RolesUnavailable) as refused:
        directory.roles_of("U0OMAR")
    assert "no members are known" in caplog.text
    assert "roles cannot be checked right now. Nothing was recorded" in refused.value.user_message


def test_role_titles() -> None:
    assert [role_title(r) for r in ("engineering_manager", "oncall_lead", "cto", "vp_sre")] == [
        "Engineering Manager",
        "On-call Lead",
        "CTO",
        "VP SRE",
    ]


def test_a_role_that_cannot_be_checked_is_not_refused_as_missing() -> None:
    """Omar is CTO directly; the Security group cannot be listed: he is not told he lacks
    Security, he is told to retry."""
    from workflows.lifecycle import HotfixLifecycle, Refused

    groups = Groups()
    groups.members["S0SEC"] = ["U0SAM"]
    directory = RoleDirectory({"cto": ["U0OMAR"], "security": ["S0SEC"]}, groups)
    groups.failing = True
    held = directory.roles_of("U0OMAR")
    assert held == {"cto"}
    with pytest.raises(RolesUnavailable):
        held.require_known(["security"])
    held.require_known(["cto"])  # what could be checked is fine

    class Model:
        state = "awaiting_approval"
        key = "HF-1"
        required_roles = ("security",)
        approvals: tuple = ()
        requester_id = "U0ALICE"

    machine = HotfixLifecycle(model=Model(), state_field="state")
    with pytest.raises(RolesUnavailable):
        machine.may_approve(role="security", actor="U0OMAR", actor_roles=held)
    with pytest.raises(Refused, match="Only a holder of the Security role"):
        machine.may_approve(role="security", actor="U0OMAR", actor_roles=frozenset({"cto"}))


def test_checks_at_once_with_nothing_known_ask_slack_once() -> None:
    """Ten clicks while the group was never listed: one lookup, and all ten get its answer."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    release = threading.Event()

    class Slow(Groups):
        def __call__(self, group_id: str) -> list[str]:
            release.wait(5)
            return super().__call__(group_id)

    groups = Slow()
    directory = RoleDirectory({"oncall_lead": ["S0ONCALL"]}, groups)
    with ThreadPoolExecutor(max_workers=10) as pool:
        checks = [pool.submit(directory.roles_of, "U0OMAR") for _ in range(10)]
        threading.Timer(0.3, release.set).start()
        assert [c.result(timeout=10) for c in checks] == [{"oncall_lead"}] * 10
    assert groups.calls == 1


def test_the_lookup_all_waited_for_failing_tells_each_to_retry() -> None:
    groups = Groups()
    groups.failing = True
    directory = RoleDirectory({"oncall_lead": ["S0ONCALL"]}, groups)
    for _ in range(2):  # nothing left behind: the next check asks again
        with pytest.raises(RolesUnavailable):
            directory.roles_of("U0OMAR")
    assert groups.calls == 2


def test_warming_at_start_tries_again_until_slack_lists_the_group() -> None:
    class Flaky(Groups):
        def __call__(self, group_id: str) -> list[str]:
            self.failing = self.calls < 2  # the first two tries fail
            return super().__call__(group_id)

    groups = Flaky()
    directory = RoleDirectory({"oncall_lead": ["S0ONCALL"]}, groups)
    directory.warm(retries=(0.01, 0.01, 0.01))
    assert groups.calls == 3
    groups.failing = True  # known now: a check no longer needs Slack
    assert directory.roles_of("U0OMAR") == {"oncall_lead"}
    assert groups.calls == 3


def test_warming_stops_when_the_bot_does() -> None:
    import threading
    import time

    groups = Groups()
    groups.failing = True
    directory = RoleDirectory({"oncall_lead": ["S0ONCALL"]}, groups)
    warming = threading.Thread(target=directory.warm, kwargs={"retries": (30.0,)})
    started = time.monotonic()
    warming.start()
    threading.Timer(0.2, directory.close).start()
    warming.join(timeout=10)
    assert not warming.is_alive() and time.monotonic() - started < 5
    assert groups.calls == 1
