"""A service's health endpoint on 127.0.0.1 for the deploy's health check and the monitoring
pings: it answers 200 ``{"status": "ok"}`` while ``healthy``, else 503 ``down``."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Health:
    """A health endpoint that can be switched between healthy and failing; ``hits`` counts
    the checks it answered."""

    def __init__(self) -> None:
        self.healthy = True
        self.hits = 0
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                owner.hits += 1
                status = 200 if owner.healthy else 503
                body = b'{"status": "ok"}' if owner.healthy else b"down"
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/health"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
