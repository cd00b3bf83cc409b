"""The sandbox's web server on 127.0.0.1: the page (``/sandbox``), its static files, the
JSON endpoints the page calls (``/sandbox/api/…``) and the files the bot uploaded."""

from __future__ import annotations

import json
import logging
import mimetypes
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

from sandbox.page_api import PageApi, PageError

log = logging.getLogger("sandbox")

PAGE = Path(__file__).resolve().parent / "page"
MAX_BODY = 1_000_000
POSTS = {
    "me": PageApi.switch,
    "command": PageApi.command,
    "action": PageApi.action,
    "submit": PageApi.submit,
    "close": PageApi.close,
    "home": PageApi.home,
    "make-fix": PageApi.make_fix,
    "health": PageApi.set_health,
    "github/review": PageApi.review,
    "github/check": PageApi.check,
}


class PageServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, api: PageApi, host: str, port: int) -> None:
        super().__init__((host, port), _Handler)
        self.api = api
        # One page action at a time: the signed requests of a click go out in order.
        self.acting = threading.Lock()

    def serve_in_background(self) -> threading.Thread:
        thread = threading.Thread(target=self.serve_forever, name="sandbox-page", daemon=True)
        thread.start()
        return thread


class _Handler(BaseHTTPRequestHandler):
    server: PageServer
    server_version = "HotfixBotSandbox/1.0"

    def log_message(self, format: str, *args: Any) -> None:
        log.debug(format, *args)

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        path = parts.path.rstrip("/") or "/"
        if path in ("/", "/sandbox"):
            if path == "/":
                return self._redirect("/sandbox")
            return self._static("index.html")
        if path.startswith("/sandbox/static/"):
            return self._static(path[len("/sandbox/static/") :])
        if path == "/sandbox/api/state":
            user = parse_qs(parts.query).get("user", [None])[0]
            return self._guarded(lambda: self.server.api.state(user))
        if path.startswith("/sandbox/files/"):
            return self._file(path[len("/sandbox/files/") :])
        self._send(404, b"not found", "text/plain; charset=utf-8")

    def do_POST(self) -> None:
        path = urlsplit(self.path).path
        handler = (
            POSTS.get(path[len("/sandbox/api/") :]) if path.startswith("/sandbox/api/") else None
        )
        if handler is None:
            return self._send(404, b"not found", "text/plain; charset=utf-8")
        # Only the page itself may act: a JSON body (another site's form or plain fetch
        # cannot send one without the browser asking first) from this very origin.
        origin = self.headers.get("Origin")
        host = self.headers.get("Host", "")
        if origin is not None and origin not in (f"http://{host}", f"https://{host}"):
            return self._json(403, {"ok": False, "error": "Only the sandbox page may do that."})
        if (self.headers.get("Content-Type") or "").split(";")[0].strip() != "application/json":
            return self._json(415, {"ok": False, "error": "The sandbox takes JSON only."})
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            return self._json(413, {"ok": False, "error": "That is too much for the sandbox."})
        try:
            body = json.loads(self.rfile.read(length) or b"{}")
        except ValueError:
            return self._json(400, {"ok": False, "error": "The page sent something not JSON."})
        if not isinstance(body, dict):
            return self._json(400, {"ok": False, "error": "The page sent something not JSON."})
        with self.server.acting:
            self._guarded(lambda: handler(self.server.api, body))

    # ------------------------------------------------------------------ answers

    def _guarded(self, work: Any) -> None:
        try:
            answer = work()
        except PageError as error:
            return self._json(200, {"ok": False, "error": str(error)})
        except OSError as error:  # the bot did not answer at all
            problem = self.server.api.sandbox.bot_problem()
            return self._json(
                200,
                {
                    "ok": False,
                    "error": problem
                    or f"The bot did not answer ({type(error).__name__}); Slack would show "
                    "\u201coperation_timeout\u201d. Try again in a moment.",
                },
            )
        except Exception:
            log.exception("the sandbox failed on %s", self.path)
            return self._json(
                500,
                {
                    "ok": False,
                    "error": "The sandbox itself failed on that (its console says why). "
                    "Reload the page and try again.",
                },
            )
        self._json(200, answer)

    def _static(self, name: str) -> None:
        path = (PAGE / name).resolve()
        if PAGE not in path.parents or not path.is_file():
            return self._send(404, b"not found", "text/plain; charset=utf-8")
        kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        if kind.startswith("text/") or kind.endswith("javascript"):
            kind += "; charset=utf-8"
        self._send(200, path.read_bytes(), kind, cache="no-cache")

    def _file(self, file_id: str) -> None:
        found = self.server.api.file(file_id)
        if found is None:
            return self._send(404, b"no such file", "text/plain; charset=utf-8")
        name, content = found
        kind = "text/markdown" if name.endswith(".md") else "text/plain"
        self._send(
            200,
            content,
            f"{kind}; charset=utf-8",
            extra={"Content-Disposition": f"inline; filename*=UTF-8''{quote(name)}"},
        )

    def _redirect(self, where: str) -> None:
        self.send_response(302)
        self.send_header("Location", where)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _json(self, status: int, data: Any) -> None:
        self._send(status, json.dumps(data).encode(), "application/json", cache="no-store")

    def _send(
        self,
        status: int,
        body: bytes,
        kind: str,
        *,
        cache: str = "no-store",
        extra: dict[str, str] | None = None,
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", cache)
        self.send_header("X-Content-Type-Options", "nosniff")
        for name, value in (extra or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)
