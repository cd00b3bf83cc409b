"""The sandbox's own database: a SQLite file beside its world, holding what the page and the
fakes hold (the workspace's messages and modals, GitHub's pull requests, who the page acts
as), so that a reload of the page, or a restart of the sandbox, loses nothing."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path


class Store:
    """Named values (bytes or text) in one SQLite table; safe to use from many threads."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS sandbox_state (name TEXT PRIMARY KEY, value BLOB NOT NULL)"
        )

    def get(self, name: str) -> bytes | None:
        with self._lock:
            row = self._db.execute(
                "SELECT value FROM sandbox_state WHERE name = ?", (name,)
            ).fetchone()
        if row is None:
            return None
        value = row[0]
        return value.encode() if isinstance(value, str) else bytes(value)

    def text(self, name: str, default: str = "") -> str:
        value = self.get(name)
        return default if value is None else value.decode()

    def put(self, name: str, value: bytes | str) -> None:
        data = value.encode() if isinstance(value, str) else value
        with self._lock:
            self._db.execute(
                "INSERT INTO sandbox_state (name, value) VALUES (?, ?) "
                "ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                (name, data),
            )

    def close(self) -> None:
        with self._lock:
            self._db.close()
