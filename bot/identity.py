"""Who the bot is in Slack, for Bolt's authorization step — answered from memory.

Bolt's own step for a single workspace calls ``auth.test`` on the first request, which would
put a Slack call on the ack path; here the token is known from the settings, and the bot's
ids are learnt once in the background at start (they only matter to Bolt's filter of the
bot's own events).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from slack_bolt.authorization import AuthorizeResult
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.slack_api import error_code

log = logging.getLogger(__name__)


OTHER_WORKSPACE = (
    "⚠️ Hotfix Bot serves one Slack workspace, and this request came from another one: "
    "nothing was done. Install the app in this workspace to use it here."
)


class BotIdentity:
    def __init__(self, token: str | None) -> None:
        self._token = token
        self._bot_id: str | None = None
        self._bot_user_id: str | None = None
        self._team_id: str | None = None  # the one workspace the token belongs to

    def learn(self, client: WebClient) -> None:
        """Ask Slack once who the token belongs to; a failure only leaves the ids unknown."""
        try:
            answer = client.auth_test()
        except SlackApiError as error:
            log.warning("auth.test failed (%s); the bot's own ids stay unknown", error_code(error))
            return
        self._bot_id = answer.get("bot_id")
        self._bot_user_id = answer.get("user_id")
        self._team_id = answer.get("team_id")

    @property
    def authorize(self) -> Callable[..., AuthorizeResult]:
        """Bolt's ``authorize`` function (Bolt passes its arguments by name)."""

        def authorize(
            enterprise_id: str | None, team_id: str | None, user_id: str | None
        ) -> AuthorizeResult | None:
            if self._team_id and team_id and team_id != self._team_id:
                log.warning("refused a request from another workspace (%s)", team_id)
                return None  # Bolt answers with OTHER_WORKSPACE and runs no listener
            return AuthorizeResult(
                enterprise_id=enterprise_id,
                team_id=team_id,
                bot_token=self._token,
                bot_id=self._bot_id,
                bot_user_id=self._bot_user_id,
                user_id=user_id,
            )

        return authorize
