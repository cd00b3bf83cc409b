"""A deploy as a GitHub Actions workflow run (``deploy.github_actions``): dispatched once on
the new tag, then followed to its end. To the deploy flow it looks like a deploy command: the
last lines of what it is doing, how long it has run, and how it ended."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Protocol

from workflows.deploy import TAIL_LINES, RunOutcome, WatchedRun
from workflows.durations import format_duration
from workflows.git_repo import redact
from workflows.github_actions import WorkflowRunInfo
from workflows.github_client import GitHubFailed


class ActionsClient(Protocol):
    """What a deploy through GitHub Actions needs of GitHub (``GitHubRepository``)."""

    def dispatch_workflow(
        self, workflow: str, ref: str, inputs: Mapping[str, str]
    ) -> int | None: ...

    def dispatched_run(self, workflow: str, ref: str, since: datetime) -> int | None: ...

    def workflow_run(self, run_id: int) -> WorkflowRunInfo: ...


#: How long a dispatched run may take to show up in the workflow's runs (GitHub Enterprise
#: Server does not return the run's id on dispatch).
FIND_RUN_FOR = 60.0


class ActionsRun(WatchedRun):
    """One deploy or rollback as a GitHub Actions workflow run: dispatched once, then read
    every few seconds to the end (or the timeout). Its "output" is what the run is doing."""

    def __init__(
        self,
        github: ActionsClient,
        workflow: str,
        ref: str,
        inputs: Mapping[str, str],
        *,
        timeout: float,
        log_path: Path,
    ) -> None:
        super().__init__(log_path)
        self._github = github
        self._workflow = workflow
        self._ref = ref
        self._inputs = dict(inputs)
        self._timeout = timeout
        self._log: object = None
        self.url: str | None = None

    def _say(self, line: str) -> None:
        line = redact(line)
        with self._lock:
            self._tail.append(line)
            if self._log is not None:
                self._log.write(line + "\n")  # type: ignore[attr-defined]
                self._log.flush()  # type: ignore[attr-defined]

    def _outcome(
        self, exit_code: int | None, *, timed_out: bool = False, error: str | None = None
    ) -> RunOutcome:
        if error:
            self._say(error)
        return RunOutcome(
            exit_code, timed_out, self.seconds, tuple(self.tail(TAIL_LINES)), self.log_path, error
        )

    def run(self, *, tick: Callable[[], None] | None = None, every: float = 3.0) -> RunOutcome:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._started = time.monotonic()
        since = datetime.now(UTC) - timedelta(seconds=10)  # the clocks may differ a little
        with self.log_path.open("w", encoding="utf-8") as log:
            self._log = log
            try:
                return self._follow(since, tick, every)
            finally:
                self._log = None

    def _follow(self, since: datetime, tick: Callable[[], None] | None, every: float) -> RunOutcome:
        shown = ", ".join(f"{k}={v}" for k, v in self._inputs.items()) or "no inputs"
        self._say(f"starting workflow {self._workflow} on {self._ref} ({shown})")
        try:
            run_id = self._github.dispatch_workflow(self._workflow, self._ref, self._inputs)
        except GitHubFailed as failed:
            # No answer may still mean GitHub started it: look before saying it did not.
            try:
                run_id = self._github.dispatched_run(self._workflow, self._ref, since)
            except GitHubFailed:
                run_id = None
            if run_id is None:
                return self._outcome(
                    None,
                    error=f"GitHub did not start the {self._workflow} workflow: {failed.reason}",
                )
        deadline = self._started + self._timeout
        last_seen = ""
        while True:
            if run_id is None:
                try:
                    run_id = self._github.dispatched_run(self._workflow, self._ref, since)
                except GitHubFailed as failed:
                    self._say(f"could not look for the run yet: {failed.reason}")
                if run_id is None and self.seconds > FIND_RUN_FOR:
                    return self._outcome(
                        None,
                        error=f"the {self._workflow} run did not show up on GitHub within "
                        f"{FIND_RUN_FOR:.0f} s of its dispatch",
                    )
            if run_id is not None:
                try:
                    info = self._github.workflow_run(run_id)
                except GitHubFailed as failed:
                    self._say(f"could not read the run: {failed.reason}")
                else:
                    self.url = info.html_url
                    seen = f"run {info.status.replace('_', ' ')}" + (
                        f" — {info.step}" if info.step else ""
                    )
                    if seen != last_seen:
                        self._say(f"{seen}: {info.html_url}")
                        last_seen = seen
                    if info.done:
                        if info.ok:
                            return self._outcome(0)
                        at = f" at {info.step}" if info.step else ""
                        return self._outcome(
                            1,
                            error=f"the workflow run ended `{info.conclusion}`{at}: "
                            f"{info.html_url}",
                        )
            if time.monotonic() + every > deadline:
                within = format_duration(timedelta(seconds=self._timeout))
                where = f"; it may still be running: {self.url}" if self.url else ""
                return self._outcome(
                    None,
                    timed_out=True,
                    error=f"the workflow run did not finish within {within}{where}",
                )
            if tick is not None:
                tick()
            time.sleep(every)
