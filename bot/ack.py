"""The ack path: every request Slack sends is answered from the request thread, at once.

Bolt runs listeners synchronously (``process_before_response=True``), so what a listener
does before it returns is what Slack waits for. Here a listener only reads the request and
acks; the work it asked for goes on a lane (``bot.lanes``) and answers through the
``response_url`` afterwards (``bot.outbox.Reply``). Nothing on the ack path waits for
Slack, GitHub, git or a lock another request holds. When a lane is full the person is told
"busy, try again" — in the ack itself for a command, in a reply for a click, and a retry
asked of Slack (503) for an event.

View submissions that answer with inline errors stay synchronous (they touch only the
database); what they do after the ack goes on a lane with ``after``.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable

from slack_bolt import BoltResponse
from slack_bolt.kwargs_injection.args import Args

from bot.errors import tell, user_message
from bot.lanes import Lane, Lanes
from bot.outbox import Outbox, Reply, reply_for
from bot.render.notices import error_blocks

log = logging.getLogger(__name__)

BUSY = (
    "Hotfix Bot has more requests than it can take right now, so it did not take this one — "
    "nothing was changed. Try again in a moment."
)

Listener = Callable[..., None]
BoltListener = Callable[[Args], BoltResponse | None]


class AckPath:
    """Acks a request at once and hands its work to a lane."""

    def __init__(self, lanes: Lanes, outbox: Outbox) -> None:
        self.lanes = lanes
        self.outbox = outbox

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
        reply = reply_for(self.outbox, args.body)

        def work() -> None:
            try:
                job(reply)
            except Exception as error:  # the funnel: every failure is told
                tell(reply, user_message(error))

        if (lane or self.lanes.requests).offer(work, what=what):
            args.ack()
            return None
        return self.busy(args, reply)

    def after(self, job: Callable[[], None], *, what: str) -> None:
        """Work a synchronous listener leaves for after its ack (a notice in the thread)."""
        if not self.lanes.requests.offer(job, what=what):
            log.error("dropped %s: every lane is full", what)

    def busy(self, args: Args, reply: Reply) -> BoltResponse | None:
        """Say "busy" without waiting for Slack: in the ack of a command, else afterwards."""
        body = args.body
        if body.get("type") == "event_callback":
            # Unacknowledged, Slack delivers the event again a little later.
            return BoltResponse(status=503, body="busy")
        if "command" in body:
            text, blocks = error_blocks(BUSY)
            args.ack(text=text, blocks=[b.to_dict() for b in blocks])
            return None
        args.ack()
        if not self.lanes.notices.offer(lambda: tell(reply, BUSY), what="a busy notice"):
            log.error("could not even say busy to %s", reply.user_id)
        return None
