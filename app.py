"""Hotfix Bot's composition root: settings → engine → services → Bolt app → server.

Nothing happens at import. ``create_app(settings)`` builds one complete bot (tests build
as many as they like); ``main()`` is the ``hotfix-bot`` command and ``python app.py``.
"""

from __future__ import annotations

import argparse
import logging
import signal
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, Literal

from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_sdk import WebClient
from sqlalchemy import Engine

import bot
from bot import servers, startup
from bot.ack import AckPath
from bot.announce import Announcements
from bot.card import CardPublisher, card_location
from bot.clients import drill_target, github_repository, slack_client
from bot.deploy_flow import DeployFlow
from bot.escalation import Escalations
from bot.export import export
from bot.gate import SlackGate
from bot.git_flow import GitFlow
from bot.identity import OTHER_WORKSPACE, BotIdentity
from bot.lanes import Lanes, in_lane
from bot.metrics import Metrics
from bot.nudges import Nudges
from bot.outbox import Outbox
from bot.postmortem import PostMortems
from bot.probes import Probes
from bot.security_close import SecurityCloseOut
from bot.services import BotServices
from bot.slack_api import Circuit, ResponseUrls
from bot.slack_groups import slack_group_members
from bot.split import WorkerLink, lower_priority, serve
from sandbox import cli as sandbox_cli
from storage.db import make_engine, make_sessions, migrate
from workflows.config import Policy, Settings, database_url, load_policy
from workflows.deployment import HotfixDeploy
from workflows.git_repo import Repository
from workflows.hotfix_git import HotfixGit
from workflows.hotfixes import HotfixService, system_clock
from workflows.review import HotfixReview
from workflows.roles import RoleDirectory
from workflows.scheduler import Timers
from workflows.targets import Target, Targets

log = logging.getLogger("hotfix_bot")

EVENTS_PATH = "/slack/events"
TIMER_THREADS = 10  # APScheduler's default thread pool
REARM_EVERY = 120  # seconds between checks that every running hotfix has its timers

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
        self._probes = Probes(
            self.engine, self.metrics, self.services.sessions, self.services.clock, self.link
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
        """``GET /healthz``, ``/metrics`` and the Home chart (bot.probes), else 404."""
        return self._probes(environ, start_response)

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
        # A timer lost while the database was away (a retry it could not store) is armed
        # again: when this process takes the timers back, and every few minutes anyway.
        self.timers.on_lead = self._rearm_soon
        self.timers.repeat_here(REARM_EVERY, self._rearm_soon, "rearm-running-hotfixes")

    def _catch_up(self) -> None:
        self._rearm()
        self.identity.learn(self.services.slack)
        self.services.hotfixes.directory.warm()

    def _rearm_soon(self) -> None:
        self.lanes.updates.offer_once("rearm", self._rearm, what="re-arming timers")

    def _rearm(self) -> None:
        """Every running hotfix gets the timers it needs (each listener arms only what is
        missing, under ids that make a second arming a no-op)."""
        try:
            for hotfix in self.services.hotfixes.active():
                for listener in self.reconcilers:
                    listener(hotfix.id)
        except Exception:  # the next pass re-arms; the log says why this one failed
            log.exception("could not check the timers of running hotfixes")

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
    startup.configure_logging(settings)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the front stops it, after its own work
    worker = create_app(settings, policy, migrate_schema=False, role="worker")
    worker.start()

    def tell_lag(answer: Callable[..., None]) -> None:
        worker.timers.on_lag = lambda seconds: answer("lag", seconds)

    try:
        serve(worker.bolt, worker.lanes, requests, answers, on_ready=tell_lag)
    finally:
        worker.close()


# --------------------------------------------------------------------------- command line


def cmd_serve(_: argparse.Namespace) -> int:
    settings, policy = startup.load(need_slack=True)
    startup.configure_logging(settings)
    startup.migrate_or_exit(settings)
    startup.verify_slack_tokens(settings)
    build = partial(create_app, settings, policy, migrate_schema=False, role="front")
    if settings.slack_app_token is not None:
        return servers.serve_socket_mode(settings, build)
    return servers.serve_http(settings, build, path=EVENTS_PATH)


def cmd_run(args: argparse.Namespace) -> int:
    """``make run``: serve Slack when its credentials are configured, else the sandbox."""
    if sandbox_cli.slack_configured():
        return cmd_serve(args)
    print(sandbox_cli.NO_SLACK, flush=True)
    return sandbox_cli.run(args)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="hotfix-bot", description="Hotfix Bot: run production hotfixes from Slack."
    )
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("serve", help="run the bot (default)").set_defaults(run=cmd_serve)
    checking = commands.add_parser(
        "check-config",
        help="validate the environment and the policy file, then Slack, GitHub and git live",
    )
    checking.add_argument(
        "--offline", action="store_true", help="only the environment and the policy file"
    )
    checking.set_defaults(run=startup.cmd_check_config)
    commands.add_parser("migrate", help="apply database migrations, then exit").set_defaults(
        run=startup.cmd_migrate
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
    ).set_defaults(run=startup.cmd_diagram)
    exporting = commands.add_parser("export", help="print a hotfix's record (timeline and all)")
    exporting.add_argument("hotfix", metavar="HF-n")
    exporting.add_argument("--format", choices=("md", "json"), default="md")
    exporting.set_defaults(run=lambda args: export(args.hotfix, args.format))
    args = parser.parse_args(argv)
    run = getattr(args, "run", cmd_serve)
    return run(args)


if __name__ == "__main__":
    raise SystemExit(main())
