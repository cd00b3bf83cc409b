"""Every call Hotfix Bot makes to Slack is bounded: a timeout, few retries, and none at all
while Slack is known not to answer.

``GuardedWebClient`` (the Web API) and ``ResponseUrls`` (``response_url`` posts) are
slack_sdk's own clients with:

- a timeout per call (``slack.timeout`` in the policy file);
- slack_sdk's retry handlers, bounded: a refused connection once, a 500/503 once, and a 429
  only when its ``Retry-After`` is short (a longer wait is left to the caller, which delivers
  the message later instead of holding a thread);
- a circuit per destination: after two calls in a row that got no answer, calls fail at
  once for a few seconds, then one call tries again — so a Slack that hangs costs one
  thread a few seconds, not every thread the whole time.

A call that gets no answer raises ``SlackUnreachable``, a ``SlackApiError`` whose error code
is ``slack_unreachable``: everything that already handles Slack refusing a call handles
Slack not answering the same way.

Why not pybreaker: its ``CircuitBreaker.call`` holds one lock for the whole guarded call,
which would run every Slack call of the process one after another.
"""

from __future__ import annotations

import http.client
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.error import URLError

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from slack_sdk.http_retry.handler import RetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from slack_sdk.web import SlackResponse
from slack_sdk.webhook import WebhookClient

log = logging.getLogger(__name__)

UNREACHABLE = "slack_unreachable"
REFUSED_TOKEN = frozenset(
    {
        "invalid_auth",
        "not_authed",
        "account_inactive",
        "token_revoked",
        "token_expired",
        "not_allowed_token_type",
    }
)
"""What Slack answers to a token that will never work: the fix is a new token."""
#: The longest Retry-After a call waits for in place; longer ones go back to the caller.
RETRY_AFTER_IN_PLACE = 2
#: Slack answers that mean "later, not never".
TRANSIENT_ERRORS = frozenset(
    {
        UNREACHABLE,
        "ratelimited",
        "rate_limited",
        "internal_error",
        "fatal_error",
        "service_unavailable",
        "request_timeout",
        "unknown_error",  # a 5xx page without JSON
    }
)
# What a call that never got an answer raises from urllib / http.client.
_NO_ANSWER = (TimeoutError, URLError, ConnectionError, http.client.HTTPException, OSError)


class SlackUnreachable(SlackApiError):
    """Slack did not answer (timeout, connection refused or reset), or was not asked because
    it did not answer just before. Its error code is ``slack_unreachable``."""

    def __init__(self, method: str, reason: str, retry_in: float | None = None) -> None:
        response = SlackResponse(
            client=None,
            http_verb="POST",
            api_url=method,
            req_args={},
            data={"ok": False, "error": UNREACHABLE},
            headers={},
            status_code=0,
        )
        super().__init__(f"Slack did not answer {method}: {reason}", response)
        self.method = method
        self.reason = reason
        self.retry_in = retry_in


def error_code(error: SlackApiError) -> str:
    """Slack's error code (``channel_not_found``, ``slack_unreachable``, …)."""
    response = error.response
    code = response.get("error") if response is not None else None
    return str(code or "unknown_error")


def is_transient(error: SlackApiError) -> bool:
    """Whether the same call may succeed later (Slack down, rate limited, a 5xx)."""
    status = getattr(error.response, "status_code", 200) or 0
    return error_code(error) in TRANSIENT_ERRORS or status == 429 or status >= 500


def retry_after(error: SlackApiError) -> float | None:
    """Seconds Slack asked to wait (``Retry-After``), or the circuit's cool-down."""
    if isinstance(error, SlackUnreachable):
        return error.retry_in
    return _header_seconds(getattr(error.response, "headers", None), "retry-after")


class Circuit:
    """Stops calling a destination that does not answer; one call at a time tries again.

    Closed: calls go through. After ``failures`` calls in a row got no answer it opens: calls
    fail at once for ``cooldown`` seconds. Then a single call (the probe) goes through while
    the others still fail at once; its success closes the circuit, its failure re-opens it.
    """

    def __init__(
        self,
        name: str,
        *,
        failures: int = 2,
        cooldown: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.name = name
        self._threshold = failures
        self._cooldown = cooldown
        self._clock = clock
        self._lock = threading.Lock()
        self._failures = 0
        self._open_until: float | None = None
        self._probing = False

    def before(self, method: str) -> None:
        """Raise ``SlackUnreachable`` (without calling) while the circuit is open."""
        with self._lock:
            if self._open_until is None:
                return
            wait = self._open_until - self._clock()
            if wait > 0:
                raise SlackUnreachable(method, "not tried: Slack did not answer just before", wait)
            if self._probing:
                raise SlackUnreachable(
                    method, "not tried: Slack did not answer just before", self._cooldown
                )
            self._probing = True

    def succeeded(self) -> None:
        with self._lock:
            if self._open_until is not None:
                log.info("Slack answers again (%s)", self.name)
            self._failures = 0
            self._open_until = None
            self._probing = False

    def failed(self) -> None:
        with self._lock:
            self._failures += 1
            self._probing = False
            if self._failures >= self._threshold:
                if self._open_until is None:
                    log.warning(
                        "Slack is not answering (%s); calls wait %.0f s between tries",
                        self.name,
                        self._cooldown,
                    )
                self._open_until = self._clock() + self._cooldown

    @property
    def is_open(self) -> bool:
        with self._lock:
            return self._open_until is not None


class _ShortRateLimitRetryHandler(RateLimitErrorRetryHandler):
    """Retries a 429 in place only when Slack asks for a short wait."""

    def _can_retry(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        if response is None or response.status_code != 429:
            return False
        for name, values in response.headers.items():
            if name.lower() == "retry-after":
                try:
                    return float(values[0]) <= RETRY_AFTER_IN_PLACE
                except (TypeError, ValueError, IndexError):
                    return False
        return True  # no Retry-After: slack_sdk waits about a second


def retry_handlers() -> list[RetryHandler]:
    """Bounded retries: a call costs at most a few times its timeout."""
    return [
        ConnectionErrorRetryHandler(max_retry_count=1),
        _ShortRateLimitRetryHandler(max_retry_count=1),
        ServerErrorRetryHandler(max_retry_count=1),
    ]


class GuardedWebClient(WebClient):
    """slack_sdk's ``WebClient`` behind a ``Circuit``; no answer raises ``SlackUnreachable``."""

    def __init__(self, *, circuit: Circuit, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.circuit = circuit

    def api_call(self, api_method: str, **kwargs: Any) -> SlackResponse:  # type: ignore[override]
        self.circuit.before(api_method)
        try:
            response = super().api_call(api_method, **kwargs)
        except SlackApiError as error:
            status = getattr(error.response, "status_code", 200) or 0
            if status >= 500:
                self.circuit.failed()
            else:
                self.circuit.succeeded()  # Slack answered; the answer was "no"
            raise
        except _NO_ANSWER as error:
            self.circuit.failed()
            raise SlackUnreachable(api_method, _describe(error)) from error
        self.circuit.succeeded()
        return response


@dataclass(frozen=True)
class ResponseUrlAnswer:
    """What a ``response_url`` said: 200, or why not."""

    status: int
    body: str

    @property
    def ok(self) -> bool:
        return self.status == 200


class ResponseUrls:
    """Posts to ``response_url``s (replies to commands and clicks), bounded like the Web API."""

    def __init__(self, *, timeout: float, circuit: Circuit) -> None:
        self._timeout = timeout
        self.circuit = circuit

    def post(self, url: str, message: dict[str, Any]) -> ResponseUrlAnswer:
        """Raises ``SlackUnreachable`` without an answer (or a 5xx); returns Slack's answer
        otherwise (404 ``expired_url`` and the like: the URL is no longer usable)."""
        self.circuit.before("response_url")
        client = WebhookClient(
            url=url, timeout=max(1, round(self._timeout)), retry_handlers=retry_handlers()
        )
        try:
            answer = client.send_dict(message)
        except _NO_ANSWER as error:
            self.circuit.failed()
            raise SlackUnreachable("response_url", _describe(error)) from error
        if answer.status_code >= 500 or answer.status_code == 429:
            if answer.status_code >= 500:
                self.circuit.failed()
            retry_in = _header_seconds(answer.headers, "retry-after")
            raise _ResponseUrlRefused(answer.status_code, answer.body, retry_in)
        self.circuit.succeeded()
        return ResponseUrlAnswer(answer.status_code, str(answer.body or ""))


class _ResponseUrlRefused(SlackApiError):
    """A ``response_url`` answered 429 or 5xx: worth trying again later."""

    def __init__(self, status: int, body: str, retry_in: float | None) -> None:
        response = SlackResponse(
            client=None,
            http_verb="POST",
            api_url="response_url",
            req_args={},
            data={"ok": False, "error": "ratelimited" if status == 429 else "service_unavailable"},
            headers={"Retry-After": str(retry_in)} if retry_in is not None else {},
            status_code=status,
        )
        super().__init__(f"response_url answered {status}", response)


def _header_seconds(headers: dict[str, Any] | None, name: str) -> float | None:
    for key, value in (headers or {}).items():
        if key.lower() == name:
            raw = value[0] if isinstance(value, list) else value
            try:
                return float(raw)
            except (TypeError, ValueError):
                return None
    return None


def _describe(error: BaseException) -> str:
    """A short reason, never a URL (a response_url is a credential)."""
    if isinstance(error, TimeoutError):
        return "no answer in time"
    if isinstance(error, URLError):
        reason = error.reason
        if isinstance(reason, TimeoutError):
            return "no answer in time"
        return f"cannot connect ({type(reason).__name__})"
    return type(error).__name__
