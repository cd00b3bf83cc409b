"""The clients the bot talks through, built from the settings: Slack's Web API, the GitHub
repository (a token or a GitHub App), and the drill's own repository."""

from __future__ import annotations

from bot.slack_api import Circuit, GuardedWebClient, retry_handlers
from workflows.config import Policy, Settings
from workflows.git_repo import Repository
from workflows.github_client import AppIdentity, GitHubRepository
from workflows.targets import Target


def slack_client(settings: Settings, *, timeout: float = 10) -> GuardedWebClient:
    """The Web API client: ``SLACK_API_URL`` honoured, every call bounded (bot.slack_api)."""
    token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None
    return GuardedWebClient(
        circuit=Circuit("Slack Web API"),
        token=token,
        base_url=settings.slack_api_url,
        timeout=max(1, round(timeout)),
        retry_handlers=retry_handlers(),
    )


def github_repository(
    settings: Settings, policy: Policy, name: str | None = None
) -> GitHubRepository | None:
    """The GitHub repository ``name`` (default ``repository.github``), when it is set and the
    bot has a GitHub identity: ``GITHUB_TOKEN``, or a GitHub App (``GITHUB_APP_ID`` and the
    rest)."""
    name = name or policy.repository.github
    if not name:
        return None
    if settings.github_token is not None:
        auth: str | AppIdentity = settings.github_token.get_secret_value()
        credentials = "GITHUB_TOKEN"
    elif settings.github_app_id is not None:
        pem = settings.github_app_pem()
        assert pem is not None  # Settings refuses an app without a key
        auth = AppIdentity(settings.github_app_id, pem, settings.github_app_installation_id)
        credentials = (
            "the GitHub App (GITHUB_APP_ID, its private key, GITHUB_APP_INSTALLATION_ID if set; "
            "it must be installed on the repository)"
        )
    else:
        return None
    return GitHubRepository(
        settings.github_api_url,
        auth,
        name,
        credentials=credentials,
        timeout=settings.github_timeout,
    )


def drill_target(settings: Settings, policy: Policy) -> Target | None:
    """Where drills branch, tag and merge (``drill.repository``): never the real repository."""
    if policy.drill.repository is None:
        return None
    return Target(
        Repository(policy.drill.repository, policy.data_dir / "drill"),
        github_repository(settings, policy, policy.drill.github) if policy.drill.github else None,
    )
