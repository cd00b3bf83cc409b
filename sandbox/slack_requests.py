"""Send signed requests to a running Slack app exactly as Slack's servers would.

``SignedSlackClient`` posts slash commands, interactive payloads (``view_submission``,
``block_actions``) and Events API envelopes to the app's HTTP endpoint over real HTTP, signed
with the app's signing secret. It works together with a running ``FakeSlack``: trigger ids and
``response_url`` s are issued by the fake, modals and messages to click on are read from it,
so the app's follow-up Web API calls land in the fake.

Each ``*_payload`` method builds, without sending, the exact payload the matching sender posts
(issuing a fresh ``trigger_id`` / ``response_url`` in the fake, as Slack does per delivery), so
Socket Mode tests can deliver the same payloads with ``FakeSlack.socket_send``.

Only the standard library is used, so the module can be reused outside pytest.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import itertools
import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from urllib.parse import urlencode

from sandbox.slack_server import FakeSlack

__all__ = ["Response", "SignedSlackClient", "sign"]

_FORM = "application/x-www-form-urlencoded"
_JSON = "application/json"

# Element types whose state is ``{"value": ...}``.
_VALUE_ELEMENTS = frozenset(
    {"plain_text_input", "number_input", "email_text_input", "url_text_input"}
)
_SINGLE_OPTION_ELEMENTS = frozenset({"static_select", "radio_buttons", "external_select"})
_MULTI_OPTION_ELEMENTS = frozenset({"checkboxes", "multi_static_select", "multi_external_select"})


def sign(secret: str, timestamp: int | str, body: bytes) -> str:
    """Slack's request signature: ``v0=`` + HMAC-SHA256(secret, ``v0:{ts}:{body}``)."""
    base = b"v0:" + str(timestamp).encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


@dataclass
class Response:
    """The app's HTTP answer. ``headers`` keys are lower-case."""

    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""

    @property
    def text(self) -> str:
        """The body decoded as UTF-8."""
        return self.body.decode("utf-8", errors="replace")

    def json(self) -> Any:
        """The body parsed as JSON, or ``None`` when the body is empty."""
        if not self.body.strip():
            return None
        return json.loads(self.body)


def _plain(text_object: Any) -> str:
    if isinstance(text_object, dict):
        return str(text_object.get("text", ""))
    return str(text_object or "")


def _iter_options(element: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield from element.get("options") or []
    for group in element.get("option_groups") or []:
        yield from group.get("options") or []


def _match_option(element: dict[str, Any], wanted: Any, label: str) -> dict[str, Any]:
    """Find an option of ``element`` by value, then by text (case-insensitive)."""
    if isinstance(wanted, dict):
        return copy.deepcopy(wanted)
    options = list(_iter_options(element))
    wanted_s = str(wanted)
    for option in options:
        if option.get("value") == wanted_s:
            return copy.deepcopy(option)
    for option in options:
        if _plain(option.get("text")).casefold() == wanted_s.casefold():
            return copy.deepcopy(option)
    for option in options:
        if str(option.get("value", "")).casefold() == wanted_s.casefold():
            return copy.deepcopy(option)
    choices = [f"{o.get('value')!r} ({_plain(o.get('text'))!r})" for o in options]
    raise KeyError(f"input {label!r}: no option {wanted!r}; options are {', '.join(choices)}")


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, list | tuple | set | frozenset):
        return list(value)
    return [value]


def _element_state(element: dict[str, Any], override: Any, has_override: bool, label: str) -> Any:
    """Build one element's ``state.values`` entry from its initial value or an override."""
    kind = element.get("type", "")
    state: dict[str, Any] = {"type": kind}
    if kind in _VALUE_ELEMENTS:
        value = override if has_override else element.get("initial_value")
        state["value"] = None if value is None else str(value)
    elif kind in _SINGLE_OPTION_ELEMENTS:
        if has_override:
            state["selected_option"] = (
                None if override is None else _match_option(element, override, label)
            )
        else:
            state["selected_option"] = copy.deepcopy(element.get("initial_option"))
    elif kind in _MULTI_OPTION_ELEMENTS:
        if has_override:
            state["selected_options"] = [
                _match_option(element, item, label) for item in _as_list(override)
            ]
        else:
            state["selected_options"] = copy.deepcopy(element.get("initial_options") or [])
    elif kind == "users_select":
        state["selected_user"] = override if has_override else element.get("initial_user")
    elif kind == "multi_users_select":
        chosen = override if has_override else element.get("initial_users")
        state["selected_users"] = _as_list(chosen)
    elif kind == "conversations_select":
        chosen = override if has_override else element.get("initial_conversation")
        state["selected_conversation"] = chosen
    elif kind == "channels_select":
        state["selected_channel"] = override if has_override else element.get("initial_channel")
    elif kind == "datetimepicker":
        value = override if has_override else element.get("initial_date_time")
        if isinstance(value, datetime):
            value = int(value.timestamp())
        state["selected_date_time"] = None if value is None else int(value)
    elif kind == "datepicker":
        value = override if has_override else element.get("initial_date")
        if isinstance(value, date):
            value = value.isoformat()
        state["selected_date"] = value
    elif kind == "timepicker":
        state["selected_time"] = override if has_override else element.get("initial_time")
    elif kind == "rich_text_input":
        value = override if has_override else element.get("initial_value")
        if isinstance(value, str):
            value = {
                "type": "rich_text",
                "elements": [
                    {"type": "rich_text_section", "elements": [{"type": "text", "text": value}]}
                ],
            }
        state["rich_text_value"] = value
    else:
        raise ValueError(f"input {label!r}: element type {kind!r} is not supported")
    return state


def _is_empty(state: dict[str, Any]) -> bool:
    values = [v for k, v in state.items() if k != "type"]
    return all(v is None or v == [] or v == "" for v in values)


class SignedSlackClient:
    """Plays Slack's side of the HTTP conversation with the app under test."""

    def __init__(
        self,
        app_url: str,
        signing_secret: str,
        fake: FakeSlack,
        team_id: str = "T0TEST",
        team_domain: str = "acme",
        api_app_id: str = "A0APP",
        *,
        verification_token: str = "legacy-verification-token",
        timeout: float = 10.0,
    ) -> None:
        """Create a client.

        Args:
            app_url: the app's request URL, e.g. ``http://127.0.0.1:PORT/slack/events``.
            signing_secret: the app's signing secret.
            fake: the running ``FakeSlack`` the app's WebClient talks to.
            team_id, team_domain, api_app_id: workspace and app identity in payloads.
            verification_token: the deprecated ``token`` field Slack still sends.
            timeout: seconds to wait for the app's HTTP answer.
        """
        self.app_url = app_url
        self.signing_secret = signing_secret
        self.fake = fake
        self.team_id = team_id
        self.team_domain = team_domain
        self.api_app_id = api_app_id
        self.verification_token = verification_token
        self.timeout = timeout
        self.last_trigger_id: str | None = None
        self.last_response_url: str | None = None
        self.last_event_id: str | None = None
        self._event_ids = itertools.count(1)

    # ---------------------------------------------------------------- low level

    def send(
        self,
        body: bytes,
        content_type: str,
        *,
        timestamp: int | None = None,
        secret: str | None = None,
        signature: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Response:
        """POST ``body`` to the app, signed like Slack (override parts to forge requests).

        Args:
            body: the exact bytes to send (and sign).
            content_type: the ``Content-Type`` header.
            timestamp: ``X-Slack-Request-Timestamp`` (default: now).
            secret: sign with this secret instead of the real one.
            signature: send this ``X-Slack-Signature`` verbatim.
            headers: extra headers.
        """
        ts = int(time.time()) if timestamp is None else timestamp
        request_headers = {
            "Content-Type": content_type,
            "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
            "X-Slack-Request-Timestamp": str(ts),
            "X-Slack-Signature": signature
            if signature is not None
            else sign(self.signing_secret if secret is None else secret, ts, body),
        }
        request_headers.update(headers or {})
        request = urllib.request.Request(
            self.app_url, data=body, headers=request_headers, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as answer:
                return Response(
                    answer.status, {k.lower(): v for k, v in answer.headers.items()}, answer.read()
                )
        except urllib.error.HTTPError as err:
            return Response(
                err.code, {k.lower(): v for k, v in (err.headers or {}).items()}, err.read()
            )

    def send_form(self, fields: Mapping[str, Any], **kwargs: Any) -> Response:
        """Send form-encoded ``fields`` (see ``send`` for keyword arguments)."""
        return self.send(urlencode(fields).encode(), _FORM, **kwargs)

    def send_json(self, data: Any, **kwargs: Any) -> Response:
        """Send ``data`` as a JSON body (see ``send`` for keyword arguments)."""
        return self.send(json.dumps(data).encode(), _JSON, **kwargs)

    def send_payload(self, payload: dict[str, Any], **kwargs: Any) -> Response:
        """Send an interactive payload as form field ``payload=<JSON>``."""
        return self.send_form({"payload": json.dumps(payload)}, **kwargs)

    # ---------------------------------------------------------------- identity helpers

    def _user(self, user_id: str) -> dict[str, Any]:
        known = self.fake.user(user_id)
        name = known["name"] if known else user_id.lower()
        return {"id": user_id, "username": name, "name": name, "team_id": self.team_id}

    def _channel_name(self, channel_id: str) -> str:
        channel = self.fake.channel(channel_id)
        if channel is None:
            return "directmessage" if channel_id.startswith("D") else channel_id.lower()
        return "directmessage" if channel["is_im"] else str(channel["name"])

    def _team(self) -> dict[str, str]:
        return {"id": self.team_id, "domain": self.team_domain}

    def _new_trigger(self, user_id: str, view_id: str | None = None) -> str:
        self.last_trigger_id = self.fake.issue_trigger(user_id, view_id=view_id)
        return self.last_trigger_id

    # ---------------------------------------------------------------- slash commands

    def slash(
        self,
        text: str,
        *,
        user_id: str,
        channel_id: str,
        command: str = "/hotfix",
        user_name: str | None = None,
        channel_name: str | None = None,
    ) -> Response:
        """Invoke a slash command as ``user_id`` in ``channel_id``."""
        return self.send_form(
            self.slash_payload(
                text,
                user_id=user_id,
                channel_id=channel_id,
                command=command,
                user_name=user_name,
                channel_name=channel_name,
            )
        )

    def slash_payload(
        self,
        text: str,
        *,
        user_id: str,
        channel_id: str,
        command: str = "/hotfix",
        user_name: str | None = None,
        channel_name: str | None = None,
    ) -> dict[str, str]:
        """The fields of a slash command (form-encoded over HTTP; the Socket Mode payload)."""
        self.last_response_url = self.fake.new_response_url(channel_id, user_id)
        return {
            "token": self.verification_token,
            "team_id": self.team_id,
            "team_domain": self.team_domain,
            "channel_id": channel_id,
            "channel_name": channel_name or self._channel_name(channel_id),
            "user_id": user_id,
            "user_name": user_name or self._user(user_id)["name"],
            "command": command,
            "text": text,
            "api_app_id": self.api_app_id,
            "is_enterprise_install": "false",
            "response_url": self.last_response_url,
            "trigger_id": self._new_trigger(user_id),
        }

    # ---------------------------------------------------------------- modals

    def view_state(
        self, view: dict[str, Any], values: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """Build ``view.state`` (``{"values": ...}``) from input defaults and overrides.

        ``values`` is keyed by input label text (exact, then case-insensitive, then block_id).
        Raises ``KeyError`` for an unknown label or option and ``ValueError`` when a required
        input would be left empty (Slack's client would refuse to submit).
        """
        inputs = [
            b for b in view.get("blocks") or [] if isinstance(b, dict) and b.get("type") == "input"
        ]
        labels = [_plain(b.get("label")) for b in inputs]
        overrides: dict[int, Any] = {}
        for key, value in (values or {}).items():
            index = self._find_input(inputs, labels, key)
            overrides[index] = value
        state: dict[str, dict[str, Any]] = {}
        for index, block in enumerate(inputs):
            element = block.get("element") or {}
            label = labels[index]
            element_state = _element_state(element, overrides.get(index), index in overrides, label)
            if _is_empty(element_state) and not block.get("optional", False):
                raise ValueError(
                    f"required input {label!r} has no value: pass it in values= "
                    "(Slack's client does not submit an empty required input)"
                )
            block_id = str(block.get("block_id", ""))
            action_id = str(element.get("action_id", ""))
            state.setdefault(block_id, {})[action_id] = element_state
        return {"values": state}

    @staticmethod
    def _find_input(inputs: list[dict[str, Any]], labels: list[str], key: str) -> int:
        for i, label in enumerate(labels):
            if label == key:
                return i
        for i, label in enumerate(labels):
            if label.casefold() == key.casefold():
                return i
        for i, block in enumerate(inputs):
            if block.get("block_id") == key:
                return i
        raise KeyError(f"no input labelled {key!r}; labels are {labels}")

    def _payload_view(self, view_id: str, values: Mapping[str, Any] | None) -> dict[str, Any]:
        view = self.fake.view(view_id)
        if view is None:
            raise KeyError(f"the fake has no view {view_id!r}")
        view["state"] = self.view_state(view, values)
        view.setdefault("previous_view_id", None)
        return view

    def submit_view(
        self,
        view_id: str,
        *,
        user_id: str,
        values: dict[str, Any] | None = None,
        apply_response: bool = True,
    ) -> Response:
        """Submit a modal (as currently stored in the fake) as ``user_id``.

        The app's answer may carry ``response_action`` JSON; it is returned, and (unless
        ``apply_response`` is false) applied to the fake like Slack's client would (close,
        update, push, or keep the view open on ``errors``).
        """
        response = self.send_payload(
            self.view_submission_payload(view_id, user_id=user_id, values=values)
        )
        if apply_response:
            self._apply_answer(view_id, response)
        return response

    def _apply_answer(self, view_id: str, response: Response) -> None:
        """Do with the modal what Slack's client does with the app's answer to a submission."""
        if response.status != 200:
            return
        try:
            body = response.json()
        except ValueError:
            body = None
        self.fake.apply_view_submission_response(view_id, body)

    def view_submission_payload(
        self, view_id: str, *, user_id: str, values: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """The ``view_submission`` payload for a modal stored in the fake (see ``view_state``).

        Over Socket Mode, apply the acknowledgement's ``payload`` yourself with
        ``fake.apply_view_submission_response(view_id, ack.get("payload"))``.
        """
        return self._submission(self._payload_view(view_id, values), user_id)

    def submit_state(self, view_id: str, *, user_id: str, state: dict[str, Any]) -> Response:
        """Submit a modal whose inputs hold ``state`` (``{"values": …}`` as Slack's client
        builds it); the answer is applied like ``submit_view`` does."""
        view = self.fake.view(view_id)
        if view is None:
            raise KeyError(f"the fake has no view {view_id!r}")
        view["state"] = state
        view.setdefault("previous_view_id", None)
        response = self.send_payload(self._submission(view, user_id))
        self._apply_answer(view_id, response)
        return response

    def _submission(self, view: dict[str, Any], user_id: str) -> dict[str, Any]:
        view_id = str(view["id"])
        return {
            "type": "view_submission",
            "team": self._team(),
            "user": self._user(user_id),
            "api_app_id": self.api_app_id,
            "token": self.verification_token,
            "trigger_id": self._new_trigger(user_id, view_id),
            "view": view,
            "response_urls": [],
            "is_enterprise_install": False,
            "enterprise": None,
        }

    def close_view(self, view_id: str, *, user_id: str) -> Response:
        """Close a modal with its close button (sends ``view_closed`` if it asked to)."""
        payload = self.view_closed_payload(view_id, user_id=user_id)
        self.fake.close_view(view_id)
        if not payload["view"].get("notify_on_close"):
            return Response(200)
        return self.send_payload(payload)

    def view_closed_payload(self, view_id: str, *, user_id: str) -> dict[str, Any]:
        """The ``view_closed`` payload for a modal stored in the fake (the view stays open)."""
        view = self.fake.view(view_id)
        if view is None:
            raise KeyError(f"the fake has no view {view_id!r}")
        view["state"] = {"values": {}}
        return {
            "type": "view_closed",
            "team": self._team(),
            "user": self._user(user_id),
            "api_app_id": self.api_app_id,
            "token": self.verification_token,
            "view": view,
            "is_cleared": False,
            "is_enterprise_install": False,
            "enterprise": None,
        }

    # ---------------------------------------------------------------- buttons

    @staticmethod
    def _buttons(blocks: list[Any]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
        found: list[tuple[dict[str, Any], dict[str, Any]]] = []
        for block in blocks or []:
            if not isinstance(block, dict):
                continue
            candidates: list[Any] = []
            if block.get("type") == "actions":
                candidates.extend(block.get("elements") or [])
            if isinstance(block.get("accessory"), dict):
                candidates.append(block["accessory"])
            found.extend(
                (block, e) for e in candidates if isinstance(e, dict) and e.get("type") == "button"
            )
        return found

    @classmethod
    def find_button(cls, blocks: list[Any], label: str) -> tuple[dict[str, Any], dict[str, Any]]:
        """Return ``(block, button)`` whose text is ``label``.

        Exact match first, then case-insensitive equality, then case-insensitive prefix
        (which must be unambiguous). Raises ``KeyError`` listing the buttons otherwise.
        """
        buttons = cls._buttons(blocks)
        texts = [_plain(b.get("text")) for _, b in buttons]
        for matcher in (
            lambda t: t == label,
            lambda t: t.casefold() == label.casefold(),
            lambda t: t.casefold().startswith(label.casefold()),
        ):
            hits = [pair for pair, text in zip(buttons, texts, strict=True) if matcher(text)]
            if len(hits) == 1:
                return hits[0]
            if len(hits) > 1:
                raise KeyError(f"button label {label!r} is ambiguous among {texts}")
        raise KeyError(f"no button labelled {label!r}; buttons are {texts}")

    @staticmethod
    def _action(block: dict[str, Any], button: dict[str, Any]) -> dict[str, Any]:
        action: dict[str, Any] = {
            "action_id": button.get("action_id"),
            "block_id": block.get("block_id"),
            "text": copy.deepcopy(button.get("text")),
            "type": "button",
            "action_ts": f"{time.time():.6f}",
        }
        if "value" in button:
            action["value"] = button["value"]
        if "style" in button:
            action["style"] = button["style"]
        return action

    def click(
        self,
        *,
        channel_id: str,
        ts: str | None = None,
        label: str,
        user_id: str,
        ephemeral: bool = False,
        message: dict[str, Any] | None = None,
    ) -> Response:
        """Click the button labelled ``label`` in a message, as ``user_id``.

        The message is ``message`` if given, else the ephemeral message ``ts`` shown to
        ``user_id`` (``ephemeral=True``), else the channel message or thread reply ``ts``.
        """
        return self.send_payload(
            self.click_payload(
                channel_id=channel_id,
                ts=ts,
                label=label,
                user_id=user_id,
                ephemeral=ephemeral,
                message=message,
            )
        )

    def click_payload(
        self,
        *,
        channel_id: str,
        ts: str | None = None,
        label: str,
        user_id: str,
        ephemeral: bool = False,
        message: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """The ``block_actions`` payload of a button click in a message (see ``click``)."""
        if message is None:
            if ts is None:
                raise ValueError("click() needs ts= or message=")
            if ephemeral:
                matches = [e for e in self.fake.ephemerals(channel_id, user_id) if e["ts"] == ts]
                message = matches[-1] if matches else None
            else:
                message = self.fake.message(channel_id, ts)
            if message is None:
                kind = "ephemeral message" if ephemeral else "message"
                raise KeyError(f"the fake has no {kind} {ts!r} in {channel_id}")
        message = copy.deepcopy(message)
        message["ts"] = str(message.get("ts") or ts)
        block, button = self.find_button(message.get("blocks") or [], label)
        return self._in_message(
            channel_id, message, user_id, self._action(block, button), ephemeral=ephemeral
        )

    def _in_message(
        self,
        channel_id: str,
        message: dict[str, Any],
        user_id: str,
        action: dict[str, Any],
        *,
        ephemeral: bool = False,
    ) -> dict[str, Any]:
        """The ``block_actions`` payload of ``action`` taken in ``message`` (a copy)."""
        message_ts = str(message["ts"])
        self.last_response_url = self.fake.new_response_url(
            channel_id, user_id, message_ts=message_ts, ephemeral=ephemeral
        )
        container: dict[str, Any] = {
            "type": "message",
            "message_ts": message_ts,
            "channel_id": channel_id,
            "is_ephemeral": ephemeral,
        }
        thread_ts = message.get("thread_ts")
        if thread_ts:
            container["thread_ts"] = thread_ts
        payload: dict[str, Any] = {
            "type": "block_actions",
            "user": self._user(user_id),
            "api_app_id": self.api_app_id,
            "token": self.verification_token,
            "container": container,
            "trigger_id": self._new_trigger(user_id),
            "team": self._team(),
            "enterprise": None,
            "is_enterprise_install": False,
            "channel": {"id": channel_id, "name": self._channel_name(channel_id)},
            "state": {"values": {}},
            "response_url": self.last_response_url,
            "actions": [action],
        }
        if not ephemeral:
            message.pop("channel", None)
            message.pop("source", None)
            payload["message"] = message
        return payload

    def select_checkboxes(
        self, *, channel_id: str, ts: str, action_id: str, values: list[str], user_id: str
    ) -> Response:
        """Change the checkboxes ``action_id`` of message ``ts`` so that exactly ``values``
        are ticked, as ``user_id`` (Slack sends every selected option, not the change)."""
        message = self.fake.message(channel_id, ts)
        if message is None:
            raise KeyError(f"the fake has no message {ts!r} in {channel_id}")
        message = copy.deepcopy(message)
        found = [
            (b, e)
            for b in message.get("blocks") or []
            if b.get("type") == "actions"
            for e in b.get("elements") or []
            if e.get("type") == "checkboxes" and e.get("action_id") == action_id
        ]
        if not found:
            raise KeyError(f"message {ts!r} has no checkboxes {action_id!r}")
        block, element = found[0]
        action = {
            "type": "checkboxes",
            "action_id": action_id,
            "block_id": block["block_id"],
            "selected_options": [o for o in element["options"] if o["value"] in values],
            "action_ts": f"{time.time():.6f}",
        }
        return self.send_payload(self._in_message(channel_id, message, user_id, action))

    def click_in_view(self, view_id: str, label: str, user_id: str) -> Response:
        """Click a button inside a modal or Home tab stored in the fake."""
        return self.send_payload(self.click_in_view_payload(view_id, label, user_id))

    def click_in_view_payload(self, view_id: str, label: str, user_id: str) -> dict[str, Any]:
        """The ``block_actions`` payload of a button click in a modal or Home tab."""
        view = self.fake.view(view_id)
        if view is None:
            raise KeyError(f"the fake has no view {view_id!r}")
        block, button = self.find_button(view.get("blocks") or [], label)
        if view.get("type") == "modal":
            view["state"] = self.view_state(view)
        return self._in_view(view, user_id, self._action(block, button))

    def act_in_view(
        self,
        view_id: str,
        action: dict[str, Any],
        *,
        user_id: str,
        state: dict[str, Any] | None = None,
    ) -> Response:
        """Send ``action`` (a ``block_actions`` action, as Slack's client builds it) taken in a
        modal or Home tab; a modal carries ``state``, what its inputs hold now."""
        view = self.fake.view(view_id)
        if view is None:
            raise KeyError(f"the fake has no view {view_id!r}")
        if view.get("type") == "modal":
            view["state"] = state or {"values": {}}
        return self.send_payload(self._in_view(view, user_id, action))

    def act_in_message(
        self,
        *,
        channel_id: str,
        message: dict[str, Any],
        action: dict[str, Any],
        user_id: str,
        ephemeral: bool = False,
    ) -> Response:
        """Send ``action`` taken in ``message`` (a channel message, reply or ephemeral)."""
        return self.send_payload(
            self._in_message(
                channel_id, copy.deepcopy(message), user_id, action, ephemeral=ephemeral
            )
        )

    def _in_view(
        self, view: dict[str, Any], user_id: str, action: dict[str, Any]
    ) -> dict[str, Any]:
        view_id = str(view["id"])
        return {
            "type": "block_actions",
            "user": self._user(user_id),
            "api_app_id": self.api_app_id,
            "token": self.verification_token,
            "container": {"type": "view", "view_id": view_id},
            "trigger_id": self._new_trigger(user_id, view_id),
            "team": self._team(),
            "enterprise": None,
            "is_enterprise_install": False,
            "view": view,
            "actions": [action],
        }

    # ---------------------------------------------------------------- events

    def event(
        self,
        event: dict[str, Any],
        *,
        retry_num: int | None = None,
        retry_reason: str = "http_timeout",
        event_id: str | None = None,
    ) -> Response:
        """Deliver an Events API ``event_callback`` (a retry when ``retry_num`` is given).

        Reuse ``event_id`` (see ``last_event_id``) to simulate a redelivery.
        """
        headers: dict[str, str] = {}
        if retry_num is not None:
            headers["X-Slack-Retry-Num"] = str(retry_num)
            headers["X-Slack-Retry-Reason"] = retry_reason
        return self.send_json(self.event_payload(event, event_id=event_id), headers=headers)

    def event_payload(
        self, event: dict[str, Any], *, event_id: str | None = None
    ) -> dict[str, Any]:
        """The ``event_callback`` wrapping ``event`` (a new ``event_id`` unless given).

        Over Socket Mode a retry is said by the envelope's ``retry_attempt`` /
        ``retry_reason`` (``FakeSlack.socket_send``), not by headers.
        """
        self.last_event_id = event_id or f"Ev{int(time.time())}{next(self._event_ids):06d}"
        return {
            "token": self.verification_token,
            "team_id": self.team_id,
            "api_app_id": self.api_app_id,
            "event": event,
            "type": "event_callback",
            "event_id": self.last_event_id,
            "event_time": int(time.time()),
            "authorizations": [
                {
                    "enterprise_id": None,
                    "team_id": self.team_id,
                    "user_id": self.fake.bot_user_id,
                    "is_bot": True,
                    "is_enterprise_install": False,
                }
            ],
            "is_ext_shared_channel": False,
        }

    def app_home_opened(self, user_id: str) -> Response:
        """Deliver ``app_home_opened`` for the Home tab (with the published view, if any)."""
        return self.event(self.app_home_opened_event(user_id))

    def app_home_opened_event(self, user_id: str) -> dict[str, Any]:
        """The ``app_home_opened`` event (wrap it with ``event_payload``)."""
        event: dict[str, Any] = {
            "type": "app_home_opened",
            "user": user_id,
            "channel": self.fake.dm_channel(user_id),
            "tab": "home",
            "event_ts": f"{time.time():.6f}",
        }
        home = self.fake.home(user_id)
        if home is not None:
            event["view"] = home
        return event

    def url_verification(self, challenge: str) -> Response:
        """Send the ``url_verification`` handshake Slack uses when the request URL is set."""
        return self.send_json(
            {"token": self.verification_token, "challenge": challenge, "type": "url_verification"}
        )
