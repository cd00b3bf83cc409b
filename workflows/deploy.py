"""The deploy's moving parts, with no hotfix in them: the command, its output, the health check.

A deploy command is an argv list from the policy whose placeholders are filled with values
checked first (versions must be tags of the production pattern), then run without a shell,
in its own process group so a timeout stops everything it started. Its output goes to a
log file as it comes and the last lines are kept for Slack. The health check is one GET
with a short timeout, repeated until healthy or out of time.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from workflows.config_deploy import DEPLOY_PLACEHOLDERS, HealthExpect
from workflows.errors import DomainError
from workflows.git_repo import redact, tag_version

TAIL_LINES = 200
STOP_GRACE = 10.0  # seconds between SIGTERM and SIGKILL when a deploy runs out of time
HEALTH_REQUEST_TIMEOUT = 5.0
HEALTH_EVERY = 2.0
#: The bot's own secrets never reach a deploy script (it has its own credentials).
SECRET_ENVIRONMENT = re.compile(r"^(SLACK_|GITHUB_TOKEN$|GITHUB_APP_|DATABASE_URL$)")
_TICKET = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/#-]{0,63}$")


class DeployRefused(DomainError):
    """The deploy cannot start as configured (a value that fails its check, a missing
    program); nothing was run."""


@dataclass(frozen=True)
class DeployValues:
    """What the placeholders of ``deploy.command`` stand for."""

    version: str
    previous_version: str
    ticket: str
    hotfix_id: str
    checkout: str

    def checked(self, tag_pattern: str) -> DeployValues:
        """The same values, refused if one could be mistaken for something else: versions
        must be production tags, a ticket a plain identifier."""
        for name, value in (("version", self.version), ("previous_version", self.previous_version)):
            if tag_version(tag_pattern, value) is None:
                raise DeployRefused(
                    f"The {name.replace('_', ' ')} `{value[:60]}` does not match the tag "
                    f"pattern `{tag_pattern}`, so it is not passed to the deploy command."
                )
        if self.ticket and not _TICKET.fullmatch(self.ticket):
            raise DeployRefused(
                f"The ticket `{self.ticket[:60]}` is not a plain identifier (letters, digits, "
                "`-._/#`), so it is not passed to the deploy command."
            )
        return self

    def as_dict(self) -> dict[str, str]:
        return {name: getattr(self, name) for name in DEPLOY_PLACEHOLDERS}


def render(template: Sequence[str], values: DeployValues) -> tuple[str, ...]:
    """Each argument of ``template`` with its placeholders filled: one argument stays one
    argument, whatever a value holds (templates were checked when the policy loaded)."""
    filled = values.as_dict()
    return tuple(argument.format_map(filled) for argument in template)


def environment(values: DeployValues) -> dict[str, str]:
    """The deploy's environment: the bot's, without its secrets, plus what it deploys."""
    env = {k: v for k, v in os.environ.items() if not SECRET_ENVIRONMENT.match(k)}
    env.update(
        HOTFIX_VERSION=values.version,
        HOTFIX_PREVIOUS_VERSION=values.previous_version,
        HOTFIX_ID=values.hotfix_id,
    )
    return env


@dataclass(frozen=True)
class RunOutcome:
    """How a command ended: its exit code (None: it never started, or was stopped)."""

    exit_code: int | None
    timed_out: bool
    seconds: float
    tail: tuple[str, ...]
    log_path: Path
    error: str | None = None  # why it could not start

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and not self.timed_out

    def reason(self, timeout_text: str) -> str:
        if self.error:
            return self.error
        if self.timed_out:
            return f"it did not finish within {timeout_text} and was stopped"
        return f"it exited with status {self.exit_code}"


class WatchedRun:
    """A deploy or rollback as it runs: the last lines of what it said, how long it has run."""

    def __init__(self, log_path: Path) -> None:
        self.log_path = log_path
        self._tail: deque[str] = deque(maxlen=TAIL_LINES)
        self._lock = threading.Lock()
        self._started = time.monotonic()

    def tail(self, lines: int = 15) -> list[str]:
        with self._lock:
            return list(self._tail)[-lines:]

    @property
    def seconds(self) -> float:
        return time.monotonic() - self._started


class CommandRun(WatchedRun):
    """One run of a deploy or rollback command, watched while it runs."""

    def __init__(
        self,
        argv: Sequence[str],
        *,
        cwd: Path,
        env: Mapping[str, str],
        timeout: float,
        log_path: Path,
    ) -> None:
        super().__init__(log_path)
        self.argv = tuple(argv)
        self._cwd = cwd
        self._env = dict(env)
        self._timeout = timeout

    def run(self, *, tick: Callable[[], None] | None = None, every: float = 3.0) -> RunOutcome:
        """Run to the end (or the timeout), calling ``tick`` every ``every`` seconds."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._started = time.monotonic()
        with self.log_path.open("w", encoding="utf-8") as log:
            log.write(f"$ {' '.join(self.argv)}\n(in {self._cwd})\n")
            log.flush()
            try:
                process = subprocess.Popen(
                    self.argv,
                    cwd=self._cwd,
                    env=self._env,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            except OSError as error:
                message = f"`{self.argv[0][:80]}` could not be started: {error.strerror or error}"
                log.write(message + "\n")
                return RunOutcome(None, False, 0.0, (), self.log_path, error=message)
            reader = threading.Thread(
                target=self._read, args=(process, log), name="deploy-output", daemon=True
            )
            reader.start()
            timed_out = False
            deadline = self._started + self._timeout
            while True:
                wait = min(every, max(0.0, deadline - time.monotonic()))
                try:
                    process.wait(timeout=wait)
                    break
                except subprocess.TimeoutExpired:
                    pass
                if time.monotonic() >= deadline:
                    timed_out = True
                    self._stop(process)
                    break
                if tick is not None:
                    tick()
            reader.join(timeout=5)
            return RunOutcome(
                None if timed_out else process.returncode,
                timed_out,
                self.seconds,
                tuple(self.tail(TAIL_LINES)),
                self.log_path,
            )

    def _read(self, process: subprocess.Popen[bytes], log: object) -> None:
        assert process.stdout is not None
        for raw in process.stdout:
            line = redact(raw.decode("utf-8", "replace").rstrip("\r\n"))
            with self._lock:
                self._tail.append(line)
                log.write(line + "\n")  # type: ignore[attr-defined]
                log.flush()  # type: ignore[attr-defined]

    @staticmethod
    def _stop(process: subprocess.Popen[bytes]) -> None:
        """SIGTERM to the whole group (the script and what it started), SIGKILL if needed."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=STOP_GRACE)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=STOP_GRACE)


# ---------------------------------------------------------------------- health check


@dataclass(frozen=True)
class Health:
    """One answer of the health endpoint, judged against ``deploy.health_expect``."""

    ok: bool
    detail: str  # "200 OK", "503", "connection refused", "body lacks 'ok'"
    at: float = 0.0


def check_health(url: str, expect: HealthExpect) -> Health:
    """One GET of ``url``: healthy when the status (and body substring) is as expected."""
    request = urllib.request.Request(url, headers={"User-Agent": "hotfix-bot health check"})
    try:
        with urllib.request.urlopen(request, timeout=HEALTH_REQUEST_TIMEOUT) as response:
            status = response.status
            body = response.read(65536).decode("utf-8", "replace")
    except urllib.error.HTTPError as error:
        status, body = error.code, ""
    except (urllib.error.URLError, OSError, ValueError) as error:
        reason = getattr(error, "reason", error)
        return Health(False, f"no answer ({str(reason)[:80]})", time.time())
    if status != expect.status:
        return Health(False, f"status {status} (expected {expect.status})", time.time())
    if expect.body and expect.body not in body:
        return Health(False, f"status {status}, but the body lacks {expect.body!r}", time.time())
    return Health(True, f"status {status}", time.time())


def wait_healthy(
    url: str,
    expect: HealthExpect,
    *,
    within: float,
    every: float = HEALTH_EVERY,
    on_attempt: Callable[[int, Health], None] | None = None,
) -> tuple[Health, int]:
    """Check until healthy or ``within`` seconds have passed: the last answer, and how many
    checks it took."""
    deadline = time.monotonic() + within
    attempt = 0
    while True:
        attempt += 1
        health = check_health(url, expect)
        if on_attempt is not None:
            on_attempt(attempt, health)
        if health.ok or time.monotonic() + every > deadline:
            return health, attempt
        time.sleep(every)
