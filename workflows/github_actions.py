"""GitHub Actions through PyGithub: start a workflow, find its run, read where the run is.

``GitHubRepository`` has these methods; they live here because they are their own idea (the
deploy's runs, not the hotfix PR), and use its bounded calls (``_call``, ``_repo``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime

from github.Repository import Repository
from github.WorkflowRun import WorkflowRun

#: Conclusions GitHub counts as green (check runs, workflow steps).
GREEN_CONCLUSIONS = frozenset({"success", "neutral", "skipped"})


@dataclass(frozen=True)
class WorkflowRunInfo:
    """A GitHub Actions run as last read: where it is, how it ended, the step it is on."""

    id: int
    status: str  # queued | in_progress | waiting | completed | …
    conclusion: str | None  # success | failure | cancelled | timed_out | … once completed
    html_url: str
    step: str | None = None  # "deploy › Roll out" running now, or the step that failed

    @property
    def done(self) -> bool:
        return self.status == "completed"

    @property
    def ok(self) -> bool:
        return self.done and self.conclusion == "success"


class WorkflowRuns:
    """The Actions part of ``GitHubRepository``, which provides its bounded calls."""

    _call: Callable[[str], AbstractContextManager[None]]
    _repo: Callable[[], Repository]

    def dispatch_workflow(self, workflow: str, ref: str, inputs: Mapping[str, str]) -> int | None:
        """Start ``workflow`` (a file name or id) on ``ref``: the run's id when GitHub says
        it (``return_run_details``), else None (find it with ``dispatched_run``). Never
        retried: a second dispatch would be a second deploy."""
        with self._call(f"start the {workflow} workflow on {ref}"):
            run = (
                self._repo()
                .get_workflow(workflow)
                .create_dispatch(ref, dict(inputs), throw=True, return_run_details=True)
            )
        return run.id if isinstance(run, WorkflowRun) else None

    def dispatched_run(self, workflow: str, ref: str, since: datetime) -> int | None:
        """The newest run of ``workflow`` dispatched on ``ref`` since ``since``, if any."""
        created = since.astimezone(UTC).strftime(">=%Y-%m-%dT%H:%M:%SZ")
        with self._call(f"find the {workflow} run on {ref}"):
            runs = (
                self._repo()
                .get_workflow(workflow)
                .get_runs(branch=ref, event="workflow_dispatch", created=created)
            )
            for run in runs:
                return run.id
        return None

    def workflow_run(self, run_id: int) -> WorkflowRunInfo:
        """The run now, with the step it is on (or the one that failed)."""
        with self._call(f"read workflow run {run_id}"):
            run = self._repo().get_workflow_run(run_id)
            step = None
            if not (run.status == "completed" and run.conclusion == "success"):
                for job in run.jobs():
                    for found in job.steps:
                        failed = found.conclusion not in (None, *GREEN_CONCLUSIONS)
                        if found.status == "in_progress" or failed:
                            step = f"{job.name} › {found.name}"
                    if step is None and job.status == "in_progress":
                        step = job.name
            return WorkflowRunInfo(run.id, run.status, run.conclusion, run.html_url, step)
