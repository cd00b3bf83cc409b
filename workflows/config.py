"""Configuration: environment settings (secrets, URLs) and the hotfix policy file (YAML).

Both loaders turn every mistake into a :class:`ConfigError` whose lines say where the mistake
is and what to write instead, so a person setting the bot up never has to read a traceback.

This module is the front door; each idea lives in a module of its own:

- ``workflows.config_errors``: :class:`ConfigError`;
- ``workflows.config_settings``: the environment (:class:`Settings`, :func:`load_settings`,
  :func:`database_url`, :func:`settings_problems`);
- ``workflows.config_policy``: the policy file as one model (:class:`Policy`) and the checks
  that span its sections;
- one module per group of sections: ``config_repository`` (``repository:``),
  ``config_roles`` (``roles:``, ``approvals:``, the escalation order), ``config_review``
  (``review:``, ``security:``), ``config_slack`` (``channels:``, ``workers:``, ``slack:``),
  ``config_deploy`` (``deploy:``, ``monitoring:``), ``config_closeout`` (``budgets:``,
  ``announce:``, ``postmortem:``) and ``config_drill`` (``drill:``), built from the blocks in
  ``config_fields``;
- ``workflows.config_loader``: reading the YAML file (:func:`load_policy`) and explaining
  what is wrong with it.
"""

from __future__ import annotations

from workflows.config_closeout import Announce, Budgets, Postmortem
from workflows.config_deploy import Deploy, Monitoring
from workflows.config_drill import Drill
from workflows.config_errors import ConfigError
from workflows.config_loader import load_policy
from workflows.config_policy import Policy
from workflows.config_repository import BranchName, Repository
from workflows.config_review import (
    DEFAULT_DISCLOSING_WORDS,
    DEFAULT_SUSPICIOUS_PATHS,
    Review,
    Security,
)
from workflows.config_roles import (
    DEFAULT_CRITICAL_APPROVERS,
    DEFAULT_ESCALATION,
    DEFAULT_HIGH_APPROVERS,
    Approvals,
    PrincipalList,
    RoleList,
    RoleName,
    SlackPrincipal,
)
from workflows.config_settings import Settings, database_url, load_settings, settings_problems
from workflows.config_slack import Channels, Slack, Workers
from workflows.roles import role_title

__all__ = [
    "DEFAULT_CRITICAL_APPROVERS",
    "DEFAULT_DISCLOSING_WORDS",
    "DEFAULT_ESCALATION",
    "DEFAULT_HIGH_APPROVERS",
    "DEFAULT_SUSPICIOUS_PATHS",
    "Announce",
    "Approvals",
    "BranchName",
    "Budgets",
    "Channels",
    "ConfigError",
    "Deploy",
    "Drill",
    "Monitoring",
    "Policy",
    "Postmortem",
    "PrincipalList",
    "Repository",
    "Review",
    "RoleList",
    "RoleName",
    "Security",
    "Settings",
    "Slack",
    "SlackPrincipal",
    "Workers",
    "database_url",
    "load_policy",
    "load_settings",
    "role_title",
    "settings_problems",
]
