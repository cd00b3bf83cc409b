"""A service's health endpoint on 127.0.0.1, for the deploy's health check and the
monitoring pings: ``GET /health`` answers 200 ``{"status": "ok"}`` while healthy, else 503
``down``. The sandbox lets its user break and heal it; the tests switch it the same way."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Health:
    """A health endpoint that can be switched between healthy and failing; ``hits`` counts
    the checks it answered."""

    def __init__(self, port: int = 0) -> None:
        self.healthy = True
        self.hits = 0
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                owner.hits += 1
                status = 200 if owner.healthy else 503
                body = b'{"status": "ok"}' if owner.healthy else b"down"
                self.send_response(status)
                self.send_header(
                    "Content-Type", "application/json" if owner.healthy else "text/plain"
                )
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/health"
        threading.Thread(target=self.server.serve_forever, name="health", daemon=True).start()

    def break_(self) -> None:
        """From now on the service answers 503, as when a deploy broke it."""
        self.healthy = False

    def heal(self) -> None:
        self.healthy = True

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
