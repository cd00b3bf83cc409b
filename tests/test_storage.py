"""Migrations and models on both databases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, select

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
