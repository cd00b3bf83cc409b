"""Where work runs after Slack has been acknowledged: bounded lanes of threads.

A lane has a fixed number of threads and a fixed number of places to wait. ``offer`` never
blocks: it takes the job, or says no at once when every thread is busy and every place
taken — the caller then tells the person "busy, try again" instead of leaving them waiting.
``offer_once`` folds a job into an identical one still waiting (a card refresh that has not
started yet will read the newest state anyway), so change notifications cannot pile up.

Why not Bolt's lazy listeners: Bolt starts every lazy function after the ack, on one
executor, and offers no way to refuse when it is full and tell the person so.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Hashable
from concurrent.futures import ThreadPoolExecutor

log = logging.getLogger(__name__)

Job = Callable[[], None]


class Lane:
    """``workers`` threads and ``queue`` places to wait; ``offer`` refuses beyond that."""

    def __init__(self, name: str, *, workers: int, queue: int) -> None:
        self.name = name
        self.workers = workers
        self.capacity = workers + queue
        self._executor = ThreadPoolExecutor(
            max_workers=workers, thread_name_prefix=f"hotfix-{name}"
        )
        self._slots = threading.BoundedSemaphore(self.capacity)
        self._guard = threading.Lock()
        self._waiting: set[Hashable] = set()
        self._taken = 0

    def offer(self, job: Job, *, what: str) -> bool:
        """Run ``job`` on this lane; False (and nothing run) when the lane is full."""
        if not self._slots.acquire(blocking=False):
            log.warning("%s lane full (%d): refused %s", self.name, self.capacity, what)
            return False
        with self._guard:
            self._taken += 1
        try:
            self._executor.submit(self._run, job, what, None)
        except RuntimeError:  # shutting down
            self._release()
            return False
        return True

    def offer_once(self, key: Hashable, job: Job, *, what: str) -> bool:
        """Like ``offer``, but a job with the same ``key`` still waiting stands for this one."""
        with self._guard:
            if key in self._waiting:
                return True
            self._waiting.add(key)
        if not self._slots.acquire(blocking=False):
            with self._guard:
                self._waiting.discard(key)
            log.warning("%s lane full (%d): refused %s", self.name, self.capacity, what)
            return False
        with self._guard:
            self._taken += 1
        try:
            self._executor.submit(self._run, job, what, key)
        except RuntimeError:
            with self._guard:
                self._waiting.discard(key)
            self._release()
            return False
        return True

    def _run(self, job: Job, what: str, key: Hashable | None) -> None:
        if key is not None:
            with self._guard:  # from now on a new change needs a new run
                self._waiting.discard(key)
        try:
            job()
        except Exception:  # the job had nobody else to report to
            log.exception("%s failed unexpectedly", what)
        finally:
            self._release()

    def _release(self) -> None:
        with self._guard:
            self._taken -= 1
        self._slots.release()

    @property
    def load(self) -> int:
        """Jobs running or waiting now."""
        with self._guard:
            return self._taken

    def shutdown(self, *, wait: bool = True) -> None:
        self._executor.shutdown(wait=wait)


class Lanes:
    """The bot's lanes: requests (the work of commands and clicks), forms (opening a modal
    before its trigger expires), updates (cards and timers after a change), git (one
    repository, one step at a time), notices (telling people the others are full)."""

    def __init__(self, *, requests: int, forms: int, updates: int, queue: int) -> None:
        self.requests = Lane("requests", workers=requests, queue=queue)
        self.forms = Lane("forms", workers=forms, queue=queue)
        self.updates = Lane("updates", workers=updates, queue=queue)
        self.git = Lane("git", workers=1, queue=queue)
        self.notices = Lane("notices", workers=1, queue=queue)

    def all(self) -> tuple[Lane, ...]:
        return (self.requests, self.forms, self.updates, self.git, self.notices)

    def shutdown(self) -> None:
        for lane in self.all():
            lane.shutdown(wait=True)
