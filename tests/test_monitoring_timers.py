"""The monitoring window's pings are never lost, doubled or late without saying so: across a
kill -9 of the whole bot, and with two bots on one PostgreSQL database, one of them killed.

Each test runs ``python app.py`` as an operator does (front and worker processes). The hotfix
is opened over HTTP (so its card exists) and then put into monitoring in the database, as a
deploy that succeeded leaves it; the bot finds it there when it starts.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, update
from sqlalchemy.orm import Session

from sandbox.health import Health
from sandbox.slack_requests import SignedSlackClient
from sandbox.slack_server import FakeSlack
from storage.models import Event, Hotfix
from tests.conftest import (
    BOT_TOKEN,
    INCIDENT_CHANNEL,
    ONCALL,
    REQUESTER,
    SIGNING_SECRET,
    bot_environment,
    write_policy,
)
from tests.databases import fresh_postgres_database
from tests.git_fixtures import Origin
from tests.harness.bot_process import BotProcess
from tests.harness.processes import descendants
from tests.test_start import text_of

INTERVAL = 10  # seconds: pings at 10, 20 and 30 s after the deploy


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack(token=BOT_TOKEN) as slack:
        for user in (REQUESTER, ONCALL):
            slack.add_user(user, user.lower())
        slack.set_usergroup("S0ONCALL", [ONCALL])
        slack.add_channel(INCIDENT_CHANNEL, "inc")
        yield slack
        slack.assert_valid()


def policy(tmp_path: Path, origin: Origin, health: Health) -> Path:
    return write_policy(
        tmp_path,
        origin,
        deploy={"command": ["./deploy.sh", "{version}"], "health_url": health.url},
        monitoring={"interval": f"{INTERVAL}s", "window": f"{3 * INTERVAL}s"},
    )


def open_hotfix(process: BotProcess, fake: FakeSlack) -> str:
    """/hotfix start and the form, over HTTP; returns the card's ts."""
    slack = SignedSlackClient(process.events_url, SIGNING_SECRET, fake)
    assert (
        slack.slash(
            "start SEC-9 critical Login accepts empty tokens",
            user_id=REQUESTER,
            channel_id=INCIDENT_CHANNEL,
        ).status
        == 200
    )
    modal = fake.wait_for(lambda: fake.views(), timeout=15)[0]
    slack.submit_view(modal["id"], user_id=REQUESTER, values={"Impact": "Everyone"})
    return fake.wait_for(lambda: fake.messages(INCIDENT_CHANNEL), timeout=15)[0]["ts"]


def into_monitoring(url: str) -> datetime:
    """HF-1 deployed v1.2.4 just now: its monitoring window opens."""
    started = datetime.now(UTC)
    engine = create_engine(url)
    with Session(engine) as session, session.begin():
        session.execute(
            update(Hotfix)
            .where(Hotfix.id == 1)
            .values(
                state="monitoring",
                monitoring_started_at=started,
                monitoring_step=0,
                deployed_version="v1.2.4",
                previous_version="v1.2.3",
                deployer_id=REQUESTER,
            )
        )
    engine.dispose()
    return started


def pings(fake: FakeSlack, card_ts: str) -> list[str]:
    return [
        text_of(m["blocks"])
        for m in fake.thread(INCIDENT_CHANNEL, card_ts)
        if m["text"].startswith("📈")
    ]


def ping_events(url: str) -> list[Event]:
    engine = create_engine(url)
    with Session(engine) as session:
        found = [e for e in session.query(Event).order_by(Event.id) if e.kind == "monitoring_ping"]
    engine.dispose()
    return found


def state(url: str) -> str:
    engine = create_engine(url)
    with Session(engine) as session:
        value = session.get(Hotfix, 1).state
    engine.dispose()
    return value


def kill_9(process: BotProcess) -> None:
    """The whole bot dies at once (the host went away): the worker and the front."""
    assert process.process is not None
    for pid, _ in descendants(process.process.pid):
        os.kill(pid, signal.SIGKILL)
    process.stop(kill=True)


def wait_until(moment: float) -> None:
    time.sleep(max(0.0, moment - time.time()))


def test_a_ping_due_while_the_bot_was_down_comes_once_late_and_the_rest_on_time(
    fake: FakeSlack, database_url: str, tmp_path: Path, origin: Origin, health: Health
) -> None:
    env = bot_environment(fake, database_url, policy(tmp_path, origin, health))
    with BotProcess(tmp_path, env) as first:
        card_ts = open_hotfix(first, fake)
    started = into_monitoring(database_url).timestamp()
    second = BotProcess(tmp_path, env).start()
    try:
        fake.wait_for(lambda: len(pings(fake, card_ts)) == 1, timeout=INTERVAL + 10)
        kill_9(second)
        wait_until(started + 2 * INTERVAL + 6)  # ping 2 falls due while no bot runs
        with BotProcess(tmp_path, env):
            fake.wait_for(lambda: len(pings(fake, card_ts)) == 3, timeout=2 * INTERVAL)
            fake.wait_for(lambda: state(database_url) == "merging_back", timeout=10)
            time.sleep(2)  # nothing more comes
            posted = pings(fake, card_ts)
    finally:
        second.stop(kill=True)
    assert len(posted) == 3, posted
    assert "Late by" not in posted[0] and "Late by" in posted[1] and "Late by" not in posted[2]
    events = ping_events(database_url)
    assert [e.detail["step"] for e in events] == [1, 2, 3]
    late = [e.detail["late_seconds"] for e in events]
    assert late[0] == 0 and late[1] >= 5 and late[2] == 0
    third_at = events[2].at.timestamp() - started
    assert 3 * INTERVAL - 0.5 <= third_at <= 3 * INTERVAL + 3  # on time after the restart


def test_two_bots_on_postgresql_post_each_ping_once_and_one_takes_over_when_the_leader_dies(
    fake: FakeSlack, tmp_path: Path, origin: Origin, health: Health
) -> None:
    with fresh_postgres_database() as url:
        env = bot_environment(fake, url, policy(tmp_path, origin, health))
        with BotProcess(tmp_path, env) as opener:
            card_ts = open_hotfix(opener, fake)
        started = into_monitoring(url).timestamp()
        one = BotProcess(tmp_path, env).start()
        two = BotProcess(tmp_path, env).start()
        try:
            fake.wait_for(lambda: len(pings(fake, card_ts)) == 1, timeout=INTERVAL + 10)
            leader, follower = (
                (one, two) if "this process runs the hotfix timers" in one.output else (two, one)
            )
            assert "this process runs the hotfix timers" not in follower.output
            kill_9(leader)
            fake.wait_for(
                lambda: "this process runs the hotfix timers" in follower.output, timeout=15
            )
            fake.wait_for(lambda: len(pings(fake, card_ts)) == 3, timeout=3 * INTERVAL)
            fake.wait_for(lambda: state(url) == "merging_back", timeout=10)
            time.sleep(2)
            posted = pings(fake, card_ts)
        finally:
            one.stop(kill=True)
            two.stop(kill=True)
        assert len(posted) == 3, posted
        events = ping_events(url)
        assert [e.detail["step"] for e in events] == [1, 2, 3]
        assert events[-1].at.timestamp() - started <= 3 * INTERVAL + 3
