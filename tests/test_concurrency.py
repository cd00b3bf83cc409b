"""Two app processes on one PostgreSQL database: concurrent clicks take effect exactly once."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from sandbox.slack_requests import SignedSlackClient
from sandbox.slack_server import FakeSlack
from storage.models import Approval, Event, Hotfix
from tests.conftest import (
    BOT_TOKEN,
    CTO,
    EM,
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

CLICKS = 20


@pytest.fixture
def two_bots(
    tmp_path: Path, origin: Origin
) -> Iterator[tuple[FakeSlack, list[SignedSlackClient], str]]:
    with fresh_postgres_database() as url, FakeSlack(token=BOT_TOKEN) as fake:
        for user in (REQUESTER, EM, ONCALL, CTO):
            fake.add_user(user, user.lower())
        fake.set_usergroup("S0ONCALL", [ONCALL])
        fake.add_channel(INCIDENT_CHANNEL, "inc")
        policy = write_policy(tmp_path, origin)
        env = bot_environment(fake, url, policy)
        with BotProcess(tmp_path, env) as one, BotProcess(tmp_path, env) as two:
            clients = [SignedSlackClient(p.events_url, SIGNING_SECRET, fake) for p in (one, two)]
            yield fake, clients, url
        for process in (one, two):
            assert process.returncode == 0, process.output
        leaders = [p for p in (one, two) if "this process runs the hotfix timers" in p.output]
        assert len(leaders) == 1, "exactly one process runs the timers"
        fake.assert_valid()


def rows(url: str, model: type) -> list:
    engine = create_engine(url)
    with Session(engine) as session:
        result = list(session.scalars(select(model).order_by(model.id)))
    engine.dispose()
    return result


def test_twenty_concurrent_clicks_from_two_processes_record_one_approval(two_bots) -> None:
    fake, clients, url = two_bots
    clients[0].slash("start critical Checkout down", user_id=REQUESTER, channel_id=INCIDENT_CHANNEL)
    modal = fake.wait_for(lambda: fake.views() and fake.last_view())
    clients[0].submit_view(modal["id"], user_id=REQUESTER, values={"Impact": "Everyone"})
    card = fake.wait_for(lambda: fake.messages(INCIDENT_CHANNEL))[0]
    checklist = fake.wait_for(lambda: fake.thread(INCIDENT_CHANNEL, card["ts"])[1])

    def click(n: int) -> int:
        return (
            clients[n % 2]
            .click(
                channel_id=INCIDENT_CHANNEL,
                message=checklist,
                label="Approve as Engineering Manager",
                user_id=EM,
            )
            .status
        )

    with ThreadPoolExecutor(max_workers=CLICKS) as pool:
        assert list(pool.map(click, range(CLICKS))) == [200] * CLICKS

    refusals = fake.wait_for(lambda: len(fake.responses(EM)) == CLICKS - 1 and fake.responses(EM))
    assert {r["text"] for r in refusals} == {
        "⚠️ Engineering Manager approval for HF-1 was already given by <@U0DANA>."
    }
    assert [(a.role, a.user_id) for a in rows(url, Approval)] == [("engineering_manager", EM)]
    assert [e.kind for e in rows(url, Event) if e.kind != "base_chosen"] == ["assess", "approval"]


def test_the_last_two_approvals_at_once_approve_exactly_once(two_bots) -> None:
    fake, clients, url = two_bots
    clients[1].slash("start high Search down", user_id=REQUESTER, channel_id=INCIDENT_CHANNEL)
    modal = fake.wait_for(lambda: fake.views() and fake.last_view())
    clients[1].submit_view(modal["id"], user_id=REQUESTER, values={"Impact": "Everyone"})
    card = fake.wait_for(lambda: fake.messages(INCIDENT_CHANNEL))[0]
    checklist = fake.wait_for(lambda: fake.thread(INCIDENT_CHANNEL, card["ts"])[1])
    clicks = [
        (clients[0], "Approve as Engineering Manager", EM),
        (clients[1], "Approve as On-call Lead", ONCALL),
    ] * 5

    def click(args: tuple) -> int:
        client, label, user = args
        return client.click(
            channel_id=INCIDENT_CHANNEL, message=checklist, label=label, user_id=user
        ).status

    with ThreadPoolExecutor(max_workers=len(clicks)) as pool:
        assert set(pool.map(click, clicks)) == {200}
    fake.wait_for(lambda: rows(url, Hotfix)[0].state == "approved")
    kinds = [e.kind for e in rows(url, Event)]
    assert kinds.count("approval") == 2 and kinds.count("approve") == 1
    notices = fake.wait_for(
        lambda: [m for m in fake.thread(INCIDENT_CHANNEL, card["ts"]) if "is approved" in m["text"]]
    )
    assert len(notices) == 1
