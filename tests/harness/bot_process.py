"""The bot as a real process (``python app.py``), the way an operator runs it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def clean_env(**extra: str) -> dict[str, str]:
    """A newcomer's environment: nothing of ours set, plus ``extra``."""
    keep = ("PATH", "HOME", "LANG", "SYSTEMROOT")
    env = {k: v for k, v in os.environ.items() if k in keep}
    env.update(extra)
    return env


def pinned(cpus: set[int] | None) -> Callable[[], None] | None:
    """A ``preexec_fn`` that keeps a child process (and every thread it starts) on ``cpus``."""
    if not cpus:
        return None
    return lambda: os.sched_setaffinity(0, cpus)


class BotProcess:
    """Starts ``python app.py`` in ``cwd`` with ``env``; waits until /healthz answers 200."""

    def __init__(
        self,
        cwd: Path,
        env: dict[str, str],
        *,
        port: int | None = None,
        cpus: set[int] | None = None,
    ) -> None:
        self.port = port or free_port()
        self.cpus = cpus  # run on these CPUs only (benchmarks keep the client off them)
        self.cwd = cwd
        self.env = clean_env(**env, PORT=str(self.port))
        self.process: subprocess.Popen[str] | None = None
        self._lines: list[str] = []
        self._reader: threading.Thread | None = None

    @property
    def output(self) -> str:
        """Everything the process printed so far (read as it prints: a full pipe would stop
        the process at its next log line)."""
        return "".join(self._lines)

    def _read(self) -> None:
        assert self.process is not None and self.process.stdout is not None
        for line in self.process.stdout:
            self._lines.append(line)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def events_url(self) -> str:
        return f"{self.url}/slack/events"

    def start(self, timeout: float = 30.0) -> BotProcess:
        self.process = subprocess.Popen(
            [sys.executable, str(ROOT / "app.py")],
            cwd=self.cwd,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            preexec_fn=pinned(self.cpus),
        )
        self._reader = threading.Thread(target=self._read, name="bot-output", daemon=True)
        self._reader.start()
        deadline = time.monotonic() + timeout
        while True:
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=2) as response:
                    if response.status == 200:
                        return self
            except OSError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop(kill=True)
                raise AssertionError(f"the bot did not start:\n{self.output}")
            time.sleep(0.1)

    def stop(self, *, kill: bool = False) -> str:
        """SIGTERM (or SIGKILL) and wait; returns everything the process printed."""
        if self.process is not None and self.process.returncode is None:
            self.process.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
            self.process.wait(timeout=30)
        if self._reader is not None:
            self._reader.join(timeout=10)  # the rest of what it printed
        return self.output

    @property
    def returncode(self) -> int | None:
        return None if self.process is None else self.process.returncode

    def __enter__(self) -> BotProcess:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()
