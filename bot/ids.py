"""Every Slack identifier the bot uses, in one place (mirrored in manifest.yml; a test checks)."""

from __future__ import annotations

from enum import StrEnum


class Command(StrEnum):
    HOTFIX = "/hotfix"


class Subcommand(StrEnum):
    START = "start"
    STATUS = "status"
    LIST = "list"
    ABORT = "abort"
    BASE = "base"
    MERGE_BACK = "merge-back"
    PR = "pr"
    HELP = "help"


class EventType(StrEnum):
    APP_HOME_OPENED = "app_home_opened"


class CallbackId(StrEnum):
    ASSESSMENT = "hotfix_assessment"
    NOT_A_HOTFIX = "hotfix_not_a_hotfix"
    REJECT = "hotfix_reject_reason"
    OVERRIDE = "hotfix_override_reason"


class ActionId(StrEnum):
    RETRY_CARD = "hotfix_retry_card"
    # "hotfix_approve:<role>": one button per required role; the role is checked on the server.
    APPROVE = "hotfix_approve"
    REJECT = "hotfix_reject"
    OVERRIDE = "hotfix_override"
    REASON = "reason"
    CREATE_BRANCH = "hotfix_create_branch"
    MERGE_BACK = "hotfix_merge_back"
    OPEN_PR = "hotfix_open_pr"
    RECHECK_CI = "hotfix_recheck_ci"
    CHECKLIST = "hotfix_checklist"
    SECURITY_CHECKLIST = "hotfix_security_checklist"
    APPROVE_REVIEW = "hotfix_approve_review"
    # Input elements of the assessment modal (one per field of the procedure's Hotfix Request).
    ISSUE = "issue"
    SEVERITY = "severity"
    IMPACT = "impact"
    DISCOVERED = "discovered"
    REPORTER = "reporter"
    ESTIMATED_FIX = "estimated_fix"
    RISK_IF_DELAYED = "risk_if_delayed"
    TICKET = "ticket"
    FLAGS = "flags"


class BlockId(StrEnum):
    ISSUE = "assessment_issue"
    SEVERITY = "assessment_severity"
    IMPACT = "assessment_impact"
    DISCOVERED = "assessment_discovered"
    REPORTER = "assessment_reporter"
    ESTIMATED_FIX = "assessment_estimated_fix"
    RISK_IF_DELAYED = "assessment_risk_if_delayed"
    TICKET = "assessment_ticket"
    FLAGS = "assessment_flags"
    CARD_ACTIONS = "card_actions"
    APPROVAL_ACTIONS = "approval_actions"
    REFUSAL_ACTIONS = "refusal_actions"
    GIT_ACTIONS = "git_actions"
    CHECKLIST = "review_checklist"
    SECURITY_CHECKLIST = "review_security_checklist"
    REVIEW_ACTIONS = "review_actions"
    REASON = "reason"


class Flag(StrEnum):
    """Values of the assessment's checkboxes."""

    SECURITY_FIX = "security_fix"
    NEEDS_MIGRATION = "needs_migration"


class MessagePurpose(StrEnum):
    """What a stored Slack message is for (``slack_messages.purpose``)."""

    CARD = "card"
    ASSESSMENT = "assessment"
    APPROVALS = "approvals"
    REFUSAL = "refusal"
    REVIEW = "review"


#: Bot scopes the code needs; manifest.yml must grant exactly these.
BOT_SCOPES: frozenset[str] = frozenset(
    {"chat:write", "chat:write.public", "commands", "users:read", "usergroups:read"}
)


def approve_action_id(role: str) -> str:
    """The action id of the "Approve as <role>" button."""
    return f"{ActionId.APPROVE}:{role}"
