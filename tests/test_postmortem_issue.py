"""`postmortem.github_issue`: the draft also opened as a GitHub issue when the hotfix closes
(the fake GitHub speaks GitHub's REST API); a security fix's issue names nothing."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from bot.render.postmortem import postmortem_markdown
from sandbox.github_server import FakeGitHub
from storage.models import Hotfix
from tests.conftest import REQUESTER, RunningBot, write_policy
from tests.git_fixtures import Origin
from tests.github_fixtures import REPO
from tests.test_approvals import in_thread
from tests.test_commands import reply
from tests.test_git_flow import FIXED, approve_all, to_merging_back
from tests.test_timeline import AT, a_record
from workflows.config import Budgets
from workflows.record import TimelineEvent


@pytest.fixture
def github_settings(fake_github: FakeGitHub) -> dict[str, str]:
    return {"github_token": fake_github.token, "github_api_url": fake_github.api_url}


@pytest.fixture
def policy_path(tmp_path: Path, origin: Origin) -> Path:
    return write_policy(
        tmp_path,
        origin,
        repository={"github": REPO, "merge_strategy": "direct"},
        postmortem={"github_issue": True, "labels": ["postmortem", "hotfix"]},
    )


def test_closing_opens_the_post_mortem_issue_once(
    running_bot: RunningBot, origin: Origin, fake_github: FakeGitHub
) -> None:
    bot = running_bot
    hotfix = approve_all(bot)
    origin.commit_on(hotfix.branch, {"auth.py": FIXED}, "Add null check before validation")
    to_merging_back(bot, hotfix.id)
    reply(bot, "merge-back HF-1", user=REQUESTER)
    bot.fake.wait_for(lambda: bot.rows(Hotfix)[0].state == "closed", timeout=20)
    said = bot.fake.wait_for(lambda: in_thread(bot, "📝 Post-mortem issue of HF-1"), timeout=15)
    [issue] = fake_github.issues(REPO)
    assert issue["title"] == "Post-mortem: HF-1 — Login accepts empty tokens"
    assert issue["body"].startswith("# Post-mortem: HF-1 — Login accepts empty tokens\n")
    assert [label["name"] for label in issue["labels"]] == ["postmortem", "hotfix"]
    assert f"<{issue['html_url']}|on GitHub>" in said[0]["text"]
    bot.bot.services.postmortems.sync(1)  # again (a change, a restart): nothing more
    assert len(fake_github.issues(REPO)) == 1


def test_a_security_fix_draft_for_github_names_nothing() -> None:
    record = a_record(
        id=4,
        title="SQL injection in user search",
        impact="Every customer's data",
        security_fix=True,
        events=(
            TimelineEvent(
                AT, REQUESTER, "abort", "fixing", "aborted", {"reason": "injection fixed"}
            ),
        ),
    )
    neutral = postmortem_markdown(record, Budgets(), timedelta(minutes=30), neutral=True)
    assert neutral.startswith("# Post-mortem: HF-4 — Security fix\n")
    for secret in ("SQL injection", "Every customer", "injection fixed"):
        assert secret not in neutral
    assert "The timeline is in the hotfix's thread" in neutral
    assert "SQL injection" in postmortem_markdown(record, Budgets(), timedelta(minutes=30))
