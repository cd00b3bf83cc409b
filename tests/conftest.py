"""Fixtures: a fake Slack, a real database, and the real bot served over real HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import yaml
from sqlalchemy import Engine, create_engine, inspect, select
from sqlalchemy.orm import Session

from app import HotfixBot, create_app
from sandbox.health import Health
from sandbox.slack_requests import SignedSlackClient
from sandbox.slack_server import FakeSlack
from storage.db import transaction
from storage.models import Base
from tests.databases import BACKENDS, database
from tests.harness.bot_process import BotProcess
from tests.harness.wsgi_server import BackgroundServer
from workflows.config import Settings, load_policy

if TYPE_CHECKING:
    from tests.git_fixtures import Origin

# `origin` (a real bare repository) and `fake_github` (GitHub's REST API backed by it).
pytest_plugins = ["tests.git_fixtures", "tests.github_fixtures"]

ROOT = Path(__file__).resolve().parent.parent
SIGNING_SECRET = "test-signing-secret"
BOT_TOKEN = "xoxb-test-token"

# The people and places of the test workspace.
REQUESTER = "U0ALICE"
EM = "U0DANA"
ONCALL = "U0OMAR"
CTO = "U0CHLOE"
SECURITY = "U0SAM"
INCIDENT_CHANNEL = "C0INCIDENT"

POLICY = {
    # write_policy() puts a real bare repository here (tests/git_fixtures); this local path
    # that does not exist keeps any other test from ever reaching for the network.
    "repository": {"remote": "/nonexistent/acme/api.git", "github": "acme/api"},
    "roles": {
        "engineering_manager": [EM],
        "oncall_lead": ["S0ONCALL"],
        "cto": [CTO],
        "security": ["S0SEC"],
    },
}


def manifest_scopes() -> list[str]:
    manifest = yaml.safe_load((ROOT / "manifest.yml").read_text())
    return manifest["oauth_config"]["scopes"]["bot"]


@pytest.fixture
def fake_slack() -> Iterator[FakeSlack]:
    """A Slack Web API on 127.0.0.1 granting exactly the manifest's scopes."""
    with FakeSlack(token=BOT_TOKEN, scopes=manifest_scopes()) as fake:
        for user_id, name in [
            (REQUESTER, "alice"),
            (EM, "dana"),
            (ONCALL, "omar"),
            (CTO, "chloe"),
            (SECURITY, "sam"),
        ]:
            fake.add_user(user_id, name)
        fake.set_usergroup("S0ONCALL", [ONCALL])
        fake.set_usergroup("S0SEC", [SECURITY])
        fake.add_channel(INCIDENT_CHANNEL, "inc-checkout")
        yield fake
        fake.assert_valid()


@pytest.fixture
def health() -> Iterator[Health]:
    """The deployed service's health endpoint (``deploy.health_url``), healthy at first."""
    endpoint = Health()
    yield endpoint
    endpoint.close()


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with database(request.param, tmp_path) as url:
        yield url


def write_policy(directory: Path, origin: Origin, **changes: object) -> Path:
    """A policy file whose repository is ``origin`` and whose clones live in ``directory``."""
    policy: dict = {**POLICY, **changes}
    policy["repository"] = {
        **POLICY["repository"],
        "merge_strategy": "direct",
        **dict(changes.get("repository") or {}),  # type: ignore[call-overload]
        "remote": origin.url,
    }
    policy["data_dir"] = str(directory / "data")
    path = directory / "hotfix.yml"
    path.write_text(yaml.safe_dump(policy))
    return path


@pytest.fixture
def policy_path(tmp_path: Path, origin: Origin) -> Path:
    return write_policy(tmp_path, origin)


def bot_settings(
    fake_slack: FakeSlack, database_url: str, policy_path: Path, **more: str
) -> Settings:
    return Settings(
        _env_file=None,
        slack_bot_token=BOT_TOKEN,
        slack_signing_secret=SIGNING_SECRET,
        slack_api_url=fake_slack.api_url,
        database_url=database_url,
        hotfix_config=policy_path,
        **more,
    )


@pytest.fixture
def github_settings() -> dict[str, str]:
    """Extra settings for GitHub (none: no GitHub); modules with a fake GitHub override it."""
    return {}


@dataclass
class RunningBot:
    """The real bot behind real HTTP, the fake Slack it talks to, and its database."""

    bot: HotfixBot
    url: str
    fake: FakeSlack
    slack: SignedSlackClient

    def rows(self, model: type[Base]) -> list:
        with transaction(self.bot.services.sessions) as session:
            return list(session.scalars(select(model).order_by(*inspect(model).primary_key)))

    def session(self) -> Session:
        return self.bot.services.sessions()


@dataclass
class ServedBot:
    """``python app.py`` as an operator runs it (gunicorn, the front and its worker process),
    the fake Slack it talks to, and its database."""

    process: BotProcess
    fake: FakeSlack
    slack: SignedSlackClient
    engine: Engine

    @property
    def url(self) -> str:
        return self.process.url

    def rows(self, model: type[Base]) -> list:
        with Session(self.engine) as session:
            return list(session.scalars(select(model).order_by(*inspect(model).primary_key)))


def bot_environment(fake: FakeSlack, database_url: str, policy_path: Path) -> dict[str, str]:
    """What ``python app.py`` is started with in the tests: the fake Slack, the database."""
    return {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": fake.api_url,
        "DATABASE_URL": database_url,
        "HOTFIX_CONFIG": str(policy_path),
    }


@contextmanager
def serving(
    fake: FakeSlack, database_url: str, policy_path: Path, workdir: Path
) -> Iterator[ServedBot]:
    """``python app.py`` in ``workdir``; stopped with SIGTERM, which must end it cleanly."""
    env = bot_environment(fake, database_url, policy_path)
    engine = create_engine(database_url)
    try:
        with BotProcess(workdir, env) as process:
            slack = SignedSlackClient(process.events_url, SIGNING_SECRET, fake)
            yield ServedBot(process, fake, slack, engine)
        # Shown by pytest only when the test failed: what the bot logged, to tell why.
        print(f"--- the bot's output (last lines) ---\n{process.output[-30_000:]}")
        assert process.returncode == 0, process.output
        assert BOT_TOKEN not in process.output
    finally:
        engine.dispose()


@contextmanager
def running(
    fake: FakeSlack, database_url: str, policy_path: Path, github_settings: dict[str, str]
) -> Iterator[RunningBot]:
    """The whole bot in this process, behind a real HTTP server."""
    settings = bot_settings(fake, database_url, policy_path, **github_settings)
    bot = create_app(settings, load_policy(policy_path))
    bot.start()
    try:
        with BackgroundServer(bot.wsgi) as server:
            slack = SignedSlackClient(f"{server.url}/slack/events", SIGNING_SECRET, fake)
            yield RunningBot(bot=bot, url=server.url, fake=fake, slack=slack)
    finally:
        bot.close()


@pytest.fixture
def served_bot(
    fake_slack: FakeSlack, database_url: str, policy_path: Path, tmp_path: Path
) -> Iterator[ServedBot]:
    with serving(fake_slack, database_url, policy_path, tmp_path) as bot:
        yield bot


@pytest.fixture
def running_bot(
    fake_slack: FakeSlack, database_url: str, policy_path: Path, github_settings: dict[str, str]
) -> Iterator[RunningBot]:
    with running(fake_slack, database_url, policy_path, github_settings) as bot:
        yield bot
