"""The yardstick of the ack benchmark: a Bolt app that only acks, on Hotfix Bot's own server.

It answers ``/hotfix`` and every button with an empty ack and does nothing else, served by
the same gunicorn set-up as the bot (``bot.servers.serve_wsgi``). ``--mode default`` is Bolt as
people start with it (the listener runs on Bolt's thread pool and the request thread waits
for its ack); ``--mode sync`` runs it on the request thread, as Hotfix Bot does.

    python bench/bare_app.py --port 3100 --mode default
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from slack_bolt import Ack, App  # noqa: E402
from slack_bolt.adapter.wsgi import SlackRequestHandler  # noqa: E402
from slack_sdk import WebClient  # noqa: E402

from bot.servers import serve_wsgi  # noqa: E402


def bare_app(*, token: str, signing_secret: str, api_url: str, sync: bool) -> App:
    app = App(
        client=WebClient(token=token, base_url=api_url),
        signing_secret=signing_secret,
        process_before_response=sync,
    )

    @app.command("/hotfix")
    def command(ack: Ack) -> None:
        ack()

    @app.action(re.compile(".*"))
    def action(ack: Ack) -> None:
        ack()

    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--mode", choices=("default", "sync"), default="default")
    args = parser.parse_args()
    app = bare_app(
        token=os.environ["SLACK_BOT_TOKEN"],
        signing_secret=os.environ["SLACK_SIGNING_SECRET"],
        api_url=os.environ["SLACK_API_URL"],
        sync=args.mode == "sync",
    )
    handler = SlackRequestHandler(app)

    def health(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        if environ.get("PATH_INFO") == "/slack/events":
            return handler(environ, start_response)  # type: ignore[no-any-return]
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    serve_wsgi(lambda: health, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
