"""`hotfix-bot check-config` against a live Slack, GitHub and git remote, run as an operator
runs it: each item OK, FAIL with the fix, or SKIP with why; exit 1 when anything failed."""

from __future__ import annotations

import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from sandbox.github_server import FakeGitHub
from sandbox.slack_server import FakeSlack
from tests.conftest import BOT_TOKEN, SIGNING_SECRET, manifest_scopes, write_policy
from tests.git_fixtures import Origin
from tests.test_cli import HOTFIX_BOT, run

REVIEW = "C0REVIEW"


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def slack(fake_slack: FakeSlack) -> FakeSlack:
    fake_slack.add_channel(REVIEW, "hotfix-review")
    return fake_slack


def check_config(
    cwd: Path, slack: FakeSlack, github: FakeGitHub | None = None, **env: str
) -> subprocess.CompletedProcess[str]:
    base = {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": slack.api_url,
        "DATABASE_URL": f"sqlite:///{cwd / 'bot.db'}",
    }
    if github is not None:
        base |= {"GITHUB_TOKEN": github.token, "GITHUB_API_URL": github.api_url}
    result = run([HOTFIX_BOT, "check-config"], cwd, **(base | env))
    print(result.stdout)  # shown when a test fails: the whole report
    assert "Traceback" not in result.stderr, result.stderr
    assert BOT_TOKEN not in result.stdout + result.stderr
    return result


def lines(result: subprocess.CompletedProcess[str]) -> dict[str, str]:
    """``{item: "STATUS detail"}`` for each live check the command printed."""
    found = {}
    for line in result.stdout.splitlines():
        status, _, rest = line.strip().partition(" ")
        if status in ("OK", "FAIL", "SKIP"):
            item, _, detail = rest.strip().partition(": ")
            found[item] = f"{status} {detail}"
    return found


@pytest.fixture
def github(fake_github: FakeGitHub) -> Iterator[FakeGitHub]:
    yield fake_github


def test_a_good_setup_passes_every_check(
    tmp_path: Path, origin: Origin, slack: FakeSlack, github: FakeGitHub
) -> None:
    write_policy(tmp_path, origin, channels={"review": REVIEW})
    result = check_config(tmp_path, slack, github)
    assert result.returncode == 0, result.stdout + result.stderr
    checks = lines(result)
    assert checks["Slack token"].startswith("OK the bot is ")
    assert checks["Slack scopes"].startswith("OK all ")
    assert checks["channels.review"] == f"OK #hotfix-review ({REVIEW})"
    assert checks["channels.stakeholders"] == "SKIP not set"
    assert checks["roles.oncall_lead"] == "OK On-call Lead: 1 person"
    assert checks["roles.engineering_manager"] == "OK Engineering Manager: 1 person"
    assert checks["GitHub"] == "OK acme/api is reachable with the bot's credentials"
    remote = f"git remote {origin.url}"
    assert checks[remote] == f"OK main at {origin.head('main')[:7]}, production v1.2.3"
    assert "All live checks passed." in result.stdout


def test_a_refused_token_fails_and_says_where_to_copy_it_again(
    tmp_path: Path, origin: Origin, slack: FakeSlack
) -> None:
    write_policy(tmp_path, origin, repository={"github": None})
    result = check_config(tmp_path, slack, SLACK_BOT_TOKEN="xoxb-typo")
    assert result.returncode == 1
    checks = lines(result)
    assert checks["Slack token"] == (
        "FAIL Slack refused SLACK_BOT_TOKEN (invalid_auth): copy the Bot User OAuth Token "
        "(xoxb-…) again from your Slack app's OAuth & Permissions page"
    )
    assert checks["Slack scopes"].startswith("SKIP")
    assert checks["GitHub"].startswith("SKIP repository.github is not set")
    assert "1 check failed" in result.stdout
    assert "xoxb-typo" not in result.stdout


def test_missing_scopes_are_named_with_the_fix(tmp_path: Path, origin: Origin) -> None:
    scopes = [s for s in manifest_scopes() if s not in ("channels:read", "usergroups:read")]
    with FakeSlack(token=BOT_TOKEN, scopes=scopes) as slack:
        slack.add_channel(REVIEW, "hotfix-review")
        slack.set_usergroup("S0ONCALL", ["U0OMAR"])
        slack.set_usergroup("S0SEC", ["U0SAM"])
        for user in ("U0DANA", "U0CHLOE"):
            slack.add_user(user, user.lower())
        write_policy(tmp_path, origin, channels={"review": REVIEW}, repository={"github": None})
        result = check_config(tmp_path, slack)
    assert result.returncode == 1
    checks = lines(result)
    assert checks["Slack scopes"].startswith(
        "FAIL missing channels:read, usergroups:read: add them under OAuth & Permissions"
    )
    assert checks["channels.review"].startswith("FAIL the token cannot read channel details")
    assert checks["roles.oncall_lead"].startswith("FAIL the token cannot read S0ONCALL")
    assert checks["roles.engineering_manager"] == "OK Engineering Manager: 1 person"


def test_wrong_channels_groups_users_repository_and_branch_each_fail_with_the_fix(
    tmp_path: Path, origin: Origin, slack: FakeSlack, github: FakeGitHub
) -> None:
    slack.add_channel("G0SECRET", "war-room", is_private=True, bot_is_member=False)
    slack.set_usergroup("S0EMPTY", [])
    write_policy(
        tmp_path,
        origin,
        channels={"review": "C0GONE", "stakeholders": "G0SECRET"},
        roles={
            "engineering_manager": ["U0NOBODY"],
            "oncall_lead": ["S0EMPTY", "S0NOSUCH"],
            "cto": ["U0CHLOE"],
            "security": ["S0SEC"],
        },
        repository={"github": "acme/elsewhere", "production_branch": "trunk"},
    )
    result = check_config(tmp_path, slack, github)
    assert result.returncode == 1, result.stdout
    checks = lines(result)
    assert checks["channels.review"].startswith("FAIL no channel C0GONE the bot can see")
    assert "/invite the bot" in checks["channels.stakeholders"]
    assert checks["roles.engineering_manager"] == (
        "FAIL no user U0NOBODY: fix roles.engineering_manager in the policy file"
    )
    assert checks["roles.oncall_lead"] == (
        "FAIL user group S0EMPTY has no members; no user group S0NOSUCH: "
        "fix roles.oncall_lead in the policy file"
    )
    assert checks["roles.security"] == "OK Security: 1 person"
    assert checks["GitHub"].startswith("FAIL acme/elsewhere: ")
    assert checks[f"git remote {origin.url}"] == (
        "FAIL has no branch trunk: fix repository.production_branch"
    )
    assert "6 checks failed" in result.stdout


def test_nothing_reachable_fails_fast_with_what_to_check(tmp_path: Path, origin: Origin) -> None:
    port = closed_port()
    write_policy(tmp_path, origin)
    policy = (tmp_path / "hotfix.yml").read_text().replace(origin.url, str(tmp_path / "gone.git"))
    (tmp_path / "hotfix.yml").write_text(policy)
    slack_url = f"http://127.0.0.1:{port}/api/"
    env = {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": slack_url,
        "GITHUB_TOKEN": "ghp_not_reached",
        "GITHUB_API_URL": f"http://127.0.0.1:{port}",
        "GITHUB_TIMEOUT": "2",
    }
    result = run([HOTFIX_BOT, "check-config"], tmp_path, **env)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    checks = lines(result)
    assert checks["Slack token"] == (
        f"FAIL could not reach Slack at {slack_url}: check the network, or SLACK_API_URL"
    )
    assert checks["GitHub"].startswith("FAIL acme/api: could not reach GitHub")
    assert checks[f"git remote {tmp_path / 'gone.git'}"].endswith(
        "check repository.remote and the machine's git credentials"
    )
    assert "ghp_not_reached" not in result.stdout + result.stderr


def test_offline_skips_the_live_services(tmp_path: Path, origin: Origin) -> None:
    write_policy(tmp_path, origin)
    env = {"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SIGNING_SECRET}
    result = run([HOTFIX_BOT, "check-config", "--offline"], tmp_path, **env)
    assert result.returncode == 0, result.stderr
    assert "hotfix.yml: OK" in result.stdout
    assert "Live checks" not in result.stdout
