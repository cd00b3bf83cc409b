"""Forged requests, a database that goes away, and Slack refusing: clear messages, nothing lost."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from urllib.parse import urlencode

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from sandbox.slack_requests import sign
from storage.db import UNAVAILABLE_MESSAGE
from storage.models import Approval, Event, Hotfix, SlackMessage
from tests.conftest import EM, INCIDENT_CHANNEL, REQUESTER, RunningBot
from tests.databases import POSTGRES_ADMIN_URL, fresh_postgres_database
from tests.test_start import start, text_of


def get(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def slash_body(text_: str) -> bytes:
    return urlencode(
        {
            "command": "/hotfix",
            "text": text_,
            "user_id": REQUESTER,
            "channel_id": INCIDENT_CHANNEL,
            "team_id": "T0TEST",
            "trigger_id": "1.2.3",
            "response_url": "http://127.0.0.1:9/response",
        }
    ).encode()


@pytest.mark.parametrize(
    "forgery",
    ["unsigned", "wrong secret", "stale by 6 minutes", "body changed after signing"],
)
def test_forged_or_stale_requests_are_refused_and_change_nothing(
    running_bot: RunningBot, forgery: str
) -> None:
    bot = running_bot
    body = slash_body("start critical forged")
    now = int(time.time())
    content_type = "application/x-www-form-urlencoded"
    if forgery == "unsigned":
        response = bot.slack.send(body, content_type, signature="")
    elif forgery == "wrong secret":
        response = bot.slack.send(body, content_type, secret="not-the-secret")
    elif forgery == "stale by 6 minutes":
        response = bot.slack.send(body, content_type, timestamp=now - 360)
    else:
        signature = sign("test-signing-secret", now, body)
        tampered = body.replace(b"forged", b"FORGED")
        response = bot.slack.send(tampered, content_type, timestamp=now, signature=signature)
    assert response.status == 401
    assert bot.fake.calls_to("views.open") == []
    assert bot.rows(Hotfix) == [] and bot.rows(Event) == []


def test_healthz_reports_a_reachable_database(running_bot: RunningBot) -> None:
    assert get(f"{running_bot.url}/healthz") == (200, {"status": "ok", "database": "ok"})
    with pytest.raises(urllib.error.HTTPError) as missing:
        urllib.request.urlopen(f"{running_bot.url}/nothing-here", timeout=10)
    assert missing.value.code == 404


@pytest.fixture
def postgres_url() -> Iterator[str]:
    with fresh_postgres_database() as url:
        yield url


@pytest.fixture
def database_url(postgres_url: str) -> str:
    """These tests take the database away, which only a server database allows."""
    return postgres_url


def set_connections(url: str, *, allowed: bool) -> None:
    """Make the database refuse (or accept again) every connection, and drop the open ones."""
    name = make_url(url).database
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(
            text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS {str(allowed).lower()}')
        )
        if not allowed:
            connection.execute(
                text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"),
                {"n": name},
            )
    admin.dispose()


def test_database_down_keeps_the_form_open_and_the_bot_serving(
    running_bot: RunningBot, database_url: str
) -> None:
    bot = running_bot
    modal = start(bot)
    set_connections(database_url, allowed=False)
    try:
        assert get(f"{bot.url}/healthz") == (
            503,
            {"status": "unavailable", "database": "unreachable"},
        )
        values = {"Impact": "Everyone is locked out"}
        body = bot.slack.submit_view(modal["id"], user_id=REQUESTER, values=values).json()
        assert body == {
            "response_action": "errors",
            "errors": {"assessment_issue": UNAVAILABLE_MESSAGE},
        }
        assert bot.fake.view_is_open(modal["id"])  # what was typed is still there
        # Commands that need no database keep working.
        assert "start" in bot.slack.slash("help", user_id=REQUESTER, channel_id="C1").json()["text"]
    finally:
        set_connections(database_url, allowed=True)

    assert get(f"{bot.url}/healthz")[0] == 200
    response = bot.slack.submit_view(modal["id"], user_id=REQUESTER, values=values)
    assert response.json() is None
    bot.fake.wait_for(lambda: bot.fake.messages(INCIDENT_CHANNEL))
    assert len(bot.rows(Hotfix)) == 1


def test_database_down_a_click_or_a_command_says_so_and_changes_nothing(
    running_bot: RunningBot, database_url: str
) -> None:
    from tests.test_approvals import click, open_hotfix, said_to

    bot = running_bot
    approvals = open_hotfix(bot)
    set_connections(database_url, allowed=False)
    try:
        click(bot, approvals, "Approve as Engineering Manager", EM)
        assert said_to(bot, EM) == f"⚠️ {UNAVAILABLE_MESSAGE}"
        status = bot.slack.slash("status HF-1", user_id=EM, channel_id=INCIDENT_CHANNEL)
        assert status.status == 200
        assert said_to(bot, EM, 2) == f"⚠️ {UNAVAILABLE_MESSAGE}"
    finally:
        set_connections(database_url, allowed=True)
    assert bot.rows(Approval) == []
    # The same click, once the database is back, counts.
    click(bot, approvals, "Approve as Engineering Manager", EM)
    bot.fake.wait_for(lambda: [a.user_id for a in bot.rows(Approval)] == [EM])


def test_a_card_slack_will_never_update_is_told_to_the_requester(running_bot: RunningBot) -> None:
    from tests.test_approvals import click, open_hotfix

    bot = running_bot
    approvals = open_hotfix(bot)
    bot.fake.fail("chat.update", "is_archived", times=20)
    click(bot, approvals, "Approve as Engineering Manager", EM)
    notice = bot.fake.wait_for(lambda: bot.fake.ephemerals(INCIDENT_CHANNEL, REQUESTER))[0]
    assert "could not show its card" in notice["text"]
    assert "The channel is archived. Unarchive it, then press Retry." in notice["text"]
    assert bot.bot.timers.pending("hotfix-1-card-") == []  # retrying cannot help


def test_card_refused_by_slack_is_reported_and_retried(running_bot: RunningBot) -> None:
    bot = running_bot
    modal = start(bot)
    # Refused until the bot is invited: every post (a later change tries the card again).
    bot.fake.fail("chat.postMessage", "not_in_channel", times=1000)
    bot.slack.submit_view(modal["id"], user_id=REQUESTER, values={"Impact": "Everyone"})

    notice = bot.fake.wait_for(lambda: bot.fake.ephemerals(INCIDENT_CHANNEL, REQUESTER))[0]
    hotfix = bot.rows(Hotfix)[0]
    assert f"*HF-{hotfix.id}* is recorded, but I could not show its card" in notice["text"]
    assert "`not_in_channel`" in notice["text"] and "/invite @Hotfix Bot" in notice["text"]
    assert bot.fake.messages(INCIDENT_CHANNEL) == []
    # (the production tag is read meanwhile, on its own lane: its change tries the card too)
    kinds = [e.kind for e in bot.rows(Event) if e.kind != "base_chosen"]
    assert kinds[0] == "assess" and set(kinds[1:]) == {"card_failed"}, kinds

    bot.fake.forget_faults("chat.postMessage")  # the bot is invited

    bot.slack.click(
        channel_id=INCIDENT_CHANNEL,
        label="Retry posting the card",
        user_id=REQUESTER,
        ephemeral=True,
        message=notice,
    )
    card = bot.fake.wait_for(lambda: bot.fake.messages(INCIDENT_CHANNEL))[0]
    assert f"HF-{hotfix.id}" in text_of(card["blocks"])
    bot.fake.wait_for(lambda: bot.fake.thread(INCIDENT_CHANNEL, card["ts"]))
    reply = bot.fake.wait_for(lambda: bot.fake.responses(REQUESTER))[-1]
    assert reply["text"] == f"✅ The card of HF-{hotfix.id} is posted."
    assert reply["replace_original"] is True
    bot.fake.wait_for(lambda: len(bot.rows(SlackMessage)) == 3)


def test_when_even_the_ephemeral_fails_the_requester_gets_a_dm(running_bot: RunningBot) -> None:
    bot = running_bot
    modal = start(bot)
    bot.fake.fail("chat.postMessage", "channel_not_found")
    bot.fake.fail("chat.postEphemeral", "channel_not_found")
    bot.slack.submit_view(modal["id"], user_id=REQUESTER, values={"Impact": "Everyone"})
    dm = bot.fake.wait_for(lambda: bot.fake.messages(REQUESTER))[0]
    assert "could not show its card" in dm["text"] and "`channel_not_found`" in dm["text"]


def test_an_expired_trigger_tells_the_user_to_run_the_command_again(
    running_bot: RunningBot,
) -> None:
    bot = running_bot
    bot.fake.fail("views.open", "expired_trigger_id")
    response = bot.slack.slash("start critical x", user_id=REQUESTER, channel_id=INCIDENT_CHANNEL)
    assert response.status == 200
    reply = bot.fake.wait_for(lambda: bot.fake.responses(REQUESTER))[0]
    assert "The form could not open in time. Run the command again." in reply["text"]
    assert reply["response_type"] == "ephemeral"


def test_unexpected_errors_show_a_reference_not_a_trace(running_bot: RunningBot) -> None:
    bot = running_bot
    bot.fake.fail("views.open", "fatal_error")
    bot.slack.slash("start critical x", user_id=REQUESTER, channel_id=INCIDENT_CHANNEL)
    reply = bot.fake.wait_for(lambda: bot.fake.responses(REQUESTER))[0]
    assert reply["text"].startswith("⚠️ Something went wrong on Hotfix Bot's side (reference `")
    assert "Traceback" not in reply["text"] and "SlackApiError" not in reply["text"]


def test_a_huge_body_is_refused_before_it_is_read(running_bot: RunningBot) -> None:
    bot = running_bot
    huge = slash_body("start critical " + "x" * 1_000_000)
    response = bot.slack.send(huge, "application/x-www-form-urlencoded")  # signed, even
    assert response.status == 413
    assert bot.fake.calls_to("views.open") == []
    assert bot.rows(Hotfix) == [] and bot.rows(Event) == []


def test_a_deeply_nested_forged_payload_is_refused_before_it_is_parsed(
    running_bot: RunningBot,
) -> None:
    bot = running_bot
    nested = "[" * 50_000 + "]" * 50_000  # 300 KB urlencoded: small enough to be read
    body = urlencode({"payload": nested}).encode()
    response = bot.slack.send(body, "application/x-www-form-urlencoded", secret="not-ours")
    assert response.status == 401
    assert bot.rows(Event) == []


def test_a_request_from_another_workspace_is_refused_and_changes_nothing(
    running_bot: RunningBot,
) -> None:
    bot = running_bot
    # The bot learns its workspace from auth.test at start; then a request of another team,
    # even one Slack signed, does nothing.
    bot.fake.wait_for(lambda: bot.fake.calls_to("auth.test"))
    fields = bot.slack.slash_payload(
        "start critical From elsewhere", user_id=REQUESTER, channel_id=INCIDENT_CHANNEL
    )
    fields["team_id"] = "T0ELSEWHERE"
    response = bot.slack.send_form(fields)
    assert response.status == 200
    said = bot.fake.wait_for(lambda: bot.fake.responses(REQUESTER))
    assert "serves one Slack workspace" in said[-1]["text"]
    assert bot.fake.calls_to("views.open") == []
    assert bot.rows(Hotfix) == [] and bot.rows(Event) == []
