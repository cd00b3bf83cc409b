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
        self._script: list[bool] = []
        self._lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                healthy = owner._answer()
                status = 200 if healthy else 503
                body = b'{"status": "ok"}' if healthy else b"down"
                self.send_response(status)
                self.send_header("Content-Type", "application/json" if healthy else "text/plain")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/health"
        threading.Thread(target=self.server.serve_forever, name="health", daemon=True).start()

    def _answer(self) -> bool:
        with self._lock:
            self.hits += 1
            if self._script:
                self.healthy = self._script.pop(0)
            return self.healthy

    def flap(self, *answers: bool) -> None:
        """Answer the next checks healthy or not as ``answers`` says, one each (a service
        that flaps); after the last, it stays as that one left it."""
        with self._lock:
            self._script = list(answers)

    def break_(self) -> None:
        """From now on the service answers 503, as when a deploy broke it."""
        self.healthy = False

    def heal(self) -> None:
        self.healthy = True

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
