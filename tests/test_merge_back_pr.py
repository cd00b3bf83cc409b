"""Merge back by pull request (the default strategy), against the fake GitHub."""

from __future__ import annotations

import urllib.request
from pathlib import Path

import pytest

from sandbox.github_server import FakeGitHub
from storage.models import Hotfix
from tests.conftest import REQUESTER, RunningBot, write_policy
from tests.git_fixtures import Origin
from tests.github_fixtures import REPO
from tests.test_approvals import click, in_thread
from tests.test_commands import reply
from tests.test_git_flow import (
    FIXED,
    approve_all,
    merging_back_into_a_conflict,
    resolve_by_hand,
    to_merging_back,
)
from tests.test_start import text_of


@pytest.fixture
def github_settings(fake_github: FakeGitHub) -> dict[str, str]:
    return {"github_token": fake_github.token, "github_api_url": fake_github.api_url}


@pytest.fixture
def policy_path(tmp_path: Path, origin: Origin, request: pytest.FixtureRequest) -> Path:
    strategy = getattr(request, "param", "pull_request")
    return write_policy(tmp_path, origin, repository={"github": REPO, "merge_strategy": strategy})


def merge_on_github(github: FakeGitHub, number: int, method: str = "merge") -> None:
    """A person merges the PR in GitHub's web page (through the same REST API)."""
    request = urllib.request.Request(
        f"{github.api_url}/repos/{REPO}/pulls/{number}/merge",
        data=f'{{"merge_method": "{method}"}}'.encode(),
        method="PUT",
        headers={"Authorization": f"token {github.token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200


def test_one_pull_request_per_target_then_closed_once_merged(
    running_bot: RunningBot, origin: Origin, fake_github: FakeGitHub
) -> None:
    bot = running_bot
    hotfix = approve_all(bot)
    origin.commit_on(hotfix.branch, {"auth.py": FIXED}, "Add null check before validation")
    to_merging_back(bot, hotfix.id)
    reply(bot, "merge-back HF-1")
    report = bot.fake.wait_for(
        lambda: in_thread(bot, "🔀 *HF-1*: merge back is waiting"), timeout=20
    )[0]
    shown = text_of(report["blocks"])
    pulls = {p["base"]["ref"]: p for p in fake_github.pulls(REPO)}
    assert set(pulls) == {"main", "develop"}
    for target, pull in pulls.items():
        assert pull["head"]["ref"] == hotfix.branch
        assert pull["title"].startswith(f"Merge hotfix {hotfix.branch} (v1.2.4)")
        assert f"`{target}`: pull request <{pull['html_url']}|opened>" in shown
    assert bot.rows(Hotfix)[0].state == "merging_back"

    # Re-checking before anything is merged opens nothing new.
    click(bot, report, "Re-check merge back", REQUESTER)
    bot.fake.wait_for(
        lambda: len(in_thread(bot, "🔀 *HF-1*: merge back is waiting")) == 2, timeout=20
    )
    assert len(fake_github.pulls(REPO)) == 2

    for pull in pulls.values():
        merge_on_github(fake_github, pull["number"])
    reply(bot, "merge-back HF-1")
    done = bot.fake.wait_for(lambda: in_thread(bot, "🔀 *HF-1* is merged back"), timeout=20)[0]
    assert "✅ `main` already has the fix" in text_of(done["blocks"])
    bot.fake.wait_for(lambda: bot.rows(Hotfix)[0].state == "closed")
    assert origin.head(hotfix.branch) is None


def test_github_failing_says_why_and_keeps_the_state(
    running_bot: RunningBot, origin: Origin, fake_github: FakeGitHub
) -> None:
    bot = running_bot
    hotfix = approve_all(bot)
    origin.commit_on(hotfix.branch, {"auth.py": FIXED}, "Add null check before validation")
    to_merging_back(bot, hotfix.id)
    fake_github.fail("POST", r"/pulls$", status=403, rate_limit=True, times=None)
    reply(bot, "merge-back HF-1")
    failure = bot.fake.wait_for(lambda: in_thread(bot, "⚠️ *HF-1*"), timeout=20)[0]
    assert "rate limit is used up" in failure["text"]
    assert "HF-1 stays *merging back*" in failure["text"]
    assert bot.rows(Hotfix)[0].state == "merging_back"
    fake_github.recover()
    click(bot, failure, "Retry", REQUESTER)
    bot.fake.wait_for(lambda: len(fake_github.pulls(REPO)) == 2, timeout=20)


def test_a_conflicting_target_gets_a_pull_request_and_a_rerun_finishes(
    running_bot: RunningBot, origin: Origin, fake_github: FakeGitHub
) -> None:
    bot = running_bot
    hotfix, _, report = merging_back_into_a_conflict(bot, origin)
    assert "❌ `develop` conflicts" in text_of(report["blocks"])
    merge_on_github(
        fake_github,
        next(p["number"] for p in fake_github.pulls(REPO) if p["base"]["ref"] == "main"),
    )
    resolve_by_hand(origin, "develop", hotfix.branch, {"auth.py": FIXED})
    click(bot, report, "Re-check merge back", REQUESTER)
    bot.fake.wait_for(lambda: bot.rows(Hotfix)[0].state == "closed", timeout=20)


def test_a_squash_merged_pull_request_counts_as_merged(
    running_bot: RunningBot, origin: Origin, fake_github: FakeGitHub
) -> None:
    bot = running_bot
    hotfix = approve_all(bot)
    origin.commit_on(hotfix.branch, {"auth.py": FIXED}, "Add null check before validation")
    to_merging_back(bot, hotfix.id)
    reply(bot, "merge-back HF-1")
    bot.fake.wait_for(lambda: len(fake_github.pulls(REPO)) == 2, timeout=20)
    for pull in fake_github.pulls(REPO):
        merge_on_github(fake_github, pull["number"], method="squash")
    reply(bot, "merge-back HF-1")
    bot.fake.wait_for(lambda: bot.rows(Hotfix)[0].state == "closed", timeout=20)
    assert len(fake_github.pulls(REPO)) == 2  # no new PR for what git cannot see


@pytest.mark.parametrize("policy_path", ["direct"], indirect=True)
def test_merging_directly_a_conflicting_target_still_gets_a_pull_request(
    running_bot: RunningBot, origin: Origin, fake_github: FakeGitHub
) -> None:
    bot = running_bot
    hotfix, _, report = merging_back_into_a_conflict(bot, origin)
    shown = text_of(report["blocks"])
    assert "✅ merged into `main`" in shown  # merged and pushed by the bot
    assert "❌ `develop` conflicts" in shown
    [pull] = fake_github.pulls(REPO)  # where the resolution is reviewed
    assert (pull["head"]["ref"], pull["base"]["ref"]) == (hotfix.branch, "develop")
    assert f"`develop`: pull request <{pull['html_url']}|opened>" in shown
    fix = origin.head(hotfix.branch)
    assert origin.git("merge-base", "--is-ancestor", fix, "main") == ""  # main has the fix
