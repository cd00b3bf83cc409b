"""The router: one Bolt listener per kind, the bot's listener found by its id."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import urlencode

import pytest
from slack_bolt import Ack, App, BoltRequest
from slack_bolt.authorization import AuthorizeResult
from slack_bolt.kwargs_injection.args import Args

from bot.router import Router


def bolt() -> App:
    return App(
        signing_secret="unused",
        authorize=lambda **_: AuthorizeResult(
            enterprise_id=None, team_id="T0", bot_token="xoxb-unused", bot_user_id="U0BOT"
        ),
        request_verification_enabled=False,
        process_before_response=True,
    )


def click(action_id: str) -> BoltRequest:
    payload = {
        "type": "block_actions",
        "team": {"id": "T0"},
        "user": {"id": "U0ALICE"},
        "actions": [{"type": "button", "action_id": action_id, "block_id": "b", "value": "1"}],
    }
    body = urlencode({"payload": json.dumps(payload)})
    return BoltRequest(body=body, headers={"content-type": ["application/x-www-form-urlencoded"]})


def command(text: str) -> BoltRequest:
    body = urlencode({"command": "/hotfix", "text": text, "team_id": "T0", "user_id": "U0ALICE"})
    return BoltRequest(body=body, headers={"content-type": ["application/x-www-form-urlencoded"]})


def test_exact_ids_then_patterns_with_bolts_arguments_by_name() -> None:
    app, seen = bolt(), []
    router = Router(app)

    @router.action("deploy")
    def deploy(ack: Ack, action: dict[str, Any]) -> None:
        seen.append(("deploy", action["action_id"]))
        ack()

    @router.action(re.compile(r"approve:(\w+)"))
    def approve(args: Args) -> None:
        seen.append(("approve", args.action["action_id"]))
        args.ack()

    @router.command("/hotfix")
    def hotfix(ack: Ack, command: dict[str, Any]) -> None:
        ack(text=f"you said {command['text']}")

    assert app.dispatch(click("deploy")).status == 200
    assert app.dispatch(click("approve:cto")).status == 200
    assert seen == [("deploy", "deploy"), ("approve", "approve:cto")]
    answer = app.dispatch(command("status"))
    assert answer.status == 200 and "you said status" in answer.body
    # Bolt sees one listener per kind, however many buttons there are.
    assert len(app._listeners) == 2


def test_a_request_no_listener_takes_is_answered_404_as_bolt_does(
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = bolt()
    router = Router(app)
    router.action("deploy")(lambda ack: ack())
    assert app.dispatch(click("approve:nobody")).status == 404
    assert app.dispatch(click("approve:nobody:deploy")).status == 404  # fullmatch only
    assert "no listener for the action 'approve:nobody'" in caplog.text


def test_two_listeners_for_one_id_are_refused_at_start() -> None:
    router = Router(bolt())
    router.action("deploy")(lambda ack: ack())
    with pytest.raises(ValueError, match="two action listeners for 'deploy'"):
        router.action("deploy")(lambda ack: ack())
