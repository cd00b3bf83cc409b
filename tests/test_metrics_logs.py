"""`GET /metrics` after a run, and JSON log lines that say which hotfix and request they are
about and never carry a secret."""

from __future__ import annotations

import io
import json
import logging
import urllib.request
from pathlib import Path

import pytest

from bot.logs import REDACTED, Redacting, configure, secret_parts
from storage.models import Event
from tests.conftest import (
    BOT_TOKEN,
    EM,
    INCIDENT_CHANNEL,
    REQUESTER,
    SIGNING_SECRET,
    RunningBot,
    ServedBot,
    write_policy,
)
from tests.git_fixtures import Origin
from tests.test_approvals import click, open_hotfix
from workflows.log_context import about_hotfix, about_request, fresh


@pytest.fixture
def policy_path(tmp_path: Path, origin: Origin) -> Path:
    # Escalation fires after a second: a timer to measure the lag of.
    return write_policy(tmp_path, origin, budgets={"assessment": "1s"})


def scrape(url: str) -> dict[str, float]:
    with urllib.request.urlopen(f"{url}/metrics", timeout=10) as answer:
        assert answer.status == 200
        assert answer.headers["Content-Type"].startswith("text/plain")
        text = answer.read().decode()
    samples = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            samples[name] = float(value)
    return samples


def test_metrics_count_what_happened(running_bot: RunningBot) -> None:
    bot = running_bot
    checklist = open_hotfix(bot)
    click(bot, checklist, "Approve as Engineering Manager", EM)
    bot.fake.wait_for(lambda: any(e.kind == "approval" for e in bot.rows(Event)))
    bot.fake.wait_for(lambda: any(e.kind == "escalated" for e in bot.rows(Event)), timeout=10)
    samples = scrape(bot.url)
    assert samples['hotfix_bot_hotfixes{state="awaiting_approval"}'] == 1
    assert samples['hotfix_bot_hotfixes{state="closed"}'] == 0
    assert samples['hotfix_bot_approval_latency_seconds_count{role="engineering_manager"}'] == 1
    assert samples['hotfix_bot_deploy_outcomes_total{outcome="deploy_succeeded"}'] == 0
    assert samples["hotfix_bot_timer_lag_seconds_count"] >= 1  # the escalation's timer
    assert samples['hotfix_bot_timer_lag_seconds_bucket{le="+Inf"}'] >= 1


def test_the_front_serves_the_workers_timer_lag_and_json_logs_without_secrets(
    served_bot: ServedBot,
) -> None:
    bot = served_bot
    bot.slack.slash("start critical Checkout down", user_id=REQUESTER, channel_id=INCIDENT_CHANNEL)
    modal = bot.fake.wait_for(lambda: bot.fake.views() and bot.fake.last_view())
    bot.slack.submit_view(modal["id"], user_id=REQUESTER, values={"Impact": "All checkouts"})
    bot.fake.wait_for(lambda: any(e.kind == "escalated" for e in bot.rows(Event)), timeout=15)
    samples = bot.fake.wait_for(
        lambda: (s := scrape(bot.process.url)).get("hotfix_bot_timer_lag_seconds_count") and s,
        timeout=10,
    )
    assert samples['hotfix_bot_hotfixes{state="awaiting_approval"}'] == 1
    bot.fake.fail("chat.postMessage", error="channel_not_found", times=50)  # a logged failure
    bot.slack.slash("status HF-1", user_id=REQUESTER, channel_id=INCIDENT_CHANNEL)
    bot.fake.wait_for(lambda: bot.fake.responses(REQUESTER), timeout=10)
    bot.fake.wait_for(lambda: '"hotfix_id": "HF-1"' in bot.process.output, timeout=15)
    # A request whose work logs (a hotfix that does not exist): its line names the request.
    bot.slack.slash("abort HF-99 wrong one", user_id=REQUESTER, channel_id=INCIDENT_CHANNEL)
    bot.fake.wait_for(lambda: '"hotfix_id": "HF-99"' in bot.process.output, timeout=15)

    output = bot.process.output
    ours = [line for line in output.splitlines() if line.strip()]
    assert ours and [line for line in ours if not line.startswith("{")] == []
    records = [json.loads(line) for line in ours]  # every one is a JSON object
    assert {"time", "level", "logger", "message"} <= set(records[0])
    assert any(r.get("hotfix_id") == "HF-1" for r in records)
    [unknown] = [r for r in records if r.get("hotfix_id") == "HF-99"]
    assert unknown["request_id"] and unknown["level"] == "WARNING"
    assert BOT_TOKEN not in output and SIGNING_SECRET not in output


@pytest.fixture
def root_logger():  # type: ignore[no-untyped-def]
    """The root logger's handlers and level, put back afterwards (pytest's own included)."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield root
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)


def test_a_secret_in_a_log_line_is_redacted_whatever_the_format(root_logger) -> None:  # type: ignore[no-untyped-def]
    key = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----"
    for fmt in ("json", "text"):
        stream = io.StringIO()
        configure("INFO", fmt, ["xoxb-1234-secret-token", key, None])
        handler = root_logger.handlers[0]
        assert isinstance(handler.formatter, Redacting)
        handler.setStream(stream)  # type: ignore[attr-defined]

        def work() -> None:
            about_hotfix(7)
            about_request("13345224609.738474920.8088930838d88f008e0")
            logging.getLogger("probe").warning(
                "called with xoxb-1234-secret-token and\n%s", key.splitlines()[1]
            )

        fresh(work)
        written = stream.getvalue()
        assert "xoxb-1234-secret-token" not in written and "MIIEvQIBAD" not in written
        assert written.count(REDACTED) == 2
        assert "HF-7" in written and "13345224609.738474920" in written
        if fmt == "json":
            record = json.loads(written)
            assert record["hotfix_id"] == "HF-7" and record["level"] == "WARNING"
    assert "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC" in secret_parts([key])
