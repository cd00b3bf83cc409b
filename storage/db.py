"""Engine, sessions and schema migrations: the same code on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS = Path(__file__).with_name("migrations")
READ_ONLY = "hotfix_read_only"


def make_engine(url: str, *, pool_size: int = 10, max_overflow: int = 10) -> Engine:
    """An engine tuned for a chat bot: short connect timeouts, pre-ping, SQLite in WAL mode;
    ``pool_size`` connections kept (one per thread that may use the database at once)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        engine = create_engine(url, connect_args={"timeout": 15})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # type: ignore[no-untyped-def]
            # Let SQLAlchemy, not the driver, decide when transactions begin (see below).
            dbapi_conn.isolation_level = None
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            if parsed.database not in (None, "", ":memory:"):
                cursor.execute("PRAGMA journal_mode=WAL")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _serialize(connection):  # type: ignore[no-untyped-def]
            # Take SQLite's write lock when a transaction starts: concurrent clicks on one
            # hotfix then run one after another, as PostgreSQL's row lock makes them do.
            # Reads (``transaction(read_only=True)``) share WAL snapshots instead.
            if connection.get_execution_options().get(READ_ONLY):
                connection.exec_driver_sql("BEGIN")
            else:
                connection.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    # A database that does not answer must fail a request in seconds, not hang it.
    return create_engine(
        url,
        pool_pre_ping=True,
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_timeout=5,
        connect_args={"connect_timeout": 3},
    )


def make_sessions(engine: Engine) -> sessionmaker[Session]:
    """The session factory the services use; objects stay readable after commit."""
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(sessions: sessionmaker[Session], *, read_only: bool = False) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any error.

    ``read_only`` work does not take SQLite's write lock (it must not write). A database that
    cannot be reached (or is locked past the busy timeout) surfaces as ``DatabaseUnavailable``,
    which the Slack layer turns into "nothing was changed".
    """
    try:
        bind = _reader(sessions.kw["bind"]) if read_only else sessions.kw["bind"]
        with sessions(bind=bind) as session, session.begin():
            yield session
    except (OperationalError, InterfaceError) as exc:
        raise DatabaseUnavailable(str(exc.orig or exc)) from exc


def _reader(engine: Engine) -> Engine:
    """The same engine (pool, events), marked so SQLite begins its transactions deferred;
    made once and kept on the engine (it lives exactly as long)."""
    reader = engine.__dict__.get("_hotfix_reader")
    if reader is None:
        reader = engine.execution_options(**{READ_ONLY: True})
        engine.__dict__["_hotfix_reader"] = reader
    return reader


def migrate(engine: Engine, revision: str = "head") -> None:
    """Bring the schema up to the newest migration (idempotent; safe at every start), or to
    ``revision``."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def database_reachable(engine: Engine) -> bool:
    """True when a trivial query succeeds; used by /healthz."""
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception:  # any driver error means "not reachable" to a health check
        return False
    return True


class DatabaseUnavailable(Exception):
    """The database did not answer; nothing was written."""


UNAVAILABLE_MESSAGE = (
    "Hotfix Bot's database is temporarily unavailable, so nothing was changed. "
    "Try again in a minute; if it persists, tell whoever runs Hotfix Bot."
)
