"""Hotfix Bot's composition root: settings → engine → services → Bolt app → server.

Nothing happens at import. ``create_app(settings)`` builds one complete bot (tests build
as many as they like); ``main()`` is the ``hotfix-bot`` command and ``python app.py``.
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, Literal

from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from sqlalchemy import Engine
from sqlalchemy.engine import make_url

import bot
from bot import logs
from bot.ack import AckPath
from bot.announce import Announcements
from bot.card import CardPublisher, card_location
from bot.chart import CHART_PATH
from bot.deploy_flow import DeployFlow
from bot.escalation import Escalations
from bot.export import export
from bot.gate import SlackGate
from bot.git_flow import GitFlow
from bot.home import deploy_chart
from bot.identity import OTHER_WORKSPACE, BotIdentity
from bot.lanes import Lane, Lanes
from bot.metrics import METRICS_PATH, Metrics
from bot.nudges import Nudges
from bot.outbox import Outbox
from bot.postmortem import PostMortems
from bot.security_close import SecurityCloseOut
from bot.services import BotServices
from bot.slack_api import UNREACHABLE, Circuit, GuardedWebClient, ResponseUrls, retry_handlers
from bot.slack_groups import slack_group_members
from bot.split import WorkerLink, lower_priority, serve
from sandbox import cli as sandbox_cli
from storage.db import database_reachable, make_engine, make_sessions, migrate
from workflows.config import (
    ConfigError,
    Policy,
    Settings,
    database_url,
    load_policy,
    load_settings,
    settings_problems,
)
from workflows.deployment import HotfixDeploy
from workflows.git_repo import Repository, redact
from workflows.github_client import AppIdentity, GitHubRepository
from workflows.hotfix_git import HotfixGit
from workflows.hotfixes import HotfixService, system_clock
from workflows.lifecycle import mermaid
from workflows.log_context import about_hotfix
from workflows.review import HotfixReview
from workflows.roles import RoleDirectory, role_title
from workflows.scheduler import Timers
from workflows.targets import Target, Targets

log = logging.getLogger("hotfix_bot")

EVENTS_PATH = "/slack/events"
TIMER_THREADS = 10  # APScheduler's default thread pool
HTTP_THREADS = 16
HEALTH_PATH = "/healthz"
EXIT_CONFIG = 2
EXIT_DATABASE = 1

StartResponse = Callable[..., Any]
Role = Literal["whole", "front", "worker"]


@dataclass
class HotfixBot:
    """One running bot: its Bolt app, database and services, plus the WSGI entry point."""

    settings: Settings
    policy: Policy
    engine: Engine
    bolt: App
    services: BotServices
    timers: Timers
    lanes: Lanes
    outbox: Outbox
    identity: BotIdentity
    metrics: Metrics
    announcements: Announcements
    reconcilers: tuple[Callable[[int], None], ...] = ()
    link: WorkerLink | None = None  # the front's worker process; None: this process works

    def __post_init__(self) -> None:
        secret = self.settings.slack_signing_secret
        self._slack = SlackGate(
            SlackRequestHandler(self.bolt, path=EVENTS_PATH),
            secret.get_secret_value() if secret else None,
        )
        # The timers' lag is measured where they run: here, or in the worker (told by pipe).
        if self.link is not None:
            self.link.on_lag = self.metrics.observe_lag
        else:
            self.timers.on_lag = self.metrics.observe_lag

    def wsgi(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        """``POST /slack/events`` to Bolt; the rest (health, metrics, the Home chart) to
        ``health``."""
        if environ.get("PATH_INFO", "") == EVENTS_PATH:
            return self._slack(environ, start_response)
        return self.health(environ, start_response)

    def health(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        """``GET /healthz``, ``GET /metrics`` and ``GET /charts/deploy-times.png``, else 404:
        what Socket Mode serves too (it has no signed HTTP endpoint)."""
        path = environ.get("PATH_INFO", "")
        if path == METRICS_PATH and environ.get("REQUEST_METHOD") == "GET":
            return self.metrics.wsgi(start_response)
        if path == CHART_PATH and environ.get("REQUEST_METHOD") == "GET":
            body = deploy_chart(self.services.sessions, self.services.clock())
            start_response(
                "200 OK",
                [
                    ("Content-Type", "image/png"),
                    ("Content-Length", str(len(body))),
                    ("Cache-Control", "max-age=300"),
                ],
            )
            return [body]
        if path == HEALTH_PATH and environ.get("REQUEST_METHOD") in ("GET", "HEAD"):
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
        body = b"Not Found"
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [body]

    def start(self) -> None:
        """Start the background parts: persisted timers (escalations, card retries, CI polls,
        Slack deliveries), then make sure every running hotfix has the timers it needs — a
        process stopped right after a change may not have armed them — and learn what
        Slack will be asked most (who the bot is, who is in the roles' user groups). The
        front only starts its worker, which does all that."""
        if self.link is not None:
            self.link.start()
            return
        self.timers.start()
        self.outbox.start()
        self.lanes.updates.offer(self._catch_up, what="catching up at start")

    def _catch_up(self) -> None:
        try:
            for hotfix in self.services.hotfixes.active():
                for listener in self.reconcilers:
                    listener(hotfix.id)
        except Exception:  # the next change re-arms; the log says why this pass failed
            log.exception("could not check the timers of running hotfixes at start")
        self.identity.learn(self.services.slack)
        self.services.hotfixes.directory.warm()

    def close(self) -> None:
        if self.link is not None:
            self.link.close()
            self.engine.dispose()
            return
        # Timers first: a job finishing now may still hand work to the lanes.
        self.timers.shutdown()
        self.services.hotfixes.directory.close()
        self.lanes.shutdown()
        self.announcements.close()  # after the lanes: what they announced is sent
        self.engine.dispose()


def slack_client(settings: Settings, *, timeout: float = 10) -> GuardedWebClient:
    """The Web API client: ``SLACK_API_URL`` honoured, every call bounded (bot.slack_api)."""
    token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None
    return GuardedWebClient(
        circuit=Circuit("Slack Web API"),
        token=token,
        base_url=settings.slack_api_url,
        timeout=max(1, round(timeout)),
        retry_handlers=retry_handlers(),
    )


def github_repository(
    settings: Settings, policy: Policy, name: str | None = None
) -> GitHubRepository | None:
    """The GitHub repository ``name`` (default ``repository.github``), when it is set and the
    bot has a GitHub identity: ``GITHUB_TOKEN``, or a GitHub App (``GITHUB_APP_ID`` and the
    rest)."""
    name = name or policy.repository.github
    if not name:
        return None
    if settings.github_token is not None:
        auth: str | AppIdentity = settings.github_token.get_secret_value()
        credentials = "GITHUB_TOKEN"
    elif settings.github_app_id is not None:
        pem = settings.github_app_pem()
        assert pem is not None  # Settings refuses an app without a key
        auth = AppIdentity(settings.github_app_id, pem, settings.github_app_installation_id)
        credentials = (
            "the GitHub App (GITHUB_APP_ID, its private key, GITHUB_APP_INSTALLATION_ID if set; "
            "it must be installed on the repository)"
        )
    else:
        return None
    return GitHubRepository(
        settings.github_api_url,
        auth,
        name,
        credentials=credentials,
        timeout=settings.github_timeout,
    )


def drill_target(settings: Settings, policy: Policy) -> Target | None:
    """Where drills branch, tag and merge (``drill.repository``): never the real repository."""
    if policy.drill.repository is None:
        return None
    return Target(
        Repository(policy.drill.repository, policy.data_dir / "drill"),
        github_repository(settings, policy, policy.drill.github) if policy.drill.github else None,
    )


class _ClientGivenOnPurpose(logging.Filter):
    """Bolt warns that SLACK_BOT_TOKEN is unused when given a client; here that is the point
    (the token reaches Bolt through ``authorize``)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "`token` will be unused" not in record.getMessage()


logging.getLogger("slack_bolt.App").addFilter(_ClientGivenOnPurpose())


def create_app(
    settings: Settings,
    policy: Policy | None = None,
    *,
    migrate_schema: bool = True,
    role: Role = "whole",
) -> HotfixBot:
    """Build a complete Hotfix Bot from settings (and the policy file they name).

    ``role``: ``whole`` acks and works in this process (tests); ``front`` only acks and
    hands the work to a worker process it starts (``hotfix-bot serve``); ``worker`` is that
    process: it takes requests from the front, never from Slack (``bot.split``).
    """
    policy = policy if policy is not None else load_policy(settings.hotfix_config)
    workers = policy.workers
    # Every thread that may hold a connection at once: the lanes, the timers' pool, a spare.
    engine = make_engine(
        database_url(settings),
        pool_size=workers.requests + 2 * workers.forms + workers.updates + 2,
        max_overflow=TIMER_THREADS + 2,
    )
    if migrate_schema:
        migrate(engine)
    sessions = make_sessions(engine)
    clock = system_clock
    timeout = policy.slack.timeout.total_seconds()
    client = slack_client(settings, timeout=timeout)
    lanes = Lanes(
        requests=workers.requests,
        forms=workers.forms,
        updates=workers.updates,
        queue=workers.queue,
    )
    directory = RoleDirectory(
        policy.roles,
        slack_group_members(client),
        refresh=lambda job: lanes.updates.offer(job, what="a role group refresh"),
    )
    hotfixes = HotfixService(sessions, policy, directory, clock)
    timers = Timers(engine)
    outbox = Outbox(
        client,
        ResponseUrls(timeout=timeout, circuit=Circuit("Slack response_url")),
        sessions,
        timers,
        clock=clock,
        card_of=partial(card_location, hotfixes),
    )
    cards = CardPublisher(client, hotfixes, outbox, clock=clock, timers=timers)
    escalations = Escalations(hotfixes, cards, timers, policy, clock)
    nudges = Nudges(hotfixes, outbox, timers, policy, clock)
    announcements = Announcements(hotfixes, cards, outbox, policy)

    # Slack is updated after each change on a lane of its own, so acks never wait for it.
    for listener in (
        cards.refresh,
        escalations.sync,
        nudges.sync,
        announcements.sync,
    ):
        hotfixes.subscribe(in_lane(lanes.updates, listener))
    identity = BotIdentity(client.token)
    bolt = App(
        # Bolt itself never calls Slack for the bot (its token comes from ``authorize``, and
        # every call goes through ``services.slack``); its client only opens Socket Mode.
        client=WebClient(base_url=settings.slack_api_url, timeout=client.timeout),
        signing_secret=(
            settings.slack_signing_secret.get_secret_value()
            if settings.slack_signing_secret
            else None
        ),
        # Listeners run on the request thread and only ack; their work goes on the lanes
        # (bot.ack), so an ack never waits behind work.
        process_before_response=True,
        authorize=identity.authorize,
        user_facing_authorize_error_message=OTHER_WORKSPACE,
        # The worker is sent requests the front has checked already, never Slack's.
        request_verification_enabled=settings.slack_app_token is None and role != "worker",
    )
    repository = Repository(policy.repository.remote, policy.data_dir)
    github = github_repository(settings, policy)
    targets = Targets(Target(repository, github), drill_target(settings, policy))
    hotfix_git = HotfixGit(hotfixes, policy, targets)
    git = GitFlow(
        hotfix_git,
        HotfixReview(hotfixes, policy, targets),
        hotfixes,
        cards,
        policy,
        lanes.git,
        github_configured=github is not None,
        timers=timers,
    )
    hotfixes.subscribe(in_lane(lanes.updates, git.sync_ci_poll))
    deploys = DeployFlow(
        HotfixDeploy(hotfixes, policy, hotfix_git, targets, clock=clock, github=github),
        hotfixes,
        cards,
        outbox,
        client,
        policy,
        timers,
        clock=clock,
    )
    hotfixes.subscribe(in_lane(lanes.updates, deploys.sync))
    security = SecurityCloseOut(hotfixes, cards, git)
    postmortems = PostMortems(hotfixes, cards, client, policy, sessions, github)
    hotfixes.subscribe(in_lane(lanes.updates, postmortems.sync))
    hotfixes.subscribe(in_lane(lanes.updates, security.sync))
    services = BotServices(
        hotfixes=hotfixes,
        cards=cards,
        git=git,
        sessions=sessions,
        clock=clock,
        slack=client,
        deploys=deploys,
        policy=policy,
        postmortems=postmortems,
        security=security,
        public_url=settings.public_url,
    )
    link = (
        WorkerLink(
            worker_main,
            (settings, policy),
            capacities={lane.name: lane.capacity for lane in lanes.all()},
        )
        if role == "front"
        else None
    )
    bot.register(bolt, services, AckPath(lanes, outbox, forward=link, inline=role == "worker"))
    return HotfixBot(
        settings=settings,
        policy=policy,
        engine=engine,
        bolt=bolt,
        services=services,
        timers=timers,
        lanes=lanes,
        outbox=outbox,
        identity=identity,
        metrics=Metrics(sessions),
        announcements=announcements,
        reconcilers=(
            escalations.sync,
            nudges.sync,
            announcements.sync,
            git.sync_ci_poll,
            deploys.sync,
            security.sync,
        ),
        link=link,
    )


def worker_main(settings: Settings, policy: Policy, requests: Any, answers: Any) -> None:
    """The worker process of ``hotfix-bot serve`` (started by the front, ``bot.split``)."""
    lower_priority()
    _configure_logging(settings)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the front stops it, after its own work
    worker = create_app(settings, policy, migrate_schema=False, role="worker")
    worker.start()

    def tell_lag(answer: Callable[..., None]) -> None:
        worker.timers.on_lag = lambda seconds: answer("lag", seconds)

    try:
        serve(worker.bolt, worker.lanes, requests, answers, on_ready=tell_lag)
    finally:
        worker.close()


def in_lane(lane: Lane, listener: Callable[[int], None]) -> Callable[[int], None]:
    """Run a change listener on ``lane``; a run still waiting for the same hotfix stands for
    this one (it reads the newest state). Failures are logged, never lost silently."""
    name = getattr(listener, "__qualname__", repr(listener))

    def run(hotfix_id: int) -> None:
        about_hotfix(hotfix_id)
        listener(hotfix_id)

    def submit(hotfix_id: int) -> None:
        if not lane.offer_once(
            (name, hotfix_id), partial(run, hotfix_id), what=f"HF-{hotfix_id}: {name}"
        ):
            log.error("HF-%s: %s not run: the %s lane is full", hotfix_id, name, lane.name)

    return submit


# --------------------------------------------------------------------------- command line


def _configure_logging(settings: Settings) -> None:
    logs.configure(settings.log_level, settings.log_format, logs.settings_secrets(settings))


def _load(*, need_slack: bool) -> tuple[Settings, Policy]:
    """Settings and policy, or every problem at once and exit code 2."""
    problems: list[str] = []
    settings: Settings | None = None
    policy: Policy | None = None
    try:
        settings = load_settings()
    except ConfigError as error:
        problems.extend(error.problems)
    if settings is not None:
        if need_slack:
            problems.extend(settings_problems(settings))
        try:
            policy = load_policy(settings.hotfix_config)
        except ConfigError as error:
            problems.extend(error.problems)
    if problems or settings is None or policy is None:
        print("Hotfix Bot cannot start. Fix the following and run it again:", file=sys.stderr)
        for problem in problems:
            print(f"  - {problem}", file=sys.stderr)
        raise SystemExit(EXIT_CONFIG)
    return settings, policy


def _safe_url(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def _migrate(settings: Settings) -> None:
    url = database_url(settings)
    engine = make_engine(url)
    try:
        migrate(engine)
    except Exception as error:  # any failure here is reported and ends the command
        print(
            f"Hotfix Bot cannot reach or migrate its database {_safe_url(url)}: "
            f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}\n"
            "Check DATABASE_URL and that the database server is running.",
            file=sys.stderr,
        )
        raise SystemExit(EXIT_DATABASE) from None
    finally:
        engine.dispose()


def cmd_check_config(_: argparse.Namespace) -> int:
    settings, policy = _load(need_slack=True)
    mode = "Socket Mode" if settings.slack_app_token else f"HTTP on port {settings.port}"
    print(f"{settings.hotfix_config}: OK")
    print(f"  repository: {redact(policy.repository.remote)}")
    for severity in ("critical", "high"):
        roles = ", ".join(role_title(r) for r in policy.required_roles(severity))
        print(f"  {severity} needs: {roles}")
    print(f"  database: {_safe_url(database_url(settings))}")
    print(f"  Slack: {mode}, API {settings.slack_api_url}")
    print(f"  GitHub: {_github_identity(settings, policy)}")
    return 0


def _github_identity(settings: Settings, policy: Policy) -> str:
    """How the bot reaches GitHub (never the secret itself)."""
    if not policy.repository.github:
        return "off (set repository.github to open pull requests)"
    if settings.github_token is not None:
        who = "GITHUB_TOKEN"
    elif settings.github_app_id is not None:
        installation = settings.github_app_installation_id
        who = f"GitHub App {settings.github_app_id} " + (
            f"(installation {installation})"
            if installation
            else "(its installation is looked up on first use)"
        )
    else:
        return (
            f"off for {policy.repository.github}: set GITHUB_TOKEN, or GITHUB_APP_ID and "
            "GITHUB_APP_PRIVATE_KEY(_FILE)"
        )
    return f"{policy.repository.github} as {who}, API {settings.github_api_url}"


def cmd_migrate(_: argparse.Namespace) -> int:
    try:
        settings = load_settings()
    except ConfigError as error:
        print("\n".join(error.problems), file=sys.stderr)
        return EXIT_CONFIG
    _migrate(settings)
    print(f"Database {_safe_url(database_url(settings))} is up to date.")
    return 0


REFUSED_TOKEN = {"invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired"}


def _verify_slack_tokens(settings: Settings) -> None:
    """Ask Slack whether the tokens work before serving, so a typo is caught at start.

    A refused token ends the start with exit code 2; Slack being unreachable only warns.
    """
    client = slack_client(settings)
    checks = [("SLACK_BOT_TOKEN", lambda: client.auth_test())]
    if settings.slack_app_token is not None:
        app_token = settings.slack_app_token.get_secret_value()
        checks.append(
            ("SLACK_APP_TOKEN", lambda: client.apps_connections_open(app_token=app_token))
        )
    for variable, check in checks:
        try:
            check()
        except SlackApiError as error:
            code = str(error.response.get("error", "unknown_error"))
            if code == UNREACHABLE:
                log.warning(
                    "could not reach Slack at %s to check %s; starting anyway",
                    settings.slack_api_url,
                    variable,
                )
                continue
            if code in REFUSED_TOKEN or code == "not_allowed_token_type":
                print(
                    f"Hotfix Bot cannot start: Slack refused {variable} ({code}). Copy it "
                    "again from your Slack app's settings (see README, Install).",
                    file=sys.stderr,
                )
                raise SystemExit(EXIT_CONFIG) from None
            log.warning("Slack answered %s while checking %s; starting anyway", code, variable)
        except (SlackClientError, OSError) as error:
            log.warning(
                "could not reach Slack at %s to check %s (%s); starting anyway",
                settings.slack_api_url,
                variable,
                type(error).__name__,
            )


def cmd_serve(_: argparse.Namespace) -> int:
    settings, policy = _load(need_slack=True)
    _configure_logging(settings)
    _migrate(settings)
    _verify_slack_tokens(settings)
    if settings.slack_app_token is not None:
        return _serve_socket_mode(settings, policy)
    return _serve_http(settings, policy)


def _serve_http(settings: Settings, policy: Policy) -> int:
    state: dict[str, HotfixBot] = {}

    def load() -> Callable[..., Iterable[bytes]]:
        state["bot"] = create_app(settings, policy, migrate_schema=False, role="front")
        state["bot"].start()
        log.info("Hotfix Bot listening on :%s%s", settings.port, EVENTS_PATH)
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
    load: Callable[[], Callable[..., Iterable[bytes]]],
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

        def load(self) -> Callable[..., Iterable[bytes]]:
            return load()

    Server().run()


def _serve_socket_mode(settings: Settings, policy: Policy) -> int:
    from wsgiref.simple_server import WSGIRequestHandler, make_server

    from slack_bolt.adapter.socket_mode import SocketModeHandler

    hotfix_bot = create_app(settings, policy, migrate_schema=False, role="front")
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


def cmd_run(args: argparse.Namespace) -> int:
    """``make run``: serve Slack when its credentials are configured, else the sandbox."""
    if sandbox_cli.slack_configured():
        return cmd_serve(args)
    print(sandbox_cli.NO_SLACK, flush=True)
    return sandbox_cli.run(args)


def cmd_diagram(_: argparse.Namespace) -> int:
    print(mermaid(), end="")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="hotfix-bot", description="Hotfix Bot: run production hotfixes from Slack."
    )
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("serve", help="run the bot (default)").set_defaults(run=cmd_serve)
    commands.add_parser(
        "check-config", help="validate the environment and the policy file, then exit"
    ).set_defaults(run=cmd_check_config)
    commands.add_parser("migrate", help="apply database migrations, then exit").set_defaults(
        run=cmd_migrate
    )
    for name, run, text in (
        ("run", cmd_run, "serve Slack if its credentials are set, else start the sandbox"),
        ("sandbox", sandbox_cli.run, "rehearse a hotfix in the browser, with no Slack workspace"),
    ):
        sandboxed = commands.add_parser(name, help=text)
        sandbox_cli.add_arguments(sandboxed)
        sandboxed.set_defaults(run=run)
    commands.add_parser(
        "diagram", help="print the hotfix lifecycle as a Mermaid state diagram"
    ).set_defaults(run=cmd_diagram)
    exporting = commands.add_parser("export", help="print a hotfix's record (timeline and all)")
    exporting.add_argument("hotfix", metavar="HF-n")
    exporting.add_argument("--format", choices=("md", "json"), default="md")
    exporting.set_defaults(run=lambda args: export(args.hotfix, args.format))
    args = parser.parse_args(argv)
    run = getattr(args, "run", cmd_serve)
    return run(args)


if __name__ == "__main__":
    raise SystemExit(main())
