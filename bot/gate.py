"""What may reach Bolt at ``/slack/events``: a body of a sane size whose Slack signature
holds, checked before anything parses it. A forged request is refused before its JSON is
read (a deeply nested payload costs nothing), and a huge one before its body is read."""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterable
from typing import Any

from slack_sdk.signature import SignatureVerifier

# Slack's largest payloads (a view submission of the bot's biggest form, urlencoded) stay far
# below this; anything bigger is not from Slack.
MAX_BODY = 512 * 1024

StartResponse = Callable[..., Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


def _refuse(start_response: StartResponse, status: str, error: str) -> Iterable[bytes]:
    body = json.dumps({"error": error}).encode()
    start_response(
        status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
    )
    return [body]


class SlackGate:
    """Wraps the WSGI app serving Slack's requests."""

    def __init__(self, app: WsgiApp, signing_secret: str | None) -> None:
        self._app = app
        self._verifier = SignatureVerifier(signing_secret) if signing_secret else None

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        try:
            length = int(environ.get("CONTENT_LENGTH") or -1)
        except ValueError:
            return _refuse(start_response, "400 Bad Request", "invalid Content-Length")
        if length > MAX_BODY:
            return _refuse(start_response, "413 Payload Too Large", "request too large")
        stream = environ["wsgi.input"]
        body = stream.read(length) if length >= 0 else stream.read(MAX_BODY + 1)
        if len(body) > MAX_BODY:
            return _refuse(start_response, "413 Payload Too Large", "request too large")
        if self._verifier is not None and not self._verifier.is_valid(
            body,
            environ.get("HTTP_X_SLACK_REQUEST_TIMESTAMP"),
            environ.get("HTTP_X_SLACK_SIGNATURE"),
        ):
            return _refuse(start_response, "401 Unauthorized", "invalid request")
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        return self._app(environ, start_response)
