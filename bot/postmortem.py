"""The post-mortem draft, uploaded into the hotfix's thread as a Markdown file when the
hotfix closes (once: the upload is claimed on the timeline first) and whenever someone runs
``/hotfix postmortem HF-n``. It is built from the record (``workflows.record``)."""

from __future__ import annotations

import logging

from slack_sdk.errors import SlackApiError
from sqlalchemy.orm import Session, sessionmaker

from bot.card import CardPublisher, slack_error_code
from bot.ids import MessagePurpose
from bot.render.drill import marked_if
from bot.render.postmortem import postmortem_markdown
from bot.slack_api import GuardedWebClient
from storage.db import DatabaseUnavailable
from workflows.config import Policy
from workflows.github_client import GitHubFailed, GitHubRepository
from workflows.hotfixes import BOT_ACTOR, HotfixService
from workflows.record import load_record

log = logging.getLogger(__name__)

CLAIM = "postmortem_posted"


class PostMortems:
    def __init__(
        self,
        service: HotfixService,
        cards: CardPublisher,
        client: GuardedWebClient,
        policy: Policy,
        sessions: sessionmaker[Session],
        github: GitHubRepository | None = None,
    ) -> None:
        self._github = github
        self._sessions = sessions
        self._service = service
        self._cards = cards
        self._client = client
        self._policy = policy

    def sync(self, hotfix_id: int) -> None:
        """After a change: a hotfix that has just closed gets its draft, once."""
        try:
            if self._service.get(hotfix_id).state != "closed":
                return
            if not self._service.note_once(hotfix_id, actor=BOT_ACTOR, kind=CLAIM):
                return
        except DatabaseUnavailable:
            return  # asked again with the next change, or `/hotfix postmortem`
        self.post(hotfix_id)
        if self._policy.postmortem.github_issue and self._github is not None:
            self.open_issue(hotfix_id)

    def open_issue(self, hotfix_id: int) -> str | None:
        """The draft as a GitHub issue, once per hotfix (neutral for a security fix); its
        link, or what went wrong, is said in the thread."""
        assert self._github is not None
        hotfix = self._service.get(hotfix_id)
        if not self._service.note_once(hotfix_id, actor=BOT_ACTOR, kind="postmortem_issue"):
            return None
        title = (
            f"Post-mortem: {hotfix.key} (security fix)"
            if hotfix.security_fix
            else f"Post-mortem: {hotfix.key} — {hotfix.title}"
        )
        try:
            url = self._github.open_issue(
                title[:250],
                self.draft(hotfix_id, neutral=hotfix.security_fix),
                self._policy.postmortem.labels,
            )
        except GitHubFailed as error:
            self._cards.say(
                hotfix,
                f"⚠️ The post-mortem issue of {hotfix.key} could not be opened: "
                f"{error.operation} failed: {error.reason}. The draft is in this thread.",
            )
            return None
        self._cards.say(hotfix, f"📝 Post-mortem issue of {hotfix.key}: <{url}|on GitHub>.")
        return url

    def draft(self, hotfix_id: int, *, neutral: bool = False) -> str:
        record = load_record(self._sessions, hotfix_id)
        return postmortem_markdown(
            record, self._policy.budgets, self._policy.monitoring.window, neutral=neutral
        )

    def post(self, hotfix_id: int) -> bool:
        """Upload the draft under the card; say in the thread if Slack would not take it."""
        hotfix = self._service.get(hotfix_id)
        card = hotfix.messages.get(MessagePurpose.CARD)
        channel = card.channel_id if card else hotfix.channel_id
        try:
            self._client.files_upload_v2(
                channel=channel,
                thread_ts=card.ts if card else None,
                content=self.draft(hotfix_id),
                filename=f"postmortem-{hotfix.key}.md",
                title=f"Post-mortem draft: {hotfix.key}",
                initial_comment=marked_if(
                    hotfix.drill,
                    f"📝 Post-mortem draft of *{hotfix.key}*: the timeline, the durations "
                    "against the procedure's budgets, deploys, rollbacks and merge-back "
                    "conflicts are filled in; the root cause, what went well and wrong, and "
                    "the action items are yours to write.",
                    None,
                )[0],
            )
        except SlackApiError as error:
            log.warning("%s: post-mortem draft not uploaded (%s)", hotfix.key, error)
            self._cards.say(
                hotfix,
                f"⚠️ The post-mortem draft of {hotfix.key} could not be uploaded "
                f"({slack_error_code(error)}). Run `/hotfix postmortem {hotfix.key}` to try "
                "again.",
            )
            return False
        return True
