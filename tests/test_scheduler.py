"""Persisted timers: one process runs them, another takes over when it loses the lock."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from apscheduler.jobstores.base import JobLookupError
from apscheduler.jobstores.memory import MemoryJobStore
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from storage.db import make_engine, migrate
from tests.databases import POSTGRES_ADMIN_URL, fresh_postgres_database
from workflows.scheduler import ResilientScheduler, Timers


def wait(predicate, timeout: float = 10.0):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_jobs_run_once_and_leadership_survives_a_lost_lock() -> None:
    with fresh_postgres_database() as url:
        engines = [make_engine(url), make_engine(url)]
        migrate(engines[0])
        timers = [Timers(e, poll_seconds=0.2, leadership_retry_seconds=0.2) for e in engines]
        # One process, one bot, in production; here both share the module's job handlers, so
        # "who ran it" is told by who leads: a follower's scheduler is paused.
        ran: list[int] = []
        try:
            for t in timers:
                t.register("probe", ran.append)
                t.start()
            assert [t.leading for t in timers] == [True, False]

            soon = datetime.now(UTC) + timedelta(milliseconds=300)
            timers[1].at(soon, "probe", 7, "hotfix-7-probe", replace=False)  # added by the follower
            wait(lambda: ran)
            time.sleep(0.5)
            assert ran == [7]  # once, though both processes' schedulers know the job

            # The leader's lock connection dies: PostgreSQL frees the lock.
            admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
            with admin.connect() as connection:
                connection.execute(
                    text(
                        "SELECT pg_terminate_backend(pid) FROM pg_locks "
                        "WHERE locktype = 'advisory' AND granted"
                    )
                )
            admin.dispose()
            # Whoever wins the lock next (either may), exactly one runs the jobs.
            wait(lambda: [t.leading for t in timers].count(True) == 1 and ran == [7])
            time.sleep(1)
            assert [t.leading for t in timers].count(True) == 1
            timers[0].at(datetime.now(UTC), "probe", 8, "hotfix-8-probe", replace=False)
            wait(lambda: len(ran) == 2)
            time.sleep(0.5)
            assert ran == [7, 8]
        finally:
            for t in timers:
                t.shutdown()
            for e in engines:
                e.dispose()


class ForgetfulStore(MemoryJobStore):
    """A job store whose finished jobs vanish before the scheduler removes them, as when
    another process cancels a timer the leader has just run (or whose database goes away
    just then)."""

    def __init__(self, error: Exception) -> None:
        super().__init__()
        self._error = error

    def remove_job(self, job_id: str) -> None:
        super().remove_job(job_id)
        raise self._error


@pytest.mark.parametrize(
    "error",
    [JobLookupError("hotfix-1-ci-x"), OperationalError("DELETE", {}, ConnectionError("gone"))],
    ids=["cancelled elsewhere", "database down"],
)
def test_a_timer_removed_under_the_scheduler_does_not_stop_the_others(error: Exception) -> None:
    scheduler = ResilientScheduler(jobstores={"default": ForgetfulStore(error)}, timezone="UTC")
    scheduler.jobstore_retry_interval = 0.2
    ran: list[str] = []
    scheduler.start()
    try:
        scheduler.add_job(ran.append, "date", run_date=datetime.now(UTC), args=["first"])
        wait(lambda: ran == ["first"])
        scheduler.add_job(
            ran.append, "date", run_date=datetime.now(UTC) + timedelta(seconds=0.3), args=["next"]
        )
        wait(lambda: ran == ["first", "next"])  # the scheduler's thread is still at work
        assert scheduler.get_jobs() == []
    finally:
        scheduler.shutdown(wait=True)
