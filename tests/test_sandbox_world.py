"""The sandbox's sample world (issue 11): a service with a production bug in a real git
origin, its test suite and deploy script, its health endpoint, and the policy that points the
real bot at them — walked from ``/hotfix start`` to the fix on the hotfix branch."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from git import Repo

from sandbox import world as sample
from sandbox.github_server import FakeGitHub
from sandbox.health import Health
from sandbox.slack_server import FakeSlack
from storage.models import Event, Hotfix, ReviewTicks
from tests.conftest import BOT_TOKEN, RunningBot, manifest_scopes
from workflows.config import load_policy
from workflows.review import REVIEW_ITEMS

CHANNEL = sample.CHANNEL["id"]
ALICE, DANA, OMAR = (sample.person(n).user_id for n in ("alice", "dana", "omar"))
REPO = "sandbox/checkout"


@pytest.fixture
def world(tmp_path: Path) -> sample.World:
    return sample.build(tmp_path / "world")


def clone(world: sample.World, tmp_path: Path, ref: str) -> Path:
    target = tmp_path / f"clone-{ref.replace('/', '-')}"
    Repo.clone_from(world.origin_url, target).git.checkout(ref)
    return target


def unit_tests(checkout: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "unittest", "discover", "-s", "tests", "-t", "."],
        cwd=checkout,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_origin_holds_two_releases_on_main_and_a_feature_on_develop(
    world: sample.World,
) -> None:
    origin = Repo(world.origin)
    tags = {t.name: t for t in origin.tags}
    assert set(tags) == {"v1.2.2", "v1.2.3"}
    assert all(t.tag is not None for t in tags.values())  # annotated, as releases are
    assert tags["v1.2.3"].commit == origin.heads.main.commit  # production is main's head
    assert origin.is_ancestor(tags["v1.2.2"].commit, tags["v1.2.3"].commit)
    assert origin.heads.develop.commit.parents == (origin.heads.main.commit,)
    assert len(list(origin.iter_commits("main"))) == len(sample.HISTORY)


def test_the_release_has_the_bug_its_tests_miss_and_the_fix_adds_the_test_that_shows_it(
    world: sample.World, tmp_path: Path
) -> None:
    release = clone(world, tmp_path, "v1.2.3")
    passed = unit_tests(release)
    assert passed.returncode == 0, passed.stderr
    assert "Ran 2 tests" in passed.stderr
    # The coupon test of the fix, run against the release: the coupon comes off twice.
    (release / "tests" / "test_coupons.py").write_text(sample.COUPON_TEST)
    failed = unit_tests(release)
    assert failed.returncode == 1 and "800 != 900" in failed.stderr

    origin = Repo(world.origin)
    origin.create_head("hotfix/CHK-1-coupon-applied-twice", origin.tags["v1.2.3"].commit)
    sha = sample.make_fix(world, "hotfix/CHK-1-coupon-applied-twice")
    fixed = origin.commit(sha)
    assert origin.heads["hotfix/CHK-1-coupon-applied-twice"].commit == fixed
    assert fixed.parents == (origin.tags["v1.2.3"].commit,)
    assert set(fixed.stats.files) == {"checkout/cart.py", "tests/test_coupons.py"}
    after = unit_tests(clone(world, tmp_path, "hotfix/CHK-1-coupon-applied-twice"))
    assert after.returncode == 0 and "Ran 3 tests" in after.stderr


def test_the_deploy_script_rolls_out_step_by_step_records_the_version_and_can_be_broken(
    world: sample.World, tmp_path: Path
) -> None:
    checkout = clone(world, tmp_path, "v1.2.3")
    policy = sample.policy(world, health_url="http://127.0.0.1:9/health", step_seconds=0)
    argv = [a.replace("{version}", "v1.2.4") for a in policy["deploy"]["command"]]
    done = subprocess.run(
        argv,
        cwd=checkout,
        capture_output=True,
        text=True,
        timeout=60,
        env={"HOTFIX_ID": "HF-1", "PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "v1.2.4: building the image",
        "v1.2.4: rolling out 1/3",
        "v1.2.4: rolling out 2/3",
        "v1.2.4: rolling out 3/3",
        "v1.2.4 is live in production",
    ]
    live = world.deployed()
    assert live is not None and (live["version"], live["hotfix"]) == ("v1.2.4", "HF-1")

    world.fail_deploys()
    refused = subprocess.run(argv, cwd=checkout, capture_output=True, text=True, timeout=60)
    assert refused.returncode == 1 and "refused by the cluster" in refused.stdout
    assert world.deployed()["version"] == "v1.2.4"  # nothing changed  # type: ignore[index]
    world.fail_deploys(False)
    rollback = [
        a.replace("{previous_version}", "v1.2.3") for a in policy["deploy"]["rollback_command"]
    ]
    assert subprocess.run(rollback, cwd=checkout, capture_output=True, timeout=60).returncode == 0
    assert world.deployed()["version"] == "v1.2.3"  # type: ignore[index]


def test_the_health_endpoint_breaks_and_heals() -> None:
    health = Health()
    try:
        with urllib.request.urlopen(health.url, timeout=5) as answer:
            assert (answer.status, json.loads(answer.read())) == (200, {"status": "ok"})
        health.break_()
        with pytest.raises(urllib.error.HTTPError) as broken:
            urllib.request.urlopen(health.url, timeout=5)
        assert broken.value.code == 503
        health.heal()
        with urllib.request.urlopen(health.url, timeout=5) as answer:
            assert answer.status == 200
    finally:
        health.close()


def test_the_policy_is_one_the_bot_accepts_with_short_durations(world: sample.World) -> None:
    policy = load_policy(sample.write_policy(world, health_url="http://127.0.0.1:9/health"))
    assert policy.repository.remote == world.origin_url
    assert policy.monitoring.window.total_seconds() == 180  # the procedure's 30 min, shortened
    assert policy.monitoring.interval.total_seconds() == 60
    assert "{version}" in policy.deploy.command and policy.deploy.workdir == "{checkout}"
    assert tuple(policy.roles["engineering_manager"]) == (DANA,)


# ------------------------------------------------------- the real bot in the sample world


@pytest.fixture
def fake_slack() -> Iterator[FakeSlack]:
    """A Slack holding the sample team and its channels."""
    with FakeSlack(token=BOT_TOKEN, scopes=manifest_scopes()) as fake:
        for member in sample.TEAM:
            fake.add_user(member.user_id, member.name)
        fake.set_usergroup(sample.ONCALL_GROUP, [OMAR])
        fake.set_usergroup(sample.SECURITY_GROUP, [sample.person("sam").user_id])
        for channel in (sample.CHANNEL, sample.STAKEHOLDERS, sample.REVIEW):
            fake.add_channel(channel["id"], channel["name"])
        yield fake
        fake.assert_valid()


@pytest.fixture
def fake_github(world: sample.World) -> Iterator[FakeGitHub]:
    """GitHub for the sample repository, backed by the world's origin."""
    with FakeGitHub() as github:
        github.add_repo(REPO, str(world.origin))
        for member in sample.TEAM:
            github.add_user(member.github)
        yield github
        github.assert_valid()


@pytest.fixture
def github_settings(fake_github: FakeGitHub) -> dict[str, str]:
    return {"github_token": fake_github.token, "github_api_url": fake_github.api_url}


@pytest.fixture
def policy_path(world: sample.World, health: Health) -> Path:
    return sample.write_policy(
        world,
        health_url=health.url,
        github_repository=REPO,
        step_seconds=0.2,
        monitoring={"interval": "2s", "window": "4s"},
    )


def thread(bot: RunningBot, starts: str) -> list[dict]:
    cards = bot.fake.messages(CHANNEL)
    if not cards:
        return []
    return [m for m in bot.fake.thread(CHANNEL, cards[0]["ts"]) if m["text"].startswith(starts)]


def message(bot: RunningBot, starts: str, timeout: float = 20) -> dict:
    """The thread message starting with ``starts``, as it is now."""
    [found] = bot.fake.wait_for(lambda: thread(bot, starts), timeout=timeout)
    return bot.fake.message(CHANNEL, found["ts"])


def click(bot: RunningBot, starts: str, label: str, user: str) -> None:
    answer = bot.slack.click(
        channel_id=CHANNEL, message=message(bot, starts), label=label, user_id=user
    )
    assert answer.status == 200


def command(bot: RunningBot, text: str, user: str = ALICE) -> None:
    assert bot.slack.slash(text, user_id=user, channel_id=CHANNEL).status == 200


def state(bot: RunningBot, wanted: str, timeout: float = 30) -> Hotfix:
    return bot.fake.wait_for(
        lambda: next((h for h in bot.rows(Hotfix) if h.state == wanted), None),
        timeout=timeout,
        message=f"state {wanted}",
    )


def approved(bot: RunningBot) -> Hotfix:
    """CHK-1, critical, declared by Alice and approved by the three roles it needs."""
    before = len(bot.fake.views())
    command(bot, "start CHK-1 critical Coupons are taken off twice")
    modal = bot.fake.wait_for(lambda: bot.fake.views()[before:])[0]
    bot.slack.submit_view(modal["id"], user_id=ALICE, values={"Impact": "Every coupon order"})
    bot.fake.wait_for(lambda: any(e.kind == "base_chosen" for e in bot.rows(Event)))
    approvers = [
        (OMAR, "On-call Lead"),
        (DANA, "Engineering Manager"),
        (sample.person("chloe").user_id, "CTO"),
    ]
    for user, role in approvers:
        click(bot, "Approvers for", f"Approve as {role}", user)
        bot.fake.wait_for(
            lambda role=role: (
                f"Approve as {role}" not in json.dumps(message(bot, "Approvers for")["blocks"])
            )
        )
    return state(bot, "fixing")


def test_a_hotfix_in_the_sample_world_is_cut_from_production_and_takes_the_fix(
    running_bot: RunningBot, world: sample.World
) -> None:
    hotfix = approved(running_bot)
    assert (hotfix.base_tag, hotfix.version) == ("v1.2.3", "v1.2.4")
    origin = Repo(world.origin)
    assert origin.heads[hotfix.branch].commit == origin.tags["v1.2.3"].commit
    sha = sample.make_fix(world, hotfix.branch)
    assert origin.heads[hotfix.branch].commit.hexsha == sha


def test_a_whole_hotfix_in_the_sample_world_from_start_to_the_post_mortem(
    running_bot: RunningBot, world: sample.World, fake_github: FakeGitHub, health: Health
) -> None:
    bot = running_bot
    hotfix = approved(bot)
    head = sample.make_fix(world, hotfix.branch)
    command(bot, "pr HF-1")
    checklist = message(bot, "Hotfix Review Checklist")
    hotfix = bot.rows(Hotfix)[0]
    fake_github.add_review(REPO, hotfix.pr_number, "riley-reviewer", "APPROVED", commit_id=head)
    ticked = bot.slack.select_checkboxes(
        channel_id=CHANNEL,
        ts=checklist["ts"],
        action_id="hotfix_checklist",
        values=[item for item, _ in REVIEW_ITEMS],
        user_id=OMAR,
    )
    assert ticked.status == 200
    bot.fake.wait_for(lambda: any(r.reviewer_id == OMAR for r in bot.rows(ReviewTicks)))
    click(bot, "Hotfix Review Checklist", "Approve review", OMAR)
    state(bot, "ready_to_deploy")

    click(bot, "Pre-deploy checklist", "Tag & deploy v1.2.4", OMAR)
    state(bot, "monitoring", timeout=60)
    origin = Repo(world.origin)
    assert origin.tags["v1.2.4"].commit.hexsha == head
    live = world.deployed()
    assert live is not None and (live["version"], live["hotfix"]) == ("v1.2.4", "HF-1")
    click(bot, "📈", "All green", OMAR)
    state(bot, "merging_back", timeout=30)
    assert health.hits >= 2  # the deploy's check and the window's pings

    command(bot, "merge-back HF-1")
    state(bot, "closed", timeout=60)
    for target in ("main", "develop"):
        assert head in {p.hexsha for p in origin.heads[target].commit.parents}
    bot.fake.wait_for(
        lambda: [f for f in bot.fake.files() if f["name"] == "postmortem-HF-1.md" and f["shared"]],
        timeout=30,
    )
