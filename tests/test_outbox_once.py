"""A post that must never come twice (a monitoring ping) comes once even when the process
that sent it died between Slack's answer and forgetting it, or Slack never answered."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.outbox import IN_FLIGHT, KEY_EVENT
from storage.db import transaction
from storage.models import SlackDelivery
from tests.conftest import INCIDENT_CHANNEL, REQUESTER, RunningBot


def open_card(bot: RunningBot) -> str:
    """/hotfix start and its form; the card's ts once Slack shows it."""
    assert (
        bot.slack.slash(
            "start SEC-3 high Refunds fail", user_id=REQUESTER, channel_id=INCIDENT_CHANNEL
        ).status
        == 200
    )
    modal = bot.fake.wait_for(lambda: bot.fake.views(), timeout=10)[0]
    bot.slack.submit_view(modal["id"], user_id=REQUESTER, values={"Impact": "Refunds"})
    card = bot.fake.wait_for(lambda: bot.fake.messages(INCIDENT_CHANNEL), timeout=10)[0]
    bot.fake.wait_for(lambda: bot.rows(SlackDelivery) == [], timeout=10)
    return card["ts"]


def post_ping(bot: RunningBot, text: str) -> None:
    with transaction(bot.bot.services.sessions) as session:
        bot.bot.outbox.post_within(
            session, INCIDENT_CHANNEL, text, thread_of=1, what=f"ping {text!r}"
        )


def texts(bot: RunningBot, card_ts: str, text: str) -> list[dict]:
    return [m for m in bot.fake.thread(INCIDENT_CHANNEL, card_ts) if m["text"] == text]


def in_flight_again(bot: RunningBot, message: dict) -> None:
    """The row a process leaves when it dies after Slack took its post: still stored, marked
    in flight, its lease over."""
    now = datetime.now(UTC)
    with transaction(bot.bot.services.sessions) as session:
        session.add(
            SlackDelivery(
                queue="thread:1",
                thread_of=1,
                message=message,
                what="a ping sent before a crash",
                created_at=now,
                deliver_by=now.replace(year=now.year + 1),
                next_attempt_at=now,
                attempts=0,
                last_error=IN_FLIGHT,
            )
        )


def test_a_post_slack_already_shows_is_not_posted_again_after_a_crash(
    running_bot: RunningBot,
) -> None:
    bot = running_bot
    card_ts = open_card(bot)
    post_ping(bot, "📈 ping 1")
    [posted] = bot.fake.wait_for(lambda: texts(bot, card_ts, "📈 ping 1"), timeout=10)
    assert posted["metadata"]["event_type"] == KEY_EVENT
    key = posted["metadata"]["event_payload"]["key"]
    bot.fake.wait_for(lambda: bot.rows(SlackDelivery) == [], timeout=10)

    looked = len(bot.fake.calls_to("conversations.replies"))
    in_flight_again(bot, {"channel": INCIDENT_CHANNEL, "text": "📈 ping 1", "key": key})
    bot.fake.wait_for(lambda: bot.rows(SlackDelivery) == [], timeout=10)

    assert len(texts(bot, card_ts, "📈 ping 1")) == 1
    [lookup] = bot.fake.calls_to("conversations.replies")[looked:]
    assert lookup["ts"] == card_ts
    assert lookup["include_all_metadata"] in (True, 1, "1", "true")


def test_a_post_in_flight_that_slack_never_got_is_posted_once(running_bot: RunningBot) -> None:
    bot = running_bot
    card_ts = open_card(bot)
    in_flight_again(bot, {"channel": INCIDENT_CHANNEL, "text": "📈 ping 2", "key": "k" * 32})
    [posted] = bot.fake.wait_for(lambda: texts(bot, card_ts, "📈 ping 2"), timeout=10)
    assert posted["metadata"]["event_payload"] == {"key": "k" * 32}
    bot.fake.wait_for(lambda: bot.rows(SlackDelivery) == [], timeout=10)
    assert len(texts(bot, card_ts, "📈 ping 2")) == 1


def test_a_post_slack_did_not_answer_stays_in_flight_and_comes_once_when_slack_is_back(
    running_bot: RunningBot,
) -> None:
    bot = running_bot
    card_ts = open_card(bot)
    bot.fake.hang("chat.postMessage")
    post_ping(bot, "📈 ping 3")
    [row] = bot.fake.wait_for(
        lambda: [r for r in bot.rows(SlackDelivery) if r.attempts >= 1], timeout=30
    )
    assert row.last_error == IN_FLIGHT  # no answer: it may have reached Slack
    bot.fake.recover()
    bot.fake.wait_for(lambda: bot.rows(SlackDelivery) == [], timeout=30)
    assert len(texts(bot, card_ts, "📈 ping 3")) == 1
    assert bot.fake.calls_to("conversations.replies")  # looked before sending again


def test_a_post_in_flight_is_still_posted_when_slack_will_not_show_the_thread(
    running_bot: RunningBot,
) -> None:
    """An install from before the history scopes: the lookup is refused, the ping not lost."""
    bot = running_bot
    card_ts = open_card(bot)
    bot.fake.fail("conversations.replies", "missing_scope")
    in_flight_again(bot, {"channel": INCIDENT_CHANNEL, "text": "📈 ping 4", "key": "m" * 32})
    bot.fake.wait_for(lambda: bot.rows(SlackDelivery) == [], timeout=10)
    assert len(texts(bot, card_ts, "📈 ping 4")) == 1
    assert bot.fake.calls_to("conversations.replies")  # it did ask
