"""End to end under load: N hotfixes at once, each from ``/hotfix start`` to closed.

The bot runs as an operator runs it (``python app.py``: its front and worker processes) on
one fresh PostgreSQL database, against the fake Slack and GitHub on 127.0.0.1 and a real
bare git repository. Each hotfix has its own incident channel and is driven by its own
thread the way people would: the assessment form, two approvals, a pushed fix, ``/hotfix
pr``, the review checklist ticked and approved (GitHub approves too), Tag & deploy (a deploy
script that does nothing), the monitoring window (second-scale), ``/hotfix merge-back``.

Reported: wall time; from each state-changing click to the card showing the new state (p50,
p95, max); the timers' lag (from the bot's ``/metrics``); peak RSS (front, worker, both) and
open file descriptors of the bot's processes; and the checks: every monitoring check posted
exactly once, every hotfix closed and merged into main, no ``git`` process left behind.

    .venv/bin/python bench/e2e_bench.py                 # 200 hotfixes (docs/benchmarks.md)
    .venv/bin/python bench/e2e_bench.py --smoke         # 3 hotfixes: what .ci/run runs

Exit status 1 when a check fails or a hotfix does not close.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import sys
import tempfile
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import yaml  # noqa: E402
from sqlalchemy import create_engine, select  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from sandbox.github_server import FakeGitHub  # noqa: E402
from sandbox.health import Health  # noqa: E402
from sandbox.slack_requests import SignedSlackClient  # noqa: E402
from sandbox.slack_server import FakeSlack  # noqa: E402
from storage.models import Event, Hotfix, ReviewTicks  # noqa: E402
from tests.databases import fresh_postgres_database  # noqa: E402
from tests.git_fixtures import build_origin, commit_on, run_git  # noqa: E402
from tests.harness.bot_process import BotProcess  # noqa: E402
from tests.harness.processes import descendants, name_of  # noqa: E402
from workflows.review import REVIEW_ITEMS  # noqa: E402

SECRET = "bench-signing-secret"
TOKEN = "xoxb-bench-token"
REPO = "acme/api"
REQUESTER, EM, ONCALL = "U0ALICE", "U0DANA", "U0OMAR"
NOOP_DEPLOY = "import sys\nprint('deployed', *sys.argv[1:])\n"
CHECKS = 3  # monitoring: a check every second for three seconds
POLL = 0.25  # seconds between looks at the fake Slack (it shares the machine with the bot)
RAMP = 0.1  # seconds between two hotfixes' /hotfix start: people do not type in lockstep


@dataclass
class Run:
    """What one hotfix's driver saw."""

    channel: str
    key: str = ""
    latencies: list[tuple[str, float]] = field(default_factory=list)  # click → card: state
    retried_starts: int = 0  # /hotfix start typed again: the form's trigger expired
    error: str = ""


class Driver:
    """Drives one hotfix through the whole procedure in its own channel."""

    def __init__(
        self,
        slack: SignedSlackClient,
        fake: FakeSlack,
        github: FakeGitHub,
        origin: Path,
        database_url: str,
    ) -> None:
        self.slack, self.fake, self.github, self.origin = slack, fake, github, origin
        self.git_lock = threading.Lock()
        self.engine = create_engine(database_url, pool_size=4, max_overflow=4)

    step_timeout = 180.0  # seconds one step may take (``--step-timeout``)

    def wait(self, what: str, check: Any, timeout: float | None = None) -> Any:
        deadline = time.monotonic() + (timeout or self.step_timeout)
        while time.monotonic() < deadline:
            value = check()
            if value:
                return value
            time.sleep(POLL)
        raise TimeoutError(f"timed out waiting for {what}")

    def card(self, run: Run) -> dict:
        return self.wait("the card", lambda: self.fake.messages(run.channel))[0]

    def in_thread(self, run: Run, starts: str) -> list[dict]:
        thread = self.fake.thread(run.channel, self.card(run)["ts"])
        return [m for m in thread if m["text"].startswith(starts)]

    def card_shows(self, run: Run, state: str, since: float) -> None:
        """Wait until the card's text names ``state``; record how long since the click."""
        self.wait(f"{run.key} card: {state}", lambda: self.card(run)["text"].endswith(state))
        run.latencies.append((state, time.monotonic() - since))

    def click(self, run: Run, message: dict, label: str, user: str) -> float:
        now = time.monotonic()
        response = self.slack.click(
            channel_id=run.channel, message=message, label=label, user_id=user
        )
        if response.status != 200:
            raise RuntimeError(f"{run.key}: {label!r} answered {response.status}")
        return now

    def command(self, run: Run, text: str, user: str) -> float:
        now = time.monotonic()
        response = self.slack.slash(text, user_id=user, channel_id=run.channel)
        if response.status != 200:
            raise RuntimeError(f"{run.key}: /hotfix {text} answered {response.status}")
        return now

    def form(self, run: Run, number: int) -> dict:
        """Type ``/hotfix start``; a form Slack could not open in time (its trigger expired:
        the bot says so) is asked for again, as the person would."""
        for _ in range(3):
            self.command(run, f"start SEC-{number} high Fix number {number}", REQUESTER)
            try:
                return self.wait(
                    "the assessment form",
                    lambda: [
                        v for v in self.fake.views() if run.channel in v.get("private_metadata", "")
                    ],
                    timeout=30,
                )[0]
            except TimeoutError:
                run.retried_starts += 1
        raise TimeoutError("the assessment form never opened")

    def drive(self, run: Run, number: int) -> None:
        time.sleep(number * RAMP)
        view = self.form(run, number)
        self.slack.submit_view(view["id"], user_id=REQUESTER, values={"Impact": "Everyone"})
        run.key = re.findall(r"HF-\d+", self.card(run)["text"])[0]
        approvals = self.wait("approvals", lambda: self.in_thread(run, "Approvers for"))[0]
        self.wait("the base", lambda: self.in_thread(run, "Approvers for"))
        self.click(run, approvals, "Approve as On-call Lead", ONCALL)
        self.wait(
            "the first approval",
            lambda: "Approve as On-call" not in json.dumps(self.current(run, approvals)),
        )
        since = self.click(run, self.current(run, approvals), "Approve as Engineering Manager", EM)
        self.card_shows(run, "Fixing", since)

        ready = self.wait("the branch", lambda: self.in_thread(run, "🌿"))[0]
        branch = re.findall(r"`(hotfix/[^`]+)`", ready["text"])[0]
        with self.git_lock:
            head = commit_on(
                self.origin,
                branch,
                {f"fixes/fix_{number}.py": f"FIXED = {number}\n"},
                f"Fix number {number}",
            )
        since = self.command(run, f"pr {run.key}", REQUESTER)
        self.card_shows(run, "In review", since)
        checklist = self.wait(
            "the checklist", lambda: self.in_thread(run, "Hotfix Review Checklist")
        )[0]
        [pull] = [p for p in self.github.pulls(REPO) if p["head"]["ref"] == branch]
        self.github.add_review(REPO, pull["number"], "oscar", "APPROVED", commit_id=head)
        self.tick(run, checklist)
        since = self.click(run, self.current(run, checklist), "Approve review", ONCALL)
        self.card_shows(run, "Ready to deploy", since)

        panel = self.wait("the panel", lambda: self.in_thread(run, "Pre-deploy checklist"))[0]
        panel = self.wait(
            "Tag & deploy", lambda: self.label(self.current(run, panel), "Tag & deploy")
        )
        since = self.click(run, panel[0], panel[1], ONCALL)
        self.card_shows(run, "Monitoring", since)
        self.wait("the window's end", lambda: self.card(run)["text"].endswith("Merging back"))
        since = self.command(run, f"merge-back {run.key}", ONCALL)
        self.card_shows(run, "Closed", since)

    def current(self, run: Run, message: dict) -> dict:
        return self.fake.message(run.channel, message["ts"]) or message

    @staticmethod
    def label(message: dict, starts: str) -> tuple[dict, str] | None:
        for block in message.get("blocks", []):
            for element in block.get("elements", []) or []:
                text = (element.get("text") or {}).get("text", "")
                if element.get("type") == "button" and text.startswith(starts):
                    return message, text
        return None

    def tick(self, run: Run, checklist: dict) -> None:
        """The On-call Lead ticks every review item, as their Slack sends it."""
        shown = self.current(run, checklist)
        payload = self.slack.click_payload(
            channel_id=run.channel, message=shown, label="Approve review", user_id=ONCALL
        )
        [block] = [
            b["block_id"]
            for b in shown["blocks"]
            if b.get("type") == "actions"
            and any(e.get("action_id") == "hotfix_checklist" for e in b.get("elements", []))
        ]
        payload["actions"] = [
            {
                "type": "checkboxes",
                "action_id": "hotfix_checklist",
                "block_id": block,
                "selected_options": [
                    {"text": {"type": "plain_text", "text": text}, "value": item}
                    for item, text in REVIEW_ITEMS
                ],
                "action_ts": "1.2",
            }
        ]
        if self.slack.send_payload(payload).status != 200:
            raise RuntimeError(f"{run.key}: the checklist tick was not acked")
        wanted = {item for item, _ in REVIEW_ITEMS}

        def stored() -> bool:  # as the reviewer sees them shown: once they are recorded
            with Session(self.engine) as session:
                rows = session.scalars(select(ReviewTicks).where(ReviewTicks.reviewer_id == ONCALL))
                return any(
                    row.hotfix_id == int(run.key[3:]) and wanted <= set(row.items or [])
                    for row in rows
                )

        self.wait("the ticks", stored)


def rss_and_fds(root: int) -> tuple[dict[int, int], int]:
    """Resident memory (bytes) of each Python process of the bot (the front and its worker;
    not the short-lived git and deploy children), and their open file descriptors."""
    rss: dict[int, int] = {}
    fds = 0
    for pid in [root, *(pid for pid, _ in descendants(root))]:
        if not name_of(pid).startswith("python"):
            continue
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    rss[pid] = int(line.split()[1]) * 1024
            fds += len(os.listdir(f"/proc/{pid}/fd"))
        except OSError:
            continue
    return rss, fds


def timer_lag(url: str) -> dict[str, float]:
    with urllib.request.urlopen(f"{url}/metrics", timeout=10) as response:
        text = response.read().decode()
    values = dict(
        re.findall(r"^hotfix_bot_timer_lag_seconds_(sum|count) (\S+)$", text, re.MULTILINE)
    )
    count = float(values.get("count", 0))
    return {"count": count, "mean": float(values.get("sum", 0)) / count if count else 0.0}


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else 0.0


def policy(workdir: Path, origin: Path, health: Health) -> Path:
    script = workdir / "deploy.py"
    script.write_text(NOOP_DEPLOY)
    data = {
        "repository": {"remote": str(origin), "github": REPO, "merge_strategy": "direct"},
        "roles": {
            "engineering_manager": [EM],
            "oncall_lead": ["S0ONCALL"],
            "cto": ["U0CHLOE"],
            "security": ["U0SAM"],
        },
        "people": {"dana-em": EM},
        "deploy": {
            "command": [sys.executable, str(script), "production", "{version}"],
            "rollback_command": [sys.executable, str(script), "rollback", "{previous_version}"],
            "workdir": "{checkout}",
            "timeout": "60s",
            "health_url": health.url,
            "health_timeout": "10s",
        },
        "monitoring": {"interval": "1s", "window": f"{CHECKS}s"},
        "data_dir": str(workdir / "data"),
    }
    path = workdir / "hotfix.yml"
    path.write_text(yaml.safe_dump(data))
    return path


def run(count: int, step_timeout: float) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="e2e-bench-") as tmp, fresh_postgres_database() as url:
        workdir = Path(tmp)
        origin = build_origin(workdir / "origin.git").path
        scopes = yaml.safe_load((ROOT / "manifest.yml").read_text())["oauth_config"]["scopes"]
        with (
            FakeSlack(token=TOKEN, scopes=scopes["bot"]) as fake,
            FakeGitHub() as github,
        ):
            health = Health()
            github.add_repo(REPO, origin)
            github.add_user("dana-em")
            for user, name in ((REQUESTER, "alice"), (EM, "dana"), (ONCALL, "omar")):
                fake.add_user(user, name)
            fake.set_usergroup("S0ONCALL", [ONCALL])
            runs = [Run(f"C{number:05d}") for number in range(1, count + 1)]
            for each in runs:
                fake.add_channel(each.channel, f"inc-{each.channel.lower()}")
            env = {
                "SLACK_BOT_TOKEN": TOKEN,
                "SLACK_SIGNING_SECRET": SECRET,
                "SLACK_API_URL": fake.api_url,
                "GITHUB_TOKEN": github.token,
                "GITHUB_API_URL": github.api_url,
                "DATABASE_URL": url,
                "HOTFIX_CONFIG": str(policy(workdir, origin, health)),
                "LOG_LEVEL": "WARNING",
            }
            bot = BotProcess(workdir, env).start(timeout=60)
            assert bot.process is not None
            peak = {"front": 0, "worker": 0, "total": 0, "fds": 0}
            sampling = threading.Event()

            def sample() -> None:
                front = bot.process.pid  # type: ignore[union-attr]
                while not sampling.wait(0.25):
                    rss, fds = rss_and_fds(front)
                    # The worker: the front's largest Python child (the others are the deploy
                    # scripts of this run, and multiprocessing's small resource tracker).
                    worker = max((v for pid, v in rss.items() if pid != front), default=0)
                    for name, value in (
                        ("front", rss.get(front, 0)),
                        ("worker", worker),
                        ("total", rss.get(front, 0) + worker),
                        ("fds", fds),
                    ):
                        peak[name] = max(peak[name], value)

            threading.Thread(target=sample, daemon=True).start()
            slack = SignedSlackClient(bot.events_url, SECRET, fake)
            driver = Driver(slack, fake, github, origin, url)
            driver.step_timeout = step_timeout

            def one(number: int) -> None:
                try:
                    driver.drive(runs[number - 1], number)
                except Exception as error:  # reported per hotfix, and the run fails
                    runs[number - 1].error = f"{type(error).__name__}: {error}"

            started = time.monotonic()
            with ThreadPoolExecutor(max_workers=count) as pool:
                list(pool.map(one, range(1, count + 1)))
            wall = time.monotonic() - started
            time.sleep(2)  # what the last clicks started has finished
            lag = timer_lag(bot.url)
            left = [p for p, _ in descendants(bot.process.pid) if name_of(p) == "git"]
            sampling.set()
            driver.engine.dispose()
            result = checks(url, count, fake, origin)
            bot.stop()
            health.close()
        latencies = [x for each in runs for _, x in each.latencies]
        by_state: dict[str, list[float]] = {}
        for each in runs:
            for state, seconds in each.latencies:
                by_state.setdefault(state, []).append(seconds)
        return {
            "hotfixes": count,
            "closed": result["closed"],
            "errors": [f"{r.key or r.channel}: {r.error}" for r in runs if r.error],
            "wall_seconds": round(wall, 1),
            "starts_typed_again": sum(r.retried_starts for r in runs),
            "click_to_card_p50_ms": round(statistics.median(latencies) * 1000) if latencies else 0,
            "click_to_card_p95_ms": round(percentile(latencies, 0.95) * 1000),
            "click_to_card_max_ms": round(max(latencies, default=0) * 1000),
            "click_to_card_p95_ms_by_state": {
                state: round(percentile(values, 0.95) * 1000) for state, values in by_state.items()
            },
            "timer_lag_mean_ms": round(lag["mean"] * 1000),
            "timers_fired": int(lag["count"]),
            "peak_rss_mb": {
                name: round(peak[name] / 2**20) for name in ("front", "worker", "total")
            },
            "peak_open_fds": peak["fds"],
            "git_processes_left": len(left),
            "pings_exactly_once": result["pings_exactly_once"],
            "merged_into_main": result["merged"],
        }


def checks(url: str, count: int, fake: FakeSlack, origin: Path) -> dict[str, Any]:
    """What the database, the fake Slack and git hold after the run."""
    engine = create_engine(url)
    with Session(engine) as session:
        hotfixes = list(session.scalars(select(Hotfix)))
        pings: dict[int, list[int]] = {}
        for event in session.scalars(select(Event).where(Event.kind == "monitoring_ping")):
            pings.setdefault(event.hotfix_id, []).append(int(event.detail["step"]))
    engine.dispose()
    # Each check claimed once, in order, none skipped; a window that ended had all of them;
    # and each thread holds exactly the checks claimed (none posted twice, none lost).
    once = True
    for hotfix in hotfixes:
        steps = sorted(pings.get(hotfix.id, []))
        passed = hotfix.state in ("merging_back", "closed")
        once = once and steps == list(range(1, len(steps) + 1))
        once = once and (len(steps) == CHECKS if passed else len(steps) <= CHECKS)
        channel = hotfix.channel_id
        card = fake.messages(channel)
        if card:
            posted = [m for m in fake.thread(channel, card[0]["ts"]) if m["text"].startswith("📈")]
            once = once and len(posted) == len(steps)
    main_files = run_git(origin, "ls-tree", "-r", "--name-only", "main")
    merged = sum(f"fixes/fix_{n}.py" in main_files for n in range(1, count + 1))
    return {
        "closed": sum(h.state == "closed" for h in hotfixes),
        "pings_exactly_once": once,
        "merged": merged,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--hotfixes", type=int, default=200)
    parser.add_argument("--smoke", action="store_true", help="3 hotfixes (CI)")
    parser.add_argument("--json", type=Path, help="also write the result here")
    parser.add_argument(
        "--step-timeout", type=float, default=1800, help="seconds one step may wait (default 1800)"
    )
    args = parser.parse_args()
    count = 3 if args.smoke else args.hotfixes
    result = run(count, 120 if args.smoke else args.step_timeout)
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    ok = (
        not result["errors"]
        and result["closed"] == count
        and result["pings_exactly_once"]
        and result["merged_into_main"] == count
        and result["git_processes_left"] == 0
    )
    if not ok:
        print("e2e benchmark FAILED: see above", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
