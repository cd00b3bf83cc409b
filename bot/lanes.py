"""Where work runs after Slack has been acknowledged: bounded lanes of threads.

A lane has a fixed number of threads and a fixed number of places to wait. ``offer`` never
blocks: it takes the job, or says no at once when every thread is busy and every place
taken — the caller then tells the person "busy, try again" instead of leaving them waiting.
``offer_once`` folds a job into an identical one still waiting (a card refresh that has not
started yet will read the newest state anyway), so change notifications cannot pile up.

``offer`` may run on a request thread, so it takes no lock a worker may hold: a thread that
waits for a lock gives up the interpreter, and while workers are busy it can wait long to
get it back (measured: a p99 of 145 ms inside ``offer`` with a ThreadPoolExecutor and a
semaphore, under load). Places are tokens in a deque and jobs go in a SimpleQueue; both are
taken and given atomically without a Python-level lock.

Why not Bolt's lazy listeners: Bolt starts every lazy function after the ack, on one
executor, and offers no way to refuse when it is full and tell the person so.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Hashable
from functools import partial
from queue import SimpleQueue
from typing import Any

from workflows.log_context import about_hotfix, fresh

log = logging.getLogger(__name__)

Job = Callable[[], None]
_STOP = object()


class Refusals:
    """Says in the log that work was refused, at most every ``every`` seconds with how many:
    under overload a line per request would itself be the load (and logging takes a lock)."""

    def __init__(self, name: str, *, every: float = 10.0) -> None:
        self._name = name
        self._every = every
        self._count = 0
        self._next = 0.0

    def refused(self, what: str) -> None:
        self._count += 1
        now = time.monotonic()
        if now < self._next:
            return
        count, self._count, self._next = self._count, 0, now + self._every
        log.warning(
            "%s full: refused %s (%d refused since the last report)", self._name, what, count
        )


class Places:
    """A bounded count taken and given back without a lock (``deque`` operations are atomic)."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._free: deque[None] = deque([None] * capacity)

    def take(self) -> bool:
        try:
            self._free.popleft()
        except IndexError:
            return False
        return True

    def give(self) -> None:
        if len(self._free) < self.capacity:
            self._free.append(None)

    def refill(self) -> None:
        while len(self._free) < self.capacity:
            self._free.append(None)

    @property
    def taken(self) -> int:
        return self.capacity - len(self._free)


class Lane:
    """``workers`` threads and ``queue`` places to wait; ``offer`` refuses beyond that."""

    def __init__(self, name: str, *, workers: int, queue: int) -> None:
        self.name = name
        self.workers = workers
        self.places = Places(workers + queue)
        self._jobs: SimpleQueue[Any] = SimpleQueue()
        self._waiting: set[Hashable] = set()  # keys of offer_once jobs not started yet
        self._threads: list[threading.Thread] = []
        self._start_lock = threading.Lock()
        self._stopping = False
        self._refusals = Refusals(f"the {name} lane ({self.places.capacity})")

    @property
    def capacity(self) -> int:
        return self.places.capacity

    def offer(self, job: Job, *, what: str) -> bool:
        """Run ``job`` on this lane; False (and nothing run) when the lane is full."""
        return self._offer(job, what, None)

    def offer_once(self, key: Hashable, job: Job, *, what: str) -> bool:
        """Like ``offer``, but a job with the same ``key`` still waiting stands for this one."""
        if key in self._waiting:
            return True
        self._waiting.add(key)
        if self._offer(job, what, key):
            return True
        self._waiting.discard(key)
        return False

    def _offer(self, job: Job, what: str, key: Hashable | None) -> bool:
        if self._stopping:
            return False
        if not self.places.take():
            self._refusals.refused(what)
            return False
        if len(self._threads) < self.workers:
            self._grow()
        self._jobs.put((job, what, key))
        return True

    def _grow(self) -> None:
        """Start the lane's threads the first time they are needed."""
        with self._start_lock:
            while len(self._threads) < self.workers:
                thread = threading.Thread(
                    target=self._work,
                    name=f"hotfix-{self.name}-{len(self._threads)}",
                    daemon=True,
                )
                thread.start()
                self._threads.append(thread)

    def _work(self) -> None:
        while True:
            item = self._jobs.get()
            if item is _STOP:
                return
            job, what, key = item
            if key is not None:
                self._waiting.discard(key)  # from now on a new change needs a new run
            try:
                fresh(job)  # what the log says it is about starts anew for each job
            except Exception:  # the job had nobody else to report to
                log.exception("%s failed unexpectedly", what)
            finally:
                self.places.give()

    @property
    def load(self) -> int:
        """Jobs running or waiting now."""
        return self.places.taken

    def shutdown(self, *, wait: bool = True) -> None:
        """Stop taking work; let what was taken finish (``wait``: before returning)."""
        self._stopping = True
        with self._start_lock:
            threads = list(self._threads)
        for _ in threads:
            self._jobs.put(_STOP)
        if wait:
            for thread in threads:
                thread.join()


class Lanes:
    """The bot's lanes: requests (the work of commands and clicks), forms (opening a modal
    before its trigger expires), views (form submissions, which answer inline), updates
    (cards and timers after a change), git (one repository, one step at a time), notices
    (telling people the others are full)."""

    def __init__(self, *, requests: int, forms: int, updates: int, queue: int) -> None:
        self.requests = Lane("requests", workers=requests, queue=queue)
        self.forms = Lane("forms", workers=forms, queue=queue)
        self.views = Lane("views", workers=forms, queue=queue)
        self.updates = Lane("updates", workers=updates, queue=queue)
        self.git = Lane("git", workers=1, queue=queue)
        self.notices = Lane("notices", workers=2, queue=queue)

    def all(self) -> tuple[Lane, ...]:
        return (self.requests, self.forms, self.views, self.updates, self.git, self.notices)

    def named(self, name: str) -> Lane:
        return {lane.name: lane for lane in self.all()}[name]

    def shutdown(self) -> None:
        for lane in self.all():
            lane.shutdown(wait=True)


def in_lane(lane: Lane, listener: Callable[[int], None]) -> Callable[[int], None]:
    """Run a change listener on ``lane``; a run still waiting for the same hotfix stands for
    this one (it reads the newest state). Failures are logged, never lost silently."""
    name = getattr(listener, "__qualname__", repr(listener))

    def run(hotfix_id: int) -> None:
        about_hotfix(hotfix_id)
        listener(hotfix_id)

    def submit(hotfix_id: int) -> None:
        if not lane.offer_once(
            (name, hotfix_id), partial(run, hotfix_id), what=f"HF-{hotfix_id}: {name}"
        ):
            log.error("HF-%s: %s not run: the %s lane is full", hotfix_id, name, lane.name)

    return submit
