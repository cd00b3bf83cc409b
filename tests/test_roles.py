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
