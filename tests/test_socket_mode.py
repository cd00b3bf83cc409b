"""Socket Mode end to end: `python app.py` with SLACK_APP_TOKEN, in a real process.

The bot is started exactly as `tests/test_cli.py`'s ``served`` fixture starts it, but with an
app-level token and no signing secret. It calls ``apps.connections.open`` on the fake Slack,
connects to the fake's WebSocket, and receives the same payloads Slack would POST over HTTP,
wrapped in Socket Mode envelopes; its answers come back as acknowledgements.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from bot.render.notices import USAGE
from sandbox.slack_requests import SignedSlackClient
from sandbox.slack_server import FakeSlack
from tests.conftest import BOT_TOKEN, INCIDENT_CHANNEL, POLICY, REQUESTER, ROOT
from tests.test_cli import clean_env, free_port

APP_TOKEN = "xapp-1-A0APP-1-socket-mode-test-secret"
START_TIMEOUT = 30.0


@dataclass
class SocketBot:
    """The bot's process, the fake Slack it is connected to, and payload builders."""

    process: subprocess.Popen[str]
    fake: FakeSlack
    slack: SignedSlackClient
    base_url: str
    output: str | None = None

    def stop(self) -> str:
        """SIGTERM, wait for the exit, and return everything it printed (idempotent)."""
        if self.output is None:
            self.process.send_signal(signal.SIGTERM)
            self.output = self.process.communicate(timeout=30)[0]
        return self.output

    def command(self, text: str, timeout: float = 5.0) -> dict:
        """Type ``/hotfix <text>`` in the incident channel; return the bot's acknowledgement."""
        payload = self.slack.slash_payload(text, user_id=REQUESTER, channel_id=INCIDENT_CHANNEL)
        return self.fake.socket_send("slash_commands", payload, timeout=timeout)

    def open_modal(self, text: str) -> dict:
        """``/hotfix start <text>``: the ack is empty, then the bot opens a new modal."""
        before = len(self.fake.views())
        ack = self.command(f"start {text}")
        assert "payload" not in ack  # an empty ack: the modal is the answer
        return self.fake.wait_for(lambda: len(self.fake.views()) > before and self.fake.last_view())


def _healthy(base_url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{base_url}/healthz", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


@contextmanager
def socket_bot(workdir: Path) -> Iterator[SocketBot]:
    """`python app.py` in Socket Mode, on SQLite, against a fake Slack; stopped with SIGTERM."""
    with FakeSlack(token=BOT_TOKEN, app_token=APP_TOKEN) as fake:
        fake.add_user(REQUESTER, "alice")
        fake.add_channel(INCIDENT_CHANNEL, "inc-checkout")
        (workdir / "hotfix.yml").write_text(yaml.safe_dump(POLICY))
        (workdir / ".env").write_text(f"SLACK_BOT_TOKEN={BOT_TOKEN}\nSLACK_APP_TOKEN={APP_TOKEN}\n")
        port = free_port()
        process = subprocess.Popen(
            [sys.executable, str(ROOT / "app.py")],
            cwd=workdir,
            env=clean_env(SLACK_API_URL=fake.api_url, PORT=str(port)),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        # Only the payload builders are used: nothing is signed or POSTed in Socket Mode.
        slack = SignedSlackClient("http://unused.invalid/", "no-signing-secret", fake)
        bot = SocketBot(process, fake, slack, f"http://127.0.0.1:{port}")
        try:
            deadline = time.monotonic() + START_TIMEOUT
            while not (
                _healthy(bot.base_url) and any(c["open"] for c in fake.socket_connections())
            ):
                if process.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError("it exited or timed out")
                time.sleep(0.05)
        except Exception:
            process.kill()
            bot.output = process.communicate()[0]
            raise AssertionError(f"the bot did not connect in Socket Mode:\n{bot.output}") from None
        try:
            yield bot
        finally:
            output = bot.stop()
            assert process.returncode == 0, output
            assert BOT_TOKEN not in output and APP_TOKEN not in output
        assert (workdir / "hotfix.db").exists()
        fake.assert_valid()


@pytest.fixture(scope="module")
def bot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SocketBot]:
    """One bot for the module: starting and stopping one takes a few seconds."""
    with socket_bot(tmp_path_factory.mktemp("socket-bot")) as running:
        yield running


def test_it_connects_with_the_app_token_and_no_signing_secret(bot: SocketBot) -> None:
    assert len(bot.fake.calls_to("apps.connections.open")) >= 1
    assert any(c["open"] for c in bot.fake.socket_connections())


def test_help_comes_back_in_the_acknowledgement(bot: SocketBot) -> None:
    ack = bot.command("help")
    assert ack["payload"]["text"] == USAGE
    assert ack["payload"]["blocks"][0]["text"]["text"] == USAGE
    assert bot.fake.responses() == []  # answered in the ack, not through response_url


def test_start_opens_the_modal_and_the_submission_posts_the_card(bot: SocketBot) -> None:
    fake, slack = bot.fake, bot.slack
    modal = bot.open_modal("critical Checkout down")
    state = slack.view_state(modal, {"Impact": "typed later"})["values"]
    assert state["assessment_issue"]["issue"]["value"] == "Checkout down"
    assert state["assessment_severity"]["severity"]["selected_option"]["value"] == "critical"

    payload = slack.view_submission_payload(
        modal["id"], user_id=REQUESTER, values={"Impact": "All checkouts fail"}
    )
    ack = fake.socket_send("interactive", payload)
    assert ack.get("payload") is None  # no response_action: the modal closes
    fake.apply_view_submission_response(modal["id"], ack.get("payload"))
    assert not fake.view_is_open(modal["id"])

    card = fake.wait_for(lambda: fake.messages(INCIDENT_CHANNEL))[0]
    assert card["text"] == "HF-1 CRITICAL: Checkout down — Awaiting approval"


def test_invalid_fields_come_back_in_the_acknowledgement(bot: SocketBot) -> None:
    fake, slack = bot.fake, bot.slack
    modal = bot.open_modal("high Search is slow")
    payload = slack.view_submission_payload(
        modal["id"], user_id=REQUESTER, values={"Impact": "x", "Estimated fix time": "soon-ish"}
    )
    ack = fake.socket_send("interactive", payload)
    assert ack["payload"]["response_action"] == "errors"
    assert "not a duration" in ack["payload"]["errors"]["assessment_estimated_fix"]
    fake.apply_view_submission_response(modal["id"], ack["payload"])
    assert fake.view_is_open(modal["id"])


def test_healthz_is_served_on_port(bot: SocketBot) -> None:
    with urllib.request.urlopen(f"{bot.base_url}/healthz", timeout=5) as response:
        assert response.status == 200
        assert json.load(response) == {"status": "ok", "database": "ok", "worker": "ok"}


def test_the_http_port_takes_no_slack_requests(bot: SocketBot) -> None:
    """Socket Mode checks no signatures, so a forged POST must find nothing to talk to."""
    request = urllib.request.Request(
        f"{bot.base_url}/slack/events",
        data=b"command=/hotfix&text=help&user_id=U0CTO",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=5)
    assert refused.value.code == 404


def test_it_reconnects_when_slack_refreshes_the_connection(bot: SocketBot) -> None:
    fake = bot.fake
    made = len(fake.socket_connections())
    fake.socket_disconnect("refresh_requested")
    fake.wait_for_socket(connections=made + 1)
    # slack_sdk's message thread closes the old connection before it reads on, and that waits
    # for the old connection's 3 s receive timeout: right after a refresh, acks take ~3 s.
    assert bot.command("help", timeout=10)["payload"]["text"] == USAGE
    # (A link Slack drops without "disconnect" is only noticed by slack_sdk's monitor, every
    # ping_interval = 10 s under Bolt: too slow to wait for here.)


def test_sigterm_stops_it_cleanly(tmp_path: Path) -> None:
    with socket_bot(tmp_path) as running:
        # Serving first: a stop within ~0.1 s of connecting can hit slack_sdk's close() race,
        # which app.py bounds at 8 s (see _serve_socket_mode).
        assert running.command("help")["payload"]["text"] == USAGE
        started = time.monotonic()
        output = running.stop()
        took = time.monotonic() - started
        assert running.process.returncode == 0, output
        assert "Hotfix Bot connecting in Socket Mode" in output
        assert "Hotfix Bot stopping" in output
        assert "Traceback" not in output
        assert BOT_TOKEN not in output and APP_TOKEN not in output
        assert took < 10, f"took {took:.1f}s to stop"
        running.fake.wait_for(lambda: not any(c["open"] for c in running.fake.socket_connections()))
