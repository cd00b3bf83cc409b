"""An offline, in-process fake of the Slack Web API for tests and the local sandbox.

``FakeSlack`` runs a real HTTP server on ``127.0.0.1`` (port chosen by the OS) that the bot's
real ``slack_sdk.WebClient`` talks to through ``base_url=fake.api_url``. It keeps channels,
messages, threads, ephemeral messages, modals, Home tabs, users and user groups in memory,
answers with Slack-shaped JSON, and validates every Block Kit payload it receives with
``slack_sdk.models``. Problems are recorded in ``validation_errors`` so that a test can call
``assert_valid()`` at teardown.

It also serves the ``response_url`` endpoints that Slack hands to the app in slash commands and
interactive payloads, issues ``trigger_id`` values (which expire after 3 s, like Slack's), and
can inject failures (Slack errors, HTTP 429 with ``Retry-After``, HTTP 500 without JSON), or
hang: ``hang("response_url", "chat.postMessage")`` makes those calls go unanswered, as when
Slack is down, until ``recover()``. A hung call is never applied (it is recorded in
``dropped``); the client times out and must deliver it again once Slack is back.

Socket Mode: ``apps.connections.open`` (called with the app-level token) hands out a single-use
``ws://127.0.0.1:PORT/link/?ticket=…`` URL, and the same server speaks WebSocket (RFC 6455) on
it. The fake says ``hello`` on connect, answers the app's pings with pongs, lets a test deliver
envelopes (``socket_send``) and wait for the app's acknowledgement, and can ask the app to
reconnect (``socket_disconnect``).

Files: ``files.getUploadURLExternal`` hands out an upload URL on the fake's own host
(``http://127.0.0.1:PORT/upload/v1/F…``), a POST of the file's bytes there stores them, and
``files.completeUploadExternal`` shares the file, posting a message that carries it in the
channel (or thread) given, as ``WebClient.files_upload_v2`` expects. ``files()`` lists them.

Only the standard library and ``slack_sdk`` are used, so the module can be reused outside
pytest.
"""

from __future__ import annotations

import base64
import contextlib
import copy
import email.parser
import email.policy
import hashlib
import itertools
import json
import os
import re
import select
import socket
import struct
import threading
import time
import uuid
import zoneinfo
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar, TypeVar
from urllib.parse import parse_qsl, urlsplit

from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

from sandbox.saved import SavedWhole

__all__ = [
    "APP_LEVEL_METHODS",
    "MAX_MESSAGE_BLOCKS",
    "MAX_MESSAGE_TEXT",
    "MAX_VIEW_BLOCKS",
    "METHOD_SCOPES",
    "SOCKET_ENVELOPE_TYPES",
    "Call",
    "FakeSlack",
    "validate_blocks",
    "validate_view",
    "wait_for",
]

T = TypeVar("T")

MAX_MESSAGE_BLOCKS = 50
"""Most blocks Slack accepts in one message."""
MAX_VIEW_BLOCKS = 100
"""Most blocks Slack accepts in a modal or Home tab."""
MAX_MESSAGE_TEXT = 40_000
"""Longest top-level ``text`` Slack accepts in a message."""
MAX_PRIVATE_METADATA = 3000
MAX_CALLBACK_ID = 255
TRIGGER_TTL_SECONDS = 3.0
RESPONSE_URL_MAX_USES = 5

METHOD_SCOPES: dict[str, str | None] = {
    "auth.test": None,
    "chat.postMessage": "chat:write",
    "chat.update": "chat:write",
    "chat.delete": "chat:write",
    "chat.postEphemeral": "chat:write",
    "chat.getPermalink": None,
    "conversations.replies": "channels:history",  # groups:history for a private channel
    "conversations.info": "channels:read",  # groups:read for a private channel
    "views.open": None,
    "views.update": None,
    "views.push": None,
    "views.publish": None,
    "users.info": "users:read",
    "usergroups.users.list": "usergroups:read",
    "apps.connections.open": None,
    "files.getUploadURLExternal": "files:write",
    "files.completeUploadExternal": "files:write",
}
"""Bot scope each implemented Web API method needs (``None``: no scope).

``apps.connections.open`` takes the app-level token (scope ``connections:write``), not the bot
token, so it needs no bot scope."""

APP_LEVEL_METHODS = frozenset({"apps.connections.open"})
"""Methods called with the app-level token (``xapp-…``) instead of the bot token."""

UPLOAD_PATH = "/upload/v1/"
"""Where the upload URLs from ``files.getUploadURLExternal`` point (``UPLOAD_PATH + file id``)."""
# Pseudo-methods (for fail() and hang()) that are not Web API methods: "*" leaves them alone.
_NOT_WEB_API = frozenset({"response_url", "upload_url"})

SOCKET_PATH = "/link/"
SOCKET_ENVELOPE_TYPES = frozenset({"slash_commands", "interactive", "events_api"})
"""Envelope types Slack delivers over Socket Mode."""
_WEBSOCKET_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
_OP_CONTINUATION, _OP_TEXT, _OP_BINARY = 0x0, 0x1, 0x2
_OP_CLOSE, _OP_PING, _OP_PONG = 0x8, 0x9, 0xA
_SOCKET_HOST = "applink-fake-0"

# Arguments that clients may send as JSON strings (always so in form encoding).
_JSON_ARGS = frozenset({"blocks", "view", "attachments", "metadata", "files"})
# Top-level keys a view may carry when an app sends it (anything else is a typo).
_VIEW_INPUT_KEYS = frozenset(
    {
        "type",
        "title",
        "blocks",
        "close",
        "submit",
        "private_metadata",
        "callback_id",
        "clear_on_close",
        "notify_on_close",
        "external_id",
        "submit_disabled",
    }
)
# Elements that Slack gives an ``action_id`` when the app leaves it out.
_INTERACTIVE_ELEMENTS = frozenset(
    {
        "button",
        "checkboxes",
        "datepicker",
        "datetimepicker",
        "timepicker",
        "static_select",
        "external_select",
        "users_select",
        "conversations_select",
        "channels_select",
        "multi_static_select",
        "multi_external_select",
        "multi_users_select",
        "multi_conversations_select",
        "multi_channels_select",
        "overflow",
        "radio_buttons",
        "plain_text_input",
        "number_input",
        "email_text_input",
        "url_text_input",
        "rich_text_input",
        "file_input",
    }
)


@dataclass(frozen=True)
class Call:
    """One Web API request received by the fake (recorded even when it failed)."""

    method: str
    args: dict[str, Any]
    at: float
    http_method: str = "POST"
    wire: str = ""
    """How the arguments arrived: ``query``, ``json``, ``form``, ``multipart``, a ``+``-joined
    mix (``query+form``), or ``none``."""


@dataclass
class _Fault:
    error: str
    remaining: int
    http_status: int
    retry_after: int | None


@dataclass
class _Channel:
    id: str
    name: str
    is_private: bool = False
    is_member: bool = True
    is_im: bool = False
    user: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "is_private": self.is_private,
            "is_member": self.is_member,
            "is_im": self.is_im,
            "user": self.user,
        }


@dataclass
class _Trigger:
    user_id: str
    issued_at: float
    view_id: str | None = None
    used: bool = False


@dataclass
class _ResponseUrl:
    channel_id: str
    user_id: str
    message_ts: str | None
    ephemeral: bool
    uses: int = 0


@dataclass
class _File:
    """A file from ``files.getUploadURLExternal`` on: its bytes once uploaded, its share."""

    id: str
    name: str
    length: int
    """The byte length announced to ``files.getUploadURLExternal``."""
    title: str | None = None
    content: bytes | None = None
    shared: bool = False
    channel: str | None = None
    thread_ts: str | None = None
    message_ts: str | None = None
    initial_comment: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "title": self.title,
            "length": self.length,
            "content": self.content,
            "shared": self.shared,
            "channel": self.channel,
            "thread_ts": self.thread_ts,
            "message_ts": self.message_ts,
            "initial_comment": self.initial_comment,
        }


@dataclass
class _HttpAnswer:
    status: int
    body: bytes
    content_type: str = "application/json; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)


class _SocketClosed(Exception):
    """The WebSocket peer went away (or broke the protocol and was disconnected)."""


@dataclass
class _Ticket:
    issued_at: float
    used: bool = False


@dataclass
class _SocketLink:
    """One Socket Mode WebSocket connection from the app."""

    number: int
    sock: socket.socket
    opened_at: float
    ready: bool = False
    closed_at: float | None = None
    close_code: int | None = None
    pings: int = 0
    pongs: list[bytes] = field(default_factory=list)
    send_lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def open(self) -> bool:
        return self.ready and self.closed_at is None

    def send(self, opcode: int, payload: bytes) -> None:
        with self.send_lock:
            self.sock.sendall(_ws_frame(opcode, payload))

    def send_json(self, message: dict[str, Any]) -> None:
        self.send(_OP_TEXT, _json_bytes(message))

    def as_dict(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "open": self.open,
            "opened_at": self.opened_at,
            "closed_at": self.closed_at,
            "close_code": self.close_code,
            "pings": self.pings,
            "pongs": len(self.pongs),
        }


@dataclass
class _Envelope:
    envelope_id: str
    type: str
    accepts_response_payload: bool
    link: int
    sent_at: float
    ack: dict[str, Any] | None = None


class _SlackError(Exception):
    """Raised inside a method handler to answer ``{"ok": false, "error": ...}``."""

    def __init__(self, error: str, **extra: Any) -> None:
        super().__init__(error)
        self.error = error
        self.extra = extra


# --------------------------------------------------------------------------------------------
# Block Kit validation
# --------------------------------------------------------------------------------------------


def _describe_block(index: int, raw: Any) -> str:
    if isinstance(raw, dict):
        block_id = raw.get("block_id")
        suffix = f", block_id={block_id!r}" if block_id else ""
        return f"blocks[{index}] ({raw.get('type')!r}{suffix})"
    return f"blocks[{index}]"


def _dict_diff(expected: Any, actual: Any, path: str = "") -> list[str]:
    """List the paths where ``actual`` (what slack_sdk kept) differs from ``expected``."""
    if isinstance(expected, dict) and isinstance(actual, dict):
        out: list[str] = []
        for key in sorted(set(expected) | set(actual), key=str):
            sub = f"{path}.{key}" if path else str(key)
            if key not in actual:
                out.append(f"{sub}: not kept by slack_sdk (unknown key, wrong type or empty)")
            elif key not in expected:
                out.append(f"{sub}: added by slack_sdk (value {actual[key]!r})")
            else:
                out.extend(_dict_diff(expected[key], actual[key], sub))
        return out
    if isinstance(expected, list) and isinstance(actual, list):
        if len(expected) != len(actual):
            return [f"{path}: {len(expected)} items sent, {len(actual)} kept by slack_sdk"]
        out = []
        for i, (e, a) in enumerate(zip(expected, actual, strict=True)):
            out.extend(_dict_diff(e, a, f"{path}[{i}]"))
        return out
    if expected != actual:
        return [f"{path}: sent {expected!r}, slack_sdk made it {actual!r}"]
    return []


def validate_blocks(blocks: Any, *, limit: int, where: str = "message") -> list[str]:
    """Check a list of Block Kit blocks and return readable problems (empty if valid).

    Each block must round-trip through ``Block.parse(raw).to_dict()`` unchanged: this catches
    unknown block types (``parse`` returns ``None``), misspelled or misplaced keys (silently
    dropped by ``parse``) and the length limits ``to_dict()`` enforces.
    """
    if not isinstance(blocks, list):
        return [f"{where}: blocks must be a JSON array, got {type(blocks).__name__}"]
    problems: list[str] = []
    if len(blocks) > limit:
        problems.append(f"{where}: {len(blocks)} blocks, at most {limit} allowed")
    for index, raw in enumerate(blocks):
        label = f"{where} {_describe_block(index, raw)}"
        if not isinstance(raw, dict):
            problems.append(f"{label}: a block must be an object, got {type(raw).__name__}")
            continue
        try:
            block = Block.parse(raw)
        except Exception as exc:  # slack_sdk raises various errors on malformed input
            problems.append(f"{label}: cannot be parsed: {exc}")
            continue
        if block is None:
            problems.append(f"{label}: unknown block type {raw.get('type')!r}")
            continue
        try:
            parsed = block.to_dict()
        except SlackObjectFormationError as exc:
            problems.append(f"{label}: {exc}")
            continue
        except Exception as exc:
            problems.append(f"{label}: invalid: {type(exc).__name__}: {exc}")
            continue
        if parsed != raw:
            diff = "; ".join(_dict_diff(raw, parsed)) or "differs after parsing"
            problems.append(f"{label}: does not round-trip: {diff}")
            continue
        problems.extend(f"{label}: {p}" for p in _plain_text_problems(raw))
        problems.extend(f"{label}: {p}" for p in _duplicate_action_ids(raw))
    seen_ids: set[str] = set()
    for index, raw in enumerate(blocks):
        block_id = raw.get("block_id") if isinstance(raw, dict) else None
        if isinstance(block_id, str):
            if block_id in seen_ids:
                label = f"{where} {_describe_block(index, raw)}"
                problems.append(f"{label}: duplicate block_id {block_id!r}")
            seen_ids.add(block_id)
    return problems


# Elements whose options Slack only accepts with plain_text labels.
_PLAIN_OPTION_ELEMENTS = frozenset(
    {"static_select", "multi_static_select", "overflow", "external_select"}
)


def _walk_elements(block: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for key in ("accessory", "element"):
        if isinstance(block.get(key), dict):
            yield block[key]
    if block.get("type") == "actions":
        for element in block.get("elements") or []:
            if isinstance(element, dict):
                yield element


def _plain_text_problems(block: dict[str, Any]) -> list[str]:
    """Fields Slack requires as ``plain_text`` but slack_sdk also accepts as ``mrkdwn``."""
    fields: list[tuple[str, Any]] = []
    if block.get("type") == "header":
        fields.append(("text", block.get("text")))
    if block.get("type") == "input":
        fields.extend((name, block.get(name)) for name in ("label", "hint") if name in block)
    for element in _walk_elements(block):
        kind = element.get("type")
        if kind == "button":
            fields.append((f"{kind}.text", element.get("text")))
        if "placeholder" in element:
            fields.append((f"{kind}.placeholder", element.get("placeholder")))
        if kind in _PLAIN_OPTION_ELEMENTS:
            options = list(element.get("options") or [])
            for group in element.get("option_groups") or []:
                options.extend(group.get("options") or [] if isinstance(group, dict) else [])
            fields.extend(
                (f"{kind} option text", o.get("text")) for o in options if isinstance(o, dict)
            )
    return [
        f"{name} must be a plain_text object, got type {value.get('type')!r}"
        for name, value in fields
        if isinstance(value, dict) and value.get("type") != "plain_text"
    ]


def _duplicate_action_ids(block: dict[str, Any]) -> list[str]:
    seen: set[str] = set()
    problems: list[str] = []
    for element in _walk_elements(block):
        action_id = element.get("action_id")
        if isinstance(action_id, str):
            if action_id in seen:
                problems.append(f"duplicate action_id {action_id!r} in one block")
            seen.add(action_id)
    return problems


def validate_view(view: Any, *, where: str = "view") -> list[str]:
    """Check a modal or Home tab view as an app sends it; return readable problems."""
    if not isinstance(view, dict):
        return [f"{where}: view must be a JSON object, got {type(view).__name__}"]
    problems: list[str] = []
    view_type = view.get("type")
    if view_type not in ("modal", "home"):
        problems.append(f"{where}: type must be 'modal' or 'home', got {view_type!r}")
    unknown = sorted(set(view) - _VIEW_INPUT_KEYS)
    if unknown:
        problems.append(f"{where}: unknown keys {unknown}")
    blocks = view.get("blocks")
    block_problems = validate_blocks(blocks, limit=MAX_VIEW_BLOCKS, where=where)
    problems.extend(block_problems)
    metadata = view.get("private_metadata")
    if metadata is not None and (
        not isinstance(metadata, str) or len(metadata) > MAX_PRIVATE_METADATA
    ):
        problems.append(f"{where}: private_metadata must be a string of at most 3000 chars")
    callback_id = view.get("callback_id")
    if callback_id is not None and (
        not isinstance(callback_id, str) or len(callback_id) > MAX_CALLBACK_ID
    ):
        problems.append(f"{where}: callback_id must be a string of at most 255 chars")
    if view_type not in ("modal", "home"):
        return problems
    # Let slack_sdk check the view-level rules (title/submit/close lengths, block count ...).
    # When blocks are already known bad, check the rest with a stand-in block to avoid
    # reporting the same block problem twice.
    checked = {k: v for k, v in view.items() if k in _VIEW_INPUT_KEYS - {"submit_disabled"}}
    if problems:  # the fields checked above are reported already
        checked.pop("private_metadata", None)
        checked.pop("callback_id", None)
    if block_problems and isinstance(blocks, list) and blocks:
        checked["blocks"] = [{"type": "divider"}]
    try:
        parsed = View(**checked).to_dict()
    except SlackObjectFormationError as exc:
        problems.append(f"{where}: {exc}")
        return problems
    except Exception as exc:
        problems.append(f"{where}: invalid: {type(exc).__name__}: {exc}")
        return problems
    for key in ("title", "submit", "close"):
        value = view.get(key)
        if isinstance(value, dict) and value.get("type") != "plain_text":
            problems.append(f"{where}: {key} must be a plain_text object")
    for key in sorted(set(checked) - {"blocks"}):
        if checked.get(key) != parsed.get(key):
            diffs = _dict_diff({key: checked.get(key)}, {key: parsed.get(key)})
            problems.append(f"{where}: {'; '.join(diffs)}")
    return problems


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


def _metadata_problem(metadata: Any) -> str | None:
    """What is wrong with a message's ``metadata`` argument, as Slack checks it."""
    if not isinstance(metadata, dict):
        return "metadata must be an object"
    kind = metadata.get("event_type")
    if not isinstance(kind, str) or not re.fullmatch(r"[A-Za-z0-9_]{1,255}", kind):
        return "metadata.event_type must be letters, digits and underscores"
    if not isinstance(metadata.get("event_payload"), dict):
        return "metadata.event_payload must be an object"
    return None


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes")
    return bool(value)


def _base36(number: int, width: int) -> str:
    digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    out = ""
    while number:
        number, rem = divmod(number, 36)
        out = digits[rem] + out
    return out.rjust(width, "0")


def _json_bytes(data: Any) -> bytes:
    return json.dumps(data, ensure_ascii=False).encode("utf-8")


# --------------------------------------------------------------------------------------------
# WebSocket framing (RFC 6455): the server sends unmasked frames, the client masked ones.
# --------------------------------------------------------------------------------------------


def _ws_accept(key: str) -> str:
    digest = hashlib.sha1((key + _WEBSOCKET_GUID).encode("ascii")).digest()
    return base64.b64encode(digest).decode("ascii")


def _ws_frame(opcode: int, payload: bytes) -> bytes:
    """One final, unmasked frame (what a server sends)."""
    size = len(payload)
    if size < 126:
        head = struct.pack("!BB", 0x80 | opcode, size)
    elif size < 1 << 16:
        head = struct.pack("!BBH", 0x80 | opcode, 126, size)
    else:
        head = struct.pack("!BBQ", 0x80 | opcode, 127, size)
    return head + payload


def _read_exactly(stream: Any, size: int) -> bytes:
    data = stream.read(size) if size else b""
    if len(data) < size:
        raise _SocketClosed("the connection was closed")
    return data


def _ws_read_frame(stream: Any) -> tuple[bool, int, bytes]:
    """Read one client frame: ``(fin, opcode, unmasked payload)``.

    Raises ``_SocketClosed`` on EOF and ``ValueError`` when the frame breaks RFC 6455.
    """
    first, second = _read_exactly(stream, 2)
    fin, opcode, masked, size = bool(first & 0x80), first & 0x0F, bool(second & 0x80), second & 0x7F
    if first & 0x70:
        raise ValueError(f"reserved bits set in a frame header (0x{first:02x})")
    if size == 126:
        (size,) = struct.unpack("!H", _read_exactly(stream, 2))
    elif size == 127:
        (size,) = struct.unpack("!Q", _read_exactly(stream, 8))
    if not masked:
        raise ValueError("a client frame is not masked (RFC 6455 section 5.1)")
    if opcode >= _OP_CLOSE and (size > 125 or not fin):
        raise ValueError(f"control frame 0x{opcode:x} is fragmented or longer than 125 bytes")
    mask = _read_exactly(stream, 4)
    data = _read_exactly(stream, size)
    key = (mask * (size // 4 + 1))[:size]
    unmasked = (int.from_bytes(data, "big") ^ int.from_bytes(key, "big")).to_bytes(size, "big")
    return fin, opcode, unmasked


def _websocket_problem(method: str, headers: dict[str, str]) -> str | None:
    """Why a request is not a valid WebSocket opening handshake (``None`` if it is)."""
    if method != "GET":
        return f"the WebSocket handshake must be a GET, not {method}"
    if headers.get("upgrade", "").lower() != "websocket":
        return "missing 'Upgrade: websocket'"
    connection = {token.strip().lower() for token in headers.get("connection", "").split(",")}
    if "upgrade" not in connection:
        return "missing 'Connection: Upgrade'"
    if headers.get("sec-websocket-version") != "13":
        return "Sec-WebSocket-Version must be 13"
    try:
        key = base64.b64decode(headers.get("sec-websocket-key", ""), validate=True)
    except ValueError:
        key = b""
    if len(key) != 16:
        return "Sec-WebSocket-Key must be 16 random bytes in base64"
    return None


def _accepts_response_payload(envelope_type: str, payload: dict[str, Any]) -> bool:
    """What Slack sets: slash commands, modal submissions and option loads take a body."""
    if envelope_type == "slash_commands":
        return True
    if envelope_type == "interactive":
        return payload.get("type") in ("view_submission", "block_suggestion")
    return False


def wait_for(
    predicate: Callable[[], T],
    timeout: float = 5.0,
    interval: float = 0.02,
    *,
    message: str | None = None,
    describe: Callable[[], str] | None = None,
) -> T:
    """Poll ``predicate`` until it returns something truthy and return that value.

    ``LookupError`` and ``AssertionError`` raised by the predicate count as "not yet" (so
    ``lambda: fake.messages("C1")[0]`` works). On timeout an ``AssertionError`` explains what
    was awaited, the last value or error seen, and ``describe()`` if given.
    """
    deadline = time.monotonic() + timeout
    last: Any = None
    last_error: BaseException | None = None
    while True:
        try:
            last = predicate()
            last_error = None
        except (LookupError, AssertionError) as exc:
            last, last_error = None, exc
        if last:
            return last
        if time.monotonic() >= deadline:
            break
        time.sleep(interval)
    what = message or getattr(predicate, "__qualname__", repr(predicate))
    lines = [f"timed out after {timeout:.2f}s waiting for {what}"]
    if last_error is not None:
        lines.append(f"last error: {type(last_error).__name__}: {last_error}")
    else:
        lines.append(f"last value: {last!r}")
    if describe is not None:
        lines.append(describe())
    raise AssertionError("\n".join(lines))


# --------------------------------------------------------------------------------------------
# HTTP plumbing
# --------------------------------------------------------------------------------------------


class _Server(ThreadingHTTPServer):
    # Slack and GitHub never refuse a burst of connections; the stdlib's backlog of 5 does.
    request_queue_size = 128
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, fake: FakeSlack, port: int = 0) -> None:
        super().__init__(("127.0.0.1", port), _Handler)
        self.fake = fake


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    server_version = "FakeSlack/1.0"

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output quiet."""

    def do_GET(self) -> None:
        if urlsplit(self.path).path == SOCKET_PATH:
            self.close_connection = True  # the connection is the WebSocket's from now on
            self.server.fake._serve_socket(self)
            return
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        fake = self.server.fake
        method = _method_of(self.path)
        if method is not None and fake._hangs(method):
            fake._hold(self, method, _held_args(method, self.path, headers, body))
            self.close_connection = True  # unanswered: Slack never took the call
            return
        try:
            answer = fake._dispatch(self.command, self.path, headers, body)
        except Exception as exc:  # never let the fake hang the client
            answer = _HttpAnswer(500, f"fake slack crashed: {exc!r}".encode(), "text/plain")
        fake.changed()
        self.send_response(answer.status)
        self.send_header("Content-Type", answer.content_type)
        self.send_header("Content-Length", str(len(answer.body)))
        for name, value in answer.headers.items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(answer.body)


def _method_of(path: str) -> str | None:
    """``chat.postMessage`` for a Web API call, ``response_url`` for a response URL post."""
    route = urlsplit(path).path
    if route.startswith("/api/"):
        return route[len("/api/") :]
    if route.startswith("/response/"):
        return "response_url"
    if route.startswith(UPLOAD_PATH):
        return "upload_url"
    return None


def _held_args(method: str, path: str, headers: dict[str, str], body: bytes) -> dict[str, Any]:
    """What a hung call is recorded with in ``dropped``."""
    if method == "upload_url":  # raw file bytes, not arguments
        return {"file_id": urlsplit(path).path[len(UPLOAD_PATH) :], "length": len(body)}
    try:
        return _parse_body(headers, body)
    except (ValueError, UnicodeDecodeError):
        return {}


def _body_kind(headers: dict[str, str]) -> str:
    content_type = headers.get("content-type", "")
    if "json" in content_type:
        return "json"
    if content_type.startswith("multipart/"):
        return "multipart"
    return "form"


def _parse_body(headers: dict[str, str], body: bytes) -> dict[str, Any]:
    """Decode a JSON, form-encoded or multipart request body into a flat dict."""
    content_type = headers.get("content-type", "")
    if not body:
        return {}
    if "json" in content_type:
        data = json.loads(body.decode("utf-8"))
        if not isinstance(data, dict):
            raise ValueError("JSON body must be an object")
        return data
    if content_type.startswith("multipart/"):
        parser = email.parser.BytesParser(policy=email.policy.HTTP)
        message = parser.parsebytes(
            f"Content-Type: {content_type}\r\n\r\n".encode() + body, headersonly=False
        )
        out: dict[str, Any] = {}
        for part in message.iter_parts():  # type: ignore[attr-defined]
            name = part.get_param("name", header="content-disposition")
            if name:
                payload = part.get_payload(decode=True) or b""
                out[str(name)] = payload.decode("utf-8", errors="replace")
        return out
    return dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True))


# --------------------------------------------------------------------------------------------
# The fake
# --------------------------------------------------------------------------------------------


class FakeSlack(SavedWhole):
    """A fake Slack Web API server with Slack-like state, validation and fault injection.

    Use it as a context manager (or call ``start()``/``stop()``) and point a ``WebClient`` at
    ``api_url``. All public methods are thread-safe; accessors return deep copies.
    """

    def __init__(
        self,
        token: str = "xoxb-test-token",
        scopes: Iterable[str] | None = None,
        team_id: str = "T0TEST",
        bot_user_id: str = "U0BOT",
        bot_id: str = "B0BOT",
        app_id: str = "A0APP",
        *,
        team_name: str = "Acme",
        team_domain: str = "acme",
        bot_name: str = "hotfix-bot",
        trigger_ttl: float = TRIGGER_TTL_SECONDS,
        clock: Callable[[], float] = time.time,
        app_token: str = "xapp-test-token",
        nice: int = 0,
        port: int = 0,
    ) -> None:
        """Create the fake (not started yet).

        Args:
            token: the only bot token accepted (``Authorization: Bearer <token>``).
            scopes: granted bot scopes; ``None`` grants everything.
            team_id, bot_user_id, bot_id, app_id: identity reported by ``auth.test``.
            team_name, team_domain, bot_name: cosmetic identity details.
            trigger_ttl: seconds a ``trigger_id`` stays valid (Slack: 3 s).
            clock: wall clock used for message ``ts`` and trigger ages.
            app_token: the only app-level token accepted by ``apps.connections.open``.
            nice: run the fake's threads at this lower OS priority (a benchmark keeps Slack's
                share of the work from delaying its own load generator).
            port: listen on this port of 127.0.0.1 (0: one the OS picks).
        """
        self.token = token
        self.app_token = app_token
        self.scopes: frozenset[str] | None = None if scopes is None else frozenset(scopes)
        self.team_id = team_id
        self.bot_user_id = bot_user_id
        self.bot_id = bot_id
        self.app_id = app_id
        self.team_name = team_name
        self.team_domain = team_domain
        self.bot_name = bot_name
        self.trigger_ttl = trigger_ttl
        self._clock = clock
        self._nice = nice
        self._port = port
        # Counts every request served and every change made from outside: the sandbox's page
        # re-reads the workspace when it moves.
        self.version = 0

        self._lock = threading.RLock()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._ids = itertools.count(1)
        self._last_ts_us = 0

        self._users: dict[str, dict[str, Any]] = {}
        self._usergroups: dict[str, list[str]] = {}
        self._channels: dict[str, _Channel] = {}
        self._dms: dict[str, str] = {}
        # Socket Mode: connections and envelopes survive reset() (acks are activity).
        self._socket_changed = threading.Condition(self._lock)
        self._tickets: dict[str, _Ticket] = {}
        self._links: list[_SocketLink] = []
        self._envelopes: dict[str, _Envelope] = {}
        # Hanging: methods (or "response_url", or "*" for every Web API method) whose calls
        # are held unanswered until recover(); set when nothing hangs.
        self._hanging: frozenset[str] = frozenset()
        self._recovered = threading.Event()
        self._recovered.set()
        self._init_activity()

    def _init_activity(self) -> None:
        self._history: dict[str, list[dict[str, Any]]] = {}
        self._replies: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self._by_ts: dict[tuple[str, str], dict[str, Any]] = {}
        self._ephemerals: list[dict[str, Any]] = []
        self._views: dict[str, dict[str, Any]] = {}
        self._view_order: list[str] = []
        self._closed_views: set[str] = set()
        self._homes: dict[str, str] = {}
        self._view_users: dict[str, str] = {}  # modal id -> the user it was opened for
        self._triggers: dict[str, _Trigger] = {}
        self._response_urls: dict[str, _ResponseUrl] = {}
        self._responses: list[dict[str, Any]] = []
        self._faults: dict[str, list[_Fault]] = {}
        self._socket_acks: list[dict[str, Any]] = []
        self._files: dict[str, _File] = {}
        self.calls: list[Call] = []
        self.dropped: list[Call] = []
        self.validation_errors: list[str] = []

    # ---------------------------------------------------------------- lifecycle

    def start(self) -> FakeSlack:
        """Start serving on 127.0.0.1 (random port) in a daemon thread; return ``self``."""
        with self._lock:
            if self._server is not None:
                return self
            self._server = _Server(self, self._port)
            self._thread = threading.Thread(
                target=self._serve, args=(self._server,), name="fake-slack", daemon=True
            )
            self._thread.start()
        return self

    def _serve(self, server: _Server) -> None:
        if self._nice:  # threads inherit it: every request's thread runs at it too
            with contextlib.suppress(OSError, AttributeError):
                os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), self._nice)
        server.serve_forever(poll_interval=0.05)

    def stop(self) -> None:
        """Close Socket Mode connections, stop the server and wait for its thread (idempotent)."""
        with self._lock:
            server, thread = self._server, self._thread
            self._server, self._thread = None, None
            links = [link for link in self._links if link.closed_at is None]
        for link in links:
            self._close_link(link, 1001)
        if server is not None:
            server.shutdown()
            server.server_close()
        if thread is not None:
            thread.join(timeout=5)

    def __enter__(self) -> FakeSlack:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT`` (the server must be started)."""
        server = self._server
        if server is None:
            raise RuntimeError("FakeSlack is not started")
        return f"http://127.0.0.1:{server.server_address[1]}"

    @property
    def api_url(self) -> str:
        """Web API base for ``WebClient(base_url=...)``; ends with a slash as slack_sdk needs."""
        return f"{self.base_url}/api/"

    # ---------------------------------------------------------------- setup

    def add_user(
        self,
        user_id: str,
        name: str,
        real_name: str | None = None,
        tz: str = "UTC",
        is_bot: bool = False,
    ) -> dict[str, Any]:
        """Register a workspace member and return the ``users.info`` user object."""
        zone = zoneinfo.ZoneInfo(tz)
        now = datetime.now(zone)
        offset = now.utcoffset()
        real = real_name if real_name is not None else name
        user = {
            "id": user_id,
            "team_id": self.team_id,
            "name": name,
            "deleted": False,
            "color": "9f69e7",
            "real_name": real,
            "tz": tz,
            "tz_label": now.tzname() or tz,
            "tz_offset": int(offset.total_seconds()) if offset is not None else 0,
            "profile": {
                "real_name": real,
                "real_name_normalized": real,
                "display_name": name,
                "display_name_normalized": name,
                "first_name": real.split(" ")[0] if real else "",
                "last_name": " ".join(real.split(" ")[1:]) if real else "",
                "title": "",
                "team": self.team_id,
                "image_48": f"https://example.invalid/avatars/{user_id}_48.png",
                "image_72": f"https://example.invalid/avatars/{user_id}_72.png",
            },
            "is_admin": False,
            "is_owner": False,
            "is_primary_owner": False,
            "is_restricted": False,
            "is_ultra_restricted": False,
            "is_bot": is_bot,
            "is_app_user": False,
            "updated": int(self._clock()),
        }
        with self._lock:
            self._users[user_id] = user
        return copy.deepcopy(user)

    def set_usergroup(self, group_id: str, members: list[str]) -> None:
        """Create or replace a user group (``S…``) with the given member ids."""
        with self._lock:
            self._usergroups[group_id] = list(members)

    def add_channel(
        self,
        channel_id: str,
        name: str,
        is_private: bool = False,
        bot_is_member: bool = True,
    ) -> dict[str, Any]:
        """Register a public (``C…``) or private channel the bot may post to."""
        channel = _Channel(channel_id, name, is_private=is_private, is_member=bot_is_member)
        with self._lock:
            self._channels[channel_id] = channel
            self._history.setdefault(channel_id, [])
        return channel.as_dict()

    def dm_channel(self, user_id: str) -> str:
        """Return the id of the bot's DM channel with ``user_id``, opening it if needed."""
        with self._lock:
            channel_id = self._dms.get(user_id)
            if channel_id is None:
                channel_id = self._new_id("D")
                self._dms[user_id] = channel_id
                self._channels[channel_id] = _Channel(
                    channel_id, user_id, is_private=True, is_im=True, user=user_id
                )
                self._history.setdefault(channel_id, [])
            return channel_id

    def issue_trigger(self, user_id: str, *, view_id: str | None = None) -> str:
        """Issue a fresh ``trigger_id`` (as Slack does with each interaction).

        ``view_id`` records the modal the interaction came from, so ``views.push`` knows
        which stack to push onto.
        """
        with self._lock:
            number = next(self._ids)
            now = self._clock()
            trigger_id = f"{number}.{int(now)}.{number:08x}{int(now * 1000) % 0xFFFFFFFF:08x}"
            self._triggers[trigger_id] = _Trigger(user_id, now, view_id)
            return trigger_id

    def new_response_url(
        self,
        channel_id: str,
        user_id: str,
        *,
        message_ts: str | None = None,
        ephemeral: bool = False,
    ) -> str:
        """Create a ``response_url`` (``{base_url}/response/<id>``) for an interaction.

        ``message_ts`` names the message the interaction came from (for ``replace_original``
        and ``delete_original``); ``ephemeral`` says that message was ephemeral.
        """
        with self._lock:
            number = next(self._ids)
            hook_id = f"{self.team_id}/{number}/{number * 7919:x}{int(self._clock()):x}"
            self._response_urls[hook_id] = _ResponseUrl(channel_id, user_id, message_ts, ephemeral)
        return f"{self.base_url}/response/{hook_id}"

    def fail(
        self,
        method: str,
        error: str = "internal_error",
        times: int = 1,
        http_status: int = 200,
        retry_after: int | None = None,
    ) -> None:
        """Make the next ``times`` calls of ``method`` fail.

        ``http_status`` 200 answers ``{"ok": false, "error": error}``; 429 answers a rate
        limit (``Retry-After`` header, error ``ratelimited`` unless given); 5xx answers an HTML
        body without JSON. ``method`` may also be ``"response_url"``, or ``"upload_url"`` (the
        POST of a file's bytes; give it an ``http_status`` of 4xx or 5xx, as a 200 is success
        there whatever the body says).
        """
        if http_status == 429 and error == "internal_error":
            error = "ratelimited"
        with self._lock:
            self._faults.setdefault(method, []).append(
                _Fault(error, times, http_status, retry_after)
            )

    def hang(self, *methods: str) -> None:
        """Leave every call of ``methods`` unanswered until ``recover()``, as a Slack that is
        down does: the connection stays open, nothing is applied, no answer comes.

        ``methods`` are Web API methods (``chat.postMessage``), ``"response_url"``,
        ``"upload_url"`` (the POST of a file's bytes), or ``"*"`` for every Web API method.
        Each hung call is recorded in ``dropped``; when the client gives up (its timeout) or
        Slack recovers, the connection is closed unanswered.
        """
        with self._lock:
            self._hanging = frozenset(methods)
            self._recovered.clear()

    def forget_faults(self, method: str) -> None:
        """Answer ``method`` normally again (the faults set up with ``fail`` are dropped)."""
        with self._lock:
            self._faults.pop(method, None)

    def faults_left(self, method: str) -> int:
        """How many answers of ``method`` set up with ``fail`` are still to come."""
        with self._lock:
            return sum(fault.remaining for fault in self._faults.get(method, []))

    def recover(self) -> None:
        """Answer normally again; calls still held are closed unanswered (never applied)."""
        with self._lock:
            self._hanging = frozenset()
            self._recovered.set()

    def _hangs(self, method: str) -> bool:
        hanging = self._hanging
        if not hanging:
            return False
        return method in hanging or ("*" in hanging and method not in _NOT_WEB_API)

    def _hold(self, handler: _Handler, method: str, args: dict[str, Any]) -> None:
        """Keep a hung call's connection open, unanswered, until recovery or the client
        hangs up."""
        with self._lock:
            self.dropped.append(Call(method, copy.deepcopy(args), self._clock()))
        sock = handler.connection
        while not self._recovered.wait(0.05):
            readable, _, _ = select.select([sock], [], [], 0)
            if readable:
                try:
                    if not sock.recv(1, socket.MSG_PEEK):
                        return  # the client gave up
                except OSError:
                    return

    def reset(self) -> None:
        """Forget messages, files, calls, views, triggers, responses, faults and validation
        errors.

        Users, user groups, channels and DM channels are kept.
        """
        with self._lock:
            self._init_activity()
            self._hanging = frozenset()
            self._recovered.set()
            for channel_id in self._channels:
                self._history[channel_id] = []

    def close_view(self, view_id: str, *, whole_stack: bool = False) -> None:
        """Mark a modal (or its whole stack) as closed, as after a submission."""
        with self._lock:
            view = self._views.get(view_id)
            if view is None:
                raise KeyError(view_id)
            if whole_stack:
                root = view["root_view_id"]
                self._closed_views.update(
                    vid for vid, v in self._views.items() if v["root_view_id"] == root
                )
            else:
                self._closed_views.add(view_id)
            self.changed()

    def apply_view_submission_response(self, view_id: str, response: Any) -> None:
        """Apply what the app answered to a ``view_submission`` like Slack's client does.

        No body (or no ``response_action``) closes the view, ``clear`` closes the stack,
        ``update`` replaces the view, ``push`` pushes a new one; ``errors`` keeps it open.
        Invalid views are recorded in ``validation_errors``.
        """
        action = response.get("response_action") if isinstance(response, dict) else None
        if action is None:
            self.close_view(view_id)
        elif action == "clear":
            self.close_view(view_id, whole_stack=True)
        elif action in ("update", "push"):
            raw = response.get("view")
            where = f"view_submission response_action={action}"
            with self._lock:
                problems = validate_view(raw, where=where)
                if problems:
                    self.validation_errors.extend(problems)
                    return
                current = self._views[view_id]
                if action == "update":
                    self._replace_view(current, raw)
                else:
                    pushed = self._store_view(raw, previous=current)
                    self._view_users[pushed["id"]] = self._view_users.get(view_id, "")
        elif action != "errors":
            with self._lock:
                self.validation_errors.append(
                    f"view_submission response: unknown response_action {action!r}"
                )
        self.changed()

    # ---------------------------------------------------------------- the sandbox's needs

    # What a workspace is made of, saved and restored whole (the sandbox keeps it in its
    # database, so a restart loses no message, modal or Home tab). Not saved: triggers (they
    # live 3 s), calls, faults, Socket Mode.
    _SAVED: ClassVar[tuple[str, ...]] = (
        "_users",
        "_usergroups",
        "_channels",
        "_dms",
        "_history",
        "_replies",
        "_by_ts",
        "_ephemerals",
        "_views",
        "_view_order",
        "_closed_views",
        "_homes",
        "_view_users",
        "_response_urls",
        "_responses",
        "_files",
        "_last_ts_us",
        "version",
    )

    def changed(self) -> None:
        """Say the workspace moved (every request served calls it)."""
        with self._lock:
            self.version += 1

    def _restored(self) -> None:
        self.version += 1

    def show_ack(self, channel_id: str, user_id: str, text: str, blocks: Any = None) -> None:
        """Show what a slash command's acknowledgement carried, as Slack does: a message only
        ``user_id`` sees."""
        with self._lock:
            self._ephemerals.append(
                {
                    "type": "message",
                    "channel": channel_id,
                    "user": user_id,
                    "text": text,
                    "blocks": self._fill_ids(blocks if isinstance(blocks, list) else []),
                    "ts": self._next_ts(),
                    "thread_ts": None,
                    "source": "ack",
                }
            )
            self.version += 1

    def open_modal(self, user_id: str) -> dict[str, Any] | None:
        """The modal on top of ``user_id``'s open stack (``None`` when none is open)."""
        with self._lock:
            for view_id in reversed(self._view_order):
                if view_id in self._closed_views or self._view_users.get(view_id) != user_id:
                    continue
                return copy.deepcopy(self._views[view_id])
            return None

    # ---------------------------------------------------------------- Socket Mode

    def wait_for_socket(self, timeout: float = 5.0, *, connections: int = 1) -> None:
        """Wait until the app is connected over Socket Mode and has been sent ``hello``.

        ``connections`` counts every connection since the start: after ``socket_disconnect()``
        pass one more than before to wait for the app's new connection.
        """

        def connected() -> bool:
            made = sum(1 for link in self._links if link.ready or link.closed_at is not None)
            return made >= connections and self._open_link() is not None

        with self._socket_changed:
            if not self._socket_changed.wait_for(connected, timeout):
                raise AssertionError(
                    f"timed out after {timeout:.2f}s waiting for {connections} Socket Mode "
                    f"connection(s) from the app ({self._socket_summary()})"
                )

    def socket_connections(self) -> list[dict[str, Any]]:
        """Every Socket Mode connection so far, oldest first.

        Each has ``number``, ``open``, ``opened_at``, ``closed_at``, ``close_code`` (what the
        app's close frame said, if it sent one), ``pings`` (received from the app) and
        ``pongs`` (answers to ``socket_ping``).
        """
        with self._lock:
            return [link.as_dict() for link in self._links]

    def socket_post(
        self,
        envelope_type: str,
        payload: dict[str, Any],
        *,
        accepts_response_payload: bool | None = None,
        retry_attempt: int | None = None,
        retry_reason: str | None = None,
        envelope_id: str | None = None,
        timeout: float = 5.0,
    ) -> str:
        """Deliver an envelope over the app's newest connection; return its ``envelope_id``.

        ``envelope_type`` is ``slash_commands``, ``interactive`` or ``events_api``; ``payload``
        is what Slack would POST over HTTP (the form fields of a slash command as a dict, the
        interactive ``payload`` JSON, the Events API ``event_callback``). By default
        ``accepts_response_payload`` is what Slack sets (true for slash commands,
        ``view_submission`` and ``block_suggestion``); ``events_api`` envelopes carry
        ``retry_attempt`` / ``retry_reason`` (0 and ``""`` unless given). Waits up to
        ``timeout`` for a connection; does not wait for the acknowledgement (see
        ``socket_wait_ack``).
        """
        if envelope_type not in SOCKET_ENVELOPE_TYPES:
            raise ValueError(
                f"unknown envelope type {envelope_type!r}; use one of "
                f"{sorted(SOCKET_ENVELOPE_TYPES)}"
            )
        if accepts_response_payload is None:
            accepts_response_payload = _accepts_response_payload(envelope_type, payload)
        envelope_id = envelope_id or str(uuid.uuid4())
        message: dict[str, Any] = {
            "envelope_id": envelope_id,
            "payload": copy.deepcopy(payload),
            "type": envelope_type,
            "accepts_response_payload": accepts_response_payload,
        }
        if envelope_type == "events_api" or retry_attempt is not None:
            message["retry_attempt"] = retry_attempt or 0
            message["retry_reason"] = retry_reason or ""
        link = self._wait_open_link(timeout)
        with self._lock:  # known before it is sent: the ack may come back at once
            self._envelopes[envelope_id] = _Envelope(
                envelope_id, envelope_type, accepts_response_payload, link.number, time.monotonic()
            )
        try:
            link.send_json(message)
        except OSError as exc:
            raise AssertionError(
                f"could not deliver the {envelope_type} envelope: Socket Mode connection "
                f"{link.number} is gone ({exc})"
            ) from exc
        return envelope_id

    def socket_wait_ack(self, envelope_id: str, timeout: float = 5.0) -> dict[str, Any]:
        """Wait for the app's acknowledgement of an envelope and return it as sent.

        The acknowledgement is ``{"envelope_id": ..., "payload": {...}}``; ``payload`` (the
        ack body, e.g. a slash command's ephemeral text or a ``response_action``) is absent
        when the app acknowledged with an empty body.
        """
        with self._socket_changed:
            envelope = self._envelopes.get(envelope_id)
            if envelope is None:
                raise KeyError(f"no envelope {envelope_id!r} was sent")
            link = self._links[envelope.link - 1]

            def answered() -> bool:
                return envelope.ack is not None or link.closed_at is not None

            self._socket_changed.wait_for(answered, timeout)
            if envelope.ack is not None:
                return copy.deepcopy(envelope.ack)
            why = (
                f"Socket Mode connection {link.number} closed first"
                if link.closed_at is not None
                else f"timed out after {timeout:.2f}s"
            )
            raise AssertionError(
                f"no acknowledgement of {envelope.type} envelope {envelope_id}: {why}\n"
                + self._describe_recent()
            )

    def socket_send(
        self,
        envelope_type: str,
        payload: dict[str, Any],
        *,
        timeout: float = 5.0,
        accepts_response_payload: bool | None = None,
        retry_attempt: int | None = None,
        retry_reason: str | None = None,
        envelope_id: str | None = None,
    ) -> dict[str, Any]:
        """Deliver an envelope (see ``socket_post``) and return the app's acknowledgement.

        Raises ``AssertionError`` when no acknowledgement comes within ``timeout`` seconds.
        """
        sent = self.socket_post(
            envelope_type,
            payload,
            accepts_response_payload=accepts_response_payload,
            retry_attempt=retry_attempt,
            retry_reason=retry_reason,
            envelope_id=envelope_id,
            timeout=timeout,
        )
        return self.socket_wait_ack(sent, timeout)

    def socket_acks(self) -> list[dict[str, Any]]:
        """Acknowledgements received since the start (or ``reset()``), in order.

        Each has ``envelope_id``, ``type`` (of the envelope), ``payload`` (``None`` for an
        empty ack) and ``seconds`` (how long the app took).
        """
        with self._lock:
            return copy.deepcopy(self._socket_acks)

    def socket_disconnect(self, reason: str = "refresh_requested") -> None:
        """Send ``{"type": "disconnect", ...}`` on the newest connection, as Slack does before
        it refreshes a connection (``reason``: ``warning``, ``refresh_requested``,
        ``link_disabled``). The app is expected to open a new connection."""
        link = self._wait_open_link(0)
        link.send_json(
            {"type": "disconnect", "reason": reason, "debug_info": {"host": _SOCKET_HOST}}
        )

    def socket_close(self, code: int = 1001) -> None:
        """Close every open connection with a close frame, as when Slack drops a link."""
        with self._lock:
            links = [link for link in self._links if link.open]
        for link in links:
            self._close_link(link, code)

    def socket_ping(self, data: bytes = b"fake-slack-ping", timeout: float = 5.0) -> None:
        """Ping the app's newest connection and wait for its pong carrying ``data``."""
        link = self._wait_open_link(0)
        link.send(_OP_PING, data)
        with self._socket_changed:
            if not self._socket_changed.wait_for(lambda: data in link.pongs, timeout):
                raise AssertionError(
                    f"no pong for ping {data!r} on Socket Mode connection {link.number} "
                    f"within {timeout:.2f}s"
                )

    # ---------------------------------------------------------------- accessors

    def user(self, user_id: str) -> dict[str, Any] | None:
        """The user object registered with ``add_user`` (or ``None``)."""
        with self._lock:
            return copy.deepcopy(self._users.get(user_id))

    def channel(self, channel_id: str) -> dict[str, Any] | None:
        """Channel details (id, name, is_private, is_member, is_im, user) or ``None``."""
        with self._lock:
            channel = self._channels.get(channel_id)
            return channel.as_dict() if channel else None

    def calls_to(self, method: str) -> list[dict[str, Any]]:
        """Arguments of every call of ``method`` so far, in order."""
        with self._lock:
            return [copy.deepcopy(c.args) for c in self.calls if c.method == method]

    def messages(self, channel_id: str) -> list[dict[str, Any]]:
        """Top-level messages of a channel in order (a user id means the DM with that user)."""
        with self._lock:
            channel_id = self._resolve_view_channel(channel_id)
            return copy.deepcopy(self._history.get(channel_id, []))

    def thread(self, channel_id: str, ts: str) -> list[dict[str, Any]]:
        """Replies in the thread started by message ``ts`` (parent excluded)."""
        with self._lock:
            channel_id = self._resolve_view_channel(channel_id)
            return copy.deepcopy(self._replies.get((channel_id, ts), []))

    def message(self, channel_id: str, ts: str) -> dict[str, Any] | None:
        """A top-level message or thread reply by ``ts`` (``None`` if absent)."""
        with self._lock:
            channel_id = self._resolve_view_channel(channel_id)
            return copy.deepcopy(self._by_ts.get((channel_id, ts)))

    def ephemerals(
        self, channel_id: str | None = None, user_id: str | None = None
    ) -> list[dict[str, Any]]:
        """Ephemeral messages (``chat.postEphemeral`` and ephemeral ``response_url`` posts).

        Each has ``channel``, ``user`` (the recipient), ``text``, ``blocks``, ``ts``,
        ``thread_ts`` (or ``None``) and ``source``.
        """
        with self._lock:
            if channel_id is not None:
                channel_id = self._resolve_view_channel(channel_id)
            return copy.deepcopy(
                [
                    e
                    for e in self._ephemerals
                    if (channel_id is None or e["channel"] == channel_id)
                    and (user_id is None or e["user"] == user_id)
                ]
            )

    def responses(self, user_id: str | None = None) -> list[dict[str, Any]]:
        """Everything posted to ``response_url`` s, in order (optionally for one user).

        Each record has ``url``, ``channel``, ``user``, ``response_type``, ``text``,
        ``blocks``, ``replace_original``, ``delete_original``, ``thread_ts``, ``ok``,
        ``errors`` and the raw ``body``.
        """
        with self._lock:
            return copy.deepcopy(
                [r for r in self._responses if user_id is None or r["user"] == user_id]
            )

    def view(self, view_id: str) -> dict[str, Any] | None:
        """The current state of a view (modal or Home tab) by id."""
        with self._lock:
            return copy.deepcopy(self._views.get(view_id))

    def views(self) -> list[dict[str, Any]]:
        """Every modal opened or pushed, in order, as currently stored."""
        with self._lock:
            return copy.deepcopy([self._views[v] for v in self._view_order])

    def last_view(self) -> dict[str, Any] | None:
        """The modal opened or pushed most recently (``None`` if none)."""
        with self._lock:
            if not self._view_order:
                return None
            return copy.deepcopy(self._views[self._view_order[-1]])

    def view_is_open(self, view_id: str) -> bool:
        """Whether a modal is still open (not closed by a submission)."""
        with self._lock:
            return view_id in self._views and view_id not in self._closed_views

    def home(self, user_id: str) -> dict[str, Any] | None:
        """The Home tab last published for ``user_id`` (``None`` if never)."""
        with self._lock:
            view_id = self._homes.get(user_id)
            return copy.deepcopy(self._views[view_id]) if view_id else None

    def files(
        self, channel_id: str | None = None, thread_ts: str | None = None
    ) -> list[dict[str, Any]]:
        """Files from ``files.getUploadURLExternal`` on, in order; with ``channel_id`` only
        those shared in that channel, with ``thread_ts`` too only those in that thread.

        Each has ``id``, ``name`` (the filename), ``title``, ``length`` (as announced),
        ``content`` (the bytes uploaded, ``None`` before), ``shared`` (completed by
        ``files.completeUploadExternal``), ``channel`` and ``thread_ts`` (where it was shared;
        ``None`` if not, or not in a thread), ``message_ts`` (the message carrying it) and
        ``initial_comment``.
        """
        with self._lock:
            if channel_id is not None:
                channel_id = self._resolve_view_channel(channel_id)
            return [
                f.as_dict()
                for f in self._files.values()
                if (channel_id is None or f.channel == channel_id)
                and (thread_ts is None or f.thread_ts == thread_ts)
            ]

    def file(self, file_id: str) -> dict[str, Any] | None:
        """One file by id, as in ``files()`` (``None`` if absent)."""
        with self._lock:
            found = self._files.get(file_id)
            return found.as_dict() if found else None

    def assert_valid(self) -> None:
        """Raise ``AssertionError`` listing every invalid payload the fake has received."""
        with self._lock:
            problems = list(self.validation_errors)
        if problems:
            listing = "\n".join(f"  - {p}" for p in problems)
            raise AssertionError(f"{len(problems)} invalid Slack payload(s):\n{listing}")

    def wait_for(
        self,
        predicate: Callable[[], T],
        timeout: float = 5.0,
        interval: float = 0.02,
        *,
        message: str | None = None,
    ) -> T:
        """Poll ``predicate`` until truthy (see module-level ``wait_for``).

        On timeout the error also lists the last Web API calls and validation errors.
        """
        return wait_for(
            predicate, timeout, interval, message=message, describe=self._describe_recent
        )

    def _describe_recent(self) -> str:
        with self._lock:
            recent = self.calls[-10:]
            problems = list(self.validation_errors)
        lines = [f"last {len(recent)} Web API call(s):"]
        for c in recent:
            args = json.dumps(c.args, default=str)
            lines.append(f"  {c.method} {args[:300]}")
        if problems:
            lines.append("validation errors:")
            lines.extend(f"  - {p}" for p in problems)
        return "\n".join(lines)

    # ---------------------------------------------------------------- internals: ids

    def _new_id(self, prefix: str) -> str:
        return prefix + _base36(next(self._ids), 10)

    def _next_ts(self) -> str:
        now_us = int(self._clock() * 1_000_000)
        self._last_ts_us = max(now_us, self._last_ts_us + 1)
        seconds, micros = divmod(self._last_ts_us, 1_000_000)
        return f"{seconds}.{micros:06d}"

    def _new_hash(self) -> str:
        return f"{int(self._clock())}.{next(self._ids):08x}"

    def _fill_ids(self, blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Copy ``blocks`` adding ``block_id`` / ``action_id`` where Slack would."""
        filled = copy.deepcopy(blocks)
        for block in filled:
            if not isinstance(block, dict):
                continue
            block.setdefault("block_id", _base36(next(self._ids) * 7919, 5))
            elements: list[Any] = []
            if isinstance(block.get("elements"), list) and block.get("type") == "actions":
                elements.extend(block["elements"])
            for key in ("accessory", "element"):
                if isinstance(block.get(key), dict):
                    elements.append(block[key])
            for element in elements:
                if isinstance(element, dict) and element.get("type") in _INTERACTIVE_ELEMENTS:
                    element.setdefault("action_id", _base36(next(self._ids) * 104729, 5))
        return filled

    # ---------------------------------------------------------------- internals: HTTP

    def _dispatch(
        self, http_method: str, path: str, headers: dict[str, str], body: bytes
    ) -> _HttpAnswer:
        parts = urlsplit(path)
        if parts.path.startswith("/api/"):
            method = parts.path[len("/api/") :]
            return self._dispatch_api(http_method, method, parts.query, headers, body)
        if parts.path.startswith("/response/"):
            return self._dispatch_response_url(parts.path[len("/response/") :], headers, body)
        if parts.path.startswith(UPLOAD_PATH):
            return self._dispatch_upload(http_method, parts.path[len(UPLOAD_PATH) :], body)
        return _HttpAnswer(404, b"not found", "text/plain")

    def _take_fault(self, method: str) -> _Fault | None:
        faults = self._faults.get(method)
        if not faults:
            return None
        fault = faults[0]
        fault.remaining -= 1
        if fault.remaining <= 0:
            faults.pop(0)
        return fault

    @staticmethod
    def _fault_answer(fault: _Fault) -> _HttpAnswer:
        if fault.http_status >= 500:
            html = f"<html><body><h1>{fault.http_status} {fault.error}</h1></body></html>"
            return _HttpAnswer(fault.http_status, html.encode(), "text/html; charset=utf-8")
        headers: dict[str, str] = {}
        if fault.http_status == 429:
            headers["Retry-After"] = str(fault.retry_after if fault.retry_after is not None else 1)
        elif fault.retry_after is not None:
            headers["Retry-After"] = str(fault.retry_after)
        body = _json_bytes({"ok": False, "error": fault.error})
        return _HttpAnswer(fault.http_status, body, headers=headers)

    def _dispatch_api(
        self, http_method: str, method: str, query: str, headers: dict[str, str], body: bytes
    ) -> _HttpAnswer:
        try:
            args: dict[str, Any] = dict(parse_qsl(query, keep_blank_values=True))
            args.update(_parse_body(headers, body))
        except (ValueError, UnicodeDecodeError):
            return _HttpAnswer(200, _json_bytes({"ok": False, "error": "invalid_json"}))
        body_token = args.pop("token", None)
        json_errors: list[str] = []
        for key in _JSON_ARGS & set(args):
            if isinstance(args[key], str):
                try:
                    args[key] = json.loads(args[key]) if args[key] else None
                except ValueError:
                    json_errors.append(f"{method}: argument {key!r} is not valid JSON")

        with self._lock:
            wire = "+".join(
                part for part, present in (("query", query), (_body_kind(headers), body)) if present
            )
            self.calls.append(
                Call(method, copy.deepcopy(args), self._clock(), http_method, wire or "none")
            )
            extra_headers: dict[str, str] = {}
            if self.scopes is not None:
                extra_headers["X-OAuth-Scopes"] = ",".join(sorted(self.scopes))
                extra_headers["X-Accepted-OAuth-Scopes"] = METHOD_SCOPES.get(method) or ""
            try:
                token = self._bearer(headers) or body_token
                if not token:
                    raise _SlackError("not_authed")
                app_level = method in APP_LEVEL_METHODS
                if token != (self.app_token if app_level else self.token):
                    other = self.token if app_level else self.app_token
                    raise _SlackError(
                        "not_allowed_token_type" if token == other else "invalid_auth"
                    )
                fault = self._take_fault(method)
                if fault is not None:
                    return self._fault_answer(fault)
                handler = self._handlers().get(method)
                if handler is None:
                    raise _SlackError("unknown_method", req_method=method)
                needed = METHOD_SCOPES.get(method)
                if needed and self.scopes is not None and needed not in self.scopes:
                    raise _SlackError(
                        "missing_scope", needed=needed, provided=",".join(sorted(self.scopes))
                    )
                if json_errors:
                    self.validation_errors.extend(json_errors)
                    raise _SlackError("invalid_arguments", errors=json_errors)
                result = handler(args)
            except _SlackError as err:
                payload = {"ok": False, "error": err.error, **err.extra}
                if "errors" in err.extra:
                    payload["response_metadata"] = {"messages": err.extra["errors"]}
                return _HttpAnswer(200, _json_bytes(payload), headers=extra_headers)
            return _HttpAnswer(200, _json_bytes({"ok": True, **result}), headers=extra_headers)

    @staticmethod
    def _bearer(headers: dict[str, str]) -> str | None:
        value = headers.get("authorization", "")
        if value.lower().startswith("bearer "):
            return value[len("bearer ") :].strip() or None
        return None

    def _handlers(self) -> dict[str, Callable[[dict[str, Any]], dict[str, Any]]]:
        return {
            "auth.test": self._auth_test,
            "chat.postMessage": self._chat_post_message,
            "chat.update": self._chat_update,
            "chat.delete": self._chat_delete,
            "chat.postEphemeral": self._chat_post_ephemeral,
            "chat.getPermalink": self._chat_get_permalink,
            "conversations.replies": self._conversations_replies,
            "conversations.info": self._conversations_info,
            "views.open": self._views_open,
            "views.update": self._views_update,
            "views.push": self._views_push,
            "views.publish": self._views_publish,
            "users.info": self._users_info,
            "usergroups.users.list": self._usergroups_users_list,
            "apps.connections.open": self._apps_connections_open,
            "files.getUploadURLExternal": self._files_get_upload_url_external,
            "files.completeUploadExternal": self._files_complete_upload_external,
        }

    # ---------------------------------------------------------------- internals: messages

    def _resolve_view_channel(self, channel_id: str) -> str:
        """Map a user id to its DM channel for read accessors (no validation)."""
        if channel_id[:1] in ("U", "W") and channel_id not in self._channels:
            return self._dms.get(channel_id, channel_id)
        return channel_id

    def _resolve_channel(self, channel: Any, *, for_post: bool) -> _Channel:
        if not channel or not isinstance(channel, str):
            raise _SlackError("channel_not_found")
        if channel in self._channels:
            found = self._channels[channel]
        elif channel[:1] in ("U", "W"):
            if channel not in self._users:
                raise _SlackError("channel_not_found")
            found = self._channels[self.dm_channel(channel)]
        else:
            name = channel.lstrip("#")
            matches = [c for c in self._channels.values() if c.name == name and not c.is_im]
            if not matches:
                raise _SlackError("channel_not_found")
            found = matches[0]
        if for_post and not found.is_im and not found.is_member:
            if found.is_private:
                raise _SlackError("not_in_channel")
            if self.scopes is not None and "chat:write.public" not in self.scopes:
                raise _SlackError("not_in_channel")
        return found

    def _check_message_content(
        self, method: str, args: dict[str, Any], *, require: bool = True
    ) -> None:
        text = args.get("text")
        blocks = args.get("blocks")
        has_text = isinstance(text, str) and text.strip() != ""
        if require and not has_text and not blocks and not args.get("attachments"):
            raise _SlackError("no_text")
        if text is not None and isinstance(text, str) and len(text) > MAX_MESSAGE_TEXT:
            problem = f"{method}: text has {len(text)} characters, at most {MAX_MESSAGE_TEXT}"
            self.validation_errors.append(problem)
            raise _SlackError("msg_too_long", errors=[problem])
        if blocks is not None:
            problems = validate_blocks(blocks, limit=MAX_MESSAGE_BLOCKS, where=method)
            if problems:
                self.validation_errors.extend(problems)
                raise _SlackError("invalid_blocks", errors=problems)

    def _new_message(
        self, channel_id: str, text: str, blocks: Any, thread_ts: str | None
    ) -> dict[str, Any]:
        message: dict[str, Any] = {
            "type": "message",
            "user": self.bot_user_id,
            "bot_id": self.bot_id,
            "app_id": self.app_id,
            "team": self.team_id,
            "text": text,
            "blocks": self._fill_ids(blocks) if isinstance(blocks, list) else [],
            "ts": self._next_ts(),
            "channel": channel_id,
        }
        if thread_ts:
            message["thread_ts"] = thread_ts
        return message

    def _insert_message(
        self,
        channel_id: str,
        text: str,
        blocks: Any,
        thread_ts: str | None = None,
        broadcast: bool = False,
    ) -> dict[str, Any]:
        if thread_ts:
            parent = self._by_ts.get((channel_id, thread_ts))
            if parent is None:
                raise _SlackError("thread_not_found")
            thread_ts = parent.get("thread_ts", parent["ts"])
            parent = self._by_ts[(channel_id, thread_ts)]
        message = self._new_message(channel_id, text, blocks, thread_ts)
        if thread_ts:
            replies = self._replies.setdefault((channel_id, thread_ts), [])
            replies.append(message)
            parent["thread_ts"] = thread_ts
            parent["reply_count"] = len(replies)
            parent["reply_users_count"] = 1
            parent["reply_users"] = [self.bot_user_id]
            parent["latest_reply"] = message["ts"]
            if broadcast:
                message["subtype"] = "thread_broadcast"
                self._history.setdefault(channel_id, []).append(message)
        else:
            self._history.setdefault(channel_id, []).append(message)
        self._by_ts[(channel_id, message["ts"])] = message
        return message

    def _remove_message(self, channel_id: str, ts: str) -> None:
        message = self._by_ts.pop((channel_id, ts), None)
        if message is None:
            raise _SlackError("message_not_found")
        history = self._history.get(channel_id, [])
        if message in history:
            history.remove(message)
        parent_ts = message.get("thread_ts")
        if parent_ts and parent_ts != ts:
            replies = self._replies.get((channel_id, parent_ts), [])
            if message in replies:
                replies.remove(message)
            parent = self._by_ts.get((channel_id, parent_ts))
            if parent is not None:
                parent["reply_count"] = len(replies)

    @staticmethod
    def _public(message: dict[str, Any]) -> dict[str, Any]:
        out = copy.deepcopy(message)
        out.pop("channel", None)
        return out

    def _update_message(self, message: dict[str, Any], args: dict[str, Any]) -> None:
        if "text" in args and args["text"] is not None:
            message["text"] = args["text"]
        if "blocks" in args and args["blocks"] is not None:
            message["blocks"] = self._fill_ids(args["blocks"])
        message["edited"] = {"user": self.bot_user_id, "ts": self._next_ts()}

    # ---------------------------------------------------------------- Web API methods

    def _auth_test(self, args: dict[str, Any]) -> dict[str, Any]:
        return {
            "url": f"{self.base_url}/",
            "team": self.team_name,
            "user": self.bot_name,
            "team_id": self.team_id,
            "user_id": self.bot_user_id,
            "bot_id": self.bot_id,
            "is_enterprise_install": False,
        }

    def _chat_post_message(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._resolve_channel(args.get("channel"), for_post=True)
        self._check_message_content("chat.postMessage", args)
        metadata = args.get("metadata")
        if metadata is not None:
            problem = _metadata_problem(metadata)
            if problem:
                self.validation_errors.append(f"chat.postMessage: {problem}")
                raise _SlackError("invalid_metadata_format", errors=[problem])
        message = self._insert_message(
            channel.id,
            args.get("text") or "",
            args.get("blocks"),
            thread_ts=args.get("thread_ts") or None,
            broadcast=_truthy(args.get("reply_broadcast")),
        )
        if metadata is not None:
            message["metadata"] = copy.deepcopy(metadata)
        return {"channel": channel.id, "ts": message["ts"], "message": self._public(message)}

    def _conversations_info(self, args: dict[str, Any]) -> dict[str, Any]:
        """A channel by id; a private one the bot is not in does not exist, as for Slack."""
        channel_id = args.get("channel")
        found = self._channels.get(channel_id) if isinstance(channel_id, str) else None
        if found is None or found.is_im or (found.is_private and not found.is_member):
            raise _SlackError("channel_not_found")
        if found.is_private and self.scopes is not None and "groups:read" not in self.scopes:
            raise _SlackError("missing_scope", needed="groups:read")
        return {
            "channel": {
                "id": found.id,
                "name": found.name,
                "is_channel": not found.is_private,
                "is_group": found.is_private,
                "is_private": found.is_private,
                "is_member": found.is_member,
                "is_archived": False,
            }
        }

    def _conversations_replies(self, args: dict[str, Any]) -> dict[str, Any]:
        """A thread: its parent, then its replies, oldest first; message metadata only with
        ``include_all_metadata``; ``oldest``/``latest`` bound the replies (exclusive unless
        ``inclusive``)."""
        channel = self._resolve_channel(args.get("channel"), for_post=False)
        if channel.is_private and self.scopes is not None and "groups:history" not in self.scopes:
            raise _SlackError("missing_scope", needed="groups:history")
        if not channel.is_im and not channel.is_member:
            raise _SlackError("not_in_channel")
        ts = args.get("ts")
        parent = self._by_ts.get((channel.id, ts)) if ts else None
        if parent is None:
            raise _SlackError("thread_not_found")
        root = parent.get("thread_ts", parent["ts"])
        inclusive = _truthy(args.get("inclusive"))
        oldest = float(args.get("oldest") or 0)
        latest = float(args["latest"]) if args.get("latest") else None

        def within(message: dict[str, Any]) -> bool:
            at = float(message["ts"])
            if at < oldest or (at == oldest and not inclusive and oldest):
                return False
            return latest is None or at < latest or (at == latest and inclusive)

        thread = [self._by_ts[(channel.id, root)], *self._replies.get((channel.id, root), [])]
        found = [thread[0]] + [m for m in thread[1:] if within(m)]
        limit = int(args.get("limit") or 1000)
        messages = [self._public(m) for m in found[:limit]]
        if not _truthy(args.get("include_all_metadata")):
            for message in messages:
                message.pop("metadata", None)
        return {"messages": messages, "has_more": len(found) > limit}

    def _chat_update(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._resolve_channel(args.get("channel"), for_post=False)
        ts = args.get("ts")
        message = self._by_ts.get((channel.id, ts)) if ts else None
        if message is None:
            raise _SlackError("message_not_found")
        self._check_message_content("chat.update", args)
        self._update_message(message, args)
        return {
            "channel": channel.id,
            "ts": message["ts"],
            "text": message["text"],
            "message": self._public(message),
        }

    def _chat_delete(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._resolve_channel(args.get("channel"), for_post=False)
        ts = args.get("ts")
        if not ts:
            raise _SlackError("message_not_found")
        self._remove_message(channel.id, ts)
        return {"channel": channel.id, "ts": ts}

    def _chat_post_ephemeral(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._resolve_channel(args.get("channel"), for_post=True)
        user = args.get("user")
        if not user:
            raise _SlackError("user_not_found")
        if self._users and user not in self._users:
            raise _SlackError("user_not_in_channel")
        self._check_message_content("chat.postEphemeral", args)
        ts = self._next_ts()
        self._ephemerals.append(
            {
                "type": "message",
                "channel": channel.id,
                "user": user,
                "text": args.get("text") or "",
                "blocks": self._fill_ids(args.get("blocks") or []),
                "ts": ts,
                "thread_ts": args.get("thread_ts") or None,
                "source": "chat.postEphemeral",
            }
        )
        return {"message_ts": ts}

    def _chat_get_permalink(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._resolve_channel(args.get("channel"), for_post=False)
        ts = args.get("message_ts")
        message = self._by_ts.get((channel.id, ts)) if ts else None
        if message is None:
            raise _SlackError("message_not_found")
        link = f"{self.base_url}/archives/{channel.id}/p{message['ts'].replace('.', '')}"
        thread_ts = message.get("thread_ts")
        if thread_ts and thread_ts != message["ts"]:
            link += f"?thread_ts={thread_ts}&cid={channel.id}"
        return {"channel": channel.id, "permalink": link}

    def _users_info(self, args: dict[str, Any]) -> dict[str, Any]:
        user = self._users.get(args.get("user") or "")
        if user is None:
            raise _SlackError("user_not_found")
        return {"user": copy.deepcopy(user)}

    def _usergroups_users_list(self, args: dict[str, Any]) -> dict[str, Any]:
        group_id = args.get("usergroup")
        if not group_id:
            raise _SlackError("invalid_arguments")
        members = self._usergroups.get(group_id)
        if members is None:
            raise _SlackError("no_such_subteam")
        return {"users": list(members)}

    # ---------------------------------------------------------------- files

    def _files_get_upload_url_external(self, args: dict[str, Any]) -> dict[str, Any]:
        method = "files.getUploadURLExternal"
        filename, length = args.get("filename"), args.get("length")
        if not isinstance(filename, str) or not filename.strip():
            raise _SlackError("invalid_arguments", errors=[f"{method}: filename is required"])
        if length is None or length == "":
            raise _SlackError("invalid_arguments", errors=[f"{method}: length is required"])
        if isinstance(length, str) and length.strip().isdigit():
            length = int(length)
        if not isinstance(length, int) or isinstance(length, bool) or length < 1:
            raise _SlackError(
                "invalid_arguments",
                errors=[f"{method}: length must be a positive integer, got {length!r}"],
            )
        file_id = self._new_id("F")
        self._files[file_id] = _File(file_id, filename, length)
        return {"upload_url": f"{self.base_url}{UPLOAD_PATH}{file_id}", "file_id": file_id}

    def _dispatch_upload(self, http_method: str, file_id: str, body: bytes) -> _HttpAnswer:
        """Store the bytes POSTed to an upload URL; answer ``OK - <length>`` as Slack does.

        The body is the file's bytes whatever its Content-Type: slack_sdk sends them raw, and
        urllib labels them ``application/x-www-form-urlencoded``. No token: the URL is the
        credential. Once the file is shared, its URL is spent.
        """
        if http_method != "POST":
            return _HttpAnswer(405, b"method_not_allowed", "text/plain", {"Allow": "POST"})
        with self._lock:
            upload = self._files.get(file_id)
            if upload is None or upload.shared:
                return _HttpAnswer(404, b"file_not_found", "text/plain")
            fault = self._take_fault("upload_url")
            if fault is not None:
                return self._fault_answer(fault)
            upload.content = body
        return _HttpAnswer(200, f"OK - {len(body)}".encode(), "text/plain; charset=utf-8")

    def _files_to_complete(self, method: str, args: dict[str, Any]) -> list[tuple[_File, str]]:
        """The uploaded files ``args["files"]`` names, each with its title; or refuse."""
        entries = args.get("files")
        if not isinstance(entries, list) or not entries:
            raise _SlackError(
                "invalid_arguments",
                errors=[f"{method}: files must be a non-empty JSON array of {{id, title}}"],
            )
        out: list[tuple[_File, str]] = []
        for index, entry in enumerate(entries):
            file_id = entry.get("id") if isinstance(entry, dict) else None
            if not isinstance(file_id, str) or not file_id:
                problem = f"{method}: files[{index}] has no id"
                raise _SlackError("invalid_arguments", errors=[problem])
            if any(upload.id == file_id for upload, _ in out):
                problem = f"{method}: file {file_id} is listed twice"
                raise _SlackError("invalid_arguments", errors=[problem])
            upload = self._files.get(file_id)
            if upload is None:
                problem = f"{method}: no file {file_id} came from files.getUploadURLExternal"
                raise _SlackError("file_not_found", errors=[problem])
            if upload.shared:
                problem = f"{method}: file {file_id} is completed already"
                raise _SlackError("file_not_found", errors=[problem])
            if upload.content is None:
                problem = f"{method}: nothing was POSTed to the upload_url of file {file_id}"
                raise _SlackError("file_not_found", errors=[problem])
            if len(upload.content) != upload.length:
                problem = (
                    f"{method}: file {file_id} has {len(upload.content)} bytes uploaded, "
                    f"{upload.length} announced to files.getUploadURLExternal"
                )
                raise _SlackError("invalid_arguments", errors=[problem])
            title = entry.get("title")
            out.append((upload, title if isinstance(title, str) and title else upload.name))
        return out

    def _files_complete_upload_external(self, args: dict[str, Any]) -> dict[str, Any]:
        method = "files.completeUploadExternal"
        completing = self._files_to_complete(method, args)
        if args.get("channels"):
            problem = f"{method}: the fake shares in one channel_id; channels is not supported"
            raise _SlackError("invalid_arguments", errors=[problem])
        channel_id = args.get("channel_id") or None
        thread_ts = args.get("thread_ts") or None
        comment = args.get("initial_comment") or None
        if thread_ts and not channel_id:
            raise _SlackError("invalid_arguments", errors=[f"{method}: thread_ts needs channel_id"])
        message: dict[str, Any] | None = None
        if channel_id:
            # A channel id only: unlike chat.postMessage, no user ids and no channel names.
            channel = self._channels.get(channel_id)
            if channel is None:
                raise _SlackError("channel_not_found")
            if not channel.is_im and not channel.is_member:
                raise _SlackError("not_in_channel")
            # As on Slack, initial_comment wins over blocks.
            content = {"text": comment} if comment else {"blocks": args.get("blocks")}
            self._check_message_content(method, content, require=False)
            message = self._insert_message(
                channel.id, comment or "", content.get("blocks"), thread_ts=thread_ts
            )
            message["files"] = [
                {"id": upload.id, "title": title, "name": upload.name}
                for upload, title in completing
            ]
        for upload, title in completing:
            upload.title = title
            upload.shared = True
            upload.initial_comment = comment
            if message is not None:
                upload.channel = message["channel"]
                upload.thread_ts = message.get("thread_ts")
                upload.message_ts = message["ts"]
        return {"files": [{"id": upload.id, "title": title} for upload, title in completing]}

    # ---------------------------------------------------------------- views

    def _use_trigger(self, trigger_id: Any) -> _Trigger:
        trigger = self._triggers.get(trigger_id) if isinstance(trigger_id, str) else None
        if trigger is None or trigger.used:
            raise _SlackError("invalid_trigger_id")
        if self._clock() - trigger.issued_at > self.trigger_ttl:
            raise _SlackError("expired_trigger_id")
        return trigger

    def _checked_view(self, method: str, args: dict[str, Any], view_type: str) -> dict[str, Any]:
        raw = args.get("view")
        if not isinstance(raw, dict):
            raise _SlackError("invalid_arguments", errors=[f"{method}: view is required"])
        problems = validate_view(raw, where=method)
        if not problems and raw.get("type") != view_type:
            problems = [f"{method}: view type must be {view_type!r}, got {raw.get('type')!r}"]
        if problems:
            self.validation_errors.extend(problems)
            raise _SlackError("invalid_blocks", errors=problems)
        return raw

    def _view_fields(self, raw: dict[str, Any]) -> dict[str, Any]:
        return {
            "type": raw["type"],
            "title": copy.deepcopy(raw.get("title")),
            "submit": copy.deepcopy(raw.get("submit")),
            "close": copy.deepcopy(raw.get("close")),
            "blocks": self._fill_ids(raw.get("blocks") or []),
            "private_metadata": raw.get("private_metadata") or "",
            "callback_id": raw.get("callback_id") or "",
            "external_id": raw.get("external_id") or "",
            "clear_on_close": bool(raw.get("clear_on_close", False)),
            "notify_on_close": bool(raw.get("notify_on_close", False)),
            "submit_disabled": bool(raw.get("submit_disabled", False)),
        }

    def _store_view(
        self, raw: dict[str, Any], *, previous: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        external_id = raw.get("external_id")
        if external_id and any(v["external_id"] == external_id for v in self._views.values()):
            raise _SlackError("duplicate_external_id")
        view_id = self._new_id("V")
        view: dict[str, Any] = {
            "id": view_id,
            "team_id": self.team_id,
            **self._view_fields(raw),
            "state": {"values": {}},
            "hash": self._new_hash(),
            "previous_view_id": previous["id"] if previous else None,
            "root_view_id": previous["root_view_id"] if previous else view_id,
            "app_id": self.app_id,
            "app_installed_team_id": self.team_id,
            "bot_id": self.bot_id,
        }
        self._views[view_id] = view
        if view["type"] == "modal":
            self._view_order.append(view_id)
        return view

    def _replace_view(self, view: dict[str, Any], raw: dict[str, Any]) -> None:
        keep_external = view["external_id"]
        view.update(self._view_fields(raw))
        if not view["external_id"]:
            view["external_id"] = keep_external
        view["state"] = {"values": {}}
        view["hash"] = self._new_hash()

    def _views_open(self, args: dict[str, Any]) -> dict[str, Any]:
        if not args.get("trigger_id"):
            raise _SlackError("invalid_arguments", errors=["views.open: trigger_id is required"])
        trigger = self._use_trigger(args["trigger_id"])
        raw = self._checked_view("views.open", args, "modal")
        trigger.used = True
        view = self._store_view(raw)
        self._view_users[view["id"]] = trigger.user_id
        return {"view": copy.deepcopy(view)}

    def _views_push(self, args: dict[str, Any]) -> dict[str, Any]:
        if not args.get("trigger_id"):
            raise _SlackError("invalid_arguments", errors=["views.push: trigger_id is required"])
        trigger = self._use_trigger(args["trigger_id"])
        raw = self._checked_view("views.push", args, "modal")
        previous = self._views.get(trigger.view_id) if trigger.view_id else None
        if previous is not None:
            depth = sum(
                1
                for vid, v in self._views.items()
                if v["root_view_id"] == previous["root_view_id"] and vid not in self._closed_views
            )
            if depth >= 3:
                raise _SlackError("push_limit_reached")
        trigger.used = True
        view = self._store_view(raw, previous=previous)
        self._view_users[view["id"]] = trigger.user_id
        return {"view": copy.deepcopy(view)}

    def _views_update(self, args: dict[str, Any]) -> dict[str, Any]:
        view_id = args.get("view_id")
        external_id = args.get("external_id")
        if not view_id and not external_id:
            raise _SlackError(
                "invalid_arguments", errors=["views.update: view_id or external_id is required"]
            )
        if view_id:
            view = self._views.get(view_id)
        else:
            view = next((v for v in self._views.values() if v["external_id"] == external_id), None)
        if view is None:
            raise _SlackError("not_found")
        expected_hash = args.get("hash")
        if expected_hash and expected_hash != view["hash"]:
            raise _SlackError("hash_conflict")
        raw = self._checked_view("views.update", args, view["type"])
        self._replace_view(view, raw)
        return {"view": copy.deepcopy(view)}

    def _views_publish(self, args: dict[str, Any]) -> dict[str, Any]:
        user_id = args.get("user_id")
        if not user_id:
            raise _SlackError("invalid_arguments", errors=["views.publish: user_id is required"])
        existing_id = self._homes.get(user_id)
        existing = self._views.get(existing_id) if existing_id else None
        expected_hash = args.get("hash")
        if existing is not None and expected_hash and expected_hash != existing["hash"]:
            raise _SlackError("hash_conflict")
        raw = self._checked_view("views.publish", args, "home")
        if existing is not None:
            self._replace_view(existing, raw)
            view = existing
        else:
            view = self._store_view(raw)
            self._homes[user_id] = view["id"]
        return {"view": copy.deepcopy(view)}

    # ---------------------------------------------------------------- internals: Socket Mode

    def _apps_connections_open(self, args: dict[str, Any]) -> dict[str, Any]:
        ticket = str(uuid.uuid4())
        self._tickets[ticket] = _Ticket(self._clock())
        base = self.base_url.replace("http://", "ws://", 1)
        return {"url": f"{base}{SOCKET_PATH}?ticket={ticket}&app_id={self.app_id}"}

    def _open_link(self) -> _SocketLink | None:
        return next((link for link in reversed(self._links) if link.open), None)

    def _wait_open_link(self, timeout: float) -> _SocketLink:
        with self._socket_changed:
            self._socket_changed.wait_for(lambda: self._open_link() is not None, timeout)
            link = self._open_link()
            if link is None:
                raise AssertionError(
                    f"the app is not connected over Socket Mode ({self._socket_summary()})"
                )
            return link

    def _socket_summary(self) -> str:
        opened = sum(1 for c in self.calls if c.method == "apps.connections.open")
        live = sum(1 for link in self._links if link.open)
        return (
            f"apps.connections.open called {opened} time(s), "
            f"{len(self._links)} connection(s) made, {live} open"
        )

    def _socket_error(self, link: _SocketLink, problem: str) -> None:
        with self._lock:
            self.validation_errors.append(f"Socket Mode connection {link.number}: {problem}")

    @staticmethod
    def _close_link(link: _SocketLink, code: int) -> None:
        """Send a close frame and shut the socket down (the reader then sees EOF)."""
        with contextlib.suppress(OSError):
            link.send(_OP_CLOSE, struct.pack("!H", code))
        with contextlib.suppress(OSError):
            link.sock.shutdown(socket.SHUT_RDWR)

    def _serve_socket(self, handler: _Handler) -> None:
        """Run one WebSocket connection on the handler's thread until either side closes."""
        headers = {k.lower(): v for k, v in handler.headers.items()}
        ticket_id = dict(parse_qsl(urlsplit(handler.path).query)).get("ticket", "")
        status, problem = 400, _websocket_problem(handler.command, headers)
        with self._lock:
            ticket = self._tickets.get(ticket_id)
            if problem is None and (ticket is None or ticket.used):
                status = 401
                problem = "unknown or used ticket: call apps.connections.open for a new URL"
            if problem is None and ticket is not None:
                ticket.used = True
                link = _SocketLink(len(self._links) + 1, handler.connection, self._clock())
                self._links.append(link)
        if problem is not None:
            body = problem.encode()
            handler.send_response(status)
            handler.send_header("Content-Type", "text/plain; charset=utf-8")
            handler.send_header("Content-Length", str(len(body)))
            handler.end_headers()
            handler.wfile.write(body)
            return
        handler.protocol_version = "HTTP/1.1"
        handler.send_response(101, "Switching Protocols")
        handler.send_header("Upgrade", "websocket")
        handler.send_header("Connection", "Upgrade")
        handler.send_header("Sec-WebSocket-Accept", _ws_accept(headers["sec-websocket-key"]))
        handler.end_headers()
        try:
            with self._lock:
                others = sum(1 for other in self._links if other.open)
            link.send_json(
                {
                    "type": "hello",
                    "num_connections": others + 1,
                    "debug_info": {
                        "host": _SOCKET_HOST,
                        "build_number": 1,
                        "approximate_connection_time": 18060,
                    },
                    "connection_info": {"app_id": self.app_id},
                }
            )
            with self._socket_changed:
                link.ready = True
                self._socket_changed.notify_all()
            self._read_socket(link, handler.rfile)
        except (OSError, _SocketClosed):
            pass  # the app went away
        finally:
            with self._socket_changed:
                if link.closed_at is None:
                    link.closed_at = self._clock()
                self._socket_changed.notify_all()

    def _read_socket(self, link: _SocketLink, stream: Any) -> None:
        message_opcode: int | None = None
        fragments: list[bytes] = []
        while True:
            try:
                fin, opcode, data = _ws_read_frame(stream)
            except ValueError as exc:
                self._socket_error(link, str(exc))
                self._close_link(link, 1002)
                return
            if opcode == _OP_PING:
                with self._lock:
                    link.pings += 1
                link.send(_OP_PONG, data)
                continue
            if opcode == _OP_PONG:
                with self._socket_changed:
                    link.pongs.append(data)
                    self._socket_changed.notify_all()
                continue
            if opcode == _OP_CLOSE:
                with self._lock:
                    link.close_code = struct.unpack("!H", data[:2])[0] if len(data) >= 2 else 1005
                self._close_link(link, link.close_code if len(data) >= 2 else 1000)
                return
            if opcode not in (_OP_CONTINUATION, _OP_TEXT, _OP_BINARY):
                self._socket_error(link, f"unknown opcode 0x{opcode:x}")
                self._close_link(link, 1002)
                return
            if (opcode == _OP_CONTINUATION) != (message_opcode is not None):
                self._socket_error(link, "a continuation frame out of place")
                self._close_link(link, 1002)
                return
            if opcode != _OP_CONTINUATION:
                message_opcode, fragments = opcode, []
            fragments.append(data)
            if not fin:
                continue
            complete, kind = b"".join(fragments), message_opcode
            message_opcode, fragments = None, []
            if kind == _OP_BINARY:
                self._socket_error(link, "the app sent a binary message; Slack expects JSON text")
                continue
            self._on_app_message(link, complete)

    def _on_app_message(self, link: _SocketLink, raw: bytes) -> None:
        """Record an acknowledgement (``{"envelope_id": ..., "payload": ...}``) from the app."""
        try:
            message = json.loads(raw.decode("utf-8"))
        except ValueError:
            self._socket_error(link, f"the app sent text that is not JSON: {raw[:200]!r}")
            return
        envelope_id = message.get("envelope_id") if isinstance(message, dict) else None
        with self._socket_changed:
            envelope = self._envelopes.get(envelope_id) if isinstance(envelope_id, str) else None
            if envelope is None:
                shown = raw[:200].decode(errors="replace")
                self._socket_error(link, f"the app acknowledged an unknown envelope: {shown!r}")
                return
            if envelope.ack is not None:
                self._socket_error(link, f"envelope {envelope_id} acknowledged twice")
                return
            envelope.ack = message
            payload = message.get("payload")
            self._socket_acks.append(
                {
                    "envelope_id": envelope_id,
                    "type": envelope.type,
                    "payload": copy.deepcopy(payload),
                    "seconds": time.monotonic() - envelope.sent_at,
                }
            )
            if payload is not None and not isinstance(payload, dict):
                self._socket_error(link, f"ack payload must be a JSON object: {payload!r:.200}")
            elif envelope.type == "slash_commands" and payload and "blocks" in payload:
                self.validation_errors.extend(
                    validate_blocks(payload["blocks"], limit=MAX_MESSAGE_BLOCKS, where="ack")
                )
            self._socket_changed.notify_all()

    # ---------------------------------------------------------------- response_url

    def _dispatch_response_url(
        self, hook_id: str, headers: dict[str, str], body: bytes
    ) -> _HttpAnswer:
        try:
            data = _parse_body(headers, body)
            if "payload" in data and isinstance(data["payload"], str):
                data = json.loads(data["payload"])
            for key in ("blocks", "attachments"):
                if isinstance(data.get(key), str):
                    data[key] = json.loads(data[key])
        except (ValueError, UnicodeDecodeError):
            return _HttpAnswer(400, b"invalid_payload", "text/plain")
        with self._lock:
            hook = self._response_urls.get(hook_id)
            if hook is None:
                return _HttpAnswer(404, b"no_active_hooks", "text/plain")
            hook.uses += 1
            record: dict[str, Any] = {
                "url": f"{self.base_url}/response/{hook_id}",
                "channel": hook.channel_id,
                "user": hook.user_id,
                "response_type": data.get("response_type") or "ephemeral",
                "text": data.get("text"),
                "blocks": data.get("blocks"),
                "replace_original": _truthy(data.get("replace_original")),
                "delete_original": _truthy(data.get("delete_original")),
                "thread_ts": data.get("thread_ts"),
                "ok": False,
                "errors": [],
                "body": copy.deepcopy(data),
            }
            self._responses.append(record)
            if hook.uses > RESPONSE_URL_MAX_USES:
                record["errors"] = ["used_url"]
                return _HttpAnswer(404, b"used_url", "text/plain")
            fault = self._take_fault("response_url")
            if fault is not None:
                record["errors"] = [fault.error]
                return self._fault_answer(fault)
            try:
                self._apply_response(hook, record, data)
            except _SlackError as err:
                record["errors"] = err.extra.get("errors") or [err.error]
                if "errors" not in err.extra:  # block problems are recorded already
                    self.validation_errors.append(
                        f"response_url post by the app failed: {err.error} (body: {data!r:.300})"
                    )
                return _HttpAnswer(400, err.error.encode(), "text/plain")
            record["ok"] = True
            return _HttpAnswer(200, b"ok", "text/html")

    def _apply_response(
        self, hook: _ResponseUrl, record: dict[str, Any], data: dict[str, Any]
    ) -> None:
        if record["delete_original"]:
            if hook.message_ts is None:
                raise _SlackError("no_original_message")
            if hook.ephemeral:
                self._ephemerals = [
                    e
                    for e in self._ephemerals
                    if not (e["ts"] == hook.message_ts and e["channel"] == hook.channel_id)
                ]
            else:
                self._remove_message(hook.channel_id, hook.message_ts)
            return
        self._check_message_content("response_url", data)
        text = data.get("text") or ""
        blocks = data.get("blocks")
        if record["replace_original"] and hook.message_ts is not None:
            if hook.ephemeral:
                for e in self._ephemerals:
                    if e["ts"] == hook.message_ts and e["channel"] == hook.channel_id:
                        e["text"] = text
                        e["blocks"] = self._fill_ids(blocks or [])
                        return
                raise _SlackError("message_not_found")
            message = self._by_ts.get((hook.channel_id, hook.message_ts))
            if message is None:
                raise _SlackError("message_not_found")
            self._update_message(message, {"text": text, "blocks": blocks or []})
            return
        if record["response_type"] == "in_channel":
            message = self._insert_message(
                hook.channel_id, text, blocks, thread_ts=data.get("thread_ts") or None
            )
            record["ts"] = message["ts"]
            return
        ts = self._next_ts()
        record["ts"] = ts
        self._ephemerals.append(
            {
                "type": "message",
                "channel": hook.channel_id,
                "user": hook.user_id,
                "text": text,
                "blocks": self._fill_ids(blocks or []),
                "ts": ts,
                "thread_ts": data.get("thread_ts") or None,
                "source": "response_url",
            }
        )
