"""Keeping credentials out of sight: the adapter's one idea of a secret.

A remote such as ``https://user:token@host/…`` carries a credential. :func:`redact` takes it out
of any text quoted from git (URL user info, and the remembered password or token wherever it
appears), GitPython's own log records pass through the same filter, and an exception about to
be chained is replaced by a redacted stand-in, so no message, log line or traceback shows it.
"""

from __future__ import annotations

import logging
import re
import threading
from typing import Final
from urllib.parse import unquote, urlsplit

_URL_USERINFO: Final = re.compile(r"(?i)\b((?:https?|ftps?)://)[^/\s@'\"]+@")
_URL_PASSWORD: Final = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s@:'\"]+:[^/\s@'\"]+@")
_SECRETS: set[str] = set()
_SECRETS_GUARD = threading.Lock()


def redact(text: str) -> str:
    """``text`` with credentials of URLs (``https://user:token@host``) replaced by ``***``."""
    if not text:
        return text
    text = _URL_USERINFO.sub(r"\1***@", text)
    text = _URL_PASSWORD.sub(r"\1***@", text)
    with _SECRETS_GUARD:
        secrets = sorted(_SECRETS, key=len, reverse=True)
    for secret in secrets:
        text = text.replace(secret, "***")
    return text


def _remember_secrets(remote: str) -> None:
    """Remember the credentials of ``remote`` so they are redacted wherever they appear, even
    outside a URL: the password, or for HTTP(S) a lone user name (a token used as one)."""
    if "://" not in remote:
        return
    try:
        parts = urlsplit(remote)
        password, username, scheme = parts.password, parts.username, parts.scheme.lower()
    except ValueError:
        return
    secret = password or (username if scheme in {"http", "https"} else None)
    if not secret:
        return
    with _SECRETS_GUARD:
        # Short values would redact ordinary words; they are still caught inside URLs.
        _SECRETS.update(value for value in {secret, unquote(secret)} if len(value) >= 6)


class _RedactingFilter(logging.Filter):
    """GitPython logs git's stderr (which may quote the remote URL): redact it on the way."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


_LOG_FILTER_INSTALLED = False
_LOG_FILTER_GUARD = threading.Lock()


def _install_log_redaction() -> None:
    global _LOG_FILTER_INSTALLED
    with _LOG_FILTER_GUARD:
        if _LOG_FILTER_INSTALLED:
            return
        for name in ("git.cmd", "git.remote", "git.util", "git.repo.base"):
            logging.getLogger(name).addFilter(_RedactingFilter())
        _LOG_FILTER_INSTALLED = True


def _sanitized(exc: BaseException) -> Exception:
    """A redacted stand-in for ``exc`` to chain, so a traceback cannot leak a credential."""
    return RuntimeError(redact(f"{type(exc).__name__}: {exc}"))
