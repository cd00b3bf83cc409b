"""Log lines: JSON (one object per line, with the hotfix and the Slack request they are
about) or text, and never a secret.

``LOG_FORMAT=json`` (the default) writes ``{"time", "level", "logger", "message",
"hotfix_id", "request_id", "exc_info"}``; ``text`` the classic one-line form. Every line,
in either format, has the bot's secrets (tokens, signing secret, private key) replaced by
``[redacted]`` before it is written, however they got into it.
"""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Iterable
from typing import Any

from pythonjsonlogger.json import JsonFormatter

from workflows.log_context import HOTFIX_ID, REQUEST_ID

REDACTED = "[redacted]"
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s%(about)s: %(message)s"


class _About(logging.Filter):
    """Puts the hotfix and request ids on each record (where they are known)."""

    def filter(self, record: logging.LogRecord) -> bool:
        hotfix_id, request_id = HOTFIX_ID.get(), REQUEST_ID.get()
        record.hotfix_id = f"HF-{hotfix_id}" if hotfix_id is not None else None
        record.request_id = request_id
        about = [x for x in (record.hotfix_id, request_id) if x]
        record.about = f" [{' '.join(about)}]" if about else ""
        return True


class Redacting(logging.Formatter):
    """Wraps a formatter; replaces every secret in what it wrote."""

    def __init__(self, inner: logging.Formatter, secrets: Iterable[str]) -> None:
        super().__init__()
        self._inner = inner
        self._secrets = sorted({s for s in secrets if s and len(s) >= 8}, key=len, reverse=True)

    def format(self, record: logging.LogRecord) -> str:
        return self.redact(self._inner.format(record))

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        return text


def secret_parts(values: Iterable[str | None]) -> list[str]:
    """The secrets to look for: each value, and each line of a multi-line one (a PEM key's
    lines appear one by one in tracebacks and, escaped, in JSON)."""
    parts: list[str] = []
    for value in values:
        if not value:
            continue
        parts.append(value)
        parts += [line.strip() for line in value.splitlines() if len(line.strip()) >= 16]
    return parts


def configure(level: str, fmt: str = "json", secrets: Iterable[str | None] = ()) -> None:
    """Log to stderr at ``level`` in ``fmt`` (``json`` or ``text``), secrets redacted."""
    inner: logging.Formatter
    if fmt == "json":
        inner = JsonFormatter(
            "%(asctime)s %(levelname)s %(name)s %(message)s %(hotfix_id)s %(request_id)s",
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
            json_ensure_ascii=False,
        )
    else:
        inner = logging.Formatter(TEXT_FORMAT)
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(_About())
    handler.setFormatter(Redacting(inner, secret_parts(secrets)))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(getattr(logging, level.upper(), logging.INFO))


def settings_secrets(settings: Any) -> list[str | None]:
    """The secret values of ``Settings`` (every ``SecretStr`` field, and the key file's text)."""
    values: list[str | None] = []
    for name in type(settings).model_fields:
        value = getattr(settings, name)
        if hasattr(value, "get_secret_value"):
            values.append(value.get_secret_value())
    key_file = getattr(settings, "github_app_private_key_file", None)
    if key_file is not None:
        with contextlib.suppress(OSError):  # the start reports an unreadable key file itself
            values.append(key_file.read_text())
    return values
