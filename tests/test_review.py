"""The reviewer checklist and "Approve review": who may, what must be true, then ready."""

from __future__ import annotations

from pathlib import Path

import pytest

from sandbox.github_server import FakeGitHub
from storage.models import Event, Hotfix, ReviewTicks
from tests.conftest import (
    CTO,
    EM,
    INCIDENT_CHANNEL,
    ONCALL,
    REQUESTER,
    SECURITY,
    RunningBot,
    write_policy,
)
from tests.git_fixtures import AUTHOR, Origin
from tests.github_fixtures import REPO
from tests.review_steps import (
    checklist_of,
    flag_security,
    in_review,
    open_pr_by_hand,
    push_fix,
    review_passed,
    shown,
    tick,
)
from tests.test_approvals import click, in_thread, said_to
from tests.test_commands import reply
from tests.test_git_flow import approve_all
from tests.test_start import text_of
from workflows.git_repo import GitOperationFailed
from workflows.review import REVIEW_ITEMS, SECURITY_ITEMS


@pytest.fixture
def github_settings(fake_github: FakeGitHub) -> dict[str, str]:
    return {"github_token": fake_github.token, "github_api_url": fake_github.api_url}


@pytest.fixture
def policy_path(tmp_path: Path, origin: Origin, request: pytest.FixtureRequest) -> Path:
    return write_policy(
        tmp_path,
        origin,
        repository={"github": REPO},
        people={"dana-em": EM},
        **getattr(request, "param", {}),
    )


def test_a_reviewer_ticks_everything_and_approves(
    running_bot: RunningBot, origin: Origin, fake_github: FakeGitHub
) -> None:
    bot = running_bot
    hotfix, checklist, head = in_review(bot, origin)
    click(bot, checklist, "Approve review", ONCALL)
    assert "Tick every item of the checklist first. Still open: Fix addresses" in said_to(
        bot, ONCALL
    )
    tick(bot, checklist, ONCALL, REVIEW_ITEMS[:3])
    bot.fake.wait_for(lambda: f"<@{ONCALL}> 3/8" in shown(bot, checklist))
    tick(bot, checklist, ONCALL, REVIEW_ITEMS)
    click(bot, checklist, "Approve review", ONCALL)
    assert "GitHub has no approving review of the current head" in said_to(bot, ONCALL, 2)

    fake_github.add_review(REPO, hotfix.pr_number, "dana-em", "APPROVED", commit_id=head)
    click(bot, checklist, "Approve review", ONCALL)
    done = bot.fake.wait_for(lambda: in_thread(bot, "✅ *HF-1*: review approved"))[0]
    assert f"review approved by <@{ONCALL}>. Ready to deploy `v1.2.4`." in done["text"]
    bot.fake.wait_for(lambda: bot.rows(Hotfix)[0].state == "ready_to_deploy")
    bot.fake.wait_for(
        lambda: "Ready to deploy" in text_of(bot.fake.messages(INCIDENT_CHANNEL)[0]["blocks"])
    )


def test_the_requester_cannot_review_and_ci_must_be_green(
    running_bot: RunningBot, origin: Origin, fake_github: FakeGitHub
) -> None:
    bot = running_bot
    hotfix, checklist, head = in_review(bot, origin)
    tick(bot, checklist, REQUESTER, REVIEW_ITEMS)
    click(bot, checklist, "Approve review", REQUESTER)
    # (the first private reply REQUESTER got was the answer to `/hotfix pr`)
    assert "You requested HF-1, so you cannot approve its review" in said_to(bot, REQUESTER, 2)

    fake_github.add_review(REPO, hotfix.pr_number, "dana-em", "APPROVED", commit_id=head)
    fake_github.add_check_run(REPO, head, "tests", conclusion="failure")
    tick(bot, checklist, CTO, REVIEW_ITEMS)
    click(bot, checklist, "Approve review", CTO)
    assert "CI is failing on the PR's head (tests): wait for green." in said_to(bot, CTO)
    assert bot.rows(Hotfix)[0].state == "in_review"

    fake_github.add_check_run(REPO, head, "tests", conclusion="success")
    click(bot, checklist, "Approve review", CTO)
    bot.fake.wait_for(lambda: bot.rows(Hotfix)[0].state == "ready_to_deploy")


def test_an_author_of_the_change_cannot_review_it(
    running_bot: RunningBot, origin: Origin, fake_github: FakeGitHub
) -> None:
    bot = running_bot
    # The fix's commits are by the account whose e-mail they carry; `people` maps it to EM.
    fake_github.add_user("dana-em", email=AUTHOR[1])
    hotfix, checklist, head = in_review(bot, origin)
    fake_github.add_review(REPO, hotfix.pr_number, "dana-em", "APPROVED", commit_id=head)
    tick(bot, checklist, EM, REVIEW_ITEMS)
    click(bot, checklist, "Approve review", EM)
    assert said_to(bot, EM) == (
        "⚠️ You wrote part of HF-1's change, so someone else must review it."
    )
    # Nor does the author's own approval on GitHub count for another reviewer.
    tick(bot, checklist, ONCALL, REVIEW_ITEMS)
    click(bot, checklist, "Approve review", ONCALL)
    assert "GitHub has no approving review of the current head" in said_to(bot, ONCALL)
    fake_github.add_review(REPO, hotfix.pr_number, "oscar", "APPROVED", commit_id=head)
    click(bot, checklist, "Approve review", ONCALL)
    bot.fake.wait_for(lambda: bot.rows(Hotfix)[0].state == "ready_to_deploy")


def test_a_security_fix_needs_a_security_reviewer_and_its_items(
    running_bot: RunningBot, origin: Origin, fake_github: FakeGitHub
) -> None:
    bot = running_bot
    hotfix = approve_all(bot)
    flag_security(bot, hotfix.id)
    head = push_fix(origin, hotfix.branch)
    reply(bot, "pr HF-1")
    checklist = checklist_of(bot)
    fake_github.add_review(REPO, hotfix.pr_number or 1, "dana-em", "APPROVED", commit_id=head)
    tick(bot, checklist, EM, REVIEW_ITEMS)
    click(bot, checklist, "Approve review", EM)
    assert "is a security fix: its review needs the Security role (<!subteam^S0SEC>)" in (
        said_to(bot, EM)
    )
    security = SECURITY
    tick(bot, checklist, security, REVIEW_ITEMS)
    click(bot, checklist, "Approve review", security)
    assert "Still open: Security team has reviewed" in said_to(bot, security)
    tick(bot, checklist, security, SECURITY_ITEMS, security=True)
    click(bot, checklist, "Approve review", security)
    bot.fake.wait_for(lambda: bot.rows(Hotfix)[0].state == "ready_to_deploy", timeout=10)


def test_a_push_after_ticking_clears_the_ticks_before_approval(
    running_bot: RunningBot, origin: Origin, fake_github: FakeGitHub
) -> None:
    bot = running_bot
    hotfix, checklist, head = in_review(bot, origin)
    tick(bot, checklist, ONCALL, REVIEW_ITEMS)
    newer = origin.commit_on(hotfix.branch, {"auth.py": "# reworked\n"}, "Rework the check")
    fake_github.add_review(REPO, hotfix.pr_number, "dana-em", "APPROVED", commit_id=newer)

    click(bot, checklist, "Approve review", ONCALL)
    assert "new commits since the checklist was ticked: review the new head" in said_to(bot, ONCALL)
    said = bot.fake.wait_for(lambda: in_thread(bot, "🔁"))[0]["text"]
    assert said == (
        f"🔁 *HF-1*: 1 new commit since the checklist was ticked (`{head[:7]}` → "
        f"`{newer[:7]}`). Every checklist tick is cleared. Review the new head, tick the "
        "checklist again and approve it on GitHub."
    )
    assert bot.rows(ReviewTicks) == []
    assert bot.rows(Hotfix)[0].review_head == newer
    bot.fake.wait_for(lambda: "Ticked: nobody yet" in shown(bot, checklist))

    # Ticked again on the new head, the review passes.
    tick(bot, checklist, ONCALL, REVIEW_ITEMS)
    click(bot, checklist, "Approve review", ONCALL)
    bot.fake.wait_for(lambda: bot.rows(Hotfix)[0].state == "ready_to_deploy")
    assert len(in_thread(bot, "🔁")) == 1


def test_status_after_a_push_sends_an_approved_review_back(
    running_bot: RunningBot, origin: Origin, fake_github: FakeGitHub
) -> None:
    bot = running_bot
    hotfix, checklist, head = review_passed(bot, origin, fake_github)

    origin.commit_on(hotfix.branch, {"auth.py": "# one\n"}, "Tweak one")
    newest = origin.commit_on(hotfix.branch, {"auth.py": "# two\n"}, "Tweak two")
    reply(bot, "status HF-1")
    said = bot.fake.wait_for(lambda: in_thread(bot, "🔁"))[0]["text"]
    assert said.startswith(f"🔁 *HF-1*: 2 new commits since approval (`{head[:7]}` → ")
    assert "The review approval and every checklist tick are cleared" in said
    assert bot.rows(Hotfix)[0].state == "in_review"
    assert bot.rows(ReviewTicks) == []
    reset = [e for e in bot.rows(Event) if e.kind == "review_reset"]
    assert [(e.from_state, e.to_state) for e in reset] == [("ready_to_deploy", "in_review")]
    assert reset[0].detail == {"from": head, "to": newest, "new_commits": 2}
    bot.fake.wait_for(lambda: "Approve review" in shown(bot, checklist))

    # The GitHub approval was of the old head: it no longer counts.
    tick(bot, checklist, ONCALL, REVIEW_ITEMS)
    click(bot, checklist, "Approve review", ONCALL)
    assert "GitHub has no approving review of the current head" in said_to(bot, ONCALL)
    assert bot.rows(Hotfix)[0].state == "in_review"


def test_a_push_while_approving_stops_the_approval(
    running_bot: RunningBot, origin: Origin, fake_github: FakeGitHub
) -> None:
    bot = running_bot
    hotfix, checklist, head = in_review(bot, origin)
    fake_github.add_review(REPO, hotfix.pr_number, "oscar", "APPROVED", commit_id=head)
    tick(bot, checklist, ONCALL, REVIEW_ITEMS)
    # GitHub is slow to list the reviews: the approval is still being checked when a push
    # lands and `/hotfix status` notices it.
    fake_github.fail("GET", r"/reviews$", delay=4)
    click(bot, checklist, "Approve review", ONCALL)
    bot.fake.wait_for(lambda: fake_github.requests_to("GET", r"/pulls/1/commits$"))
    origin.commit_on(hotfix.branch, {"auth.py": "# later\n"}, "Late change")
    reply(bot, "status HF-1")
    bot.fake.wait_for(lambda: in_thread(bot, "🔁"))
    assert said_to(bot, ONCALL) == (
        "⚠️ HF-1's PR changed while you were approving it: review the new head and tick the "
        "checklist again."
    )
    assert bot.rows(Hotfix)[0].state == "in_review"
    assert [e.kind for e in bot.rows(Event) if e.kind == "review_passed"] == []


def test_a_reset_is_said_even_when_ci_cannot_be_read(
    running_bot: RunningBot, origin: Origin, fake_github: FakeGitHub
) -> None:
    bot = running_bot
    hotfix, _, head = review_passed(bot, origin, fake_github)
    origin.commit_on(hotfix.branch, {"auth.py": "# later\n"}, "Late change")
    fake_github.fail("GET", r"/check-runs$", status=500, times=None)
    reply(bot, "status HF-1")
    said = bot.fake.wait_for(lambda: in_thread(bot, "🔁"))[0]["text"]
    assert said.startswith(f"🔁 *HF-1*: 1 new commit since approval (`{head[:7]}` → ")
    assert bot.rows(Hotfix)[0].state == "in_review"


def test_the_release_tag_goes_on_the_reviewed_head_only(
    running_bot: RunningBot, origin: Origin, fake_github: FakeGitHub
) -> None:
    bot = running_bot
    hotfix, _, _ = review_passed(bot, origin, fake_github)
    git = bot.bot.services.git.git
    # A push the bot has not noticed yet: the deploy's tag step must not ship it.
    origin.commit_on(hotfix.branch, {"auth.py": "# unreviewed\n"}, "Unreviewed")
    with pytest.raises(GitOperationFailed, match="moved since review"):
        git.tag(hotfix.id)
    assert not origin.git("tag", "-l", "v1.2.4")


def test_a_reviewed_hotfix_is_tagged_on_what_was_reviewed(
    running_bot: RunningBot, origin: Origin, fake_github: FakeGitHub
) -> None:
    bot = running_bot
    hotfix, _, head = review_passed(bot, origin, fake_github)
    result = bot.bot.services.git.git.tag(hotfix.id)
    assert (result.name, result.commit) == ("v1.2.4", head)


def test_the_author_of_a_pr_opened_by_hand_cannot_review_it(
    running_bot: RunningBot, origin: Origin, fake_github: FakeGitHub
) -> None:
    bot = running_bot
    hotfix = approve_all(bot)
    head = push_fix(origin, hotfix.branch)
    open_pr_by_hand(fake_github, hotfix.branch)  # `people` maps dana-em to EM
    reply(bot, "pr HF-1")
    checklist = checklist_of(bot)
    fake_github.add_review(REPO, 1, "oscar", "APPROVED", commit_id=head)
    tick(bot, checklist, EM, REVIEW_ITEMS)
    click(bot, checklist, "Approve review", EM)
    assert said_to(bot, EM) == (
        "⚠️ You wrote part of HF-1's change, so someone else must review it."
    )
    assert bot.rows(Hotfix)[0].state == "in_review"


@pytest.mark.parametrize(
    "policy_path", [{"review": {"require_github_approval": False}}], indirect=True
)
def test_without_required_github_approval_the_checklist_is_enough(
    running_bot: RunningBot, origin: Origin, fake_github: FakeGitHub
) -> None:
    bot = running_bot
    hotfix, checklist, _ = in_review(bot, origin)
    assert fake_github.reviews(REPO, hotfix.pr_number) == []
    tick(bot, checklist, ONCALL, REVIEW_ITEMS)
    click(bot, checklist, "Approve review", ONCALL)
    bot.fake.wait_for(lambda: bot.rows(Hotfix)[0].state == "ready_to_deploy")
