"""The ack path: every request Slack sends is answered from the request thread, at once.

Bolt runs listeners synchronously (``process_before_response=True``), so what a listener
does before it returns is what Slack waits for. Here a listener only reads the request and
acks; the work it asked for goes on a lane (``bot.lanes``) and answers through the
``response_url`` afterwards (``bot.reply.Reply``). Nothing on the ack path waits for
Slack, GitHub, git or a lock another request holds. When a lane is full the person is told
"busy, try again" — in the ack itself for a command, in a reply for a click, and a retry
asked of Slack (503) for an event.

View submissions that answer with inline errors stay synchronous (they touch only the
database); what they do after the ack goes on a lane with ``after``.
"""

from __future__ import annotations

import inspect
import logging
import time
from collections.abc import Callable

from slack_bolt import BoltResponse
from slack_bolt.kwargs_injection.args import Args

from bot.errors import tell, user_message
from bot.lanes import Lane, Lanes
from bot.outbox import Outbox
from bot.render.notices import error_blocks
from bot.reply import Reply, reply_for
from bot.split import WorkerLink
from workflows.log_context import about_request

log = logging.getLogger(__name__)

BUSY = (
    "Hotfix Bot has more requests than it can take right now, so it did not take this one — "
    "nothing was changed. Try again in a moment."
)

BUSY_HEADER = {"x-hotfix-busy": "1"}
BUSY_NOTICE_EVERY = 10.0  # seconds

Listener = Callable[..., None]
BoltListener = Callable[[Args], BoltResponse | None]


class AckPath:
    """Acks a request at once and hands its work to a lane.

    Three places the work can go: a lane of this process (tests, Socket Mode); the worker
    process (``forward``: the front of ``hotfix-bot serve``, see ``bot.split``); or, in that
    worker, which dispatches each request it is sent on a lane already, right here
    (``inline``).
    """

    def __init__(
        self,
        lanes: Lanes,
        outbox: Outbox,
        *,
        forward: WorkerLink | None = None,
        inline: bool = False,
    ) -> None:
        self.lanes = lanes
        self.outbox = outbox
        self.forward = forward
        self.inline = inline
        self._told_busy: dict[str, float] = {}  # user → when they were last told "busy"

    def later(self, lane: Lane | None = None) -> Callable[[Listener], BoltListener]:
        """Decorate a listener whose work runs after the ack, on ``lane`` (requests).

        The listener takes any of Bolt's arguments by name (``action``, ``body``,
        ``command``, ``event``, ``view``) plus ``reply``; whatever it raises is told to the
        person (``bot.errors``).
        """
        chosen = lane or self.lanes.requests

        def decorate(listener: Listener) -> BoltListener:
            names = inspect.getfullargspec(listener).args

            def on_request(args: Args) -> BoltResponse | None:
                values = {n: getattr(args, n) for n in names if n != "reply"}

                def job(reply: Reply) -> None:
                    listener(**values, **({"reply": reply} if "reply" in names else {}))

                return self.run(args, job, what=listener.__name__, lane=chosen)

            on_request.__name__ = on_request.__qualname__ = listener.__name__
            return on_request

        return decorate

    def run(
        self, args: Args, job: Callable[[Reply], None], *, what: str, lane: Lane | None = None
    ) -> BoltResponse | None:
        """Ack now and run ``job(reply)`` on ``lane`` (requests); "busy" when it is full."""
        chosen = lane or self.lanes.requests
        if self.forward is not None:
            if self.forward.send(chosen.name, args.request):
                args.ack()
                return None
            return self.busy(args)
        reply = reply_for(self.outbox, args.body)

        request_id = _request_id(args.body)

        def work() -> None:
            about_request(request_id)
            try:
                job(reply)
            except Exception as error:  # the funnel: every failure is told
                tell(reply, user_message(error))

        if self.inline:
            work()
            args.ack()
            return None
        if chosen.offer(work, what=what):
            args.ack()
            return None
        return self.busy(args)

    def after(self, job: Callable[[], None], *, what: str) -> None:
        """Work a synchronous listener leaves for after its ack (a notice in the thread)."""
        if not self.lanes.requests.offer(job, what=what):
            log.error("dropped %s: every lane is full", what)

    def synchronous(self, errors_on: str) -> Callable[[Listener], BoltListener]:
        """Decorate a view submission listener, which answers inline: in the front, the
        worker answers it; if it cannot within Slack's time, the form says "busy" at
        ``errors_on`` (a block id) and keeps what was typed."""

        def decorate(listener: Listener) -> BoltListener:
            if self.forward is None:
                return listener
            link = self.forward

            def forwarded(args: Args) -> BoltResponse:
                answer = link.call(args.request)
                if answer is not None:
                    return answer
                log.warning("the worker did not answer a form submission in time")
                return BoltResponse(
                    status=200,
                    body={"response_action": "errors", "errors": {errors_on: BUSY}},
                )

            forwarded.__name__ = forwarded.__qualname__ = listener.__name__
            return forwarded

        return decorate

    def busy(self, args: Args) -> BoltResponse | None:
        """Say "busy" without waiting for Slack: in the ack of a command, else afterwards.

        The HTTP answer also says it (``x-hotfix-busy``), for whoever watches the traffic;
        Slack ignores it."""
        body = args.body
        if body.get("type") == "event_callback":
            # Unacknowledged, Slack delivers the event again a little later.
            return BoltResponse(status=503, body="busy", headers=BUSY_HEADER)
        if "command" in body:
            text, blocks = error_blocks(BUSY)
            return BoltResponse(
                status=200,
                body={"text": text, "blocks": [b.to_dict() for b in blocks]},
                headers=BUSY_HEADER,
            )
        # Off the request thread, on this process's own notices lane (in the front too: the
        # worker is the one that is full), and only now: "try again" is stale soon. One
        # notice per person per BUSY_NOTICE_EVERY: someone clicking again and again while the
        # bot is full needs to read it once.
        reply = reply_for(self.outbox, body, keep=False)
        now = time.monotonic()
        if now - self._told_busy.get(reply.user_id or "", -BUSY_NOTICE_EVERY) >= BUSY_NOTICE_EVERY:
            self._told_busy[reply.user_id or ""] = now
            self.lanes.notices.offer(lambda: tell(reply, BUSY), what="a busy notice")
        return BoltResponse(status=200, body="", headers=BUSY_HEADER)


def _request_id(body: dict) -> str | None:
    """What names this Slack request in the log: its event id, or its trigger id."""
    found = body.get("event_id") or body.get("trigger_id")
    return str(found)[:40] if found else None
