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
    ROLLBACK = "rollback"
    TIMELINE = "timeline"
    POSTMORTEM = "postmortem"
    SECURITY_WAIVE = "security-waive"
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
    DEPLOY = "hotfix_deploy"
    ROLL_BACK = "hotfix_roll_back"
    RETRY_ROLLBACK = "hotfix_retry_rollback"
    FIX_AGAIN = "hotfix_fix_again"
    ALL_GREEN = "hotfix_all_green"
    MIGRATION_CHECKLIST = "hotfix_migration_checklist"
    VERIFY_CHECKLIST = "hotfix_verify_checklist"
    SECURITY_CLOSE = "hotfix_security_close"
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
    DEPLOY_ACTIONS = "deploy_actions"
    FAILURE_ACTIONS = "deploy_failure_actions"
    MONITOR_ACTIONS = "monitor_actions"
    MIGRATION_CHECKLIST = "deploy_migration"
    VERIFY_CHECKLIST = "deploy_verify"
    SECURITY_CLOSE = "security_close"
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
    DEPLOY = "deploy"


#: Bot scopes the code needs; manifest.yml must grant exactly these.
BOT_SCOPES: frozenset[str] = frozenset(
    {
        "channels:history",  # a keyed post's check that it is not in the thread already
        "channels:read",  # check-config: the policy's channels exist (groups:read: private)
        "chat:write",
        "chat:write.public",
        "commands",
        "files:write",
        "groups:history",
        "groups:read",
        "users:read",
        "usergroups:read",
    }
)


def approve_action_id(role: str) -> str:
    """The action id of the "Approve as <role>" button."""
    return f"{ActionId.APPROVE}:{role}"
