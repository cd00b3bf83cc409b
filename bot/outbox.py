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
of the tests drops what it does not answer, as a Slack that is down does.
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
    ) -> None:
        """A message in ``channel`` (a DM when it is a user id), or under the card of hotfix
        ``thread_of``; after anything still waiting in the same thread or channel."""
        message: dict[str, Any] = {"channel": channel, "text": text}
        if blocks:
            message["blocks"] = blocks
        queue = f"thread:{thread_of}" if thread_of is not None else f"channel:{channel}"
        self._send_or_store(
            Outgoing(queue=queue, message=message, what=what, thread_of=thread_of),
            lifetime=POST_LIFETIME,
            ordered=True,
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
        self._client.chat_postMessage(
            channel=channel,
            thread_ts=thread_ts,
            text=str(message.get("text") or ""),
            blocks=message.get("blocks"),
            unfurl_links=False,
        )

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
                    self._send(Outgoing(row.queue, dict(row.message), row.what, row.thread_of))
                except SlackApiError as error:
                    if not _worth_retrying(error):
                        self._dropped(row.what, error)
                        sent.append(row.id)
                        continue
                    self._postpone(row.id, row.attempts + 1, error)
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

    def _postpone(self, delivery_id: int, attempts: int, error: SlackApiError) -> None:
        wait = retry_after(error)
        if isinstance(error, SlackUnreachable) and wait is not None:
            wait += 0.2  # just after the circuit lets a call through again
        due = self._clock() + timedelta(seconds=self._delay(attempts, wait))
        try:
            with transaction(self._sessions) as session:
                row = session.get(SlackDelivery, delivery_id)
                if row is not None:
                    row.attempts = attempts
                    row.last_error = error_code(error)[:64]
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


class Reply:
    """``respond()`` for one request: through its ``response_url``, else as a DM; what Slack
    cannot take now is delivered later."""

    def __init__(
        self,
        outbox: Outbox,
        *,
        response_url: str | None,
        user_id: str | None,
        keep: bool = True,
    ) -> None:
        self._outbox = outbox
        self.response_url = response_url
        self.user_id = user_id
        self.keep = keep  # deliver later what Slack cannot take now

    def __call__(
        self,
        text: str = "",
        blocks: list[dict[str, Any]] | None = None,
        *,
        response_type: str = "ephemeral",
        replace_original: bool = False,
    ) -> None:
        what = f"a reply to {self.user_id}: {text[:80]!r}"
        if self.response_url:
            body: dict[str, Any] = {
                "text": text,
                "response_type": response_type,
                "replace_original": replace_original,
            }
            if blocks:
                body["blocks"] = blocks
            self._outbox.reply(self.response_url, body, what=what, keep=self.keep)
        elif self.user_id:
            self._outbox.post(self.user_id, text, blocks, what=what)
        else:
            log.warning("nobody to tell: %s", text[:200])


def reply_for(outbox: Outbox, body: dict[str, Any], *, keep: bool = True) -> Reply:
    """How to answer the person behind a request: its response_url, or a DM."""
    user = (body.get("user") or {}).get("id") or body.get("user_id")
    if body.get("type") == "event_callback":
        user = (body.get("event") or {}).get("user")
    url = body.get("response_url")
    if not url:
        urls = body.get("response_urls") or []
        url = urls[0].get("response_url") if urls else None
    return Reply(outbox, response_url=url, user_id=user, keep=keep)
