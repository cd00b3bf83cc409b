"""The database failing under a running hotfix (issue 12), on a real PostgreSQL server: the
bot's connection killed by the server in the middle of a transition, and the database going
away and coming back (what a restart does to its clients) while a hotfix is monitoring.
Nothing is recorded twice, nothing half; the people are told, and the work goes on."""

from __future__ import annotations

import re
import threading
from typing import Any

import pytest
from sqlalchemy import create_engine, event, text

from bot.monitoring import MONITOR_JOB
from sandbox.github_server import FakeGitHub
from storage.db import UNAVAILABLE_MESSAGE
from storage.models import Approval, Event, Hotfix
from tests.conftest import CTO, EM, INCIDENT_CHANNEL, ONCALL, RunningBot
from tests.databases import POSTGRES_ADMIN_URL
from tests.git_fixtures import Origin
from tests.review_steps import review_passed
from tests.test_approvals import card, click, current, open_hotfix, said_to
from tests.test_deploy import (  # noqa: F401 (fixtures: the deploy script, health, GitHub)
    deploy_script,
    github_settings,
    panel,
    policy_path,
    thread_texts,
    wait_state,
)
from tests.test_failures import postgres_url, set_connections  # noqa: F401 (a fixture)
from workflows.scheduler import _handlers


@pytest.fixture
def database_url(postgres_url: str) -> str:  # noqa: F811
    """A server database: only it can drop a connection or go away and come back."""
    return postgres_url


class KillOnce:
    """Has the server terminate the bot's connection just before it runs the first
    statement ``matches`` accepts: the transaction dies half-way, as when the database
    restarts or a proxy drops the connection."""

    def __init__(self, bot: RunningBot, matches: Any) -> None:
        self.engine = bot.bot.engine
        self.matches = matches
        self.killed: list[str] = []
        self._lock = threading.Lock()
        self._admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
        event.listen(self.engine, "before_cursor_execute", self._before)

    def _before(self, conn: Any, cursor: Any, statement: str, params: Any, *_: Any) -> None:
        with self._lock:
            if self.killed or not self.matches(statement, params):
                return
            self.killed.append(statement)
        pid = conn.connection.dbapi_connection.info.backend_pid
        with self._admin.connect() as admin:
            admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})

    def close(self) -> None:
        event.remove(self.engine, "before_cursor_execute", self._before)
        self._admin.dispose()


def thread(bot: RunningBot) -> list[dict]:
    return bot.fake.thread(INCIDENT_CHANNEL, card(bot)["ts"])


def test_the_connection_killed_in_the_middle_of_the_last_approval_records_nothing(
    running_bot: RunningBot, origin: Origin
) -> None:
    bot = running_bot
    checklist = open_hotfix(bot)  # critical: three approvals
    click(bot, checklist, "Approve as Engineering Manager", EM)
    click(bot, checklist, "Approve as On-call Lead", ONCALL)
    bot.fake.wait_for(lambda: len(bot.rows(Approval)) == 2)
    events_before = [(e.kind, e.actor) for e in bot.rows(Event)]

    # The CTO's approval has written its row and its timeline line when the transition to
    # approved writes its own: the connection dies there, half-way through the transaction.
    kill = KillOnce(
        bot,
        lambda statement, params: (
            "INSERT INTO events" in statement and CTO in str(params) and "'approve'" in str(params)
        ),
    )
    try:
        click(bot, current(bot, checklist), "Approve as CTO", CTO)
        assert said_to(bot, CTO) == f"⚠️ {UNAVAILABLE_MESSAGE}"
        assert kill.killed, "the statement to interrupt never ran"
    finally:
        kill.close()
    assert sorted(a.user_id for a in bot.rows(Approval)) == sorted([EM, ONCALL])
    assert [(e.kind, e.actor) for e in bot.rows(Event)] == events_before  # nothing half
    assert bot.rows(Hotfix)[0].state == "awaiting_approval"

    # The same click again (the connection pool has a healthy connection now) counts once.
    click(bot, current(bot, checklist), "Approve as CTO", CTO)
    bot.fake.wait_for(lambda: any(m["text"].startswith("🌿") for m in thread(bot)), timeout=20)
    assert sorted(a.user_id for a in bot.rows(Approval)) == sorted([EM, ONCALL, CTO])
    kinds = [e.kind for e in bot.rows(Event)]
    assert kinds.count("approve") == 1 and kinds.count("approval") == 3, kinds
    assert sum("is approved" in m["text"] for m in thread(bot)) == 1
    assert origin.head("hotfix/SEC-9-login-accepts-empty-tokens") == origin.tag_commit("v1.2.3")


def test_the_database_going_away_while_monitoring_loses_no_ping_and_doubles_none(
    running_bot: RunningBot, origin: Origin, fake_github: FakeGitHub, database_url: str
) -> None:
    bot = running_bot
    review_passed(bot, origin, fake_github)
    click(bot, panel(bot), "Tag & deploy v1.2.4", ONCALL)
    wait_state(bot, "monitoring")
    # The database goes away (every connection dropped, none accepted: what a restart of the
    # server does to its clients) exactly as the first check starts, for 4 s: the check can
    # neither read the hotfix nor store a retry of itself.
    ping = _handlers[(bot.bot.timers._database, MONITOR_JOB)]
    down = threading.Event()
    back = threading.Timer(4, set_connections, (database_url,), {"allowed": True})

    def check_meets_an_outage(hotfix_id: int) -> None:
        if not back.is_alive() and not down.is_set():
            set_connections(database_url, allowed=False)
            back.start()
            down.set()
        ping(hotfix_id)

    bot.bot.timers.register(MONITOR_JOB, check_meets_an_outage)
    bot.fake.wait_for(down.is_set, timeout=10)
    back.join()

    hotfix = wait_state(bot, "merging_back", timeout=60)
    [summary] = bot.fake.wait_for(lambda: thread_texts(bot, "🏁"), timeout=20)
    assert "3 check(s) healthy, 0 failed" in summary
    pings = thread_texts(bot, "📈")
    assert [re.findall(r"monitoring check (\d) of 3", p) for p in pings] == [["1"], ["2"], ["3"]]
    assert "Late by" in pings[0] and "its database, was down" in pings[0]  # it says so
    claimed = [e.detail["step"] for e in bot.rows(Event) if e.kind == "monitoring_ping"]
    assert claimed == [1, 2, 3]
    assert hotfix.monitoring_step == 3
    assert len([e for e in bot.rows(Event) if e.kind == "monitoring_passed"]) == 1
