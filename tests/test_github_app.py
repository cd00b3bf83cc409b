"""The bot acting on GitHub as a GitHub App: a JWT traded for installation tokens."""

from __future__ import annotations

from pathlib import Path

import pytest

from sandbox.github_server import FakeGitHub
from storage.models import Hotfix
from tests.conftest import RunningBot, write_policy
from tests.git_fixtures import Origin
from tests.github_fixtures import REPO
from tests.review_steps import announced, ask_for_pr
from tests.test_approvals import in_thread

APP_ID = 4242
INSTALLATION = 77


@pytest.fixture
def github_settings(fake_github: FakeGitHub, request: pytest.FixtureRequest) -> dict[str, object]:
    """The app, installed on ``acme/api``; a test's param is the installation id the bot is
    given (None: it looks it up), or a dict of ``add_app`` options."""
    param = getattr(request, "param", INSTALLATION)
    options = param if isinstance(param, dict) else {}
    key = fake_github.add_app(APP_ID, installation_id=INSTALLATION, slug="acme-hotfix", **options)
    installation = None if isinstance(param, dict) else param
    return {
        "github_app_id": APP_ID,
        "github_app_private_key": key,
        "github_api_url": fake_github.api_url,
        **({"github_app_installation_id": installation} if installation else {}),
    }


@pytest.fixture
def policy_path(tmp_path: Path, origin: Origin) -> Path:
    return write_policy(tmp_path, origin, repository={"github": REPO})


def test_the_app_opens_the_pr_as_its_bot_account(
    running_bot: RunningBot, origin: Origin, fake_github: FakeGitHub
) -> None:
    bot = running_bot
    ask_for_pr(bot, origin)
    announced(bot)
    [pull] = fake_github.pulls(REPO)
    assert pull["user"]["login"] == "acme-hotfix[bot]"
    assert [label["name"] for label in pull["labels"]] == ["hotfix"]
    assert fake_github.installation_tokens()  # it called with an installation token
    bot.fake.wait_for(lambda: bot.rows(Hotfix)[0].state == "in_review")


@pytest.mark.parametrize("github_settings", [INSTALLATION + 1], indirect=True)
def test_a_wrong_installation_is_named_in_the_thread(
    running_bot: RunningBot, origin: Origin, fake_github: FakeGitHub
) -> None:
    bot = running_bot
    ask_for_pr(bot, origin)
    failure = bot.fake.wait_for(lambda: in_thread(bot, "⚠️ *HF-1*"), timeout=20)[0]
    assert (
        "not found on GitHub (404): check repository.github and that the GitHub App "
        in (failure["text"])
    )
    assert "GITHUB_APP_ID" in failure["text"]
    assert "Retry" in str(failure["blocks"])
    assert bot.rows(Hotfix)[0].state == "fixing"
    assert fake_github.pulls(REPO) == []


@pytest.mark.parametrize("github_settings", [None], indirect=True)
def test_without_an_installation_id_the_bot_finds_it(
    running_bot: RunningBot, origin: Origin, fake_github: FakeGitHub
) -> None:
    bot = running_bot
    ask_for_pr(bot, origin)
    announced(bot)
    [pull] = fake_github.pulls(REPO)
    assert pull["user"]["login"] == "acme-hotfix[bot]"
    [lookup] = fake_github.requests_to("GET", rf"^/repos/{REPO}/installation$")
    assert lookup.headers["authorization"].startswith("Bearer ey")  # as the app, by its JWT


@pytest.mark.parametrize("github_settings", [{"repos": ["acme/other"]}], indirect=True)
def test_an_app_not_installed_on_the_repository_is_said_in_the_thread(
    running_bot: RunningBot, origin: Origin, fake_github: FakeGitHub
) -> None:
    bot = running_bot
    ask_for_pr(bot, origin)
    failure = bot.fake.wait_for(lambda: in_thread(bot, "⚠️ *HF-1*"), timeout=20)[0]
    assert (
        "not found on GitHub (404): check repository.github and that the GitHub App"
        in (failure["text"])
    )
    assert "it must be installed on the repository) can reach that repository" in (failure["text"])
    assert bot.rows(Hotfix)[0].state == "fixing"
    assert fake_github.pulls(REPO) == []
