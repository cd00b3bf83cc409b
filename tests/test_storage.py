"""Migrations and models on both databases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import MetaData, inspect, select

from storage.db import make_engine, make_sessions, migrate, transaction
from storage.models import Base, Event, Hotfix
from tests.databases import BACKENDS, database


@pytest.fixture(params=BACKENDS)
def engine(request, tmp_path):
    with database(request.param, tmp_path) as url:
        engine = make_engine(url)
        yield engine
        engine.dispose()


def test_migrations_build_exactly_the_models_and_can_run_twice(engine) -> None:
    migrate(engine)
    migrate(engine)  # at every start: must be a no-op the second time
    with engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []
    tables = set(inspect(engine).get_table_names())
    assert {"hotfixes", "approvals", "events", "slack_messages", "processed_requests"} <= tables


def test_timestamps_come_back_in_utc_on_both_databases(engine) -> None:
    migrate(engine)
    sessions = make_sessions(engine)
    discovered = datetime(2026, 11, 27, 4, 30, tzinfo=timezone(timedelta(hours=2)))
    with transaction(sessions) as session:
        hotfix = Hotfix(
            state="awaiting_approval",
            title="t",
            severity="critical",
            impact="i",
            discovered_at=discovered,
            reporter_id="U1",
            requester_id="U1",
            channel_id="C1",
            required_roles=["cto"],
        )
        session.add(hotfix)
        session.flush()
        session.add(Event(hotfix_id=hotfix.id, actor="U1", kind="opened", detail={"a": [1]}))
    with transaction(sessions) as session:
        stored = session.scalars(select(Hotfix)).one()
        assert stored.discovered_at == discovered
        assert stored.discovered_at.tzinfo == UTC
        assert stored.required_roles == ["cto"]
        assert session.scalars(select(Event)).one().detail == {"a": [1]}


def test_reads_do_not_wait_for_a_writer(engine) -> None:
    """Showing a hotfix must not queue behind a click being recorded (SQLite's write lock;
    PostgreSQL's MVCC gives this anyway)."""
    migrate(engine)
    sessions = make_sessions(engine)
    with transaction(sessions) as session:
        session.add(
            Hotfix(
                state="in_review",
                title="Checkout down",
                severity="critical",
                impact="Nobody can pay",
                discovered_at=datetime.now(UTC),
                reporter_id="U0A",
                requester_id="U0A",
                required_roles=[],
                channel_id="C0",
            )
        )
    with transaction(sessions) as writer:  # holds the write lock until the block ends
        writer.execute(select(Hotfix).with_for_update()).all()
        writer.get(Hotfix, 1).title = "Checkout down (EU)"
        writer.flush()
        with transaction(sessions, read_only=True) as reader:
            assert reader.get(Hotfix, 1).title == "Checkout down"  # the last committed state


def test_hotfixes_under_review_keep_their_reviewed_head_across_the_upgrade(engine) -> None:
    migrate(engine, "0006")
    tables = MetaData()
    tables.reflect(engine)
    hotfixes, events = tables.tables["hotfixes"], tables.tables["events"]
    now = datetime.now(UTC)
    common = {
        "title": "T",
        "severity": "high",
        "impact": "I",
        "discovered_at": now,
        "reporter_id": "U0A",
        "requester_id": "U0A",
        "required_roles": [],
        "channel_id": "C0",
        "created_at": now,
        "updated_at": now,
        "security_fix": False,
        "needs_migration": False,
    }
    with engine.begin() as connection:
        connection.execute(
            hotfixes.insert(),
            [
                {"id": 1, "state": "ready_to_deploy", "ci_detail": {"sha": "c" * 40}, **common},
                {"id": 2, "state": "in_review", "ci_detail": {"sha": "d" * 40}, **common},
                {"id": 3, "state": "fixing", "ci_detail": None, **common},
            ],
        )
        connection.execute(
            events.insert(),
            [
                {
                    "hotfix_id": 1,
                    "at": now,
                    "actor": "U0B",
                    "kind": "review_passed",
                    "from_state": "in_review",
                    "to_state": "ready_to_deploy",
                    "detail": {"head": "a" * 40, "pr": 1},
                },
            ],
        )
    migrate(engine)
    with transaction(make_sessions(engine)) as session:
        heads = dict(session.execute(select(Hotfix.id, Hotfix.review_head)).all())
    # The head approved; else the head CI was last read on; nothing before a PR.
    assert heads == {1: "a" * 40, 2: "d" * 40, 3: None}


def test_a_hotfix_in_a_phase_at_the_upgrade_keeps_the_time_it_entered_that_phase(engine) -> None:
    migrate(engine, "0009")
    tables = MetaData()
    tables.reflect(engine)
    hotfixes, events = tables.tables["hotfixes"], tables.tables["events"]
    start = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)
    common = {
        "title": "T",
        "severity": "high",
        "impact": "I",
        "discovered_at": start,
        "reporter_id": "U0A",
        "requester_id": "U0A",
        "required_roles": [],
        "channel_id": "C0",
        "created_at": start,
        "updated_at": start,
        "security_fix": False,
        "needs_migration": False,
    }

    def move(hotfix_id: int, minutes: int, before: str | None, after: str) -> dict:
        return {
            "hotfix_id": hotfix_id,
            "at": start + timedelta(minutes=minutes),
            "actor": "U0B",
            "kind": "move",
            "from_state": before,
            "to_state": after,
            "detail": {},
        }

    with engine.begin() as connection:
        connection.execute(
            hotfixes.insert(),
            [
                {"id": 1, "state": "fixing", **common},
                {"id": 2, "state": "deploy_failed", **common},
                {"id": 3, "state": "closed", **common},
            ],
        )
        connection.execute(
            events.insert(),
            [
                move(1, 0, None, "awaiting_approval"),
                move(1, 5, "awaiting_approval", "approved"),
                move(1, 7, "approved", "fixing"),
                move(1, 20, "fixing", "fixing"),  # a note on the timeline: still fixing
                move(2, 0, None, "awaiting_approval"),
                move(2, 30, "in_review", "ready_to_deploy"),
                move(2, 34, "ready_to_deploy", "deploying"),
                move(2, 40, "deploying", "deploy_failed"),  # still the deploy phase
                move(3, 0, None, "awaiting_approval"),
                move(3, 60, "merging_back", "closed"),
            ],
        )
    migrate(engine)
    with transaction(make_sessions(engine)) as session:
        started = dict(session.execute(select(Hotfix.id, Hotfix.phase_started_at)).all())
    assert started == {
        1: start + timedelta(minutes=7),
        2: start + timedelta(minutes=30),
        3: None,
    }
