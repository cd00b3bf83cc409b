"""Deploying through GitHub Actions (``deploy.github_actions``): Tag & deploy dispatches the
workflow on the new tag through PyGithub and follows the run to its end, against the fake
GitHub (checked against GitHub's OpenAPI description) — over HTTP into the real bot."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sandbox.github_server import FakeGitHub
from sandbox.health import Health
from storage.models import Hotfix
from tests.conftest import EM, INCIDENT_CHANNEL, ONCALL, REQUESTER, RunningBot, write_policy
from tests.git_fixtures import Origin
from tests.github_fixtures import REPO
from tests.review_steps import review_passed
from tests.test_approvals import card, click, in_thread
from tests.test_deploy import panel, state, thread_texts, wait_state

WORKFLOW = "deploy.yml"


@pytest.fixture
def github_settings(fake_github: FakeGitHub) -> dict[str, str]:
    fake_github.add_workflow(
        REPO,
        WORKFLOW,
        name="Deploy",
        inputs={"version": True, "environment": False},
        steps=(("Check out", 0.5), ("Roll out", 5.0)),
    )
    return {"github_token": fake_github.token, "github_api_url": fake_github.api_url}


@pytest.fixture
def policy_path(tmp_path: Path, origin: Origin, health: Health) -> Path:
    return write_policy(
        tmp_path,
        origin,
        repository={"github": REPO},
        people={"dana-em": EM},
        deploy={
            "github_actions": {
                "workflow": WORKFLOW,
                "ref": "{version}",
                "inputs": {"version": "{version}", "environment": "production"},
            },
            "timeout": "10s",
            "health_url": health.url,
            "health_timeout": "3s",
        },
        monitoring={"interval": "3s", "window": "30s"},
    )


def test_tag_and_deploy_dispatches_the_workflow_on_the_tag_and_follows_the_run(
    running_bot: RunningBot, origin: Origin, fake_github: FakeGitHub, health: Health
) -> None:
    bot = running_bot
    _, _, head = review_passed(bot, origin, fake_github)
    assert "GitHub Actions workflow `deploy.yml`" in json.dumps(panel(bot)["blocks"])
    click(bot, panel(bot), "Tag & deploy v1.2.4", ONCALL)
    hotfix = wait_state(bot, "monitoring")
    [run] = fake_github.workflow_runs(REPO, WORKFLOW)
    assert run["ref"] == "v1.2.4" and run["sha"] == head == origin.tag_commit("v1.2.4")
    assert run["inputs"] == {"version": "v1.2.4", "environment": "production"}
    assert run["event"] == "workflow_dispatch" and run["conclusion"] == "success"
    assert hotfix.deployed_version == "v1.2.4"
    # While it ran, the thread showed the step it was on and a link to the run.
    updates = json.dumps(bot.fake.calls_to("chat.update"))
    assert "deploy \\u203a Roll out" in updates or "deploy › Roll out" in updates
    assert f"/actions/runs/{run['id']}" in updates
    bot.fake.wait_for(lambda: thread_texts(bot, "✅ *HF-1*: `v1.2.4` is in production"))

    # Problem in monitoring: the rollback dispatches the same workflow for the previous tag.
    health.healthy = False
    bot.fake.wait_for(lambda: in_thread(bot, "📈"), timeout=10)
    click(bot, in_thread(bot, "📈")[0], "Problem — roll back", REQUESTER)
    wait_state(bot, "rolled_back")
    bot.fake.wait_for(lambda: thread_texts(bot, "⏪ *HF-1*: production is back"), timeout=20)
    _, back = fake_github.workflow_runs(REPO, WORKFLOW)
    assert back["ref"] == "v1.2.3" and back["inputs"]["version"] == "v1.2.3"


def test_a_run_that_fails_fails_the_deploy_with_the_step_and_a_link(
    running_bot: RunningBot, origin: Origin, fake_github: FakeGitHub
) -> None:
    bot = running_bot
    review_passed(bot, origin, fake_github)
    fake_github.set_workflow_outcome(REPO, WORKFLOW, "failure")
    click(bot, panel(bot), "Tag & deploy v1.2.4", REQUESTER)
    wait_state(bot, "deploy_failed")
    [failure] = bot.fake.wait_for(lambda: thread_texts(bot, "💥"))
    [run] = fake_github.workflow_runs(REPO, WORKFLOW)
    assert "ended `failure` at deploy › Roll out" in failure
    assert f"/actions/runs/{run['id']}" in failure
    [log] = bot.fake.wait_for(lambda: bot.fake.files(INCIDENT_CHANNEL, thread_ts=card(bot)["ts"]))
    assert b"starting workflow deploy.yml on v1.2.4" in log["content"]

    fake_github.set_workflow_outcome(REPO, WORKFLOW, "success")
    bot.fake.wait_for(lambda: "Retry: tag & deploy" in json.dumps(panel(bot)["blocks"]))
    click(bot, panel(bot), "Retry: tag & deploy", REQUESTER)
    hotfix = wait_state(bot, "monitoring")
    assert hotfix.deployed_version == "v1.2.5"
    assert [r["ref"] for r in fake_github.workflow_runs(REPO, WORKFLOW)] == ["v1.2.4", "v1.2.5"]


def test_a_dispatch_github_refuses_says_why_and_starts_nothing(
    running_bot: RunningBot, origin: Origin, fake_github: FakeGitHub
) -> None:
    bot = running_bot
    review_passed(bot, origin, fake_github)
    fake_github.add_workflow(REPO, WORKFLOW, inputs={"version": True, "region": True})
    click(bot, panel(bot), "Tag & deploy v1.2.4", REQUESTER)
    wait_state(bot, "deploy_failed")
    [failure] = bot.fake.wait_for(lambda: thread_texts(bot, "💥"))
    assert "GitHub did not start the deploy.yml workflow" in failure
    assert "Unexpected inputs provided" in failure  # GitHub's 422, word for word
    assert fake_github.workflow_runs(REPO) == []


def test_a_run_that_never_ends_fails_at_the_timeout_with_its_link(
    running_bot: RunningBot, origin: Origin, fake_github: FakeGitHub
) -> None:
    bot = running_bot
    review_passed(bot, origin, fake_github)
    fake_github.set_workflow_outcome(REPO, WORKFLOW, hang=True)
    click(bot, panel(bot), "Tag & deploy v1.2.4", REQUESTER)
    wait_state(bot, "deploy_failed", timeout=30)
    [failure] = bot.fake.wait_for(lambda: thread_texts(bot, "💥"))
    [run] = fake_github.workflow_runs(REPO, WORKFLOW)
    assert "did not finish within 10s; it may still be running" in failure
    assert f"/actions/runs/{run['id']}" in failure
    assert state(bot) == "deploy_failed" and bot.rows(Hotfix)[0].deploy_attempts == 1
