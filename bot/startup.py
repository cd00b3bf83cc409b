"""What the ``hotfix-bot`` commands share before anything serves: settings and policy
loaded (or every problem at once), logging, migrations, the Slack tokens checked at start,
and the ``check-config`` / ``migrate`` / ``diagram`` commands themselves."""

from __future__ import annotations

import argparse
import logging
import sys

from slack_sdk.errors import SlackApiError, SlackClientError
from sqlalchemy.engine import make_url

from bot import check_live, logs
from bot.clients import github_repository, slack_client
from bot.slack_api import REFUSED_TOKEN, UNREACHABLE
from storage.db import make_engine, migrate
from workflows.config import (
    ConfigError,
    Policy,
    Settings,
    database_url,
    load_policy,
    load_settings,
    settings_problems,
)
from workflows.git_repo import Repository, redact
from workflows.lifecycle import mermaid
from workflows.roles import role_title

log = logging.getLogger("hotfix_bot")

EXIT_CONFIG = 2
EXIT_DATABASE = 1
EXIT_LIVE = 1
CHECK_TIMEOUT = 5  # seconds per Slack call in check-config


def configure_logging(settings: Settings) -> None:
    logs.configure(settings.log_level, settings.log_format, logs.settings_secrets(settings))


def load(*, need_slack: bool) -> tuple[Settings, Policy]:
    """Settings and policy, or every problem at once and exit code 2."""
    problems: list[str] = []
    settings: Settings | None = None
    policy: Policy | None = None
    try:
        settings = load_settings()
    except ConfigError as error:
        problems.extend(error.problems)
    if settings is not None:
        if need_slack:
            problems.extend(settings_problems(settings))
        try:
            policy = load_policy(settings.hotfix_config)
        except ConfigError as error:
            problems.extend(error.problems)
    if problems or settings is None or policy is None:
        print("Hotfix Bot cannot start. Fix the following and run it again:", file=sys.stderr)
        for problem in problems:
            print(f"  - {problem}", file=sys.stderr)
        raise SystemExit(EXIT_CONFIG)
    return settings, policy


def safe_url(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def migrate_or_exit(settings: Settings) -> None:
    url = database_url(settings)
    engine = make_engine(url)
    try:
        migrate(engine)
    except Exception as error:  # any failure here is reported and ends the command
        print(
            f"Hotfix Bot cannot reach or migrate its database {safe_url(url)}: "
            f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}\n"
            "Check DATABASE_URL and that the database server is running.",
            file=sys.stderr,
        )
        raise SystemExit(EXIT_DATABASE) from None
    finally:
        engine.dispose()


def cmd_check_config(args: argparse.Namespace) -> int:
    """The settings and the policy file; then, unless ``--offline``, the live services
    (bot.check_live). Exit 0 when all is well, 1 when a live check failed, 2 for the file."""
    settings, policy = load(need_slack=True)
    mode = "Socket Mode" if settings.slack_app_token else f"HTTP on port {settings.port}"
    print(f"{settings.hotfix_config}: OK")
    print(f"  repository: {redact(policy.repository.remote)}")
    for severity in ("critical", "high"):
        roles = ", ".join(role_title(r) for r in policy.required_roles(severity))
        print(f"  {severity} needs: {roles}")
    print(f"  database: {safe_url(database_url(settings))}")
    print(f"  Slack: {mode}, API {settings.slack_api_url}")
    print(f"  GitHub: {_github_identity(settings, policy)}")
    if getattr(args, "offline", False):
        return 0
    print("Live checks:")
    checks = check_live.run(
        policy,
        slack=slack_client(settings, timeout=CHECK_TIMEOUT),
        github=github_repository(settings, policy),
        repository=Repository(policy.repository.remote, policy.data_dir),
    )
    for check in checks:
        print(check.line())
    failed = sum(check.status == "FAIL" for check in checks)
    if failed:
        print(f"{failed} check{'s' if failed > 1 else ''} failed: fix them and run it again.")
        return EXIT_LIVE
    print("All live checks passed.")
    return 0


def _github_identity(settings: Settings, policy: Policy) -> str:
    """How the bot reaches GitHub (never the secret itself)."""
    if not policy.repository.github:
        return "off (set repository.github to open pull requests)"
    if settings.github_token is not None:
        who = "GITHUB_TOKEN"
    elif settings.github_app_id is not None:
        installation = settings.github_app_installation_id
        who = f"GitHub App {settings.github_app_id} " + (
            f"(installation {installation})"
            if installation
            else "(its installation is looked up on first use)"
        )
    else:
        return (
            f"off for {policy.repository.github}: set GITHUB_TOKEN, or GITHUB_APP_ID and "
            "GITHUB_APP_PRIVATE_KEY(_FILE)"
        )
    return f"{policy.repository.github} as {who}, API {settings.github_api_url}"


def cmd_migrate(_: argparse.Namespace) -> int:
    try:
        settings = load_settings()
    except ConfigError as error:
        print("\n".join(error.problems), file=sys.stderr)
        return EXIT_CONFIG
    migrate_or_exit(settings)
    print(f"Database {safe_url(database_url(settings))} is up to date.")
    return 0


def verify_slack_tokens(settings: Settings) -> None:
    """Ask Slack whether the tokens work before serving, so a typo is caught at start.

    A refused token ends the start with exit code 2; Slack being unreachable only warns.
    """
    client = slack_client(settings)
    checks = [("SLACK_BOT_TOKEN", lambda: client.auth_test())]
    if settings.slack_app_token is not None:
        app_token = settings.slack_app_token.get_secret_value()
        checks.append(
            ("SLACK_APP_TOKEN", lambda: client.apps_connections_open(app_token=app_token))
        )
    for variable, check in checks:
        try:
            check()
        except SlackApiError as error:
            code = str(error.response.get("error", "unknown_error"))
            if code == UNREACHABLE:
                log.warning(
                    "could not reach Slack at %s to check %s; starting anyway",
                    settings.slack_api_url,
                    variable,
                )
                continue
            if code in REFUSED_TOKEN:
                print(
                    f"Hotfix Bot cannot start: Slack refused {variable} ({code}). Copy it "
                    "again from your Slack app's settings (see README, Install).",
                    file=sys.stderr,
                )
                raise SystemExit(EXIT_CONFIG) from None
            log.warning("Slack answered %s while checking %s; starting anyway", code, variable)
        except (SlackClientError, OSError) as error:
            log.warning(
                "could not reach Slack at %s to check %s (%s); starting anyway",
                settings.slack_api_url,
                variable,
                type(error).__name__,
            )


def cmd_diagram(_: argparse.Namespace) -> int:
    print(mermaid(), end="")
    return 0
