"""Keeps each hotfix's card (and its thread's assessment) in Slack equal to what is stored."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.ids import MessagePurpose
from bot.render.card import assessment_text, card_text, render_assessment, render_card
from bot.render.notices import card_not_posted
from workflows.hotfixes import HotfixService, HotfixSnapshot

log = logging.getLogger(__name__)


class CardNotPosted(Exception):
    """Slack refused a card post or update; ``slack_error`` is Slack's error code."""

    def __init__(self, hotfix: HotfixSnapshot, slack_error: str) -> None:
        super().__init__(f"{hotfix.key}: card not posted ({slack_error})")
        self.hotfix = hotfix
        self.slack_error = slack_error


def slack_error_code(error: SlackApiError) -> str:
    response = error.response
    code = response.get("error") if response is not None else None
    return str(code or "unknown_error")


class CardPublisher:
    """Posts the card the first time and ``chat.update``s it afterwards; idempotent."""

    def __init__(
        self,
        client: WebClient,
        service: HotfixService,
        *,
        role_title: Callable[[str], str],
        clock: Callable[[], datetime],
    ) -> None:
        self._client = client
        self._service = service
        self._role_title = role_title
        self._clock = clock
        self._guard = threading.Lock()
        self._locks: dict[int, threading.Lock] = {}

    def _lock(self, hotfix_id: int) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(hotfix_id, threading.Lock())

    def publish(self, hotfix_id: int) -> HotfixSnapshot:
        """Make Slack show the stored hotfix: card in the channel, assessment in its thread.

        Raises ``CardNotPosted`` when Slack refuses; whatever was posted is recorded, so a
        later call continues where this one stopped.
        """
        with self._lock(hotfix_id):
            hotfix = self._service.get(hotfix_id)
            try:
                card = hotfix.messages.get(MessagePurpose.CARD)
                blocks = render_card(hotfix, role_title=self._role_title, now=self._clock())
                if card is None:
                    response = self._client.chat_postMessage(
                        channel=hotfix.channel_id,
                        text=card_text(hotfix),
                        blocks=[b.to_dict() for b in blocks],
                        unfurl_links=False,
                    )
                    card = self._service.record_message(
                        hotfix.id, MessagePurpose.CARD, response["channel"], response["ts"]
                    )
                else:
                    self._client.chat_update(
                        channel=card.channel_id,
                        ts=card.ts,
                        text=card_text(hotfix),
                        blocks=[b.to_dict() for b in blocks],
                    )
                if MessagePurpose.ASSESSMENT not in hotfix.messages:
                    response = self._client.chat_postMessage(
                        channel=card.channel_id,
                        thread_ts=card.ts,
                        text=assessment_text(hotfix),
                        blocks=[
                            b.to_dict()
                            for b in render_assessment(hotfix, role_title=self._role_title)
                        ],
                    )
                    self._service.record_message(
                        hotfix.id, MessagePurpose.ASSESSMENT, response["channel"], response["ts"]
                    )
            except SlackApiError as exc:
                code = slack_error_code(exc)
                log.warning("%s: Slack refused the card: %s", hotfix.key, code)
                self._service.record_event(
                    hotfix.id, actor="hotfix-bot", kind="card_failed", detail={"error": code}
                )
                raise CardNotPosted(hotfix, code) from exc
            return self._service.get(hotfix_id)

    def publish_or_tell(self, hotfix_id: int) -> None:
        """Publish; if Slack refuses, tell the requester privately, with a Retry button."""
        try:
            self.publish(hotfix_id)
        except CardNotPosted as failure:
            self.tell_requester(failure)

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
        try:
            self._client.chat_postMessage(channel=hotfix.requester_id, text=text, blocks=payload)
        except SlackApiError as exc:
            log.error(
                "%s: could not tell %s that the card failed: %s",
                hotfix.key,
                hotfix.requester_id,
                slack_error_code(exc),
            )
