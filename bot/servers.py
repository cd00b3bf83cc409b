"""The servers a built bot runs under: gunicorn for HTTP (``/slack/events`` and the
probes), or a Socket Mode connection beside a small HTTP server for the probes only.

Both take ``build``, which makes and returns the bot (``app.create_app``): this module
never builds one itself, so the composition root stays the only place that does."""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable, Iterable
from typing import Any, Protocol

from slack_bolt import App

from workflows.config import Settings

log = logging.getLogger("hotfix_bot")

HTTP_THREADS = 16

WsgiApp = Callable[..., Iterable[bytes]]


class Served(Protocol):
    """What a server needs of a built bot."""

    bolt: App

    def wsgi(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]: ...

    def health(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]: ...

    def start(self) -> None: ...

    def close(self) -> None: ...


def serve_http(settings: Settings, build: Callable[[], Served], *, path: str) -> int:
    """``hotfix-bot serve`` over HTTP: the bot is built in gunicorn's worker, after the fork."""
    state: dict[str, Served] = {}

    def load() -> WsgiApp:
        state["bot"] = build()
        state["bot"].start()
        log.info("Hotfix Bot listening on :%s%s", settings.port, path)
        return state["bot"].wsgi

    def close() -> None:
        if "bot" in state:
            state["bot"].close()

    serve_wsgi(
        load,
        port=settings.port,
        host=settings.host,
        log_level=settings.log_level,
        on_exit=close,
    )
    return 0


def serve_wsgi(
    load: Callable[[], WsgiApp],
    *,
    port: int,
    host: str = "0.0.0.0",
    log_level: str = "INFO",
    on_exit: Callable[[], None] = lambda: None,
) -> None:
    """The production HTTP server: gunicorn, one process (the timers live in it), threads
    for concurrent requests. ``bench/`` serves its bare Bolt app with this too."""
    from gunicorn.app.base import BaseApplication
    from gunicorn.glogging import Logger

    class ThroughRoot(Logger):  # type: ignore[misc]
        """gunicorn's own lines go through the bot's handler (JSON, secrets redacted)."""

        def setup(self, cfg: Any) -> None:
            super().setup(cfg)
            if not logging.getLogger().handlers:
                return  # nothing configured (the benchmark's bare app): gunicorn's own
            for logger in (self.error_log, self.access_log):
                for handler in list(logger.handlers):
                    logger.removeHandler(handler)
                logger.propagate = True

    class Server(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            self.cfg.set("logger_class", ThroughRoot)
            self.cfg.set("bind", f"{host}:{port}")
            self.cfg.set("workers", 1)
            self.cfg.set("worker_class", "gthread")
            self.cfg.set("threads", HTTP_THREADS)
            self.cfg.set("backlog", 2048)
            self.cfg.set("timeout", 60)
            self.cfg.set("graceful_timeout", 20)
            self.cfg.set("loglevel", log_level.lower())
            self.cfg.set("worker_exit", lambda _server, _worker: on_exit())

        def load(self) -> WsgiApp:
            return load()

    Server().run()


def serve_socket_mode(settings: Settings, build: Callable[[], Served]) -> int:
    """``hotfix-bot serve`` with ``SLACK_APP_TOKEN``: one replica, no public URL."""
    from wsgiref.simple_server import WSGIRequestHandler, make_server

    from slack_bolt.adapter.socket_mode import SocketModeHandler

    hotfix_bot = build()
    hotfix_bot.start()

    class QuietHandler(WSGIRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            log.debug(format, *args)

    # Socket Mode needs no public URL; /healthz is still served for the orchestrator.
    # Only the health check: Socket Mode does no signature check, so /slack/events must not
    # be reachable over HTTP at all.
    health = make_server(
        settings.host, settings.port, hotfix_bot.health, handler_class=QuietHandler
    )
    threading.Thread(target=health.serve_forever, daemon=True, name="healthz").start()
    assert settings.slack_app_token is not None
    handler = SocketModeHandler(hotfix_bot.bolt, settings.slack_app_token.get_secret_value())
    # SocketModeHandler.start() blocks on a bare Event().wait() and installs no SIGTERM
    # handler, so `docker stop` / Kubernetes would kill the process (exit -15) in the middle
    # of whatever it was doing. Treat SIGTERM like Ctrl+C instead: leave the wait, close the
    # connection, let in-flight work finish, exit 0. A second SIGTERM kills it as before.
    previous_sigterm = signal.signal(signal.SIGTERM, signal.default_int_handler)
    log.info("Hotfix Bot connecting in Socket Mode (health on :%s)", settings.port)
    try:
        handler.start()
    except KeyboardInterrupt:
        log.info("Hotfix Bot stopping: closing the Socket Mode connection")
    finally:
        signal.signal(signal.SIGTERM, previous_sigterm)
        # Bounded: slack_sdk's close() hangs for ever when it comes within ~0.1 s of a
        # (re)connect (its session runner resets the `terminated` flag close() just set, then
        # loops on the closed socket). Normally it takes up to 4 s (a 3 s receive timeout);
        # the threads it leaves behind are daemons and do not keep the process alive.
        closing = threading.Thread(target=handler.close, name="socket-mode-close", daemon=True)
        closing.start()
        closing.join(timeout=8)
        if closing.is_alive():
            log.warning("the Socket Mode client did not close within 8 s; exiting anyway")
        health.shutdown()
        health.server_close()
        hotfix_bot.close()
    return 0
