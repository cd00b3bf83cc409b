"""Two processes: the front acknowledges, the worker works.

Python runs one thread of a process at a time. When the work after the acks (the database,
rendering, Slack calls) runs in the process that acks, every ack waits its turn behind it:
measured on one core under load, a p99 ack of 55-170 ms, against 20 ms when the same process
does nothing else. So in production the process that answers Slack (the front) only reads
the request, acks, and hands it to a second process (the worker), which holds the lanes,
the timers and everything that talks to the database, Slack, GitHub and git. The worker
runs at a lower OS priority: when both want the CPU, the ack goes first.

The front re-sends each request as Slack sent it (its body and headers, already
signature-checked) through a pipe; the worker dispatches it through its
own Bolt app, where the same listener now runs its work on the spot. The front knows how
much each lane of the worker can take (the same ``workers`` policy) and answers "busy" when
it is full. View submissions, which must answer with inline errors, wait for the worker's
answer (up to ``VIEW_WAIT`` seconds). If the worker dies, the front starts another one.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import multiprocessing
import os
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from queue import Empty, SimpleQueue
from typing import Any

from slack_bolt import App, BoltRequest, BoltResponse

from bot.lanes import Lanes, Places, Refusals

log = logging.getLogger(__name__)

VIEW_WAIT = 2.5  # seconds: Slack waits 3 for a view submission's answer
BATCH = 100  # requests sent to the worker in one write, at most
DONE_EVERY = 0.01  # seconds between the worker's "done" counts
WORKER_NICE = 10
RESTART_DELAY = 1.0


@dataclass
class _Waiting:
    done: threading.Event = field(default_factory=threading.Event)
    answer: tuple[int, str, dict[str, Any]] | None = None


Wire = tuple[str, Any, dict[str, Any]]


def _wire(request: BoltRequest) -> Wire:
    """What Slack sent, to send it on: HTTP's raw body (Socket Mode's payload) and headers."""
    body = request.raw_body if request.mode == "http" else request.body
    return request.mode, body, {k: list(v) for k, v in request.headers.items()}


def _request(wire: Wire) -> BoltRequest:
    mode, body, headers = wire
    return BoltRequest(body=body, headers=headers, mode=mode)


class WorkerLink:
    """The front's side: spawns the worker, sends it requests, counts what it can take.

    Each worker gets two fresh one-way pipes. Request threads only put messages on an
    in-memory queue (never a lock the worker could hold, never a full pipe); one thread
    writes them to the worker and one reads its answers. A worker that dies takes only what
    was already in its pipe; what is still queued here goes to the next one.
    """

    def __init__(
        self,
        target: Callable[..., None],
        args: tuple[Any, ...],
        *,
        capacities: dict[str, int],
    ) -> None:
        self._context = multiprocessing.get_context("spawn")
        self._target = target
        self._args = args
        self._pending: SimpleQueue[Any] = SimpleQueue()  # front → worker, not yet written
        self._places = {lane: Places(size) for lane, size in capacities.items()}
        self._refusals = {lane: Refusals(f"the worker's {lane} lane") for lane in capacities}
        self._views: dict[int, _Waiting] = {}
        self._ids = itertools.count(1)
        self._process: Any = None
        self._ready = threading.Event()
        self._stopping = threading.Event()
        self._watcher: threading.Thread | None = None
        self.on_lag: Callable[[float], None] | None = None  # the worker's timers, how late

    # ------------------------------------------------------------ the front's calls

    def send(self, lane: str, request: BoltRequest) -> bool:
        """Hand a request's work to the worker's ``lane``; False when that lane is full."""
        if not self._places[lane].take():
            self._refusals[lane].refused("a request")
            return False
        self._pending.put(("work", lane, _wire(request)))
        return True

    def call(self, request: BoltRequest, *, wait: float = VIEW_WAIT) -> BoltResponse | None:
        """Have the worker answer a view submission; None if it did not in ``wait`` seconds."""
        number = next(self._ids)
        waiting = self._views[number] = _Waiting()
        self._pending.put(("view", number, _wire(request)))
        try:
            if not waiting.done.wait(wait) or waiting.answer is None:
                return None
            status, body, response_headers = waiting.answer
            return BoltResponse(status=status, body=body, headers=response_headers)
        finally:
            self._views.pop(number, None)

    @property
    def ready(self) -> bool:
        """Whether a worker is running and has said it is ready."""
        return self._ready.is_set() and self._process is not None and self._process.is_alive()

    # ------------------------------------------------------------------- lifecycle

    def start(self) -> None:
        self._spawn()
        self._watcher = threading.Thread(target=self._watch, name="worker-watch", daemon=True)
        self._watcher.start()

    def _spawn(self) -> None:
        self._ready.clear()
        to_worker, from_front = self._context.Pipe(duplex=False)  # (reader, writer)
        to_front, from_worker = self._context.Pipe(duplex=False)
        self._process = self._context.Process(
            target=self._target,
            args=(*self._args, to_worker, from_worker),
            name="hotfix-worker",
            daemon=False,
        )
        self._process.start()
        to_worker.close()  # the worker's ends are the worker's
        from_worker.close()
        for target, end, name in (
            (self._write, from_front, "worker-requests"),
            (self._listen, to_front, "worker-answers"),
        ):
            threading.Thread(target=target, args=(end,), name=name, daemon=True).start()
        log.info("started the worker process (pid %s)", self._process.pid)

    def _write(self, pipe: Any) -> None:
        """Send what request threads queued, several at a time when they come fast (one
        wake-up and one write for many requests)."""
        while True:
            batch = [self._pending.get()]
            with contextlib.suppress(Empty):
                while len(batch) < BATCH:
                    batch.append(self._pending.get_nowait())
            try:
                pipe.send(batch)
            except (OSError, ValueError):  # the worker is gone: the next one takes them
                for message in batch:
                    self._pending.put(message)
                return
            if any(message[0] == "stop" for message in batch):
                return

    def _listen(self, pipe: Any) -> None:
        while True:
            try:
                message = pipe.recv()
            except (EOFError, OSError):
                return  # the worker is gone
            kind = message[0]
            if kind == "ready":
                self._ready.set()
            elif kind == "done":
                for lane, count in message[1].items():
                    for _ in range(count):
                        self._places[lane].give()
            elif kind == "lag":
                if self.on_lag is not None:
                    self.on_lag(message[1])
            elif kind == "answer":
                _, number, status, body, headers = message
                waiting = self._views.get(number)
                if waiting is not None:
                    waiting.answer = (status, body, headers)
                    waiting.done.set()

    def _watch(self) -> None:
        """Start a new worker if the running one dies."""
        while not self._stopping.is_set():
            process = self._process
            process.join()
            if self._stopping.is_set():
                return
            lost = sum(places.taken for places in self._places.values())
            log.error(
                "the worker process stopped (exit code %s); starting a new one (%d requests "
                "it had taken are lost)",
                process.exitcode,
                lost,
            )
            for places in self._places.values():
                places.refill()
            if self._stopping.wait(RESTART_DELAY):
                return
            self._spawn()

    def close(self, *, timeout: float = 30.0) -> None:
        """Stop the worker after the work it has taken; kill it if it will not stop."""
        self._stopping.set()
        process = self._process
        if process is not None and process.is_alive():
            self._pending.put(("stop",))
            process.join(timeout)
            if process.is_alive():
                log.warning("the worker did not stop within %.0f s; killing it", timeout)
                process.kill()
                process.join(5)
        if self._watcher is not None:
            self._watcher.join(timeout=5)


# ---------------------------------------------------------------------- the worker's side


def lower_priority() -> None:
    """The worker gives way to the front when both want the CPU."""
    with contextlib.suppress(OSError, AttributeError):
        os.nice(WORKER_NICE)


def serve(
    bolt: App,
    lanes: Lanes,
    requests: Any,
    answers: Any,
    *,
    on_ready: Callable[[Callable[..., None]], None] | None = None,
) -> None:
    """The worker's loop: run each request the front sends on its lane, say when it is done,
    answer view submissions. Returns on ``stop``, on SIGTERM, or when the front is gone.
    ``on_ready`` gets the way to tell the front something else (the timers' lag)."""
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    lock = threading.Lock()  # lane threads answer through one pipe
    done: SimpleQueue[str] = SimpleQueue()  # lanes of finished requests, told in batches

    def answer(*message: Any) -> None:
        with lock:
            answers.send(message)

    def tell_done() -> None:
        while not stop.wait(DONE_EVERY):
            counts: dict[str, int] = {}
            with contextlib.suppress(Empty):
                while True:
                    lane = done.get_nowait()
                    counts[lane] = counts.get(lane, 0) + 1
            if counts:
                answer("done", counts)

    threading.Thread(target=tell_done, name="worker-done", daemon=True).start()
    if on_ready is not None:
        on_ready(answer)
    answer("ready")
    try:
        _take_requests(bolt, lanes, requests, answer, done, stop)
    finally:
        stop.set()


def _take_requests(
    bolt: App,
    lanes: Lanes,
    requests: Any,
    answer: Callable[..., None],
    done: SimpleQueue[str],
    stop: threading.Event,
) -> None:
    while not stop.is_set():
        try:
            if not requests.poll(0.5):
                continue
            batch = requests.recv()
        except (EOFError, OSError):
            log.error("the front process is gone; the worker stops")
            return
        for message in batch:
            kind = message[0]
            if kind == "stop":
                return
            if kind == "view":
                _, number, wire = message
                lanes.views.offer(
                    lambda n=number, w=wire: _answer(bolt, answer, n, w),
                    what="a form submission",
                )
                continue
            _, lane, wire = message

            def run(lane: str = lane, wire: Wire = wire) -> None:
                try:
                    bolt.dispatch(_request(wire))
                finally:
                    done.put(lane)

            if not lanes.named(lane).offer(run, what=f"a request on the {lane} lane"):
                done.put(lane)  # the front over-counted (after a restart)


def _answer(bolt: App, answer: Callable[..., None], number: int, wire: Wire) -> None:
    response = bolt.dispatch(_request(wire))
    answer("answer", number, response.status, response.body, dict(response.headers))
