"""Phase 5 end to end: Tag & deploy, progress, health, the monitoring window, failures and
rollback — over HTTP into the real bot, with a real deploy script, a real git origin and a
real health endpoint on 127.0.0.1."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from sandbox.github_server import FakeGitHub
from sandbox.health import Health
from sandbox.slack_server import FakeSlack
from storage.models import Event, Hotfix
from tests.conftest import EM, INCIDENT_CHANNEL, ONCALL, REQUESTER, RunningBot, write_policy
from tests.git_fixtures import Origin
from tests.github_fixtures import REPO
from tests.review_steps import review_passed, tick, tick_checkboxes
from tests.test_approvals import card, click, in_thread, said_to
from tests.test_commands import reply
from tests.test_git_flow import FIXED
from tests.test_start import text_of
from workflows.deployment import MIGRATION_ITEMS, VERIFY_ITEMS
from workflows.review import REVIEW_ITEMS

STAKEHOLDERS = "C0STAKEHOLDERS"
DEPLOY_SCRIPT = """
import json, os, sys, time
from pathlib import Path

record = Path({record!r})
control = Path({control!r})
with record.open("a") as out:
    out.write(json.dumps({{
        "argv": sys.argv[1:],
        "cwd": os.getcwd(),
        "files": sorted(os.listdir(".")),
        "env": {{k: os.environ.get(k) for k in (
            "HOTFIX_VERSION", "HOTFIX_PREVIOUS_VERSION", "HOTFIX_ID", "SLACK_BOT_TOKEN",
            "SLACK_SIGNING_SECRET", "GITHUB_TOKEN")}},
    }}) + "\\n")
mode = control.read_text().strip() if control.exists() else "ok"
print("rolling out", *sys.argv[1:], flush=True)
for step in range(3):
    print(f"step {{step + 1}} of 3", flush=True)
    time.sleep(1.2)
if mode == "fail" and sys.argv[1] == "production":
    print("error: the rollout failed", flush=True)
    sys.exit(3)
if mode == "hang" and sys.argv[1] == "production":
    time.sleep(600)
print("done", flush=True)
"""


@pytest.fixture
def deploy_script(tmp_path: Path) -> Path:
    script = tmp_path / "deploy.py"
    script.write_text(
        DEPLOY_SCRIPT.format(record=str(tmp_path / "runs.jsonl"), control=str(tmp_path / "mode"))
    )
    return script


def runs(tmp_path: Path) -> list[dict]:
    path = tmp_path / "runs.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def set_mode(tmp_path: Path, mode: str) -> None:
    (tmp_path / "mode").write_text(mode)


@pytest.fixture
def github_settings(fake_github: FakeGitHub) -> dict[str, str]:
    return {"github_token": fake_github.token, "github_api_url": fake_github.api_url}


@pytest.fixture
def policy_path(
    tmp_path: Path, origin: Origin, deploy_script: Path, health: Health, fake_slack: FakeSlack
) -> Path:
    fake_slack.add_channel(STAKEHOLDERS, "stakeholders")
    return write_policy(
        tmp_path,
        origin,
        repository={"github": REPO},
        people={"dana-em": EM},
        channels={"stakeholders": STAKEHOLDERS},
        deploy={
            "command": [sys.executable, str(deploy_script), "production", "{version}"],
            "rollback_command": [
                sys.executable,
                str(deploy_script),
                "rollback",
                "{previous_version}",
            ],
            "workdir": "{checkout}",
            "timeout": "6s",
            "health_url": health.url,
            "health_timeout": "3s",
            "dashboards": {"API errors": "https://grafana.example.com/d/api"},
        },
        monitoring={"interval": "2s", "window": "6s"},
    )


def panel(bot: RunningBot) -> dict:
    """The pre-deploy checklist in the thread, as it is now."""
    [message] = bot.fake.wait_for(lambda: in_thread(bot, "Pre-deploy checklist"), timeout=20)
    return bot.fake.message(INCIDENT_CHANNEL, message["ts"])


def state(bot: RunningBot) -> str:
    return bot.rows(Hotfix)[0].state


def wait_state(bot: RunningBot, wanted: str, timeout: float = 30) -> Hotfix:
    bot.fake.wait_for(lambda: state(bot) == wanted, timeout=timeout, message=f"state {wanted}")
    return bot.rows(Hotfix)[0]


def thread_texts(bot: RunningBot, starts: str) -> list[str]:
    return [text_of(m["blocks"]) if m.get("blocks") else m["text"] for m in in_thread(bot, starts)]


def announced(bot: RunningBot) -> list[str]:
    return [m["text"] for m in bot.fake.messages(STAKEHOLDERS)]


def test_one_click_deploys_the_reviewed_head_and_watches_it_for_the_window(
    running_bot: RunningBot,
    origin: Origin,
    fake_github: FakeGitHub,
    tmp_path: Path,
    health: Health,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    bot = running_bot
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-must-not-leak")
    _, _, head = review_passed(bot, origin, fake_github)
    checklist = text_of(panel(bot)["blocks"])
    assert "`v1.2.4` on the reviewed head" in checklist
    assert "API errors" in checklist and "https://grafana.example.com/d/api" in checklist
    assert f"<#{STAKEHOLDERS}>" in checklist, checklist
    assert "rollback v1.2.3" in checklist  # the rollback plan, rendered

    click(bot, panel(bot), "Tag & deploy v1.2.4", ONCALL)
    hotfix = wait_state(bot, "monitoring")
    assert origin.tag_commit("v1.2.4") == head
    [run] = runs(tmp_path)
    assert run["argv"] == ["production", "v1.2.4"]
    assert run["env"]["HOTFIX_VERSION"] == "v1.2.4"
    assert run["env"]["HOTFIX_PREVIOUS_VERSION"] == "v1.2.3"
    assert run["env"]["HOTFIX_ID"] == "HF-1"
    assert run["env"]["SLACK_BOT_TOKEN"] is None  # the bot's secrets stay with the bot
    assert "auth.py" in run["files"]  # a clean checkout of the tag
    assert not Path(run["cwd"]).exists()  # removed afterwards
    assert hotfix.deployer_id == ONCALL and hotfix.deployed_version == "v1.2.4"
    progress = bot.fake.wait_for(lambda: thread_texts(bot, "✅ *HF-1*: `v1.2.4` is in production"))
    assert "done" not in progress[0]  # the progress message became the result
    # While it ran, the thread showed its output as it came.
    updates = json.dumps(bot.fake.calls_to("chat.update"))
    assert "rolling out production v1.2.4" in updates
    # The on-call lead confirms on the first ping; the summary says who confirmed.
    [first] = bot.fake.wait_for(lambda: in_thread(bot, "📈"), timeout=10)
    before = len(bot.fake.responses(ONCALL))
    click(bot, first, "All green", ONCALL)
    assert "Recorded: all green on HF-1" in said_to(bot, ONCALL, count=before + 1)

    hotfix = wait_state(bot, "merging_back", timeout=20)
    bot.fake.wait_for(lambda: thread_texts(bot, "🏁"))  # delivered with the last check
    pings = thread_texts(bot, "📈")
    assert len(pings) == 3, pings  # every 2 s for 6 s: exactly three, none twice
    assert all("healthy" in p for p in pings)
    assert "check 3 of 3" in pings[-1]
    [summary] = thread_texts(bot, "🏁")
    assert "3 check(s) healthy, 0 failed" in summary
    assert f"all green confirmed by <@{ONCALL}>" in summary
    times = [e.at for e in bot.rows(Event) if e.kind == "monitoring_ping"]
    started = hotfix.monitoring_started_at
    offsets = [round((t - started).total_seconds()) for t in times]
    assert offsets == [2, 4, 6]
    said = bot.fake.wait_for(
        lambda: any("monitoring passed" in s for s in announced(bot)) and announced(bot)
    )
    assert any("deploying v1.2.4" in s for s in said)
    assert any("v1.2.4 deployed" in s for s in said)
    assert "xoxb-must-not-leak" not in json.dumps(bot.fake.calls_to("chat.postMessage"))


def test_a_failed_deploy_says_why_and_the_retry_ships_the_next_version(
    running_bot: RunningBot, origin: Origin, fake_github: FakeGitHub, tmp_path: Path
) -> None:
    bot = running_bot
    _, _, head = review_passed(bot, origin, fake_github)
    set_mode(tmp_path, "fail")
    click(bot, panel(bot), "Tag & deploy v1.2.4", REQUESTER)
    wait_state(bot, "deploy_failed")
    [failure] = bot.fake.wait_for(lambda: thread_texts(bot, "💥"))
    assert "exited with status 3" in failure
    assert "error: the rollout failed" in failure  # the output's tail
    assert "The full log follows in the thread" in failure
    [log] = bot.fake.wait_for(lambda: bot.fake.files(INCIDENT_CHANNEL, thread_ts=card(bot)["ts"]))
    assert log["name"] == "deploy-HF-1-v1.2.4.log"
    assert b"step 3 of 3" in log["content"] and b"error: the rollout failed" in log["content"]
    assert origin.tag_commit("v1.2.4") == head  # the tag stays: it is history
    assert "Retry: tag & deploy v1.2.5" in text_of(panel(bot)["blocks"]) or bot.fake.wait_for(
        lambda: "Retry" in json.dumps(panel(bot)["blocks"])
    )

    set_mode(tmp_path, "ok")
    click(bot, panel(bot), "Retry: tag & deploy", REQUESTER)
    hotfix = wait_state(bot, "monitoring")
    assert hotfix.deployed_version == "v1.2.5" and hotfix.deploy_attempts == 2
    assert origin.tag_commit("v1.2.5") == head
    assert [r["argv"] for r in runs(tmp_path)] == [
        ["production", "v1.2.4"],
        ["production", "v1.2.5"],
    ]


def test_only_the_requester_or_an_oncall_lead_deploys(
    running_bot: RunningBot, origin: Origin, fake_github: FakeGitHub, tmp_path: Path
) -> None:
    bot = running_bot
    review_passed(bot, origin, fake_github)
    click(bot, panel(bot), "Tag & deploy v1.2.4", EM)
    assert "can deploy or roll it back" in said_to(bot, EM)
    assert state(bot) == "ready_to_deploy" and runs(tmp_path) == []


def test_a_health_check_that_never_passes_fails_the_deploy(
    running_bot: RunningBot, origin: Origin, fake_github: FakeGitHub, health: Health
) -> None:
    bot = running_bot
    review_passed(bot, origin, fake_github)
    health.healthy = False
    click(bot, panel(bot), "Tag & deploy v1.2.4", REQUESTER)
    wait_state(bot, "deploy_failed")
    [failure] = bot.fake.wait_for(lambda: thread_texts(bot, "💥"))
    assert "health check never passed" in failure and "503" in failure


def test_a_hanging_deploy_is_stopped_at_its_timeout(
    running_bot: RunningBot, origin: Origin, fake_github: FakeGitHub, tmp_path: Path
) -> None:
    bot = running_bot
    review_passed(bot, origin, fake_github)
    set_mode(tmp_path, "hang")
    click(bot, panel(bot), "Tag & deploy v1.2.4", REQUESTER)
    wait_state(bot, "deploy_failed", timeout=30)
    [failure] = bot.fake.wait_for(lambda: thread_texts(bot, "💥"))
    assert "did not finish within 6s" in failure

    # Production may be half-updated: roll back from the failure.
    bot.fake.wait_for(lambda: "Roll back" in json.dumps(panel(bot)["blocks"]))
    click(bot, panel(bot), "Roll back", REQUESTER)
    wait_state(bot, "rolled_back")
    bot.fake.wait_for(lambda: thread_texts(bot, "⏪ *HF-1*: production is back"), timeout=15)
    assert runs(tmp_path)[-1]["argv"] == ["rollback", "v1.2.3"]


def test_a_failed_check_during_monitoring_alerts_and_rollback_then_fix_the_fix(
    running_bot: RunningBot,
    origin: Origin,
    fake_github: FakeGitHub,
    tmp_path: Path,
    health: Health,
) -> None:
    bot = running_bot
    hotfix, _, _ = review_passed(bot, origin, fake_github)
    click(bot, panel(bot), "Tag & deploy v1.2.4", REQUESTER)
    wait_state(bot, "monitoring")
    health.healthy = False
    [alarm] = bot.fake.wait_for(lambda: thread_texts(bot, "📈"), timeout=10)
    assert "unhealthy" in alarm and f"<@{REQUESTER}>" in alarm and "<!subteam^S0ONCALL>" in alarm
    [ping] = in_thread(bot, "📈")
    click(bot, ping, "Problem — roll back", ONCALL)
    wait_state(bot, "rolled_back")
    [back] = bot.fake.wait_for(
        lambda: thread_texts(bot, "⏪ *HF-1*: production is back"), timeout=15
    )
    assert "v1.2.3" in back and "Fix the fix" in back
    assert runs(tmp_path)[-1]["argv"] == ["rollback", "v1.2.3"]
    assert not bot.bot.timers.pending("hotfix-1-monitor-")  # monitoring stopped
    assert len(in_thread(bot, "📈")) == 1  # and no further pings

    click(bot, panel(bot), "Fix the fix", REQUESTER)
    fixing = wait_state(bot, "fixing")
    assert fixing.version is None  # the next attempt gets a new version
    kinds = [e.kind for e in bot.rows(Event)]
    assert kinds.count("deploy") == 1 and "roll_back" in kinds and "fix_again" in kinds
    assert hotfix.branch == fixing.branch

    # The corrections go to the same branch; the PR is reviewed again and ships as v1.2.5.
    health.healthy = True
    corrected = origin.commit_on(
        fixing.branch, {"auth.py": FIXED + "\n# also reject whitespace\n"}, "Reject blanks too"
    )
    reply(bot, "pr HF-1")
    bot.fake.wait_for(lambda: state(bot) == "in_review", timeout=20)
    review = bot.fake.wait_for(
        lambda: [
            m
            for m in in_thread(bot, "Hotfix Review Checklist")
            if "Approve review" in json.dumps(m["blocks"])
        ],
        timeout=20,
    )[-1]
    fake_github.add_review(REPO, fixing.pr_number, "oscar", "APPROVED", commit_id=corrected)
    tick(bot, review, ONCALL, REVIEW_ITEMS)
    click(bot, review, "Approve review", ONCALL)
    wait_state(bot, "ready_to_deploy")
    bot.fake.wait_for(lambda: "Tag & deploy" in json.dumps(panel(bot)["blocks"]))
    click(bot, panel(bot), "Tag & deploy", REQUESTER)
    again = wait_state(bot, "monitoring")
    assert again.deployed_version == "v1.2.5" and origin.tag_commit("v1.2.5") == corrected
    assert origin.tag_commit("v1.2.4") != corrected  # the first attempt's tag stays, as history
    assert runs(tmp_path)[-1]["argv"] == ["production", "v1.2.5"]
    kinds = [e.kind for e in bot.rows(Event)]
    assert kinds.count("deploy") == 2 and kinds.index("roll_back") < kinds.index("fix_again")


@pytest.mark.parametrize("user", [REQUESTER])
def test_rollback_command_asks_to_confirm(
    running_bot: RunningBot, origin: Origin, fake_github: FakeGitHub, user: str
) -> None:
    bot = running_bot
    review_passed(bot, origin, fake_github)
    click(bot, panel(bot), "Tag & deploy v1.2.4", REQUESTER)
    wait_state(bot, "monitoring")
    answer = reply(bot, "rollback HF-1 errors spiking", user=user)
    assert "Roll HF-1 back to `v1.2.3`?" in answer["text"]
    assert card(bot)


def tick_boxes(bot: RunningBot, message: dict, user: str, action_id: str, items: tuple) -> None:
    """Tick deploy checklist items; any button of the panel frames the payload."""

    def buttons(shown: dict) -> list[str]:
        return [
            e["text"]["text"]
            for b in shown["blocks"]
            if b.get("type") == "actions"
            for e in b["elements"]
            if e.get("type") == "button"
        ]

    frame = bot.fake.wait_for(lambda: buttons(panel(bot)) and panel(bot))
    tick_checkboxes(bot, message, user, action_id, items, frame=frame, label=buttons(frame)[0])


def test_a_migration_hotfix_deploys_only_once_its_migration_checklist_is_ticked(
    running_bot: RunningBot, origin: Origin, fake_github: FakeGitHub, tmp_path: Path
) -> None:
    bot = running_bot
    review_passed(bot, origin, fake_github)
    bot.bot.services.hotfixes.note(
        1, actor=REQUESTER, kind="flagged", changes={"needs_migration": True}
    )
    bot.fake.wait_for(lambda: "Database migration" in text_of(panel(bot)["blocks"]))
    assert "The migration is reversible" in json.dumps(panel(bot)["blocks"])

    before = len(bot.fake.responses(REQUESTER))
    click(bot, panel(bot), "Tag & deploy v1.2.4", REQUESTER)
    refused = said_to(bot, REQUESTER, count=before + 1)
    assert "tick the migration checklist first" in refused and "Rollback tested" in refused
    assert state(bot) == "ready_to_deploy" and runs(tmp_path) == []

    tick_boxes(bot, panel(bot), ONCALL, "hotfix_migration_checklist", MIGRATION_ITEMS[:2])
    bot.fake.wait_for(lambda: len(bot.rows(Hotfix)[0].deploy_ticks or {}) == 2)
    click(bot, panel(bot), "Tag & deploy v1.2.4", REQUESTER)
    refused = said_to(bot, REQUESTER, count=before + 2)
    assert "Rollback tested" in refused and "The migration is reversible" not in refused
    assert state(bot) == "ready_to_deploy"

    tick_boxes(bot, panel(bot), ONCALL, "hotfix_migration_checklist", MIGRATION_ITEMS)
    bot.fake.wait_for(lambda: len(bot.rows(Hotfix)[0].deploy_ticks or {}) == 3)
    assert set(bot.rows(Hotfix)[0].deploy_ticks.values()) == {ONCALL}  # who ticked, kept
    click(bot, panel(bot), "Tag & deploy v1.2.4", REQUESTER)
    wait_state(bot, "monitoring")
    assert [r["argv"] for r in runs(tmp_path)] == [["production", "v1.2.4"]]

    # The deployer's verification checklist on the result, recorded with who ticked it.
    [deployed] = bot.fake.wait_for(lambda: in_thread(bot, "✅ *HF-1*: `v1.2.4` is in production"))
    tick_boxes(bot, deployed, REQUESTER, "hotfix_verify_checklist", VERIFY_ITEMS[:1])
    bot.fake.wait_for(
        lambda: (bot.rows(Hotfix)[0].deploy_ticks or {}).get(VERIFY_ITEMS[0][0]) == REQUESTER
    )
