"""Drills (``/hotfix start --drill``): what the policy must say for them, and what the bot
says when it does not. A whole drill is played in ``tests/test_sandbox.py``."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import INCIDENT_CHANNEL, REQUESTER, RunningBot
from tests.test_commands import reply
from tests.test_config import MINIMAL, policy_problems
from workflows.assessment import parse_start_arguments
from workflows.severity import Severity


def test_the_drill_flag_is_read_wherever_it_stands() -> None:
    for text in ("--drill CHK-1 critical Coupons twice", "CHK-1 --drill critical Coupons twice"):
        line = parse_start_arguments(text)
        assert (line.drill, line.ticket, line.severity, line.title) == (
            True,
            "CHK-1",
            Severity.CRITICAL,
            "Coupons twice",
        )
    assert parse_start_arguments("CHK-1 critical Coupons twice").drill is False


def test_a_drill_may_not_use_the_real_repository_or_deploy() -> None:
    same_remote = MINIMAL + "drill:\n  repository: git@github.com:acme/api.git\n"
    assert any("drill.repository is repository.remote" in p for p in policy_problems(same_remote))
    same_deploy = (
        MINIMAL
        + "deploy:\n  command: [./deploy.sh, '{version}']\n"
        + "drill:\n  repository: /srv/scratch.git\n  deploy_command: [./deploy.sh, '{version}']\n"
    )
    assert any("drill never runs the production deploy" in p for p in policy_problems(same_deploy))
    shell = MINIMAL + "drill:\n  repository: /srv/scratch.git\n  deploy_command: ./fake.sh\n"
    assert any("shell string" in p for p in policy_problems(shell))


def test_without_a_scratch_repository_a_drill_is_refused_with_what_to_set(
    running_bot: RunningBot,
) -> None:
    bot = running_bot
    answer = reply(bot, "start --drill CHK-9 critical Rehearsal", user=REQUESTER)
    assert "Drills are not set up" in answer["text"]
    assert "`drill.repository`" in answer["text"]
    assert bot.fake.views() == []  # no form was opened
    assert bot.fake.messages(INCIDENT_CHANNEL) == []


def test_the_simulated_deploy_walks_the_steps_and_changes_nothing() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "workflows.drill_deploy", "v1.2.4"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 0
    assert done.stdout.startswith("DRILL: simulated deploy of v1.2.4; nothing is changed.")
    assert "[4/4]" in done.stdout
    usage = subprocess.run(
        [sys.executable, "-m", "workflows.drill_deploy"], capture_output=True, text=True
    )
    assert usage.returncode == 2 and "usage:" in usage.stderr
