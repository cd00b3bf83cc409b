"""Messages that reach Slack even when Slack cannot take them right now.

A reply to a command or a click, a notice in a hotfix's thread, a post in another channel:
each is sent at once, and if Slack does not answer (or rate-limits, or fails with a 5xx) it is
stored in ``slack_deliveries`` and delivered by a persisted timer when Slack is back — in
order within its queue (a hotfix's thread keeps its order), and at most until it is too late
to matter (a ``response_url`` works for 30 minutes). One timer delivers them all: while Slack
does not answer, a round stops at the first message, so a backlog of thousands costs one
try per cool-down, not thousands. What Slack refuses for good
(``channel_not_found``, an expired ``response_url``) is logged and dropped, never retried.

Delivered means Slack said so. A message Slack received but never answered for cannot be
told apart from one it never received, so it may be delivered a second time; the fake Slack
of the tests drops what it does not answer, as a Slack that is down does. A post that must
never come twice (``post_within``: a monitoring ping) carries a key in its message metadata
and is marked in flight before it is sent; a round that finds it still marked (the sender
died between Slack's answer and the removal) first looks for the key in the thread and sends
it only if it is not there.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from slack_sdk.errors import SlackApiError
from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from bot.render.drill import marked_if
from bot.slack_api import (
    GuardedWebClient,
    ResponseUrls,
    SlackUnreachable,
    error_code,
    is_transient,
    retry_after,
)
from storage.db import DatabaseUnavailable, transaction
from storage.models import SlackDelivery
from workflows.scheduler import Timers

log = logging.getLogger(__name__)

DELIVER_JOB = "deliver_slack_messages"
DRAIN_JOB_ID = "slack-deliveries"  # one timer for every stored message, whatever the backlog
DRAIN_BATCH = 500
ROUND = 1.0  # seconds between delivery rounds
SENDERS = 4  # queues delivered at once in a round
FORGET_BATCH = 25  # delivered messages removed together
REPLY_LIFETIME = timedelta(minutes=29)  # Slack honours a response_url for 30 minutes
POST_LIFETIME = timedelta(hours=24)
#: How long a post marked in flight belongs to the process sending it (beyond a Slack call's
#: bounded retries); after that another round may look for it in the thread and send it.
SEND_LEASE = timedelta(seconds=15)
IN_FLIGHT = "in_flight"
#: The ``event_type`` of the message metadata that carries a post's key.
KEY_EVENT = "hotfix_bot_post"
#: Seconds before each further try; the last one repeats.
BACKOFF = (1.0, 2.0, 5.0, 10.0)

CardOf = Callable[[int], "tuple[str, str] | None"]


@dataclass(frozen=True)
class Outgoing:
    """One message to Slack: where it goes and what it says."""

    queue: str
    message: dict[str, Any]
    what: str
    thread_of: int | None = None


class CardNotYetPosted(SlackApiError):
    """A notice for a hotfix thread whose card Slack has not shown yet."""

    def __init__(self, hotfix_id: int) -> None:
        super().__init__(
            f"HF-{hotfix_id} has no card yet",
            {"ok": False, "error": "card_not_posted"},
        )


def _post(channel: str, text: str, blocks: list[dict[str, Any]] | None) -> dict[str, Any]:
    message: dict[str, Any] = {"channel": channel, "text": text}
    if blocks:
        message["blocks"] = blocks
    return message


def _post_queue(channel: str, thread_of: int | None) -> str:
    """A hotfix's thread keeps its order; so does a channel."""
    return f"thread:{thread_of}" if thread_of is not None else f"channel:{channel}"


def _worth_retrying(error: SlackApiError) -> bool:
    return is_transient(error) or isinstance(error, CardNotYetPosted)


class Outbox:
    """Sends now, or stores and delivers later: replies, thread notices, channel posts."""

    def __init__(
        self,
        client: GuardedWebClient,
        response_urls: ResponseUrls,
        sessions: sessionmaker[Session],
        timers: Timers | None,
        *,
        clock: Callable[[], datetime],
        card_of: CardOf,
    ) -> None:
        self._client = client
        self._response_urls = response_urls
        self._sessions = sessions
        self._timers = timers
        self._clock = clock
        self._card_of = card_of
        if timers is not None:
            timers.register(DELIVER_JOB, self.deliver)

    # ------------------------------------------------------------------ sending

    def reply(
        self, response_url: str, body: dict[str, Any], *, what: str, keep: bool = True
    ) -> None:
        """Answer a command or a click through its ``response_url``; ``keep``: deliver it
        later if Slack cannot take it now (a "busy" notice is not worth it: stale soon)."""
        self._send_or_store(
            Outgoing(
                queue=f"reply:{uuid.uuid4().hex[:16]}",
                message={"response_url": response_url, "body": body},
                what=what,
            ),
            lifetime=REPLY_LIFETIME if keep else None,
            ordered=False,
        )

    def post(
        self,
        channel: str,
        text: str,
        blocks: list[dict[str, Any]] | None = None,
        *,
        thread_of: int | None = None,
        what: str,
        drill: bool = False,
    ) -> None:
        """A message in ``channel`` (a DM when it is a user id), or under the card of hotfix
        ``thread_of``; after anything still waiting in the same thread or channel. A drill's
        is marked so (``drill``)."""
        self._send_or_store(
            Outgoing(
                queue=_post_queue(channel, thread_of),
                message=_post(channel, *marked_if(drill, text, blocks)),
                what=what,
                thread_of=thread_of,
            ),
            lifetime=POST_LIFETIME,
            ordered=True,
        )

    def post_within(
        self,
        session: Session,
        channel: str,
        text: str,
        blocks: list[dict[str, Any]] | None = None,
        *,
        thread_of: int | None = None,
        what: str,
        drill: bool = False,
    ) -> None:
        """A post stored in the caller's transaction and delivered by the next round (within
        ``ROUND``): it exists exactly when what the transaction records does (a monitoring
        ping and the claim of its step), whatever happens to this process afterwards. Under a
        hotfix's card it is posted once: its key lets a later round see that it is there."""
        now = self._clock()
        session.add(
            SlackDelivery(
                queue=_post_queue(channel, thread_of),
                thread_of=thread_of,
                message={
                    **_post(channel, *marked_if(drill, text, blocks)),
                    "key": uuid.uuid4().hex,
                },
                what=what[:200],
                created_at=now,
                deliver_by=now + POST_LIFETIME,
                next_attempt_at=now,
                attempts=0,
            )
        )

    def _send_or_store(self, out: Outgoing, *, lifetime: timedelta | None, ordered: bool) -> None:
        try:
            behind = ordered and self._waiting(out.queue)
        except DatabaseUnavailable:
            behind = False  # send it: better out of order than lost
        if not behind:
            try:
                self._send(out)
                return
            except SlackApiError as error:
                if not _worth_retrying(error):
                    self._dropped(out.what, error)
                    return
                delay = retry_after(error)
                log.debug(
                    "Slack did not take %s (%s); delivering it later", out.what, error_code(error)
                )
        else:
            delay = None
        if lifetime is None:
            log.debug("not delivered, and not kept: %s", out.what)
            return
        self._store(out, lifetime, delay)

    def _send(self, out: Outgoing) -> None:
        message = out.message
        if "response_url" in message:
            answer = self._response_urls.post(str(message["response_url"]), dict(message["body"]))
            if not answer.ok:
                raise SlackApiError(
                    f"response_url answered {answer.status}",
                    {"ok": False, "error": answer.body.strip()[:60] or f"http_{answer.status}"},
                )
            return
        thread_ts = None
        channel = str(message["channel"])
        if out.thread_of is not None:
            card = self._card_of(out.thread_of)
            if card is None:
                raise CardNotYetPosted(out.thread_of)
            channel, thread_ts = card
        extra: dict[str, Any] = {}
        if message.get("key"):
            extra["metadata"] = {"event_type": KEY_EVENT, "event_payload": {"key": message["key"]}}
        self._client.chat_postMessage(
            channel=channel,
            thread_ts=thread_ts,
            text=str(message.get("text") or ""),
            blocks=message.get("blocks"),
            unfurl_links=False,
            **extra,
        )

    def _already_posted(self, row: SlackDelivery) -> bool:
        """Whether the keyed post ``row`` is in its hotfix's thread already."""
        card = self._card_of(row.thread_of) if row.thread_of is not None else None
        if card is None:
            return False  # not under a card: nothing to look in (and no card: not posted)
        channel, thread_ts = card
        since = row.created_at - timedelta(minutes=1)
        cursor = None
        while True:
            page = self._client.conversations_replies(
                channel=channel,
                ts=thread_ts,
                oldest=f"{since.timestamp():.6f}",
                include_all_metadata=True,
                limit=200,
                cursor=cursor,
            )
            for found in page.get("messages") or []:
                payload = (found.get("metadata") or {}).get("event_payload") or {}
                if payload.get("key") == row.message.get("key"):
                    return True
            cursor = (page.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                return False

    def _looked_up(self, row: SlackDelivery) -> bool:
        """``_already_posted``, or False when Slack will not say (a missing scope on an old
        install): better posted twice than lost. A Slack that does not answer postpones it."""
        try:
            return self._already_posted(row)
        except SlackApiError as error:
            if _worth_retrying(error):
                raise
            log.warning(
                "could not look for %s in its thread (%s); posting it again",
                row.what,
                error_code(error),
            )
            return False

    def _mark_in_flight(self, delivery_id: int) -> None:
        with transaction(self._sessions) as session:
            row = session.get(SlackDelivery, delivery_id)
            if row is not None:
                row.last_error = IN_FLIGHT
                row.next_attempt_at = self._clock() + SEND_LEASE

    # ----------------------------------------------------------------- storing

    def _waiting(self, queue: str) -> bool:
        with transaction(self._sessions, read_only=True) as session:
            return (
                session.scalar(
                    select(SlackDelivery.id).where(SlackDelivery.queue == queue).limit(1)
                )
                is not None
            )

    def _store(self, out: Outgoing, lifetime: timedelta, delay: float | None) -> None:
        now = self._clock()
        due = now + timedelta(seconds=self._delay(1, delay))
        try:
            with transaction(self._sessions) as session:
                session.add(
                    SlackDelivery(
                        queue=out.queue,
                        thread_of=out.thread_of,
                        message=out.message,
                        what=out.what[:200],
                        created_at=now,
                        deliver_by=now + lifetime,
                        next_attempt_at=due,
                        attempts=1,
                    )
                )
        except DatabaseUnavailable:
            log.error("lost a Slack message (Slack and the database both down): %s", out.what)

    @staticmethod
    def _delay(attempts: int, asked: float | None) -> float:
        backoff = BACKOFF[min(attempts, len(BACKOFF)) - 1]
        return max(backoff, asked or 0.0)

    # --------------------------------------------------------------- delivering

    def start(self) -> None:
        """Deliver stored messages every ``ROUND`` seconds for the life of the timers (the
        job is stored, so any process — a front, a follower — may store a message and the
        process that runs the timers delivers it)."""
        if self._timers is not None:
            self._timers.every(ROUND, DELIVER_JOB, 0, DRAIN_JOB_ID)

    def deliver(self, _: int = 0) -> None:
        """One round: send what is due, oldest first and each queue in order, a few queues at
        a time; stop at once when Slack does not answer (one try per cool-down, whatever the
        backlog)."""
        try:
            due = self._due(self._clock())
        except DatabaseUnavailable:
            return  # the next round tries again
        if not due:
            return
        queues: dict[str, list[SlackDelivery]] = {}
        for row in due:
            queues.setdefault(row.queue, []).append(row)
        down = threading.Event()
        with ThreadPoolExecutor(max_workers=SENDERS, thread_name_prefix="slack-deliver") as pool:
            delivered = sum(pool.map(lambda rows: self._deliver_queue(rows, down), queues.values()))
        if delivered:
            log.info("delivered %d Slack message(s) that had to wait", delivered)

    def _deliver_queue(self, rows: list[SlackDelivery], down: threading.Event) -> int:
        """Send one queue's messages in order until one fails; remove what was sent."""
        sent: list[int] = []
        try:
            for row in rows:
                if down.is_set():
                    break
                if self._clock() > row.deliver_by:
                    log.error("gave up delivering %s: Slack did not take it in time", row.what)
                    sent.append(row.id)
                    continue
                try:
                    if row.message.get("key"):
                        if row.last_error == IN_FLIGHT and self._looked_up(row):
                            log.info("%s was posted before the bot stopped", row.what)
                            sent.append(row.id)
                            continue
                        self._mark_in_flight(row.id)
                    self._send(Outgoing(row.queue, dict(row.message), row.what, row.thread_of))
                except DatabaseUnavailable:
                    break  # not marked, not sent: the next round tries again
                except SlackApiError as error:
                    if not _worth_retrying(error):
                        self._dropped(row.what, error)
                        sent.append(row.id)
                        continue
                    self._postpone(
                        row.id, row.attempts + 1, error, keyed=bool(row.message.get("key"))
                    )
                    if isinstance(error, SlackUnreachable):
                        down.set()  # Slack is down: the rest waits for the next round
                    break
                log.debug("delivered %s after %d tries", row.what, row.attempts + 1)
                sent.append(row.id)
                if len(sent) % FORGET_BATCH == 0:
                    self._forget(sent[-FORGET_BATCH:])
        finally:
            rest = sent[len(sent) - len(sent) % FORGET_BATCH :]
            if rest:
                self._forget(rest)
        return len(sent)

    def _due(self, now: datetime) -> list[SlackDelivery]:
        """Every stored message of a queue whose oldest message is due, oldest first."""
        with transaction(self._sessions, read_only=True) as session:
            queues = select(SlackDelivery.queue).where(SlackDelivery.next_attempt_at <= now)
            return list(
                session.scalars(
                    select(SlackDelivery)
                    .where(SlackDelivery.queue.in_(queues))
                    .order_by(SlackDelivery.id)
                    .limit(DRAIN_BATCH)
                )
            )

    def _postpone(
        self, delivery_id: int, attempts: int, error: SlackApiError, *, keyed: bool = False
    ) -> None:
        wait = retry_after(error)
        if isinstance(error, SlackUnreachable) and wait is not None:
            wait += 0.2  # just after the circuit lets a call through again
        due = self._clock() + timedelta(seconds=self._delay(attempts, wait))
        try:
            with transaction(self._sessions) as session:
                row = session.get(SlackDelivery, delivery_id)
                if row is not None:
                    row.attempts = attempts
                    # No answer may still mean Slack took it: a keyed post stays in flight.
                    unanswered = keyed and isinstance(error, SlackUnreachable)
                    row.last_error = IN_FLIGHT if unanswered else error_code(error)[:64]
                    row.next_attempt_at = due
        except DatabaseUnavailable:
            pass  # it stays due; the next round tries it again

    def _forget(self, delivery_ids: list[int]) -> None:
        """Remove delivered (or abandoned) messages."""
        try:
            with transaction(self._sessions) as session:
                session.execute(delete(SlackDelivery).where(SlackDelivery.id.in_(delivery_ids)))
        except DatabaseUnavailable:
            log.warning(
                "%d delivered Slack message(s) are still stored; they may be sent twice",
                len(delivery_ids),
            )

    @staticmethod
    def _dropped(what: str, error: SlackApiError) -> None:
        log.warning("Slack refused %s (%s); not retrying", what, error_code(error))

    def pending(self) -> list[SlackDelivery]:
        """What waits to be delivered, oldest first."""
        with transaction(self._sessions, read_only=True) as session:
            return list(session.scalars(select(SlackDelivery).order_by(SlackDelivery.id)))
