"""Timers that survive restarts: APScheduler 3 with its jobs in the application's database.

Jobs are stored as ``workflows.scheduler:run_job(name, hotfix_id)`` with deterministic ids
(``hotfix-12-escalation-0``), so a restart neither loses nor duplicates them. The handlers
behind the names are registered by the running process (the Slack layer registers the
escalation announcer). With several processes on one PostgreSQL database, only the holder
of an advisory lock runs jobs; the others keep adding them and take over if it dies.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from apscheduler.events import EVENT_JOB_SUBMITTED, JobSubmissionEvent
from apscheduler.jobstores.base import ConflictingIdError, JobLookupError
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import STATE_STOPPED
from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import SQLAlchemyError

from workflows.log_context import about_hotfix, fresh

log = logging.getLogger(__name__)

JobHandler = Callable[[int], None]
# Keyed by (database, name): the database identifies the bot whose job store holds the job,
# so several bots in one process (tests) never run each other's jobs.
_handlers: dict[tuple[str, str], JobHandler] = {}
_LEADER_LOCK_KEY = 0x484F54464958  # "HOTFIX"


def run_job(database: str, name: str, hotfix_id: int) -> None:
    """The one function APScheduler stores: dispatch to the handler registered as ``name``
    (in a context of its own, about ``hotfix_id``, for the log)."""
    fresh(_run_job, database, name, hotfix_id)


def _run_job(database: str, name: str, hotfix_id: int) -> None:
    about_hotfix(hotfix_id)
    handler = _handlers.get((database, name))
    if handler is None:
        log.error(
            "no handler registered for job %s (hotfix %s); is the bot running?", name, hotfix_id
        )
        return
    handler(hotfix_id)


def _wake_up() -> None:
    """Keeps the scheduler re-reading the shared job store for jobs other processes added."""


class Leadership:
    """Who runs the jobs. SQLite: this process. PostgreSQL: the advisory lock's holder."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._connection: Connection | None = None

    @property
    def exclusive(self) -> bool:
        return self._engine.dialect.name != "postgresql"

    def try_acquire(self) -> bool:
        if self.exclusive:
            return True
        try:
            if self._connection is None:
                self._connection = self._engine.connect().execution_options(
                    isolation_level="AUTOCOMMIT"
                )
            held = self._connection.execute(
                text("SELECT pg_try_advisory_lock(:key)"), {"key": _LEADER_LOCK_KEY}
            ).scalar()
        except Exception:
            self.release()
            raise
        return bool(held)

    def still_held(self) -> bool:
        """False once the lock's connection is gone (PostgreSQL then freed the lock, and
        another process may lead already)."""
        if self.exclusive:
            return True
        if self._connection is None:
            return False
        try:
            self._connection.execute(text("SELECT 1"))
        except Exception:
            self.release()
            return False
        return True

    def release(self) -> None:
        if self._connection is not None:
            with contextlib.suppress(Exception):
                self._connection.close()  # closing the session releases the advisory lock
            self._connection = None


class ResilientScheduler(BackgroundScheduler):
    """APScheduler's background scheduler, kept alive when a job it has just run is gone.

    After running a one-shot job APScheduler removes it from its store, and raises if it is
    not there: another process cancelled it in between (a follower handling a click), or the
    scheduler is stopping (it then looks among pending jobs). A database outage in that step
    raises too. Uncaught, either kills the thread that runs every timer. Nothing is lost by
    going on: the job ran, or stays stored and runs again (handlers are idempotent).
    """

    def _process_jobs(self) -> float | None:
        try:
            return super()._process_jobs()
        except JobLookupError as gone:
            log.info("timer %s was already removed; carrying on", gone)
            return None if self.state == STATE_STOPPED else 0
        except SQLAlchemyError as error:  # the database went away mid-round: the job stays
            log.warning("timers could not update their store (%s); retrying shortly", error)
            return None if self.state == STATE_STOPPED else self.jobstore_retry_interval


class Timers:
    """Persistent one-shot timers per hotfix."""

    def __init__(
        self,
        engine: Engine,
        *,
        poll_seconds: float = 2.0,
        leadership_retry_seconds: float = 2.0,
    ) -> None:
        self._scheduler = ResilientScheduler(
            jobstores={
                "default": SQLAlchemyJobStore(engine=engine, tablename="apscheduler_jobs"),
                "local": MemoryJobStore(),
            },
            job_defaults={"coalesce": True, "misfire_grace_time": None, "max_instances": 1},
            timezone="UTC",
        )
        self._leadership = Leadership(engine)
        self._database = _database_identity(engine)
        self._poll_seconds = poll_seconds
        self._retry_seconds = leadership_retry_seconds
        self._stopped = threading.Event()
        self._watcher: threading.Thread | None = None
        self._leading = False
        self.on_lag: Callable[[float], None] | None = None  # seconds a timer fired late
        # Called when this process takes the timers (back) over after start: a job that
        # could not be stored while the database was away is armed again from there.
        self.on_lead: Callable[[], None] | None = None
        self._scheduler.add_listener(self._submitted, EVENT_JOB_SUBMITTED)

    def _submitted(self, event: JobSubmissionEvent) -> None:
        """Tell ``on_lag`` how late each hotfix timer fired (not the store's wake-ups)."""
        if self.on_lag is None or event.jobstore != "default":
            return
        now = datetime.now(UTC)
        for due in event.scheduled_run_times:
            self.on_lag((now - due).total_seconds())

    def register(self, name: str, handler: JobHandler) -> None:
        _handlers[(self._database, name)] = handler

    def start(self) -> None:
        """Start adding jobs now; run them once this process leads."""
        self._scheduler.start(paused=True)
        self._scheduler.add_job(
            _wake_up,
            "interval",
            seconds=self._poll_seconds,
            id="wake-up",
            jobstore="local",
            replace_existing=True,
        )
        self._leading = self._lead()
        if not self._leadership.exclusive:
            self._watcher = threading.Thread(target=self._watch, name="timers-leader", daemon=True)
            self._watcher.start()

    def _lead(self) -> bool:
        try:
            if not self._leadership.try_acquire():
                return False
        except Exception as error:  # the database is down: stay a follower, try again later
            log.warning("could not check scheduler leadership: %s", error)
            return False
        log.info("this process runs the hotfix timers")
        self._scheduler.resume()
        return True

    def _watch(self) -> None:
        """Follow leadership for the life of the process: take it when it is free, and stop
        running jobs at once if the lock's connection is lost."""
        while not self._stopped.wait(self._retry_seconds):
            if self._leading and not self._leadership.still_held():
                log.warning("lost the timers' lock (database connection gone); pausing them")
                self._scheduler.pause()
                self._leading = False
            if not self._leading:
                self._leading = self._lead()
                if self._leading and self.on_lead is not None:
                    self.on_lead()

    def shutdown(self) -> None:
        self._stopped.set()
        if self._watcher is not None:
            self._watcher.join(timeout=10)
        if self._scheduler.running:
            self._scheduler.pause()  # no new round submits jobs to executors shutting down
            self._scheduler.shutdown(wait=True)
        self._leadership.release()
        for key in [k for k in _handlers if k[0] == self._database]:
            del _handlers[key]

    @property
    def leading(self) -> bool:
        """Whether this process runs the jobs now."""
        return self._leading

    def at(self, when: datetime, name: str, hotfix_id: int, job_id: str, *, replace: bool) -> bool:
        """Run handler ``name`` for ``hotfix_id`` at ``when``; False if the id exists already
        (or the timers are stopping: a job re-arming itself then must not wait on the
        scheduler that is waiting for it)."""
        return self._add(job_id, name, hotfix_id, replace, "date", run_date=when)

    def every(self, seconds: float, name: str, hotfix_id: int, job_id: str) -> bool:
        """Run handler ``name`` every ``seconds`` until cancelled; False if ``job_id`` exists
        already. (A run still going when the next is due skips that one, and the job stays.)"""
        return self._add(job_id, name, hotfix_id, False, "interval", seconds=seconds)

    def _add(
        self, job_id: str, name: str, hotfix_id: int, replace: bool, trigger: str, **when: Any
    ) -> bool:
        if self._stopped.is_set():
            return False
        try:
            self._scheduler.add_job(
                "workflows.scheduler:run_job",
                trigger,
                args=[self._database, name, hotfix_id],
                id=job_id,
                replace_existing=replace,
                **when,
            )
        except ConflictingIdError:
            return False
        return True

    def repeat_here(self, seconds: float, job: Callable[[], None], job_id: str) -> None:
        """Run ``job`` every ``seconds`` in this process while it runs the timers (kept in
        memory, never in the shared store: each leader has its own)."""
        self._scheduler.add_job(
            job, "interval", seconds=seconds, id=job_id, jobstore="local", replace_existing=True
        )

    def cancel(self, job_id: str) -> None:
        with contextlib.suppress(JobLookupError):
            self._scheduler.remove_job(job_id)

    def next_run(self, job_id: str) -> datetime | None:
        """When stored job ``job_id`` runs next; None if there is no such job."""
        job = self._scheduler.get_job(job_id, jobstore="default")
        return job.next_run_time if job is not None else None

    def pending(self, prefix: str = "") -> list[tuple[str, datetime]]:
        """Stored jobs whose id starts with ``prefix`` and their next run time."""
        return [
            (job.id, job.next_run_time)
            for job in self._scheduler.get_jobs(jobstore="default")
            if job.id.startswith(prefix)
        ]


def _database_identity(engine: Engine) -> str:
    """A stable name for the database the jobs live in (no password)."""
    url = engine.url
    return f"{url.get_backend_name()}://{url.host or ''}:{url.port or ''}/{url.database or ''}"
