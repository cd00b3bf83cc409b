"""Three app processes on one PostgreSQL database, every request sent to the next one in turn
(round robin, as a load balancer does): a retried event, a double submission, a double click
and clicks on different replicas each take effect exactly once."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from sandbox.slack_requests import SignedSlackClient
from sandbox.slack_server import FakeSlack
from storage.models import Approval, Event, Hotfix, ProcessedRequest, VersionReservation
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
from tests.test_start import text_of

REPLICAS = 3
BRANCH = "hotfix/SEC-9-login-accepts-empty-tokens"


@dataclass
class Cluster:
    fake: FakeSlack
    clients: list[SignedSlackClient]
    url: str
    _turn: Iterator[int]

    def next(self) -> SignedSlackClient:
        """The replica the load balancer hands the next request to."""
        return self.clients[next(self._turn)]

    def rows(self, model: type) -> list[Any]:
        engine = create_engine(self.url)
        with Session(engine) as session:
            keys = model.__mapper__.primary_key
            result = list(session.scalars(select(model).order_by(*keys)))
        engine.dispose()
        return result

    def thread(self) -> list[dict[str, Any]]:
        card = self.fake.messages(INCIDENT_CHANNEL)[0]
        return self.fake.thread(INCIDENT_CHANNEL, card["ts"])


@pytest.fixture
def cluster(tmp_path: Path, origin: Origin) -> Iterator[Cluster]:
    with fresh_postgres_database() as url, FakeSlack(token=BOT_TOKEN) as fake:
        for user in (REQUESTER, EM, ONCALL, CTO):
            fake.add_user(user, user.lower())
        fake.set_usergroup("S0ONCALL", [ONCALL])
        fake.add_channel(INCIDENT_CHANNEL, "inc")
        env = bot_environment(fake, url, write_policy(tmp_path, origin))
        processes = [BotProcess(tmp_path, env) for _ in range(REPLICAS)]
        for process in processes:
            process.start()
        try:
            clients = [SignedSlackClient(p.events_url, SIGNING_SECRET, fake) for p in processes]
            yield Cluster(fake, clients, url, itertools.cycle(range(REPLICAS)))
            # Before any stops (a follower takes the timers over when the leader leaves).
            leaders = [p for p in processes if "this process runs the hotfix timers" in p.output]
            assert len(leaders) == 1, "exactly one replica runs the timers"
        finally:
            for process in processes:
                process.stop()
        for process in processes:
            assert process.returncode == 0, process.output
        fake.assert_valid()


def send_to_every_replica(cluster: Cluster, payload: dict[str, Any]) -> list[int]:
    """The same request delivered to each replica at once (a retry that lands elsewhere)."""
    with ThreadPoolExecutor(max_workers=REPLICAS) as pool:
        answers = pool.map(lambda c: c.send_payload(payload).status, cluster.clients)
        return list(answers)


def test_a_hotfix_driven_round_robin_takes_each_step_exactly_once(
    cluster: Cluster, origin: Origin
) -> None:
    fake = cluster.fake
    cluster.next().slash(
        "start SEC-9 high Login accepts empty tokens",
        user_id=REQUESTER,
        channel_id=INCIDENT_CHANNEL,
    )
    modal = fake.wait_for(lambda: fake.views() and fake.last_view())
    submission = cluster.clients[0].view_submission_payload(
        modal["id"], user_id=REQUESTER, values={"Impact": "Everyone"}
    )
    assert send_to_every_replica(cluster, submission) == [200] * REPLICAS
    fake.wait_for(lambda: fake.messages(INCIDENT_CHANNEL) and len(cluster.thread()) >= 2)
    checklist = cluster.thread()[1]

    # The on-call lead's click retried on every replica; the manager double-clicks, on two.
    oncall = cluster.clients[0].click_payload(
        channel_id=INCIDENT_CHANNEL,
        message=checklist,
        label="Approve as On-call Lead",
        user_id=ONCALL,
    )
    assert send_to_every_replica(cluster, oncall) == [200] * REPLICAS
    fake.wait_for(lambda: len(cluster.rows(Approval)) == 1)

    def manager_clicks(_: int) -> int:
        return (
            cluster.next()
            .click(
                channel_id=INCIDENT_CHANNEL,
                message=checklist,
                label="Approve as Engineering Manager",
                user_id=EM,
            )
            .status
        )

    with ThreadPoolExecutor(max_workers=4) as pool:
        assert list(pool.map(manager_clicks, range(4))) == [200] * 4
    fake.wait_for(lambda: cluster.rows(Hotfix)[0].state == "fixing", timeout=15)

    (hotfix,) = cluster.rows(Hotfix)
    assert (hotfix.base_tag, hotfix.version, hotfix.branch) == ("v1.2.3", "v1.2.4", BRANCH)
    assert origin.head(BRANCH) == origin.tag_commit("v1.2.3")
    assert [b for b in origin.branches() if b.startswith("hotfix/")] == [BRANCH]
    assert [r.name for r in cluster.rows(VersionReservation)] == ["v1.2.4"]
    assert sorted((a.role, a.user_id) for a in cluster.rows(Approval)) == [
        ("engineering_manager", EM),
        ("oncall_lead", ONCALL),
    ]
    kinds = [e.kind for e in cluster.rows(Event)]
    assert (kinds.count("assess"), kinds.count("approval"), kinds.count("approve")) == (1, 2, 1)
    assert [r.key for r in cluster.rows(ProcessedRequest)] == [f"view:{modal['id']}"]
    # What the channel shows: one card, one "approved" notice, one note of the branch.
    assert len(fake.messages(INCIDENT_CHANNEL)) == 1
    thread = fake.wait_for(
        lambda: (
            [m for m in cluster.thread() if f"`{BRANCH}`" in text_of(m.get("blocks") or [])]
            and cluster.thread()
        )
    )
    assert len([m for m in thread if "is approved" in m["text"]]) == 1
    assert len([m for m in thread if f"`{BRANCH}`" in text_of(m.get("blocks") or [])]) == 1
    refused = fake.wait_for(lambda: len(fake.responses(EM)) == 3 and fake.responses(EM))
    # Each later click is refused, as already given or as no longer awaiting approval.
    assert {r["text"] for r in refused} <= {
        "⚠️ Engineering Manager approval for HF-1 was already given by <@U0DANA>.",
        "⚠️ HF-1 is now *Approved*, so that no longer applies.",
        "⚠️ HF-1 is now *Fixing*, so that no longer applies.",
    }


def test_an_event_retried_on_every_replica_is_handled_once(cluster: Cluster) -> None:
    client = cluster.clients[0]
    event = {"type": "app_home_opened", "user": EM, "channel": "D0EM", "tab": "home"}
    payload = client.event_payload(event, event_id="Ev0ROUNDROBIN")

    def deliver(n: int) -> int:
        headers = {"X-Slack-Retry-Num": str(n), "X-Slack-Retry-Reason": "http_timeout"} if n else {}
        return cluster.next().send_json(payload, headers=headers).status

    with ThreadPoolExecutor(max_workers=REPLICAS * 2) as pool:
        assert list(pool.map(deliver, range(REPLICAS * 2))) == [200] * (REPLICAS * 2)
    cluster.fake.wait_for(lambda: cluster.fake.home(EM))
    assert [r.key for r in cluster.rows(ProcessedRequest)] == ["event:Ev0ROUNDROBIN"]
    assert len(cluster.fake.calls_to("views.publish")) == 1
