"""Tests of the offline Slack harness itself (FakeSlack + SignedSlackClient), over real HTTP."""

from __future__ import annotations

import base64
import json
import os
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest
from slack_bolt import App
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from slack_sdk.socket_mode.builtin import SocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse

from sandbox.slack_requests import SignedSlackClient, sign
from sandbox.slack_server import FakeSlack, validate_blocks, validate_view, wait_for

TOKEN = "xoxb-test-token"
APP_TOKEN = "xapp-test-token"
SECRET = "test-signing-secret"
ALICE = "U0ALICE"
BOB = "U0BOB"


def section(text: str, **extra: Any) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}, **extra}


def modal(title: str = "Start hotfix", blocks: list[dict[str, Any]] | None = None) -> dict:
    return {
        "type": "modal",
        "callback_id": "hotfix_start",
        "title": {"type": "plain_text", "text": title},
        "submit": {"type": "plain_text", "text": "Start"},
        "blocks": blocks or [section("Loading…")],
    }


def expect_error(error: str, call: Any, *args: Any, **kwargs: Any) -> SlackApiError:
    with pytest.raises(SlackApiError) as info:
        call(*args, **kwargs)
    assert info.value.response["error"] == error, info.value.response.data
    return info.value


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack(trigger_ttl=0.3) as server:
        server.add_user(ALICE, "alice", "Alice Liddell", tz="Europe/Berlin")
        server.add_user(BOB, "bob")
        server.add_channel("C0OPS", "ops")
        server.add_channel("C0SECRET", "secret", is_private=True, bot_is_member=False)
        yield server
        server.assert_valid()


@pytest.fixture
def web(fake: FakeSlack) -> WebClient:
    return WebClient(token=TOKEN, base_url=fake.api_url)


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def bolt(fake: FakeSlack) -> Iterator[tuple[App, SignedSlackClient, dict[str, list[Any]]]]:
    """A minimal Bolt app served over WSGI, plus a signed client pointing at it."""
    app = App(
        client=WebClient(token=TOKEN, base_url=fake.api_url),
        signing_secret=SECRET,
        process_before_response=True,
    )
    seen: dict[str, list[Any]] = {"commands": [], "views": [], "actions": [], "events": []}

    @app.command("/hotfix")
    def on_command(ack: Any, body: dict[str, Any], client: WebClient, respond: Any) -> None:
        ack()
        seen["commands"].append(body)
        if body["text"] == "start":
            client.views_open(trigger_id=body["trigger_id"], view=modal())
        else:
            respond(text=f"echo {body['text']}", response_type="in_channel")

    @app.view("hotfix_start")
    def on_submit(ack: Any, view: dict[str, Any]) -> None:
        seen["views"].append(view)
        values = view["state"]["values"]
        if values["summary"]["summary_input"]["value"] == "bad":
            ack(response_action="errors", errors={"summary": "Too vague"})
        else:
            ack()

    @app.action("approve")
    def on_approve(ack: Any, body: dict[str, Any], respond: Any) -> None:
        ack()
        seen["actions"].append(body)
        respond(replace_original=True, text="Approved by <@" + body["user"]["id"] + ">")

    @app.action("details")
    def on_details(ack: Any, body: dict[str, Any], client: WebClient) -> None:
        ack()
        seen["actions"].append(body)
        client.views_push(trigger_id=body["trigger_id"], view=modal("Details"))

    @app.event("app_home_opened")
    def on_home(event: dict[str, Any], client: WebClient) -> None:
        seen["events"].append(event)
        client.views_publish(
            user_id=event["user"], view={"type": "home", "blocks": [section("Welcome")]}
        )

    server: WSGIServer = make_server(
        "127.0.0.1", 0, SlackRequestHandler(app), handler_class=_QuietHandler
    )
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}/slack/events"
    try:
        yield app, SignedSlackClient(url, SECRET, fake), seen
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


# ------------------------------------------------------------------------------ messages


def test_post_update_thread_and_delete(fake: FakeSlack, web: WebClient) -> None:
    auth = web.auth_test()
    assert (auth["user_id"], auth["bot_id"], auth["team_id"]) == ("U0BOT", "B0BOT", "T0TEST")

    first = web.chat_postMessage(channel="C0OPS", text="Hotfix started", blocks=[section("*hi*")])
    assert first["channel"] == "C0OPS"
    assert first["message"]["text"] == "Hotfix started"
    assert first["message"]["blocks"][0]["block_id"]  # Slack fills in block ids
    reply = web.chat_postMessage(channel="C0OPS", text="step 1", thread_ts=first["ts"])
    second = web.chat_postMessage(channel="C0OPS", text="another")
    assert float(first["ts"]) < float(reply["ts"]) < float(second["ts"])
    assert len(first["ts"].split(".")[1]) == 6

    updated = web.chat_update(channel="C0OPS", ts=first["ts"], text="Hotfix finished")
    assert updated["text"] == "Hotfix finished"
    assert updated["message"]["blocks"][0]["text"]["text"] == "*hi*"  # blocks kept

    top = fake.messages("C0OPS")
    assert [m["text"] for m in top] == ["Hotfix finished", "another"]
    assert top[0]["reply_count"] == 1
    assert top[0]["user"] == "U0BOT" and top[0]["bot_id"] == "B0BOT"
    replies = fake.thread("C0OPS", first["ts"])
    assert [(m["text"], m["thread_ts"]) for m in replies] == [("step 1", first["ts"])]
    assert fake.message("C0OPS", reply["ts"])["text"] == "step 1"

    link = web.chat_getPermalink(channel="C0OPS", message_ts=reply["ts"])["permalink"]
    assert link.startswith(fake.base_url + "/archives/C0OPS/p")
    assert f"thread_ts={first['ts']}" in link

    web.chat_delete(channel="C0OPS", ts=second["ts"])
    assert fake.message("C0OPS", second["ts"]) is None
    expect_error("message_not_found", web.chat_update, channel="C0OPS", ts="1.000001", text="x")
    expect_error(
        "thread_not_found", web.chat_postMessage, channel="C0OPS", text="x", thread_ts="1.2"
    )
    assert [c["channel"] for c in fake.calls_to("chat.delete")] == ["C0OPS"]


@pytest.mark.filterwarnings("ignore:The top-level `text` argument is missing")
def test_channels_dms_and_ephemerals(fake: FakeSlack, web: WebClient) -> None:
    dm = web.chat_postMessage(channel=ALICE, text="psst")
    assert dm["channel"].startswith("D") and dm["channel"] == fake.dm_channel(ALICE)
    assert [m["text"] for m in fake.messages(ALICE)] == ["psst"]
    expect_error("channel_not_found", web.chat_postMessage, channel="C0NOPE", text="x")
    expect_error("channel_not_found", web.chat_postMessage, channel="U0NOBODY", text="x")
    expect_error("not_in_channel", web.chat_postMessage, channel="C0SECRET", text="x")
    expect_error("no_text", web.chat_postMessage, channel="C0OPS")

    answer = web.chat_postEphemeral(channel="C0OPS", user=BOB, text="only you")
    (eph,) = fake.ephemerals("C0OPS", BOB)
    assert eph["ts"] == answer["message_ts"] and eph["text"] == "only you"
    assert fake.ephemerals(user_id=ALICE) == []
    assert fake.messages("C0OPS") == []


def test_form_encoded_and_json_string_arguments(fake: FakeSlack, web: WebClient) -> None:
    blocks = json.dumps([section("from a form")])
    web.api_call("chat.postMessage", params={"channel": "C0OPS", "text": "t", "blocks": blocks})
    (message,) = fake.messages("C0OPS")
    assert message["blocks"][0]["text"]["text"] == "from a form"
    call = fake.calls[-1]
    assert call.args["blocks"] == [section("from a form")]
    assert call.wire == "form"

    web.chat_postMessage(channel="C0OPS", text="json")
    assert fake.calls[-1].wire == "json"


def test_users_and_usergroups_via_query_params(fake: FakeSlack, web: WebClient) -> None:
    user = web.users_info(user=ALICE)["user"]
    assert user["id"] == ALICE and user["name"] == "alice" and user["real_name"] == "Alice Liddell"
    assert user["profile"]["display_name"] == "alice"
    assert user["tz"] == "Europe/Berlin" and user["tz_offset"] in (3600, 7200)
    assert user["is_bot"] is False
    # The sync WebClient sends its "GET" methods as a POST with a form body.
    assert (fake.calls[-1].http_method, fake.calls[-1].wire) == ("POST", "form")
    expect_error("user_not_found", web.users_info, user="U0NOBODY")

    fake.set_usergroup("S0ONCALL", [ALICE, BOB])
    assert web.usergroups_users_list(usergroup="S0ONCALL")["users"] == [ALICE, BOB]
    expect_error("no_such_subteam", web.usergroups_users_list, usergroup="S0NOPE")

    # A real GET with query parameters (as other clients send) works too.
    request = urllib.request.Request(
        fake.api_url + "usergroups.users.list?usergroup=S0ONCALL",
        headers={"Authorization": f"Bearer {TOKEN}"},
    )
    with urllib.request.urlopen(request, timeout=5) as answer:
        assert json.load(answer) == {"ok": True, "users": [ALICE, BOB]}
    assert (fake.calls[-1].http_method, fake.calls[-1].wire) == ("GET", "query")


# ------------------------------------------------------------------------------ validation


@pytest.mark.parametrize(
    ("blocks", "fragment"),
    [
        ([section("x" * 3001)], "3000"),
        ([{"type": "header", "text": {"type": "plain_text", "text": "h" * 151}}], "150"),
        ([{"type": "section", "txt": {"type": "mrkdwn", "text": "typo"}}], "blocks[0]"),
        ([{"type": "sektion", "text": {"type": "mrkdwn", "text": "x"}}], "unknown block type"),
        ([section("ok", color="red")], "color"),
        ([section("x")] * 51, "at most 50"),
        ([{"type": "header", "text": {"type": "mrkdwn", "text": "h"}}], "plain_text"),
        ([section("a", block_id="b1"), section("b", block_id="b1")], "duplicate block_id"),
    ],
)
def test_invalid_message_blocks_are_rejected(
    fake: FakeSlack, web: WebClient, blocks: list[dict[str, Any]], fragment: str
) -> None:
    error = expect_error(
        "invalid_blocks", web.chat_postMessage, channel="C0OPS", text="t", blocks=blocks
    )
    assert any(fragment in e for e in error.response["errors"]), error.response["errors"]
    assert fake.messages("C0OPS") == []
    with pytest.raises(AssertionError, match="invalid Slack payload"):
        fake.assert_valid()
    fake.validation_errors.clear()


def test_too_long_text_and_invalid_views(fake: FakeSlack, web: WebClient) -> None:
    expect_error("msg_too_long", web.chat_postMessage, channel="C0OPS", text="x" * 40_001)
    trigger = fake.issue_trigger(ALICE)
    error = expect_error("invalid_blocks", web.views_open, trigger_id=trigger, view=modal("t" * 25))
    assert "title" in " ".join(error.response["errors"])
    metadata = {**modal(), "private_metadata": "m" * 3001}
    expect_error("invalid_blocks", web.views_open, trigger_id=trigger, view=metadata)
    typo = {**modal(), "callbak_id": "x"}
    expect_error("invalid_blocks", web.views_open, trigger_id=trigger, view=typo)
    assert len(fake.validation_errors) == 4
    fake.validation_errors.clear()
    web.views_open(trigger_id=trigger, view=modal("t" * 24))  # the trigger was not used up


def test_validators_directly() -> None:
    assert validate_blocks([section("fine"), {"type": "divider"}], limit=50) == []
    assert validate_blocks("nope", limit=50)
    assert validate_view(modal()) == []
    assert validate_view({"type": "home", "blocks": [section("x")]}) == []
    assert validate_view({**modal(), "title": "plain string"})  # must be a text object
    assert validate_view({"type": "home", "blocks": [section("x")], "submit": modal()["submit"]})


# ------------------------------------------------------------------------------ auth & faults


def test_bad_token_and_missing_scope(fake: FakeSlack) -> None:
    bad = WebClient(token="xoxb-wrong", base_url=fake.api_url)
    expect_error("invalid_auth", bad.auth_test)
    expect_error("not_authed", WebClient(token=None, base_url=fake.api_url).auth_test)
    expect_error("unknown_method", WebClient(TOKEN, base_url=fake.api_url).api_call, "chat.nope")

    with FakeSlack(scopes=["chat:write"]) as scoped:
        scoped.add_channel("C1", "general")
        client = WebClient(token=TOKEN, base_url=scoped.api_url)
        client.chat_postMessage(channel="C1", text="allowed")
        error = expect_error("missing_scope", client.users_info, user=ALICE)
        assert error.response["needed"] == "users:read"
        assert error.response["provided"] == "chat:write"
        scoped.add_channel("C2", "elsewhere", bot_is_member=False)
        expect_error("not_in_channel", client.chat_postMessage, channel="C2", text="x")
        scoped.assert_valid()


def test_rate_limit_and_server_error(fake: FakeSlack, web: WebClient) -> None:
    fake.fail("chat.postMessage", http_status=429, retry_after=7)
    error = expect_error("ratelimited", web.chat_postMessage, channel="C0OPS", text="x")
    assert error.response.status_code == 429
    assert error.response.headers["Retry-After"] == "7"

    fake.fail("chat.postMessage", http_status=500)
    with pytest.raises(SlackApiError) as info:
        web.chat_postMessage(channel="C0OPS", text="x")
    assert info.value.response.status_code == 500
    assert "non-JSON" in info.value.response["error"]

    fake.fail("chat.postMessage", error="fatal_error", times=2)
    expect_error("fatal_error", web.chat_postMessage, channel="C0OPS", text="x")
    expect_error("fatal_error", web.chat_postMessage, channel="C0OPS", text="x")

    fake.fail("chat.postMessage", http_status=429, retry_after=0)
    retrying = WebClient(
        token=TOKEN, base_url=fake.api_url, retry_handlers=[RateLimitErrorRetryHandler()]
    )
    assert retrying.chat_postMessage(channel="C0OPS", text="eventually")["ok"]
    assert [m["text"] for m in fake.messages("C0OPS")] == ["eventually"]
    assert len(fake.calls_to("chat.postMessage")) == 6

    fake.reset()
    assert fake.calls == [] and fake.messages("C0OPS") == []
    assert web.users_info(user=ALICE)["ok"]  # users survive a reset


# ------------------------------------------------------------------------------ views


def test_trigger_expiry_and_reuse(fake: FakeSlack, web: WebClient) -> None:
    expect_error("invalid_trigger_id", web.views_open, trigger_id="1.2.nope", view=modal())
    trigger = fake.issue_trigger(ALICE)
    web.views_open(trigger_id=trigger, view=modal())
    expect_error("invalid_trigger_id", web.views_open, trigger_id=trigger, view=modal())
    stale = fake.issue_trigger(ALICE)
    time.sleep(0.35)  # fixture's trigger_ttl is 0.3 s (Slack's is 3 s)
    expect_error("expired_trigger_id", web.views_open, trigger_id=stale, view=modal())
    expect_error("expired_trigger_id", web.views_push, trigger_id=stale, view=modal())


def test_views_update_push_publish(fake: FakeSlack, web: WebClient) -> None:
    opened = web.views_open(trigger_id=fake.issue_trigger(ALICE), view=modal())["view"]
    assert opened["id"].startswith("V") and opened["root_view_id"] == opened["id"]
    assert opened["state"] == {"values": {}} and opened["callback_id"] == "hotfix_start"

    loaded = modal(blocks=[section("Pick a service")])
    updated = web.views_update(view_id=opened["id"], hash=opened["hash"], view=loaded)["view"]
    assert updated["hash"] != opened["hash"]
    stale = {"view_id": opened["id"], "hash": opened["hash"], "view": loaded}
    expect_error("hash_conflict", web.views_update, **stale)
    expect_error("not_found", web.views_update, view_id="V0NOPE", view=loaded)
    assert fake.view(opened["id"])["blocks"][0]["text"]["text"] == "Pick a service"

    trigger = fake.issue_trigger(ALICE, view_id=opened["id"])  # as if clicked in the modal
    confirm = {**modal("Confirm"), "external_id": "confirm-1"}
    pushed = web.views_push(trigger_id=trigger, view=confirm)["view"]
    assert pushed["previous_view_id"] == opened["id"]
    assert pushed["root_view_id"] == opened["id"]
    web.views_update(
        external_id="confirm-1", view={**modal("Confirmed"), "external_id": "confirm-1"}
    )
    assert fake.view(pushed["id"])["title"]["text"] == "Confirmed"
    assert [v["id"] for v in fake.views()] == [opened["id"], pushed["id"]]
    assert fake.last_view()["id"] == pushed["id"]

    home = {"type": "home", "blocks": [section("Welcome home")]}
    published = web.views_publish(user_id=ALICE, view=home)["view"]
    assert fake.home(ALICE)["id"] == published["id"]
    assert fake.home(BOB) is None
    expect_error("invalid_blocks", web.views_publish, user_id=ALICE, view=modal())
    fake.validation_errors.clear()


# ------------------------------------------------------------------------------ response_url


def _post_json(url: str, data: dict[str, Any]) -> tuple[int, str]:
    request = urllib.request.Request(
        url, data=json.dumps(data).encode(), headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()


def test_response_url(fake: FakeSlack, web: WebClient) -> None:
    url = fake.new_response_url("C0OPS", ALICE)
    assert url.startswith(fake.base_url + "/response/")
    assert _post_json(url, {"text": "just you"}) == (200, "ok")
    assert _post_json(url, {"text": "everyone", "response_type": "in_channel"})[0] == 200
    assert [e["text"] for e in fake.ephemerals("C0OPS", ALICE)] == ["just you"]
    assert [m["text"] for m in fake.messages("C0OPS")] == ["everyone"]
    assert [r["response_type"] for r in fake.responses(ALICE)] == ["ephemeral", "in_channel"]
    assert fake.responses(BOB) == []

    original = web.chat_postMessage(channel="C0OPS", text="Approve?")
    clicked = fake.new_response_url("C0OPS", BOB, message_ts=original["ts"])
    assert _post_json(clicked, {"text": "Approved", "replace_original": True})[0] == 200
    assert fake.message("C0OPS", original["ts"])["text"] == "Approved"

    status, body = _post_json(clicked, {"blocks": [section("y" * 3001)]})
    assert (status, body) == (400, "invalid_blocks")
    assert len(fake.validation_errors) == 1 and "response_url" in fake.validation_errors[0]
    fake.validation_errors.clear()

    assert _post_json(clicked, {"delete_original": True})[0] == 200
    assert fake.message("C0OPS", original["ts"]) is None
    assert _post_json(fake.base_url + "/response/nope", {"text": "x"})[0] == 404


# ------------------------------------------------------------------------------ wait_for


def test_wait_for(fake: FakeSlack, web: WebClient) -> None:
    timer = threading.Timer(0.05, lambda: web.chat_postMessage(channel="C0OPS", text="later"))
    timer.start()
    first = fake.wait_for(lambda: fake.messages("C0OPS")[0])  # IndexError means "not yet"
    assert first["text"] == "later"
    timer.join()
    with pytest.raises(AssertionError, match=r"(?s)timed out.*chat.postMessage"):
        fake.wait_for(lambda: fake.messages("C0NOPE"), timeout=0.1, message="a message")


# ------------------------------------------------------------------------------ signed client


def test_signature_checked_by_bolt(bolt: Any, fake: FakeSlack) -> None:
    _, slack, seen = bolt
    ok = slack.slash("status", user_id=ALICE, channel_id="C0OPS")
    assert ok.status == 200
    (command,) = seen["commands"]
    assert command["user_name"] == "alice" and command["channel_name"] == "ops"
    assert command["response_url"] == slack.last_response_url
    assert command["trigger_id"] == slack.last_trigger_id
    assert [m["text"] for m in fake.messages("C0OPS")] == ["echo status"]

    body = b"command=%2Fhotfix&text=x"
    form = "application/x-www-form-urlencoded"
    assert slack.send(body, form, secret="wrong-secret").status == 401
    assert slack.send(body, form, timestamp=int(time.time()) - 600).status == 401
    stamp = int(time.time())
    assert (
        slack.send(body, form, timestamp=stamp, signature=sign(SECRET, stamp, b"other")).status
        == 401
    )
    assert len(seen["commands"]) == 1
    assert slack.url_verification("chal-123").json() == {"challenge": "chal-123"}


def test_submit_view_builds_state(fake: FakeSlack, web: WebClient, bolt: Any) -> None:
    _, slack, seen = bolt
    options = [
        {"text": {"type": "plain_text", "text": "Payments API"}, "value": "payments"},
        {"text": {"type": "plain_text", "text": "Web"}, "value": "web"},
    ]
    blocks = [
        {
            "type": "input",
            "block_id": "summary",
            "label": {"type": "plain_text", "text": "Summary"},
            "element": {
                "type": "plain_text_input",
                "action_id": "summary_input",
                "initial_value": "Fix login",
            },
        },
        {
            "type": "input",
            "block_id": "service",
            "label": {"type": "plain_text", "text": "Service"},
            "element": {
                "type": "static_select",
                "action_id": "service_select",
                "options": options,
                "initial_option": options[1],
            },
        },
        {
            "type": "input",
            "block_id": "owner",
            "label": {"type": "plain_text", "text": "Owner"},
            "element": {"type": "users_select", "action_id": "owner_select"},
        },
        {
            "type": "input",
            "block_id": "checks",
            "optional": True,
            "label": {"type": "plain_text", "text": "Checks"},
            "element": {"type": "checkboxes", "action_id": "checks_box", "options": options},
        },
        {
            "type": "input",
            "block_id": "when",
            "optional": True,
            "label": {"type": "plain_text", "text": "Deploy at"},
            "element": {"type": "datetimepicker", "action_id": "when_picker"},
        },
    ]
    assert slack.slash("start", user_id=ALICE, channel_id="C0OPS").status == 200
    view = fake.last_view()
    web.views_update(view_id=view["id"], view=modal(blocks=blocks))

    with pytest.raises(KeyError, match="Summary"):
        slack.submit_view(view["id"], user_id=ALICE, values={"Nope": "x"})
    with pytest.raises(ValueError, match="Owner"):
        slack.submit_view(view["id"], user_id=ALICE)  # required users_select left empty

    answer = slack.submit_view(
        view["id"],
        user_id=ALICE,
        values={"owner": BOB, "Service": "payments api", "summary": "bad"},
    )
    assert answer.status == 200
    assert answer.json() == {"response_action": "errors", "errors": {"summary": "Too vague"}}
    assert fake.view_is_open(view["id"])
    values = seen["views"][-1]["state"]["values"]
    assert values["summary"]["summary_input"] == {"type": "plain_text_input", "value": "bad"}
    assert values["service"]["service_select"]["selected_option"]["value"] == "payments"
    assert values["owner"]["owner_select"] == {"type": "users_select", "selected_user": BOB}
    assert values["checks"]["checks_box"] == {"type": "checkboxes", "selected_options": []}
    assert values["when"]["when_picker"] == {
        "type": "datetimepicker",
        "selected_date_time": None,
    }

    answer = slack.submit_view(
        view["id"],
        user_id=ALICE,
        values={"Owner": BOB, "Checks": ["web", "Payments API"], "Deploy at": 1_700_000_000},
    )
    assert answer.status == 200 and answer.json() is None
    submitted = seen["views"][-1]
    assert submitted["id"] == view["id"] and submitted["callback_id"] == "hotfix_start"
    values = submitted["state"]["values"]
    assert values["summary"]["summary_input"]["value"] == "Fix login"  # the initial value
    assert values["service"]["service_select"]["selected_option"]["value"] == "web"
    assert [o["value"] for o in values["checks"]["checks_box"]["selected_options"]] == [
        "web",
        "payments",
    ]
    assert values["when"]["when_picker"]["selected_date_time"] == 1_700_000_000
    assert not fake.view_is_open(view["id"])


def test_click_button_and_events(fake: FakeSlack, web: WebClient, bolt: Any) -> None:
    _, slack, seen = bolt
    actions = {
        "type": "actions",
        "block_id": "decision",
        "elements": [
            {
                "type": "button",
                "text": {"type": "plain_text", "text": "Approve hotfix"},
                "action_id": "approve",
                "value": "hf-1",
                "style": "primary",
            },
            {
                "type": "button",
                "text": {"type": "plain_text", "text": "Reject"},
                "action_id": "reject",
            },
        ],
    }
    posted = web.chat_postMessage(channel="C0OPS", text="Approve?", blocks=[actions])
    with pytest.raises(KeyError, match="Reject"):
        slack.click(channel_id="C0OPS", ts=posted["ts"], label="Merge", user_id=BOB)

    assert (
        slack.click(channel_id="C0OPS", ts=posted["ts"], label="approve", user_id=BOB).status == 200
    )
    (body,) = seen["actions"]
    assert body["container"] == {
        "type": "message",
        "message_ts": posted["ts"],
        "channel_id": "C0OPS",
        "is_ephemeral": False,
    }
    (action,) = body["actions"]
    assert (action["action_id"], action["block_id"], action["value"], action["style"]) == (
        "approve",
        "decision",
        "hf-1",
        "primary",
    )
    assert body["message"]["ts"] == posted["ts"] and body["channel"]["name"] == "ops"
    assert fake.message("C0OPS", posted["ts"])["text"] == f"Approved by <@{BOB}>"

    assert slack.app_home_opened(ALICE).status == 200
    assert seen["events"][0]["channel"] == fake.dm_channel(ALICE)
    assert fake.home(ALICE)["blocks"][0]["text"]["text"] == "Welcome"
    retry = slack.event(seen["events"][0], retry_num=1, event_id=slack.last_event_id)
    assert retry.status == 200 and len(seen["events"]) == 2


def test_click_ephemeral_and_in_view(fake: FakeSlack, web: WebClient, bolt: Any) -> None:
    _, slack, seen = bolt
    button = {
        "type": "button",
        "text": {"type": "plain_text", "text": "Approve"},
        "action_id": "approve",
    }
    blocks = [section("Approve?", accessory=button)]
    posted = web.chat_postEphemeral(channel="C0OPS", user=BOB, text="Approve?", blocks=blocks)
    ts = posted["message_ts"]
    answer = slack.click(channel_id="C0OPS", ts=ts, label="Approve", user_id=BOB, ephemeral=True)
    assert answer.status == 200
    body = seen["actions"][-1]
    assert body["container"]["is_ephemeral"] is True and "message" not in body
    (ephemeral,) = fake.ephemerals("C0OPS", BOB)
    assert ephemeral["text"] == f"Approved by <@{BOB}>" and ephemeral["blocks"] == []

    details = {
        "type": "actions",
        "elements": [{**button, "text": {"type": "plain_text", "text": "More details"}}],
    }
    details["elements"][0]["action_id"] = "details"
    opened = web.views_open(
        trigger_id=fake.issue_trigger(ALICE), view=modal(blocks=[section("Hi"), details])
    )["view"]
    assert slack.click_in_view(opened["id"], "more", ALICE).status == 200
    body = seen["actions"][-1]
    assert body["container"] == {"type": "view", "view_id": opened["id"]}
    assert body["view"]["id"] == opened["id"]
    pushed = fake.last_view()
    assert pushed["title"]["text"] == "Details"
    assert pushed["previous_view_id"] == opened["id"]


# ------------------------------------------------------------------------------ Socket Mode


def websocket_handshake(url: str) -> tuple[int, socket.socket]:
    """Open a WebSocket to ``url`` by hand; return the HTTP status and the socket."""
    parts = urlsplit(url)
    assert parts.hostname and parts.port
    sock = socket.create_connection((parts.hostname, parts.port), timeout=5)
    key = base64.b64encode(os.urandom(16)).decode()
    request = (
        f"GET {parts.path}?{parts.query} HTTP/1.1\r\nHost: {parts.hostname}\r\n"
        "Upgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    sock.sendall(request.encode())
    status_line = sock.makefile("rb").readline()
    return int(status_line.split()[1]), sock


def test_apps_connections_open_and_the_handshake(fake: FakeSlack, web: WebClient) -> None:
    app_client = WebClient(token=APP_TOKEN, base_url=fake.api_url)
    url = app_client.apps_connections_open(app_token=APP_TOKEN)["url"]
    assert url.startswith(fake.base_url.replace("http://", "ws://") + "/link/?ticket=")
    expect_error("not_allowed_token_type", web.apps_connections_open, app_token=TOKEN)
    expect_error("invalid_auth", web.apps_connections_open, app_token="xapp-wrong")
    expect_error("not_allowed_token_type", app_client.auth_test)

    plain = urllib.request.Request(url.replace("ws://", "http://"))
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(plain, timeout=5)
    assert refused.value.code == 400  # not a WebSocket upgrade

    status, sock = websocket_handshake(url)
    assert status == 101
    fake.wait_for_socket()
    sock.close()
    wait_for(lambda: not fake.socket_connections()[0]["open"])
    status, again = websocket_handshake(url)  # tickets are single-use
    again.close()
    assert status == 401
    assert len(fake.socket_connections()) == 1


def test_slack_sdk_socket_mode_client_round_trip(fake: FakeSlack) -> None:
    """slack_sdk's own client: hello, envelopes and acks, pings both ways, reconnection."""
    received: list[str] = []
    requests: list[SocketModeRequest] = []

    def answer(client: Any, request: SocketModeRequest) -> None:
        requests.append(request)
        payload = None
        if request.accepts_response_payload:
            payload = {"text": f"got {len(request.payload['text'])} characters"}
        client.send_socket_mode_response(SocketModeResponse(request.envelope_id, payload))

    client = SocketModeClient(
        APP_TOKEN,
        web_client=WebClient(base_url=fake.api_url),
        auto_reconnect_enabled=False,  # "disconnect" still reconnects; teardown stays quick
        on_message_listeners=[received.append],
    )
    client.socket_mode_request_listeners.append(answer)
    try:
        client.connect()
        fake.wait_for_socket()
        hello = json.loads(wait_for(lambda: received[0]))
        assert hello["type"] == "hello" and hello["connection_info"] == {"app_id": "A0APP"}

        big = "x" * 70_000  # over 64 KiB: the 64-bit length form of a frame
        ack = fake.socket_send("slash_commands", {"text": big})
        assert ack["payload"] == {"text": "got 70000 characters"}
        event_ack = fake.socket_send("events_api", {"text": "", "type": "event_callback"})
        assert "payload" not in event_ack  # events do not accept a response payload
        assert (requests[-1].retry_attempt, requests[-1].retry_reason) == (0, "")
        assert [(a["type"], a["payload"]) for a in fake.socket_acks()] == [
            ("slash_commands", {"text": "got 70000 characters"}),
            ("events_api", None),
        ]

        # The client pings on connect and the fake answers; the fake's pings get pongs.
        wait_for(lambda: client.current_session.last_ping_pong_time)
        fake.socket_ping(b"still there?")
        assert fake.socket_connections()[0]["pings"] >= 1

        fake.socket_disconnect("refresh_requested")
        fake.wait_for_socket(connections=2)
        assert fake.socket_send("slash_commands", {"text": "abc"})["payload"] == {
            "text": "got 3 characters"
        }

        client.send_message(json.dumps({"envelope_id": "never-sent"}))
        problem = wait_for(lambda: fake.validation_errors)[0]
        assert "acknowledged an unknown envelope" in problem
        fake.validation_errors.clear()

        fake.socket_close(1011)  # Slack drops the link
        wait_for(lambda: not client.is_connected())
        wait_for(lambda: not any(c["open"] for c in fake.socket_connections()))
    finally:
        fake.stop()  # closes the links first, so the client's close() does not wait
        client.close()


def test_bolt_over_socket_mode_with_the_client_payloads(
    fake: FakeSlack, web: WebClient, bolt: Any
) -> None:
    """The payloads SignedSlackClient posts over HTTP, delivered over Socket Mode instead."""
    app, slack, seen = bolt
    handler = SocketModeHandler(app, APP_TOKEN, auto_reconnect_enabled=False)
    handler.connect()
    try:
        fake.wait_for_socket()
        command = slack.slash_payload("status", user_id=ALICE, channel_id="C0OPS")
        assert "payload" not in fake.socket_send("slash_commands", command)
        assert fake.wait_for(lambda: fake.responses())[0]["text"] == "echo status"

        fake.socket_send(
            "slash_commands", slack.slash_payload("start", user_id=ALICE, channel_id="C0OPS")
        )
        view = fake.wait_for(lambda: fake.last_view())
        summary = {
            "type": "input",
            "block_id": "summary",
            "label": {"type": "plain_text", "text": "Summary"},
            "element": {"type": "plain_text_input", "action_id": "summary_input"},
        }
        web.views_update(view_id=view["id"], view=modal(blocks=[summary]))
        payload = slack.view_submission_payload(
            view["id"], user_id=ALICE, values={"Summary": "bad"}
        )
        ack = fake.socket_send("interactive", payload)
        assert ack["payload"] == {"response_action": "errors", "errors": {"summary": "Too vague"}}
        fake.apply_view_submission_response(view["id"], ack["payload"])
        assert fake.view_is_open(view["id"])
        payload = slack.view_submission_payload(view["id"], user_id=ALICE, values={"Summary": "ok"})
        ack = fake.socket_send("interactive", payload)
        fake.apply_view_submission_response(view["id"], ack.get("payload"))
        assert not fake.view_is_open(view["id"])

        button = {
            "type": "button",
            "text": {"type": "plain_text", "text": "Approve"},
            "action_id": "approve",
        }
        posted = web.chat_postMessage(
            channel="C0OPS", text="Approve?", blocks=[section("Approve?", accessory=button)]
        )
        click = slack.click_payload(
            channel_id="C0OPS", ts=posted["ts"], label="Approve", user_id=BOB
        )
        fake.socket_send("interactive", click)
        assert fake.message("C0OPS", posted["ts"])["text"] == f"Approved by <@{BOB}>"

        event = slack.event_payload(slack.app_home_opened_event(ALICE))
        fake.socket_send("events_api", event)
        assert fake.wait_for(lambda: fake.home(ALICE))["blocks"][0]["text"]["text"] == "Welcome"
        assert [a["type"] for a in fake.socket_acks()] == [
            "slash_commands",
            "slash_commands",
            "interactive",
            "interactive",
            "interactive",
            "events_api",
        ]
        assert len(seen["commands"]) == 2 and len(seen["views"]) == 2
    finally:
        fake.stop()
        handler.close()
