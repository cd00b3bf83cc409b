"""``hotfix-bot sandbox``: the sandbox in the foreground, until Ctrl+C (or SIGTERM)."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from pathlib import Path

from workflows.config import ConfigError, load_settings

EXIT_REFUSED = 2
SLACK_VARIABLES = ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN")


def slack_configured() -> list[str]:
    """The Slack credentials set in the environment or in ``.env`` (their names only)."""
    try:
        settings = load_settings()
    except ConfigError:
        return [name for name in SLACK_VARIABLES if os.environ.get(name)]
    values = (settings.slack_bot_token, settings.slack_signing_secret, settings.slack_app_token)
    return [name for name, value in zip(SLACK_VARIABLES, values, strict=True) if value]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--port", type=int, default=3000, help="the page's port (the fakes use the next four)"
    )
    parser.add_argument(
        "--dir",
        type=Path,
        default=Path(".sandbox"),
        help="where the sandbox keeps its world and its database (default: .sandbox)",
    )
    parser.add_argument(
        "--with-slack-credentials",
        action="store_true",
        help="start even though Slack credentials are configured (they are not used)",
    )


def run(args: argparse.Namespace) -> int:
    # Here, not at the top: `hotfix-bot serve` need not load the fakes' libraries.
    from sandbox.page_api import PageApi
    from sandbox.session import Sandbox, SandboxError
    from sandbox.web import PageServer

    configured = slack_configured()
    if configured and not args.with_slack_credentials:
        print(
            f"Hotfix Bot sandbox not started: Slack credentials are configured "
            f"({', '.join(configured)}), so this looks like a real installation. Run "
            "`hotfix-bot serve` to serve Slack, or `hotfix-bot sandbox "
            "--with-slack-credentials` to rehearse anyway (the sandbox never uses them).",
            file=sys.stderr,
        )
        return EXIT_REFUSED
    if not 1 <= args.port <= 65531:
        print(f"--port {args.port}: choose a port from 1 to 65531.", file=sys.stderr)
        return EXIT_REFUSED
    sandbox = Sandbox(args.dir, port=args.port)
    try:
        server = PageServer(PageApi(sandbox), "127.0.0.1", args.port)
    except OSError as error:
        print(
            f"Hotfix Bot sandbox cannot listen on 127.0.0.1:{args.port} ({error.strerror}). "
            "Stop what uses it, or pick another port with --port.",
            file=sys.stderr,
        )
        return EXIT_REFUSED
    try:
        sandbox.start()
    except (SandboxError, OSError) as error:
        server.server_close()
        sandbox.stop()
        print(f"Hotfix Bot sandbox cannot start: {error}", file=sys.stderr)
        if isinstance(error, OSError):
            print(
                f"Ports {args.port + 1}-{args.port + 4} must be free on 127.0.0.1 (the fake "
                "Slack, GitHub, health endpoint and the bot); pick others with --port.",
                file=sys.stderr,
            )
        return EXIT_REFUSED
    server.serve_in_background()
    print(
        f"Hotfix Bot sandbox: open {sandbox.page_url}\n"
        "  A Slack-like workspace, a GitHub, a sample service and the real bot, on this "
        f"machine only (kept in {sandbox.directory}).\n"
        "  Play every role: pick who you are at the top left, then type /hotfix start in "
        "#inc-checkout.\n"
        "  Ctrl+C stops it; it carries on where it was when started again.",
        flush=True,
    )
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    stop.wait()
    print("Hotfix Bot sandbox: stopping (saving the workspace)", flush=True)
    server.shutdown()
    server.server_close()
    sandbox.stop()
    return 0


NO_SLACK = (
    "No Slack credentials (SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET): starting the sandbox.\n"
    "  To serve your Slack workspace instead, set them (see README, Install), copy "
    "hotfix.example.yml to hotfix.yml, and run `make run` again."
)
