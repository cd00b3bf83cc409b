"""A webhook on 127.0.0.1 (a status page, say): records every JSON body POSTed to it and
answers ``status`` (200 unless told otherwise)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class WebhookReceiver:
    def __init__(self, path: str = "/hooks/T0SECRET/abc123") -> None:
        self.status = 200
        self.received: list[dict[str, Any]] = []  # every POST, answered or not
        self.path = path
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"null")
                owner.received.append(
                    {"path": self.path, "type": self.headers.get("Content-Type"), "body": body}
                )
                self.send_response(owner.status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.host = f"127.0.0.1:{self.server.server_port}"
        self.url = f"http://{self.host}{path}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def events(self) -> list[str]:
        return [r["body"]["event"] for r in self.received]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
