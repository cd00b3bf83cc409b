"""What the bot serves besides Slack's requests: ``GET /healthz`` for the orchestrator,
``GET /metrics`` for Prometheus and ``GET /charts/deploy-times.png`` for the Home tab.
Socket Mode serves these too (it has no signed HTTP endpoint)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot.chart import CHART_PATH
from bot.home import deploy_chart
from bot.metrics import METRICS_PATH, Metrics
from bot.split import WorkerLink
from storage.db import database_reachable

HEALTH_PATH = "/healthz"


@dataclass
class Probes:
    engine: Engine
    metrics: Metrics
    sessions: sessionmaker[Session]
    clock: Callable[[], datetime]
    link: WorkerLink | None = None  # the front's worker: healthy only once it is ready

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        method = environ.get("REQUEST_METHOD")
        if path == METRICS_PATH and method == "GET":
            return self.metrics.wsgi(start_response)
        if path == CHART_PATH and method == "GET":
            body = deploy_chart(self.sessions, self.clock())
            start_response(
                "200 OK",
                [
                    ("Content-Type", "image/png"),
                    ("Content-Length", str(len(body))),
                    ("Cache-Control", "max-age=300"),
                ],
            )
            return [body]
        if path == HEALTH_PATH and method in ("GET", "HEAD"):
            return self._health(start_response)
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"Not Found"]

    def _health(self, start_response: Any) -> Iterable[bytes]:
        database = database_reachable(self.engine)
        report = {"database": "ok" if database else "unreachable"}
        healthy = database
        if self.link is not None:
            report["worker"] = "ok" if self.link.ready else "starting"
            healthy = healthy and self.link.ready
        body = json.dumps({"status": "ok" if healthy else "unavailable", **report}).encode()
        start_response(
            "200 OK" if healthy else "503 Service Unavailable",
            [("Content-Type", "application/json"), ("Content-Length", str(len(body)))],
        )
        return [body]
