"""Ack latency: Hotfix Bot under its production server beside a Bolt app that only acks.

The bot (``python app.py``: its front and worker processes) and two bare Bolt apps that only ack
(Bolt's defaults, and synchronous like the bot's front) run on the same server stack (gunicorn,
16 threads, ``bot.servers.serve_wsgi``), pinned to the first CPU; this process (with the fake
Slack on 127.0.0.1) and the load generator (``bench/load.py``) get the others. The load is
signed ``/hotfix status`` commands and "Approve as Engineering Manager" clicks (already given,
so each is a refused approval: a role check, a locked read of the hotfix, a reply) at each
concurrency, the apps taking turns in quarters so all meet the same machine. Twice: with a
healthy fake Slack, and with every ``response_url`` and Web API call hanging (a Slack that is
down). After the hanging run the fake recovers and the benchmark counts how many of the replies
the bot owed (for the requests it took) were delivered, how fast, and how many twice.

Reported per cell: p50/p95/p99/max of the time to the HTTP answer, errors (no 200 within
10 s), "busy" answers (the bot's lanes full: a 200 that says try again, and says so in its
``x-hotfix-busy`` header), and the bot's p99 over each bare app's. Targets at concurrency 20:
p99 < 100 ms and ≤ 1.5× the bare Bolt app; zero errors everywhere.

    .venv/bin/python bench/ack_bench.py                  # the full run (docs/benchmarks.md)
    .venv/bin/python bench/ack_bench.py --smoke          # CI: a few hundred; fails on an error
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import yaml  # noqa: E402

from bench.cpu import cpu_seconds, spent  # noqa: E402
from sandbox.slack_requests import SignedSlackClient, sign  # noqa: E402
from sandbox.slack_server import FakeSlack  # noqa: E402
from tests.git_fixtures import build_origin  # noqa: E402
from tests.harness.bot_process import BotProcess, free_port, pinned  # noqa: E402

TOKEN = "xoxb-bench-token"
SECRET = "bench-signing-secret"
REQUESTER, EM, ONCALL, CTO, SECURITY = "U0ALICE", "U0DANA", "U0OMAR", "U0CHLOE", "U0SAM"
CHANNEL = "C0INCIDENT"
APPROVE = "Approve as Engineering Manager"
TARGET_P99_MS = 100.0
ROUNDS = 4  # each app gets its requests in this many parts, the apps taking turns
FAKE_NICE = 10  # Slack's work must not delay the load generator on the client's CPU
# The apps under test get the first CPU, the client side (this process with the fake Slack,
# and the load generator) the others: Slack's work is not done on the bot's machine.
_ALL_CPUS = sorted(os.sched_getaffinity(0))
SERVER_CPUS = {_ALL_CPUS[0]} if len(_ALL_CPUS) > 1 else None
CLIENT_CPUS = set(_ALL_CPUS[1:]) if len(_ALL_CPUS) > 1 else None
TARGET_RATIO = 1.5


@dataclass
class Cell:
    condition: str
    kind: str
    concurrency: int
    samples: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    cpu: dict[str, float] = field(default_factory=dict)  # "bot front" → CPU seconds used

    def add_cpu(self, target: str, used: dict[str, float]) -> None:
        for part, seconds in used.items():
            name = f"{target} {part}" if target == "bot" else target
            self.cpu[name] = self.cpu.get(name, 0.0) + seconds

    def cpu_per_request(self) -> dict[str, float]:
        """CPU milliseconds per request, for the bot's front and worker and each bare app."""
        counts = {t: len(s) for t, s in self.samples.items()}
        return {
            name: 1000 * seconds / counts[name.split(" ")[0] if name.startswith("bot") else name]
            for name, seconds in self.cpu.items()
            if name != "bot rest"
        }


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    rank = max(1, round(q / 100 * len(ordered) + 0.5 - 1e-9))
    return ordered[min(rank, len(ordered)) - 1]


def summary(samples: list[dict[str, Any]]) -> dict[str, float]:
    ok = [s["ms"] for s in samples if s["status"] == 200]
    errors = len(samples) - len(ok)
    busy = sum(1 for s in samples if s["status"] == 200 and s.get("busy"))
    values = ok or [float("nan")]
    return {
        "n": len(samples),
        "p50": statistics.median(values),
        "p95": percentile(values, 95),
        "p99": percentile(values, 99),
        "max": max(values),
        "errors": errors,
        "busy": busy,
    }


def policy(directory: Path) -> Path:
    origin = build_origin(directory / "origin.git")
    path = directory / "hotfix.yml"
    path.write_text(
        yaml.safe_dump(
            {
                "repository": {"remote": origin.url, "merge_strategy": "direct"},
                "roles": {
                    "engineering_manager": [EM],
                    "oncall_lead": ["S0ONCALL"],
                    "cto": [CTO],
                    "security": ["S0SEC"],
                },
                "data_dir": str(directory / "data"),
            }
        )
    )
    return path


class Apps:
    """The bot and the bare apps as processes, and a signed client for each."""

    def __init__(self, directory: Path, fake: FakeSlack, database_url: str | None) -> None:
        env = {
            "SLACK_BOT_TOKEN": TOKEN,
            "SLACK_SIGNING_SECRET": SECRET,
            "SLACK_API_URL": fake.api_url,
            "DATABASE_URL": database_url or f"sqlite:///{directory / 'bench.db'}",
            "HOTFIX_CONFIG": str(policy(directory)),
            "LOG_LEVEL": "WARNING",
        }
        self.fake = fake
        self.cpus = SERVER_CPUS
        self.bot = BotProcess(directory, env, cpus=self.cpus)
        self.bare: dict[str, subprocess.Popen[str]] = {}
        self.urls: dict[str, str] = {}
        self._env = env

    def start(self) -> None:
        self.bot.start(timeout=60)
        self.urls["bot"] = self.bot.events_url
        for mode in ("default", "sync"):
            port = free_port()
            env = {**os.environ, **self._env}
            self.bare[mode] = subprocess.Popen(
                [
                    sys.executable,
                    str(ROOT / "bench" / "bare_app.py"),
                    "--port",
                    str(port),
                    "--mode",
                    mode,
                ],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                text=True,
                preexec_fn=pinned(self.cpus),
            )
            self.urls[f"bare ({mode})"] = f"http://127.0.0.1:{port}/slack/events"
            _wait_http(f"http://127.0.0.1:{port}/healthz")

    def cpu(self, target: str) -> dict[str, float]:
        """CPU seconds ``target`` has used so far: the bot as its front and its worker."""
        if target == "bot":
            assert self.bot.process is not None
            return cpu_seconds(
                self.bot.process.pid,
                part_of={"spawn_main": "worker", "resource_tracker": "rest", "app.py": "front"},
            )
        return cpu_seconds(self.bare[target.split("(")[1].rstrip(")")].pid, part_of={})

    def stop(self) -> str:
        for process in self.bare.values():
            process.terminate()
            process.wait(timeout=30)
        return self.bot.stop()


def _wait_http(url: str, timeout: float = 30) -> None:
    import urllib.request

    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def open_hotfix(fake: FakeSlack, client: SignedSlackClient) -> dict[str, Any]:
    """HF-1, critical, with the Engineering Manager's approval given: the checklist message."""
    client.slash("start critical Checkout is down", user_id=REQUESTER, channel_id=CHANNEL)
    modal = fake.wait_for(lambda: fake.last_view(), timeout=20)
    client.submit_view(modal["id"], user_id=REQUESTER, values={"Impact": "Nobody can pay"})
    card = fake.wait_for(lambda: fake.messages(CHANNEL)[0], timeout=20)
    checklist = fake.wait_for(
        lambda: next(
            (m for m in fake.thread(CHANNEL, card["ts"]) if m["text"].startswith("Approvers")),
            None,
        ),
        timeout=20,
    )
    client.click(channel_id=CHANNEL, message=checklist, label=APPROVE, user_id=EM)
    fake.wait_for(
        lambda: "1 of 3" in json.dumps(fake.message(CHANNEL, card["ts"])["blocks"]), timeout=20
    )
    return checklist


def signed(client: SignedSlackClient, kind: str, checklist: dict[str, Any]) -> dict[str, Any]:
    """One request as Slack would send it, signed now (valid for five minutes)."""
    if kind == "status":
        fields = client.slash_payload("status HF-1", user_id=REQUESTER, channel_id=CHANNEL)
        body = urlencode(fields)
    else:
        payload = client.click_payload(
            channel_id=CHANNEL, message=checklist, label=APPROVE, user_id=EM
        )
        body = urlencode({"payload": json.dumps(payload)})
    ts = int(time.time())
    return {
        "body": body,
        "headers": {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Slack-Request-Timestamp": str(ts),
            "X-Slack-Signature": sign(SECRET, ts, body.encode()),
        },
    }


def load(url: str, requests: list[dict[str, Any]], concurrency: int, work: Path) -> list[dict]:
    spec = work / "load.json"
    spec.write_text(
        json.dumps({"url": url, "concurrency": concurrency, "timeout": 10, "requests": requests})
    )
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "load.py"), str(spec)],
        check=True,
        capture_output=True,
        text=True,
    )
    return list(json.loads(done.stdout))


def settle(fake: FakeSlack, quiet: float = 1.0, limit: float = 120.0) -> None:
    """Until the bot has stopped answering (its replies reach the fake)."""
    deadline = time.monotonic() + limit
    last, since = -1, time.monotonic()
    while time.monotonic() < deadline:
        count = len(fake.responses())
        if count != last:
            last, since = count, time.monotonic()
        elif time.monotonic() - since >= quiet:
            return
        time.sleep(0.1)


def run(args: argparse.Namespace) -> int:
    if CLIENT_CPUS:
        os.sched_setaffinity(0, CLIENT_CPUS)  # before the fake's threads start: they inherit
    cells: list[Cell] = []
    recovery: dict[str, Any] = {}
    with (
        tempfile.TemporaryDirectory(prefix="ack-bench-") as tmp,
        FakeSlack(token=TOKEN, nice=FAKE_NICE) as fake,
    ):
        work = Path(tmp)
        for user, name in [(REQUESTER, "alice"), (EM, "dana"), (ONCALL, "omar"), (CTO, "chloe")]:
            fake.add_user(user, name)
        fake.set_usergroup("S0ONCALL", [ONCALL])
        fake.set_usergroup("S0SEC", [SECURITY])
        fake.add_channel(CHANNEL, "inc-checkout")
        apps = Apps(work, fake, args.database_url)
        apps.start()
        try:
            client = SignedSlackClient(apps.urls["bot"], SECRET, fake)
            checklist = open_hotfix(fake, client)
            settle(fake)
            for condition in args.conditions:
                owed_from = len(fake.responses())
                hung_urls: set[str] = set()
                if condition == "hanging":
                    fake.hang("response_url", "*")
                for concurrency in args.concurrency:
                    for kind in args.kinds:
                        cell = Cell(condition, kind, concurrency)
                        part = max(1, args.requests // ROUNDS)
                        for _round in range(ROUNDS):
                            for target, url in apps.urls.items():
                                batch = [signed(client, kind, checklist) for _ in range(part)]
                                before = apps.cpu(target)
                                results = load(url, batch, concurrency, work)
                                cell.samples.setdefault(target, []).extend(results)
                                if target != "bot":
                                    cell.add_cpu(target, spent(before, apps.cpu(target)))
                                    continue
                                for request, result in zip(batch, results, strict=True):
                                    if condition == "hanging" and not result["busy"]:
                                        hung_urls.add(_response_url(request))
                                if condition == "healthy":
                                    settle(fake)
                                cell.add_cpu(target, spent(before, apps.cpu(target)))
                        cells.append(cell)
                        print(_line(cell), flush=True)
                if condition == "hanging":
                    fake.recover()
                    started = time.monotonic()
                    owed = len(hung_urls)
                    delivered = 0
                    while time.monotonic() - started < args.recovery_limit:
                        answered = {r["url"] for r in fake.responses()[owed_from:]}
                        delivered = len(hung_urls & answered)
                        if delivered >= owed:
                            break
                        time.sleep(0.5)
                    twice = _answered_twice(fake, hung_urls)
                    recovery = {
                        "owed": owed,
                        "delivered": delivered,
                        "seconds": round(time.monotonic() - started, 1),
                        "answered_twice": twice,
                    }
                    print(
                        f"after recovery: {delivered} of {owed} replies delivered in "
                        f"{recovery['seconds']} s, {twice} answered twice",
                        flush=True,
                    )
        finally:
            output = apps.stop()
            if args.verbose:
                print(output[-5000:])
    print()
    print(report(cells, recovery))
    if args.json:
        Path(args.json).write_text(
            json.dumps(
                {
                    "cells": [
                        {
                            "condition": c.condition,
                            "kind": c.kind,
                            "concurrency": c.concurrency,
                            **{t: summary(s) for t, s in c.samples.items()},
                            "cpu_ms_per_request": c.cpu_per_request(),
                        }
                        for c in cells
                    ],
                    "recovery": recovery,
                },
                indent=2,
            )
        )
    errors = sum(summary(s)["errors"] for c in cells for s in c.samples.values())
    lost = recovery and recovery["delivered"] < recovery["owed"]
    doubled = recovery and recovery["answered_twice"]
    if errors or lost or doubled:
        print(f"FAILED: {errors} errors, lost replies: {bool(lost)}, doubled: {bool(doubled)}")
        return 1
    return 0


def _response_url(request: dict[str, Any]) -> str:
    from urllib.parse import parse_qs

    fields = parse_qs(request["body"])
    if "payload" in fields:
        return str(json.loads(fields["payload"][0])["response_url"])
    return fields["response_url"][0]


def _answered_twice(fake: FakeSlack, urls: set[str]) -> int:
    seen: dict[str, int] = {}
    for response in fake.responses():
        if response["url"] in urls:
            seen[response["url"]] = seen.get(response["url"], 0) + 1
    return sum(1 for count in seen.values() if count > 1)


def _line(cell: Cell) -> str:
    parts = [f"{cell.condition:8} {cell.kind:7} c={cell.concurrency:<4}"]
    for target, samples in cell.samples.items():
        s = summary(samples)
        parts.append(f"{target}: p50 {s['p50']:.1f} p99 {s['p99']:.1f} err {s['errors']}")
    cpu = cell.cpu_per_request()
    parts.append("CPU ms/request " + ", ".join(f"{n} {v:.2f}" for n, v in cpu.items()))
    return " | ".join(parts)


CPU_PARTS = ("bot front", "bot worker", "bare (default)", "bare (sync)")


def cpu_report(cells: list[Cell]) -> list[str]:
    """CPU milliseconds per request: the bot's front (what acks) and worker (the work
    after the ack; in the hanging runs, only what it did before the next batch)."""
    lines = [
        "| Slack | request | concurrency | " + " | ".join(CPU_PARTS) + " |",
        "|---|---|---:|" + "---:|" * len(CPU_PARTS),
    ]
    for cell in cells:
        cpu = cell.cpu_per_request()
        shown = " | ".join(f"{cpu[p]:.2f}" if p in cpu else "" for p in CPU_PARTS)
        lines.append(f"| {cell.condition} | {cell.kind} | {cell.concurrency} | {shown} |")
    return lines


def report(cells: list[Cell], recovery: dict[str, Any]) -> str:
    lines = [
        "| Slack | request | concurrency | app | p50 ms | p95 ms | p99 ms | max ms | errors "
        "| busy | p99 ÷ bare (default) | p99 ÷ bare (sync) |",
        "|---|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    verdicts: list[str] = []
    for cell in cells:
        stats = {t: summary(s) for t, s in cell.samples.items()}
        bot = stats["bot"]
        ratios = {t: bot["p99"] / s["p99"] for t, s in stats.items() if t != "bot" and s["p99"]}
        for target, s in stats.items():
            shown = (
                [f"{ratios['bare (default)']:.2f}×", f"{ratios['bare (sync)']:.2f}×"]
                if target == "bot"
                else ["", ""]
            )
            lines.append(
                f"| {cell.condition} | {cell.kind} | {cell.concurrency} | {target} | "
                f"{s['p50']:.1f} | {s['p95']:.1f} | {s['p99']:.1f} | {s['max']:.1f} | "
                f"{s['errors']} | {s['busy']} | {shown[0]} | {shown[1]} |"
            )
        if cell.concurrency == 20:
            reference = ratios["bare (default)"]
            ok = bot["p99"] < TARGET_P99_MS and reference <= TARGET_RATIO
            verdicts.append(
                f"- {cell.condition} {cell.kind} at 20: p99 {bot['p99']:.1f} ms, "
                f"{reference:.2f}× bare Bolt ({ratios['bare (sync)']:.2f}× the synchronous "
                f"one) → {'meets' if ok else 'MISSES'} the targets"
            )
    if recovery:
        verdicts.append(
            f"- after Slack recovered: {recovery['delivered']} of {recovery['owed']} replies "
            f"delivered in {recovery['seconds']} s, {recovery['answered_twice']} twice"
        )
    return "\n".join(
        [*lines, "", "CPU milliseconds per request:", "", *cpu_report(cells), "", *verdicts]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000, help="per app and cell")
    parser.add_argument("--concurrency", default="1,20,100")
    parser.add_argument("--conditions", default="healthy,hanging")
    parser.add_argument("--kinds", default="status,approve")
    parser.add_argument("--database-url", help="the bot's database (default: SQLite in a temp dir)")
    parser.add_argument("--recovery-limit", type=float, default=300)
    parser.add_argument("--json", help="also write the results here")
    parser.add_argument("--smoke", action="store_true", help="CI: 200 requests at 20; errors fail")
    parser.add_argument("--verbose", action="store_true", help="print the bot's log at the end")
    args = parser.parse_args()
    if args.smoke:
        args.requests, args.concurrency = 200, "20"
    args.concurrency = [int(c) for c in str(args.concurrency).split(",")]
    args.conditions = str(args.conditions).split(",")
    args.kinds = str(args.kinds).split(",")
    raise SystemExit(run(args))


if __name__ == "__main__":
    main()
