"""The `hotfix-bot` command and `python app.py` as a newcomer runs them, in real processes."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from sqlalchemy import create_engine, inspect

from sandbox.github_server import FakeGitHub
from sandbox.slack_requests import SignedSlackClient
from sandbox.slack_server import FakeSlack
from tests.conftest import (
    BOT_TOKEN,
    INCIDENT_CHANNEL,
    POLICY,
    REQUESTER,
    ROOT,
    SIGNING_SECRET,
    write_policy,
)
from tests.git_fixtures import Origin

HOTFIX_BOT = str(Path(sys.executable).with_name("hotfix-bot"))


def clean_env(**extra: str) -> dict[str, str]:
    """A newcomer's environment: nothing of ours set, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "SYSTEMROOT")}
    env.update(extra)
    return env


def run(args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args, cwd=cwd, env=clean_env(**env), capture_output=True, text=True, timeout=60
    )


def test_without_credentials_it_says_exactly_what_to_set(tmp_path: Path) -> None:
    result = run([sys.executable, str(ROOT / "app.py")], tmp_path)
    assert result.returncode == 2
    assert "Hotfix Bot cannot start" in result.stderr
    assert "SLACK_BOT_TOKEN is not set" in result.stderr
    assert "SLACK_SIGNING_SECRET is not set" in result.stderr
    assert "hotfix.yml: not found — copy hotfix.example.yml to hotfix.yml" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "hotfix.db").exists()  # nothing started


def test_check_config_names_the_exact_key(tmp_path: Path) -> None:
    policy = {**POLICY, "approvals": {"critical": ["engineering_manager", "oncall_lead", "ctoo"]}}
    (tmp_path / "hotfix.yml").write_text(yaml.safe_dump(policy))
    env = {"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SIGNING_SECRET}
    result = run([HOTFIX_BOT, "check-config", "--offline"], tmp_path, **env)
    assert result.returncode == 2
    assert "hotfix.yml: approvals.critical[2]: unknown role 'ctoo'" in result.stderr

    (tmp_path / "hotfix.yml").write_text(yaml.safe_dump(POLICY))
    result = run([HOTFIX_BOT, "check-config", "--offline"], tmp_path, **env)
    assert result.returncode == 0, result.stderr
    assert "hotfix.yml: OK" in result.stdout
    assert "critical needs: Engineering Manager, On-call Lead, CTO" in result.stdout
    assert "GitHub: off for acme/api: set GITHUB_TOKEN, or GITHUB_APP_ID" in result.stdout
    assert BOT_TOKEN not in result.stdout + result.stderr


def test_check_config_shows_the_github_app_and_explains_a_bad_key(tmp_path: Path) -> None:
    (tmp_path / "hotfix.yml").write_text(yaml.safe_dump(POLICY))  # repository.github: acme/api
    env = {"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SIGNING_SECRET}
    key = FakeGitHub(validate=False).add_app(4242, installation_id=77)
    (tmp_path / "app.pem").write_text(key)
    app = {
        "GITHUB_APP_ID": "4242",
        "GITHUB_APP_INSTALLATION_ID": "77",
        "GITHUB_APP_PRIVATE_KEY_FILE": "app.pem",
    }
    result = run([HOTFIX_BOT, "check-config", "--offline"], tmp_path, **env, **app)
    assert result.returncode == 0, result.stderr
    assert "GitHub: acme/api as GitHub App 4242 (installation 77)" in result.stdout
    assert "PRIVATE KEY" not in result.stdout

    (tmp_path / "app.pem").write_text("not a key")
    result = run([HOTFIX_BOT, "check-config", "--offline"], tmp_path, **env, **app)
    assert result.returncode == 2
    assert "GITHUB_APP_PRIVATE_KEY_FILE: not a PEM private key" in result.stderr
    assert "Traceback" not in result.stderr


def test_the_example_policy_is_valid(tmp_path: Path) -> None:
    env = {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "HOTFIX_CONFIG": str(ROOT / "hotfix.example.yml"),
    }
    result = run([HOTFIX_BOT, "check-config", "--offline"], tmp_path, **env)
    assert result.returncode == 0, result.stderr


def test_migrate_creates_the_schema(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'bot.db'}"
    result = run([HOTFIX_BOT, "migrate"], tmp_path, DATABASE_URL=url)
    assert result.returncode == 0, result.stderr
    engine = create_engine(url)
    assert "hotfixes" in inspect(engine).get_table_names()
    engine.dispose()


def test_migrate_against_an_unreachable_database_says_so(tmp_path: Path) -> None:
    url = "postgresql+psycopg://postgres:secret-pw@127.0.0.1:1/nowhere"
    result = run([HOTFIX_BOT, "migrate"], tmp_path, DATABASE_URL=url)
    assert result.returncode == 1
    assert "cannot reach or migrate its database" in result.stderr
    assert "secret-pw" not in result.stderr and "Traceback" not in result.stderr


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def served(tmp_path: Path, origin: Origin) -> Iterator[tuple[str, FakeSlack]]:
    """`python app.py` in its own process (gunicorn), on SQLite, against a fake Slack."""
    with FakeSlack(token=BOT_TOKEN) as fake:
        fake.add_user(REQUESTER, "alice")
        fake.add_channel(INCIDENT_CHANNEL, "inc-checkout")
        write_policy(tmp_path, origin)
        port = free_port()
        (tmp_path / ".env").write_text(
            f"SLACK_BOT_TOKEN={BOT_TOKEN}\nSLACK_SIGNING_SECRET={SIGNING_SECRET}\n"
        )
        process = subprocess.Popen(
            [sys.executable, str(ROOT / "app.py")],
            cwd=tmp_path,
            env=clean_env(SLACK_API_URL=fake.api_url, PORT=str(port)),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    with urllib.request.urlopen(f"{base}/healthz", timeout=2) as response:
                        if response.status == 200:
                            break
                except OSError:
                    pass
                if process.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(f"the bot did not start:\n{process.communicate()[0]}")
                time.sleep(0.1)
            yield base, fake
        finally:
            process.send_signal(signal.SIGTERM)
            output = process.communicate(timeout=30)[0]
            assert process.returncode == 0, output
            assert BOT_TOKEN not in output and SIGNING_SECRET not in output
        assert (tmp_path / "hotfix.db").exists()
        fake.assert_valid()


def test_python_app_py_serves_a_signed_hotfix_start(served: tuple[str, FakeSlack]) -> None:
    base, fake = served
    slack = SignedSlackClient(f"{base}/slack/events", SIGNING_SECRET, fake)
    response = slack.slash(
        "start critical Checkout down", user_id=REQUESTER, channel_id=INCIDENT_CHANNEL
    )
    assert response.status == 200
    modal = fake.wait_for(lambda: fake.views() and fake.last_view())
    slack.submit_view(modal["id"], user_id=REQUESTER, values={"Impact": "All checkouts fail"})
    card = fake.wait_for(lambda: fake.messages(INCIDENT_CHANNEL))[0]
    assert card["text"] == "HF-1 CRITICAL: Checkout down — Awaiting approval"
    forged = slack.send(
        b"command=/hotfix&text=help", "application/x-www-form-urlencoded", secret="wrong"
    )
    assert forged.status == 401


def test_a_token_slack_refuses_stops_the_start_with_a_clear_message(
    tmp_path: Path, origin: Origin
) -> None:
    with FakeSlack(token=BOT_TOKEN) as fake:
        write_policy(tmp_path, origin)
        result = run(
            [sys.executable, str(ROOT / "app.py")],
            tmp_path,
            SLACK_BOT_TOKEN="xoxb-a-typo",
            SLACK_SIGNING_SECRET=SIGNING_SECRET,
            SLACK_API_URL=fake.api_url,
            PORT=str(free_port()),
        )
    assert result.returncode == 2, result.stderr
    assert "Slack refused SLACK_BOT_TOKEN (invalid_auth)" in result.stderr
    assert "xoxb-a-typo" not in result.stderr and "Traceback" not in result.stderr


def test_a_wrong_app_token_is_named_too(tmp_path: Path, origin: Origin) -> None:
    with FakeSlack(token=BOT_TOKEN, app_token="xapp-the-right-one") as fake:
        write_policy(tmp_path, origin)
        result = run(
            [sys.executable, str(ROOT / "app.py")],
            tmp_path,
            SLACK_BOT_TOKEN=BOT_TOKEN,
            SLACK_APP_TOKEN="xapp-a-typo",
            SLACK_API_URL=fake.api_url,
            PORT=str(free_port()),
        )
    assert result.returncode == 2, result.stderr
    assert "Slack refused SLACK_APP_TOKEN (invalid_auth)" in result.stderr
    assert "xapp-a-typo" not in result.stderr
