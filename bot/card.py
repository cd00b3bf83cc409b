"""Keeps what Slack shows about each hotfix equal to what is stored.

For a running hotfix: the card in the channel, and in its thread the Hotfix Request and the
approvers checklist. For a declined (MEDIUM/LOW) assessment: the refusal message with its
override button. Everything is posted once, recorded, and ``chat.update``d afterwards, so
publishing is idempotent and a failed attempt is simply repeated until Slack agrees.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.models.blocks import Block

from bot.ids import MessagePurpose
from bot.outbox import Outbox
from bot.render.approvals import approvals_fallback, refusal_message, render_approvals
from bot.render.card import assessment_text, card_text, render_assessment, render_card
from bot.render.drill import marked_if
from bot.render.notices import card_not_posted
from bot.render.review import checklist_text, render_checklist
from bot.slack_api import error_code, is_transient, retry_after
from storage.db import DatabaseUnavailable
from workflows.hotfixes import BOT_ACTOR, HotfixService
from workflows.scheduler import Timers
from workflows.snapshot import HotfixSnapshot, MessageRef

log = logging.getLogger(__name__)

CARD_RETRY = timedelta(seconds=15)
TRANSIENT_RETRY = timedelta(seconds=5)  # Slack did not answer, or failed with a 5xx
REFRESH_JOB = "refresh_card"
#: Slack answers after which retrying the same update cannot succeed.
PERMANENT_ERRORS = frozenset(
    {
        "channel_not_found",
        "is_archived",
        "not_in_channel",
        "invalid_blocks",
        "msg_too_long",
        "message_not_found",
        "cant_update_message",
    }
)


class CardNotPosted(Exception):
    """Slack refused (or did not answer) a post or update; ``slack_error`` is Slack's error
    code, ``transient`` whether the same call may work later, ``retry_in`` how long Slack
    asked to wait."""

    def __init__(
        self,
        hotfix: HotfixSnapshot,
        slack_error: str,
        *,
        transient: bool = False,
        retry_in: float | None = None,
    ) -> None:
        super().__init__(f"{hotfix.key}: card not posted ({slack_error})")
        self.hotfix = hotfix
        self.slack_error = slack_error
        self.transient = transient
        self.retry_in = retry_in


slack_error_code = error_code


def card_location(service: HotfixService, hotfix_id: int) -> tuple[str, str] | None:
    """Where a hotfix's card is (channel, ts), so notices go in its thread; None until posted."""
    card = service.get(hotfix_id).messages.get(MessagePurpose.CARD)
    return (card.channel_id, card.ts) if card is not None else None


class _PostedElsewhere(Exception):
    """Another process posted and recorded this message first."""


class CardPublisher:
    """Posts each hotfix's messages the first time and updates them afterwards."""

    def __init__(
        self,
        client: WebClient,
        service: HotfixService,
        outbox: Outbox,
        *,
        clock: Callable[[], datetime],
        timers: Timers | None = None,
    ) -> None:
        self._client = client
        self._service = service
        self._outbox = outbox
        self._clock = clock
        self._timers = timers
        self._guard = threading.Lock()
        self._locks: dict[int, threading.Lock] = {}
        self._permalinks: dict[int, str] = {}  # a card's link never changes
        #: More messages kept in the thread (purpose, text, blocks), or None while not shown:
        #: later phases add theirs (the pre-deploy checklist).
        self.extra_messages: list[
            Callable[[HotfixSnapshot], tuple[str, str, list[dict]] | None]
        ] = []
        if timers is not None:
            timers.register(REFRESH_JOB, self.refresh)

    def _lock(self, hotfix_id: int) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(hotfix_id, threading.Lock())

    # ------------------------------------------------------------------ publish

    def publish(self, hotfix_id: int) -> HotfixSnapshot:
        """Make Slack show the stored hotfix. Raises ``CardNotPosted`` when Slack refuses;
        whatever was posted is recorded, so the next call continues where this one stopped."""
        with self._lock(hotfix_id):
            for _ in range(len(MessagePurpose)):  # another process may post some messages first
                with contextlib.suppress(_PostedElsewhere):
                    return self._publish(hotfix_id)
            return self._service.get(hotfix_id)  # every message was posted, by someone

    def _publish(self, hotfix_id: int) -> HotfixSnapshot:
        hotfix = self._service.get(hotfix_id)
        try:
            if MessagePurpose.REFUSAL in hotfix.messages or hotfix.state == "declined":
                self._refusal(hotfix)
            if hotfix.state in ("new", "declined"):
                return hotfix
            card = self._card(hotfix)
            self._put(
                hotfix,
                MessagePurpose.ASSESSMENT,
                card.channel_id,
                assessment_text(hotfix),
                [b.to_dict() for b in render_assessment(hotfix)],
                thread_ts=card.ts,
            )
            self._put(
                hotfix,
                MessagePurpose.APPROVALS,
                card.channel_id,
                approvals_fallback(hotfix),
                [
                    b.to_dict()
                    for b in render_approvals(hotfix, principals=self._service.directory.principals)
                ],
                thread_ts=card.ts,
            )
            if hotfix.pr_number is not None and (
                hotfix.state == "in_review" or MessagePurpose.REVIEW in hotfix.messages
            ):
                self._put(
                    hotfix,
                    MessagePurpose.REVIEW,
                    card.channel_id,
                    checklist_text(hotfix),
                    [b.to_dict() for b in render_checklist(hotfix)],
                    thread_ts=card.ts,
                )
            for extra in self.extra_messages:
                shown = extra(hotfix)
                if shown is not None:
                    purpose, text, blocks = shown
                    self._put(hotfix, purpose, card.channel_id, text, blocks, thread_ts=card.ts)
        except SlackApiError as exc:
            code = slack_error_code(exc)
            log.warning("%s: Slack did not show it: %s", hotfix.key, code)
            raise CardNotPosted(
                hotfix, code, transient=is_transient(exc), retry_in=retry_after(exc)
            ) from exc
        return self._service.get(hotfix_id)

    def _card(self, hotfix: HotfixSnapshot) -> MessageRef:
        return self._put(
            hotfix,
            MessagePurpose.CARD,
            hotfix.channel_id,
            card_text(hotfix),
            [b.to_dict() for b in render_card(hotfix, now=self._clock())],
        )

    def _refusal(self, hotfix: HotfixSnapshot) -> None:
        text, blocks = refusal_message(hotfix)
        self._put(
            hotfix, MessagePurpose.REFUSAL, hotfix.channel_id, text, [b.to_dict() for b in blocks]
        )

    def _put(
        self,
        hotfix: HotfixSnapshot,
        purpose: str,
        channel: str,
        text: str,
        blocks: list[dict],
        thread_ts: str | None = None,
    ) -> MessageRef:
        existing = hotfix.messages.get(purpose)
        text, shown = marked_if(hotfix.drill, text, blocks)
        blocks = shown or []
        if existing is None:
            return self._post(hotfix, purpose, channel, text, blocks, thread_ts=thread_ts)
        self._client.chat_update(
            channel=existing.channel_id, ts=existing.ts, text=text, blocks=blocks
        )
        return existing

    def _post(
        self,
        hotfix: HotfixSnapshot,
        purpose: str,
        channel: str,
        text: str,
        blocks: list[dict],
        thread_ts: str | None = None,
    ) -> MessageRef:
        response = self._client.chat_postMessage(
            channel=channel, thread_ts=thread_ts, text=text, blocks=blocks, unfurl_links=False
        )
        posted = MessageRef(response["channel"], response["ts"])
        recorded, ours = self._service.record_message(
            hotfix.id, purpose, posted.channel_id, posted.ts
        )
        if not ours:
            # Another process showed it first: take back this copy and start again from what
            # is stored now, so the recorded message shows the newest state.
            log.info("%s: %s was posted twice; deleting the second copy", hotfix.key, purpose)
            try:
                self._client.chat_delete(channel=posted.channel_id, ts=posted.ts)
            except SlackApiError as exc:
                log.warning("%s: duplicate %s not deleted: %s", hotfix.key, purpose, exc)
            raise _PostedElsewhere(purpose)
        return recorded

    # ---------------------------------------------------------- after a change

    def refresh(self, hotfix_id: int) -> None:
        """Publish after a change. A card never shown is reported to the requester with a
        Retry button; an update Slack refused is retried by a persisted timer until it lands
        (unless Slack's answer means retrying cannot help)."""
        try:
            self.publish(hotfix_id)
        except CardNotPosted as failure:
            if MessagePurpose.CARD in failure.hotfix.messages or failure.transient:
                self._retry_later(failure)
            else:
                self._record(failure)
                self.tell_requester(failure)

    def _record(self, failure: CardNotPosted) -> None:
        with contextlib.suppress(DatabaseUnavailable):
            self._service.record_event(
                failure.hotfix.id,
                actor=BOT_ACTOR,
                kind="card_failed",
                detail={"error": failure.slack_error},
            )

    def _retry_later(self, failure: CardNotPosted) -> None:
        """One pending retry per hotfix; the timeline notes the first failure of a run."""
        if self._timers is None:
            return
        prefix = f"hotfix-{failure.hotfix.id}-card-"
        pending = self._timers.pending(prefix)
        if not pending:
            self._record(failure)
        if failure.slack_error in PERMANENT_ERRORS:
            log.error(
                "%s: Slack will not show it (%s); not retrying",
                failure.hotfix.key,
                failure.slack_error,
            )
            if not pending:  # once per run of failures: the requester can fix the channel
                self.tell_requester(failure)
            return
        for job_id, _ in pending:
            self._timers.cancel(job_id)
        # Soon after Slack may answer again (a circuit's cool-down, a Retry-After), or later.
        wait = TRANSIENT_RETRY if failure.transient else CARD_RETRY
        if failure.retry_in is not None:
            wait = max(timedelta(seconds=1), timedelta(seconds=failure.retry_in + 0.2))
        self._timers.at(
            self._clock() + wait,
            REFRESH_JOB,
            failure.hotfix.id,
            f"{prefix}{uuid.uuid4().hex[:8]}",  # fresh: never races the job finishing now
            replace=False,
        )

    def post_in_thread(
        self, hotfix: HotfixSnapshot, text: str, blocks: list[dict] | None = None
    ) -> MessageRef:
        """A message under the card (approved, escalation, git progress…); raises
        ``SlackApiError`` (after logging it) if Slack refuses."""
        card = hotfix.messages.get(MessagePurpose.CARD)
        if card is None:
            # The card may be being posted right now: wait for that, then read where it is.
            with self._lock(hotfix.id):
                card = self._service.get(hotfix.id).messages.get(MessagePurpose.CARD)
        text, blocks = marked_if(hotfix.drill, text, blocks)
        try:
            response = self._client.chat_postMessage(
                channel=card.channel_id if card else hotfix.channel_id,
                thread_ts=card.ts if card else None,
                text=text,
                blocks=blocks,
                unfurl_links=False,
            )
        except SlackApiError as exc:
            log.warning("%s: notice not posted (%s): %s", hotfix.key, slack_error_code(exc), text)
            raise
        return MessageRef(response["channel"], response["ts"])

    def permalink(self, hotfix: HotfixSnapshot) -> str:
        """A link to the card (and so its thread), or the channel if Slack will not say;
        asked of Slack once per card."""
        if hotfix.id in self._permalinks:
            return self._permalinks[hotfix.id]
        card = hotfix.messages.get(MessagePurpose.CARD) or self._service.get(
            hotfix.id
        ).messages.get(MessagePurpose.CARD)
        if card is not None:
            try:
                response = self._client.chat_getPermalink(
                    channel=card.channel_id, message_ts=card.ts
                )
                self._permalinks[hotfix.id] = str(response["permalink"])
                return self._permalinks[hotfix.id]
            except SlackApiError as exc:
                log.info("%s: no permalink (%s)", hotfix.key, slack_error_code(exc))
        return f"the Slack channel {hotfix.channel_id}"

    def announce(
        self, channel: str, text: str, blocks: Sequence[Block], *, drill: bool = False
    ) -> str | None:
        """A copy of a message in another channel (review, stakeholders); delivered later if
        Slack cannot take it now. Returns Slack's error code when Slack refused it for good
        (also logged), None otherwise."""
        text, shown = marked_if(drill, text, [b.to_dict() for b in blocks])
        try:
            self._client.chat_postMessage(channel=channel, text=text, blocks=shown)
        except SlackApiError as exc:
            if is_transient(exc):
                self._outbox.post(channel, text, shown, what=f"a post in {channel}")
                return None
            log.warning("could not post in %s: %s", channel, slack_error_code(exc))
            return slack_error_code(exc)
        return None

    def say(self, hotfix: HotfixSnapshot, text: str, blocks: Sequence[Block] | None = None) -> None:
        """A notice under the card that must not undo what was already recorded: delivered
        now, or later if Slack cannot take it now; one Slack refuses for good is logged and
        the card (re-rendered on every change) still tells."""
        self._outbox.post(
            hotfix.channel_id,
            text,
            [b.to_dict() for b in blocks] if blocks else None,
            thread_of=hotfix.id,
            what=f"{hotfix.key}: {text[:60]!r}",
            drill=hotfix.drill,
        )

    def replace_in_thread(
        self, hotfix: HotfixSnapshot, ref: MessageRef, text: str, blocks: list[dict] | None = None
    ) -> None:
        """Turn a progress message ("⏳ …") into its result; a new message if that fails."""
        text, blocks = marked_if(hotfix.drill, text, blocks)
        try:
            self._client.chat_update(channel=ref.channel_id, ts=ref.ts, text=text, blocks=blocks)
        except SlackApiError as exc:
            log.warning("%s: progress message not updated (%s)", hotfix.key, exc)
            self._outbox.post(
                hotfix.channel_id, text, blocks, thread_of=hotfix.id, what=f"{hotfix.key} result"
            )

    def tell_requester(self, failure: CardNotPosted) -> None:
        hotfix = failure.hotfix
        text, blocks = card_not_posted(hotfix, failure.slack_error)
        payload = [b.to_dict() for b in blocks]
        try:
            self._client.chat_postEphemeral(
                channel=hotfix.channel_id, user=hotfix.requester_id, text=text, blocks=payload
            )
            return
        except SlackApiError as exc:
            log.info("%s: ephemeral notice failed (%s); sending a DM", hotfix.key, exc)
        self._outbox.post(
            hotfix.requester_id, text, payload, what=f"{hotfix.key}: card failure notice"
        )
