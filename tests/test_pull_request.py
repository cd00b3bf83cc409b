"""Phase 4 begins: the hotfix PR opened (or adopted) from Slack, described and announced."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from sandbox.github_server import FakeGitHub
from storage.models import Event, Hotfix
from tests.conftest import EM, REQUESTER, RunningBot, write_policy
from tests.git_fixtures import Origin
from tests.github_fixtures import REPO
from tests.review_steps import (
    TEST,
    announced,
    ask_for_pr,
    flag_security,
    open_pr_by_hand,
    push_fix,
    review_passed,
)
from tests.test_approvals import card, click, in_thread
from tests.test_commands import reply
from tests.test_git_flow import FIXED, approve_all
from tests.test_start import text_of


@pytest.fixture
def github_settings(fake_github: FakeGitHub) -> dict[str, str]:
    return {
        "github_token": fake_github.token,
        "github_api_url": fake_github.api_url,
        "github_timeout": 2,
    }


@pytest.fixture
def policy_path(tmp_path: Path, origin: Origin, request: pytest.FixtureRequest) -> Path:
    changes: dict = {
        "repository": {"github": REPO},
        "review": {
            "github_reviewers": ["dana-em", "acme/security"],
            "max_files": 3,
            "poll_interval": "1s",
        },
        "people": {"dana-em": EM},
    }
    for section, values in getattr(request, "param", {}).items():  # a test's own changes
        changes[section] = {**changes.get(section, {}), **values}
    return write_policy(tmp_path, origin, **changes)


def test_open_pr_creates_describes_and_announces_it(
    running_bot: RunningBot, origin: Origin, fake_github: FakeGitHub
) -> None:
    bot = running_bot
    hotfix = approve_all(bot)
    push_fix(origin, hotfix.branch)
    ready = bot.fake.wait_for(lambda: in_thread(bot, "🌿"))[0]
    click(bot, ready, "Open PR", REQUESTER)

    request = announced(bot)
    [pull] = fake_github.pulls(REPO)
    assert pull["title"] == "Hotfix: Login accepts empty tokens (SEC-9)"
    assert (pull["head"]["ref"], pull["base"]["ref"]) == (hotfix.branch, "main")
    assert "**Issue:** Login accepts empty tokens" in pull["body"]
    assert "2 files, +4 −0 lines; 1 test files, 2 test lines added" in pull["body"]
    assert "Slack thread: http" in pull["body"]
    assert "**Deploy plan:** tag `v1.2.4` on the reviewed head, deploy it" in pull["body"]
    assert "**Rollback plan:** redeploy `v1.2.3`." in pull["body"]
    assert "- [ ] Unit tests\n- [ ] Integration tests" in pull["body"]
    assert [label["name"] for label in pull["labels"]] == ["hotfix"]
    assert [u["login"] for u in pull["requested_reviewers"]] == ["dana-em"]
    assert [t["slug"] for t in pull["requested_teams"]] == ["security"]

    said = request["text"]
    assert said.startswith("🚨 *HOTFIX PR Ready for Review — URGENT*")
    assert f"*PR:* <{pull['html_url']}|#{pull['number']}>" in said
    assert f"*Branch:* `{hotfix.branch}`" in said
    assert f"*Reviewers:* <@{EM}>, `acme/security`" in said
    assert "• 2 files, +4 −0 lines" in said and "• 1 test files, 2 test lines added" in said
    assert "*ETA to deploy:* as soon as reviewed" in said
    assert "*Testing Done:* ⬜ Unit tests · ⬜ Integration tests · ⬜ Manual verification in " in (
        said
    )
    bot.fake.wait_for(lambda: bot.rows(Hotfix)[0].state == "in_review")
    assert bot.rows(Hotfix)[0].pr_number == pull["number"]
    bot.fake.wait_for(lambda: f"PR #{pull['number']}" in text_of(card(bot)["blocks"]))
    assert not in_thread(bot, "⚠️")  # small and tested: nothing to warn about


REVIEW_CHANNEL = "C0REVIEW"


@pytest.mark.parametrize("policy_path", [{"channels": {"review": REVIEW_CHANNEL}}], indirect=True)
def test_the_review_request_is_also_posted_in_the_review_channel(
    running_bot: RunningBot, origin: Origin, fake_github: FakeGitHub
) -> None:
    bot = running_bot
    bot.fake.add_channel(REVIEW_CHANNEL, "hotfix-review")
    ask_for_pr(bot, origin)
    in_thread_copy = announced(bot)
    [posted] = bot.fake.wait_for(lambda: bot.fake.messages(REVIEW_CHANNEL))
    assert posted["text"] == in_thread_copy["text"]
    assert posted["text"].startswith("🚨 *HOTFIX PR Ready for Review — URGENT*")
    assert "Re-check CI" in text_of(posted["blocks"])


@pytest.mark.parametrize("policy_path", [{"channels": {"review": REVIEW_CHANNEL}}], indirect=True)
def test_a_review_channel_without_the_bot_is_said_in_the_thread(
    running_bot: RunningBot, origin: Origin, fake_github: FakeGitHub
) -> None:
    bot = running_bot
    bot.fake.add_channel(REVIEW_CHANNEL, "hotfix-review", is_private=True, bot_is_member=False)
    ask_for_pr(bot, origin)
    warning = bot.fake.wait_for(lambda: in_thread(bot, "⚠️ The review request"), timeout=20)[0]
    assert warning["text"] == (
        f"⚠️ The review request was not posted in <#{REVIEW_CHANNEL}> (not_in_channel): "
        f"invite the bot there (`/invite @Hotfix Bot` in <#{REVIEW_CHANNEL}>). Reviewers can "
        "use this thread."
    )
    bot.fake.wait_for(lambda: in_thread(bot, "🚨"))  # the thread has the request itself
    bot.fake.wait_for(lambda: bot.rows(Hotfix)[0].state == "in_review")


def test_an_existing_pr_is_adopted(
    running_bot: RunningBot, origin: Origin, fake_github: FakeGitHub
) -> None:
    bot = running_bot
    hotfix = approve_all(bot)
    push_fix(origin, hotfix.branch)
    opened_by_hand = open_pr_by_hand(
        fake_github,
        hotfix.branch,
        body="Null check before validation.\n\n- [x] Unit tests\n- [ ] staging",
    )
    assert reply(bot, "pr HF-1")["text"] == "📬 Opening the pull request of HF-1; see its thread."
    said = announced(bot)["text"]
    assert f"|#{opened_by_hand['number']}> (adopted)" in said
    assert "*Testing Done:* ✅ Unit tests · ⬜ Integration tests · ⬜ Manual verification" in said
    [pull] = fake_github.pulls(REPO)
    # The bot's description first, the author's kept below it, their ticks carried over.
    assert pull["body"].startswith("**Hotfix HF-1** · severity **HIGH**")
    assert "- [x] Unit tests\n- [ ] Integration tests" in pull["body"]
    assert pull["body"].endswith("Null check before validation.\n\n- [x] Unit tests\n- [ ] staging")
    # Describing it again changes nothing.
    reply(bot, "pr HF-1")
    bot.fake.wait_for(lambda: len(in_thread(bot, "🚨")) == 2, timeout=20)
    assert fake_github.pulls(REPO)[0]["body"] == pull["body"]
    # dana-em opened it, so GitHub would refuse to ask her: only the team is asked.
    assert pull["requested_reviewers"] == []
    assert [t["slug"] for t in pull["requested_teams"]] == ["security"]
    assert any(e.detail.get("adopted") for e in bot.rows(Event) if e.kind == "pr_opened")
    assert not in_thread(bot, "⚠️")


GHOST_REVIEWER = {"review": {"github_reviewers": ["ghost"]}}


@pytest.mark.parametrize("policy_path", [GHOST_REVIEWER], indirect=True)
def test_a_refused_review_request_is_said_and_the_pr_goes_on(
    running_bot: RunningBot, origin: Origin, fake_github: FakeGitHub
) -> None:
    bot = running_bot
    ask_for_pr(bot, origin)
    warning = bot.fake.wait_for(lambda: in_thread(bot, "⚠️ *HF-1*: the PR is open"), timeout=20)
    assert (
        "• could not request reviewers on PR #1: GitHub answered 422: Reviews may only be "
        "requested from collaborators."
    ) in warning[0]["text"]
    assert "Fix `review.labels` / `review.github_reviewers`" in warning[0]["text"]
    announced(bot)
    bot.fake.wait_for(lambda: bot.rows(Hotfix)[0].state == "in_review")
    assert [label["name"] for label in fake_github.pulls(REPO)[0]["labels"]] == ["hotfix"]


def test_a_large_change_gets_a_keep_it_minimal_warning(
    running_bot: RunningBot, origin: Origin, fake_github: FakeGitHub
) -> None:
    bot = running_bot
    ask_for_pr(bot, origin, {"package-lock.json": "{}\n", "a.py": "a\n", "b.py": "b\n"})
    warning = bot.fake.wait_for(
        lambda: in_thread(bot, "⚠️ *HF-1: keep changes minimal"), timeout=20
    )[0]
    assert "5 files changed (more than 3)" in warning["text"]
    assert "`package-lock.json` is changed (matches `package-lock.json`)" in warning["text"]


@pytest.mark.parametrize(
    ("failure", "said"),
    [
        ({"status": 500, "times": None}, "GitHub answered 500"),
        ({"rate_limit": True, "times": None}, "GitHub's rate limit is used up; it resets at "),
        ({"delay": 4}, "GitHub did not answer within 2 s"),
    ],
    ids=["500", "rate-limit", "timeout"],
)
def test_github_failing_keeps_the_hotfix_where_it_was(
    running_bot: RunningBot, origin: Origin, fake_github: FakeGitHub, failure: dict, said: str
) -> None:
    bot = running_bot
    hotfix = approve_all(bot)
    push_fix(origin, hotfix.branch)
    fake_github.fail("POST", r"/pulls$", **failure)
    reply(bot, "pr HF-1")
    failed = bot.fake.wait_for(lambda: in_thread(bot, "⚠️ *HF-1*"), timeout=20)[0]
    assert said in failed["text"] and "stays *fixing*" in failed["text"]
    assert "Traceback" not in failed["text"]
    assert bot.rows(Hotfix)[0].state == "fixing"
    assert not in_thread(bot, "⏳")  # the progress line became the failure
    fake_github.recover()
    # (a POST that timed out may still have opened the PR: Retry adopts it)
    bot.fake.wait_for(lambda: not failure.get("delay") or fake_github.pulls(REPO), timeout=10)
    click(bot, failed, "Retry", REQUESTER)
    bot.fake.wait_for(lambda: bot.rows(Hotfix)[0].state == "in_review", timeout=20)
    assert len(fake_github.pulls(REPO)) == 1


def test_a_security_fix_pr_is_neutral_and_its_commits_are_checked(
    running_bot: RunningBot, origin: Origin, fake_github: FakeGitHub
) -> None:
    bot = running_bot
    hotfix = approve_all(bot)
    flag_security(bot, hotfix.id)
    origin.commit_on(
        hotfix.branch,
        {"auth.py": FIXED, "tests/test_auth.py": TEST},
        "Fix auth bypass with an empty token",
    )
    reply(bot, "pr HF-1")
    warning = bot.fake.wait_for(lambda: in_thread(bot, "🔒"), timeout=20)[0]
    assert "“Fix auth bypass with an empty token” (bypass)" in warning["text"]
    [pull] = fake_github.pulls(REPO)
    assert pull["title"] == "Hotfix v1.2.4 (SEC-9)"
    assert "Login accepts empty tokens" not in pull["body"]
    assert "**Issue:** A security fix: details are in the Slack thread" in pull["body"]
    assert "*Issue:* Security fix (details in the incident thread)" in announced(bot)["text"]


def ci_on_card(bot: RunningBot) -> str:
    shown = text_of(card(bot)["blocks"])
    return shown.split("*CI*\\n")[1].split('"')[0] if "*CI*" in shown else ""


def test_ci_is_read_from_check_runs_and_statuses(
    running_bot: RunningBot, origin: Origin, fake_github: FakeGitHub
) -> None:
    bot = running_bot
    _, head = ask_for_pr(bot, origin)
    request = announced(bot)
    # No check runs and no statuses: GitHub says "pending" for the combined status, but
    # nothing is running, so this is green.
    bot.fake.wait_for(lambda: ci_on_card(bot) == "✅ green")

    fake_github.add_check_run(
        REPO, head, "lint", conclusion="failure", html_url=f"{fake_github.url}/runs/1"
    )
    click(bot, request, "Re-check CI", EM)
    said = bot.fake.wait_for(lambda: bot.fake.responses(EM))[-1]["text"]
    assert said == f"CI of HF-1: ❌ failing: <{fake_github.url}/runs/1|lint>"
    bot.fake.wait_for(lambda: ci_on_card(bot).startswith("❌ failing"))

    fake_github.add_check_run(REPO, head, "lint", conclusion="success")
    fake_github.set_status(REPO, head, "ci/jenkins", "pending")
    reply(bot, "status HF-1", user=EM)  # status re-reads CI too
    bot.fake.wait_for(lambda: ci_on_card(bot) == "⏳ pending: ci/jenkins")
    fake_github.set_status(REPO, head, "ci/jenkins", "success")
    click(bot, request, "Re-check CI", EM)
    bot.fake.wait_for(lambda: ci_on_card(bot) == "✅ green")
    states = [e.detail["state"] for e in bot.rows(Event) if e.kind == "ci"]
    # Each change of CI is one line of the timeline (the 1 s poll may see extra ones).
    assert states[0] == states[-1] == "green"
    assert states.index("failing") < states.index("pending")
    assert all(a != b for a, b in itertools.pairwise(states))


def test_ci_is_polled_while_in_review(
    running_bot: RunningBot, origin: Origin, fake_github: FakeGitHub
) -> None:
    bot = running_bot
    _, head = ask_for_pr(bot, origin)
    bot.fake.wait_for(lambda: ci_on_card(bot) == "✅ green", timeout=20)
    fake_github.add_check_run(REPO, head, "tests", status="in_progress", conclusion=None)
    bot.fake.wait_for(lambda: ci_on_card(bot) == "⏳ pending: tests", timeout=10)
    reply(bot, "abort HF-1 not needed after all", user=EM)
    bot.fake.wait_for(lambda: bot.bot.timers.pending("hotfix-1-ci-") == [])


def test_the_poll_sends_a_reviewed_hotfix_back_when_its_pr_gets_new_commits(
    running_bot: RunningBot, origin: Origin, fake_github: FakeGitHub
) -> None:
    bot = running_bot
    hotfix, _, head = review_passed(bot, origin, fake_github)
    # Ready to deploy, the head is still watched.
    bot.fake.wait_for(lambda: bot.bot.timers.pending("hotfix-1-ci-") != [])

    newer = origin.commit_on(hotfix.branch, {"auth.py": "# again\n"}, "One more change")
    said = bot.fake.wait_for(lambda: in_thread(bot, "🔁"), timeout=10)[0]["text"]
    assert said.startswith(
        f"🔁 *HF-1*: 1 new commit since approval (`{head[:7]}` → `{newer[:7]}`)."
    )
    assert bot.rows(Hotfix)[0].state == "in_review"
    bot.fake.wait_for(lambda: "In review" in text_of(card(bot)["blocks"]))
    # Later polls read the same head: nothing more is said.
    reads = len(fake_github.requests_to("GET", r"/check-runs$"))
    bot.fake.wait_for(
        lambda: len(fake_github.requests_to("GET", r"/check-runs$")) >= reads + 2, timeout=10
    )
    assert len(in_thread(bot, "🔁")) == 1


def test_someone_without_a_role_cannot_open_the_pr(
    running_bot: RunningBot, origin: Origin, fake_github: FakeGitHub
) -> None:
    bot = running_bot
    bot.fake.add_user("U0BOB", "bob")
    hotfix = approve_all(bot)
    push_fix(origin, hotfix.branch)
    ready = bot.fake.wait_for(lambda: in_thread(bot, "🌿"))[0]
    click(bot, ready, "Open PR", "U0BOB")
    refused = bot.fake.wait_for(lambda: bot.fake.responses("U0BOB"))[0]["text"]
    assert refused == (
        "⚠️ Only the requester of HF-1 or someone with a Hotfix Bot role can run its git steps."
    )
    assert fake_github.pulls(REPO) == []
    assert bot.rows(Hotfix)[0].state == "fixing"


def test_a_security_fix_pr_title_that_discloses_is_quoted(
    running_bot: RunningBot, origin: Origin, fake_github: FakeGitHub
) -> None:
    bot = running_bot
    hotfix = approve_all(bot)
    flag_security(bot, hotfix.id)
    push_fix(origin, hotfix.branch)
    open_pr_by_hand(fake_github, hotfix.branch, title="Fix XSS in login form")
    reply(bot, "pr HF-1")
    warning = bot.fake.wait_for(lambda: in_thread(bot, "🔒"), timeout=20)[0]
    assert "PR title: “Fix XSS in login form” (XSS)" in warning["text"]
