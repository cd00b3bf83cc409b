"""Who is who in the policy file: role names, the Slack users and user groups behind a role,
lists of roles, and the ``approvals:`` section with the default approvers and escalation
order (which name roles the file must define)."""

from __future__ import annotations

import re
from typing import Annotated, Final

from pydantic import AfterValidator

from workflows.config_fields import RoleReference, Section, non_empty_unique

_ROLE_NAME = re.compile(r"[a-z][a-z0-9]*(?:_[a-z0-9]+)*")
_SLACK_PRINCIPAL = re.compile(r"[UWS][A-Z0-9]{2,}")
DEFAULT_CRITICAL_APPROVERS: Final = ("engineering_manager", "oncall_lead", "cto")
DEFAULT_HIGH_APPROVERS: Final = ("engineering_manager", "oncall_lead")
DEFAULT_ESCALATION: Final = ("oncall_lead", "engineering_manager", "cto")


def _slack_principal(value: str) -> str:
    if not _SLACK_PRINCIPAL.fullmatch(value):
        raise ValueError(f"{value!r} is not a Slack user id (U…/W…) or user group id (S…)")
    return value


def _role_name(value: str) -> str:
    if not _ROLE_NAME.fullmatch(value):
        raise ValueError(f"{value!r} is not a role name: use snake_case, such as oncall_lead")
    return value


RoleName = Annotated[str, AfterValidator(_role_name)]
SlackPrincipal = Annotated[str, AfterValidator(_slack_principal)]
RoleList = Annotated[tuple[RoleReference, ...], non_empty_unique("role")]
PrincipalList = Annotated[
    tuple[SlackPrincipal, ...], non_empty_unique("Slack user id or user group id")
]


class Approvals(Section):
    """Which roles must approve a hotfix of each severity."""

    critical: RoleList = DEFAULT_CRITICAL_APPROVERS
    high: RoleList = DEFAULT_HIGH_APPROVERS
    distinct_people: bool = True
