"""Events API: the App Home, and Slack's retries handled once."""

from __future__ import annotations

from storage.models import ProcessedRequest
from tests.conftest import EM, INCIDENT_CHANNEL, REQUESTER, RunningBot
from tests.test_start import start, text_of


def test_app_home_lists_active_hotfixes(running_bot: RunningBot) -> None:
    bot = running_bot
    assert bot.slack.app_home_opened(EM).status == 200
    home = bot.fake.wait_for(lambda: bot.fake.home(EM))
    assert "None right now." in text_of(home["blocks"])

    modal = start(bot, "PAY-7 high Refunds fail")
    bot.slack.submit_view(modal["id"], user_id=REQUESTER, values={"Impact": "Refunds"})
    bot.fake.wait_for(lambda: bot.fake.messages(INCIDENT_CHANNEL))
    bot.slack.app_home_opened(EM)
    bot.fake.wait_for(lambda: "Refunds fail" in text_of(bot.fake.home(EM)["blocks"]))
    shown = text_of(bot.fake.home(EM)["blocks"])
    assert "|HF-1>* · Refunds fail — Awaiting approval" in shown  # linked to its thread
    assert f"<#{INCIDENT_CHANNEL}>" in shown


def test_a_retried_event_is_handled_once(running_bot: RunningBot) -> None:
    bot = running_bot
    event = {"type": "app_home_opened", "user": EM, "channel": "D0EM", "tab": "home"}
    first = bot.slack.event(event, event_id="Ev0RETRY")
    retries = [bot.slack.event(event, event_id="Ev0RETRY", retry_num=n) for n in (1, 2)]
    assert [r.status for r in [first, *retries]] == [200, 200, 200]
    bot.fake.wait_for(lambda: bot.fake.home(EM))
    assert len(bot.fake.calls_to("views.publish")) == 1
    assert [r.key for r in bot.rows(ProcessedRequest)] == ["event:Ev0RETRY"]
