"""The sandbox's moving parts, started together on 127.0.0.1: the sample world's git origin,
the fake Slack workspace and the fake GitHub (their state saved in the sandbox's database),
the service's health endpoint, a CI that runs the service's tests on every pull request head,
and the real bot as its own process, started exactly as ``hotfix-bot serve`` is, pointed at
the fakes by the same settings that point it at Slack and GitHub in production."""

from __future__ import annotations

import logging
import os
import secrets
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import yaml
from git import Repo

from sandbox import world as sample
from sandbox.github_server import FakeGitHub
from sandbox.health import Health
from sandbox.slack_requests import SignedSlackClient
from sandbox.slack_server import FakeSlack
from sandbox.store import Store

log = logging.getLogger("sandbox")

REPOSITORY = "sandbox/checkout"  # the sample service's name on the fake GitHub
DRILL_REPOSITORY = "sandbox/checkout-drill"  # the drills' scratch copy of it
CI_CHECK = "ci/tests"  # the check run the sandbox's CI reports on every pull request head
TEAM_ID = "T0SANDBOX"
APP_ID = "A0SANDBOX"
ROOT = Path(__file__).resolve().parents[1]
# What the bot's own settings must not bring into the sandbox: it talks to the fakes only.
FOREIGN = (
    "SLACK_BOT_TOKEN",
    "SLACK_SIGNING_SECRET",
    "SLACK_APP_TOKEN",
    "SLACK_API_URL",
    "GITHUB_TOKEN",
    "GITHUB_API_URL",
    "GITHUB_APP_ID",
    "GITHUB_APP_INSTALLATION_ID",
    "GITHUB_APP_PRIVATE_KEY",
    "GITHUB_APP_PRIVATE_KEY_FILE",
    "DATABASE_URL",
    "HOTFIX_CONFIG",
    "PORT",
    "HOST",
    "PUBLIC_URL",
)


def manifest_scopes() -> list[str] | None:
    """The bot scopes ``manifest.yml`` asks for: the fake Slack grants exactly those."""
    path = ROOT / "manifest.yml"
    if not path.exists():
        return None
    return list(yaml.safe_load(path.read_text())["oauth_config"]["scopes"]["bot"])


@dataclass(frozen=True)
class Ports:
    """The page on ``page``; Slack, GitHub, the health endpoint and the bot just above it."""

    page: int

    @property
    def slack(self) -> int:
        return self.page + 1

    @property
    def github(self) -> int:
        return self.page + 2

    @property
    def health(self) -> int:
        return self.page + 3

    @property
    def bot(self) -> int:
        return self.page + 4


class Sandbox:
    """Everything behind the sandbox page. ``start()`` brings it up (reusing what an earlier
    run left in ``directory``), ``stop()`` saves it and takes it down."""

    def __init__(
        self,
        directory: Path,
        *,
        port: int = 3000,
        step_seconds: float = 1.0,
        monitoring: dict[str, str] | None = None,
    ) -> None:
        self.directory = directory.resolve()
        self.ports = Ports(port)
        self.step_seconds = step_seconds
        self.monitoring = monitoring
        self.store: Store | None = None
        self.world: sample.World | None = None
        self.slack: FakeSlack | None = None
        self.github: FakeGitHub | None = None
        self.health: Health | None = None
        self.requests: SignedSlackClient | None = None
        self.bot: subprocess.Popen[bytes] | None = None
        self._bot_log: IO[bytes] | None = None
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self._saved: tuple[int, bytes] | None = None
        self._changes = 0  # what the page changed itself (health, reviews, check runs)

    # ------------------------------------------------------------------ lifecycle

    @property
    def bot_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.bot}"

    @property
    def page_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.page}/sandbox"

    @property
    def bot_log(self) -> Path:
        return self.directory / "bot.log"

    def start(self, timeout: float = 60.0) -> Sandbox:
        self.directory.mkdir(parents=True, exist_ok=True)
        self.store = Store(self.directory / "sandbox.db")
        world_dir = self.directory / "world"
        if (world_dir / "checkout.git").exists():
            self.world = sample.World(
                world_dir, world_dir / "checkout.git", world_dir / "production"
            )
        else:
            self.world = sample.build(world_dir)
        token = self._secret("slack_bot_token", "xoxb-sandbox-")
        signing_secret = self._secret("slack_signing_secret", "")
        github_token = self._secret("github_token", "ghp_sandbox")
        self.slack = self._start_slack(token)
        self.github = self._start_github(github_token)
        self.health = Health(self.ports.health)
        self.health.healthy = self.store.text("health", "healthy") == "healthy"
        self.requests = SignedSlackClient(
            f"{self.bot_url}/slack/events",
            signing_secret,
            self.slack,
            team_id=TEAM_ID,
            team_domain="sandbox",
            api_app_id=APP_ID,
        )
        policy = sample.write_policy(
            self.world,
            health_url=self.health.url,
            github_repository=REPOSITORY,
            drill_github=DRILL_REPOSITORY,
            page_url=self.page_url,
            step_seconds=self.step_seconds,
            monitoring=self.monitoring,
        )
        self._start_bot(token, signing_secret, github_token, policy, timeout)
        for target, name in ((self._keep_saving, "sandbox-save"), (self._run_ci, "sandbox-ci")):
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def _secret(self, name: str, prefix: str) -> str:
        """One of the sandbox's own credentials: made on first start, the same ever after."""
        assert self.store is not None
        value = self.store.text(name)
        if not value:
            value = prefix + secrets.token_hex(16)
            self.store.put(name, value)
        return value

    def _start_slack(self, token: str) -> FakeSlack:
        assert self.store is not None
        slack = FakeSlack(
            token=token,
            scopes=manifest_scopes(),
            team_id=TEAM_ID,
            bot_user_id="U0SANDBOT",
            bot_id="B0SANDBOT",
            app_id=APP_ID,
            team_name="Sandbox",
            team_domain="sandbox",
            bot_name="Hotfix Bot",
            port=self.ports.slack,
        )
        saved = self.store.get("slack")
        if saved is not None:
            slack.restore(saved)
        else:
            slack.add_user("U0SANDBOT", "hotfix-bot", "Hotfix Bot", is_bot=True)
            for member in sample.TEAM:
                slack.add_user(member.user_id, member.name, member.real_name)
            slack.set_usergroup(sample.ONCALL_GROUP, [sample.person("omar").user_id])
            slack.set_usergroup(sample.SECURITY_GROUP, [sample.person("sam").user_id])
            for channel in (sample.CHANNEL, sample.STAKEHOLDERS, sample.REVIEW):
                slack.add_channel(channel["id"], channel["name"])
        return slack.start()

    def _start_github(self, token: str) -> FakeGitHub:
        assert self.store is not None and self.world is not None
        github = FakeGitHub(token=token, login="hotfix-bot", validate=False, port=self.ports.github)
        github.web_home = f"{self.page_url}#github"
        saved = self.store.get("github")
        if saved is not None:
            github.restore(saved)
        else:
            github.add_repo(REPOSITORY, str(self.world.origin))
            github.add_repo(DRILL_REPOSITORY, str(self.world.drill_origin))
            for member in sample.TEAM:
                github.add_user(member.github)
        return github.start()

    def _start_bot(
        self, token: str, signing_secret: str, github_token: str, policy: Path, timeout: float
    ) -> None:
        assert self.slack is not None and self.github is not None
        env = {k: v for k, v in os.environ.items() if k not in FOREIGN}
        env.update(
            SLACK_BOT_TOKEN=token,
            SLACK_SIGNING_SECRET=signing_secret,
            SLACK_API_URL=self.slack.api_url,
            GITHUB_TOKEN=github_token,
            GITHUB_API_URL=self.github.api_url,
            DATABASE_URL=f"sqlite:///{self.directory / 'hotfix.db'}",
            HOTFIX_CONFIG=str(policy),
            PORT=str(self.ports.bot),
            HOST="127.0.0.1",
            PUBLIC_URL=self.bot_url,
            LOG_FORMAT="text",
        )
        self._bot_log = self.bot_log.open("ab")
        self.bot = subprocess.Popen(
            [sys.executable, "-m", "app", "serve"],
            cwd=self.directory,
            env=env,
            stdout=self._bot_log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while True:
            try:
                with urllib.request.urlopen(f"{self.bot_url}/healthz", timeout=2) as answer:
                    if answer.status == 200:
                        return
            except OSError:
                pass
            if self.bot.poll() is not None or time.monotonic() > deadline:
                raise SandboxError(
                    f"the bot did not start (exit code {self.bot.poll()}); "
                    f"its output is in {self.bot_log}:\n{self.bot_output()[-3000:]}"
                )
            time.sleep(0.2)

    def bot_output(self) -> str:
        try:
            return self.bot_log.read_text(errors="replace")
        except OSError:
            return ""

    def bot_problem(self) -> str | None:
        """Why the bot is not there, for the page's banner (``None`` while it runs)."""
        if self.bot is None or self.bot.poll() is None:
            return None
        return (
            f"The bot stopped (exit code {self.bot.returncode}). Its output is in "
            f"{self.bot_log}; restart the sandbox with `hotfix-bot sandbox`."
        )

    def stop(self) -> None:
        self._stopping.set()
        for thread in self._threads:
            thread.join(timeout=5)
        if self.bot is not None and self.bot.poll() is None:
            self.bot.terminate()
            try:
                self.bot.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.bot.kill()
                self.bot.wait()
        if self._bot_log is not None:
            self._bot_log.close()
        self.save()
        for part in (self.slack, self.github, self.health):
            if part is not None:
                part.stop() if not isinstance(part, Health) else part.close()
        if self.store is not None:
            self.store.close()

    # ------------------------------------------------------------------ saving

    def version(self) -> int:
        """Moves whenever the workspace, GitHub or the world may have changed."""
        assert self.slack is not None and self.github is not None
        return self.slack.version + len(self.github.requests) + self._changes

    def changed(self) -> None:
        self._changes += 1

    def save(self) -> None:
        """Write the workspace and GitHub to the sandbox's database, if they moved."""
        if self.store is None or self.slack is None or self.github is None:
            return
        version = self.version()
        if self._saved is not None and self._saved[0] == version:
            return
        slack = self.slack.snapshot()
        self.store.put("slack", slack)
        self.store.put("github", self.github.snapshot())
        self._saved = (version, slack)

    def _keep_saving(self) -> None:
        while not self._stopping.wait(0.5):
            try:
                self.save()
            except Exception:  # a failed save is retried on the next turn
                log.exception("could not save the sandbox's state")

    # ------------------------------------------------------------------ the world's CI

    def _run_ci(self) -> None:
        """Every pull request head gets the check run ``ci/tests``: the sample service's
        tests, run for real on that commit."""
        while not self._stopping.wait(1.0):
            try:
                self.check_heads()
            except Exception:  # the next turn tries again; the page shows the check as missing
                log.exception("the sandbox's CI failed")

    def check_heads(self) -> None:
        assert self.github is not None
        for repository, pull in self.pulls():
            if pull["state"] != "open":
                continue
            sha = pull["head"]["sha"]
            if self.github.check_runs(repository, sha):
                continue
            self.github.add_check_run(
                repository, sha, CI_CHECK, status="in_progress", conclusion=None
            )
            passed, output = self.run_tests(repository, sha)
            self.github.add_check_run(
                repository,
                sha,
                CI_CHECK,
                conclusion="success" if passed else "failure",
                title="Tests passed" if passed else "Tests failed",
                summary=output[-2000:],
            )

    def pulls(self) -> list[tuple[str, dict[str, Any]]]:
        """Every pull request on the fake GitHub: the service's, then the drills'."""
        assert self.github is not None
        return [(r, p) for r in (REPOSITORY, DRILL_REPOSITORY) for p in self.github.pulls(r)]

    def run_tests(self, repository: str, sha: str) -> tuple[bool, str]:
        assert self.world is not None
        origin = self.world.drill_origin if repository == DRILL_REPOSITORY else self.world.origin
        with tempfile.TemporaryDirectory(prefix="sandbox-ci-") as tmp:
            Repo.clone_from(str(origin), tmp).git.checkout(sha)
            done = subprocess.run(
                [sys.executable, "-m", "unittest", "discover", "-s", "tests"],
                cwd=tmp,
                capture_output=True,
                text=True,
                timeout=120,
            )
        return done.returncode == 0, done.stdout + done.stderr

    # ------------------------------------------------------------------ the page's world panel

    def hotfix_branches(self) -> list[str]:
        """Open hotfix branches: the service's, and the drills' (named ``drill:<branch>``)."""
        assert self.world is not None
        real = [h.name for h in Repo(self.world.origin).heads if h.name.startswith("hotfix/")]
        drills = [
            f"drill:{h.name}"
            for h in Repo(self.world.drill_origin).heads
            if h.name.startswith("hotfix/")
        ]
        return sorted(real) + sorted(drills)

    def set_health(self, healthy: bool) -> None:
        assert self.health is not None and self.store is not None
        self.health.healthy = healthy
        self.store.put("health", "healthy" if healthy else "broken")
        self.changed()

    def describe(self) -> dict[str, Any]:
        assert self.world is not None and self.health is not None
        return {
            "health": "healthy" if self.health.healthy else "broken",
            "deployed": self.world.deployed(),
            "hotfix_branches": self.hotfix_branches(),
        }


class SandboxError(Exception):
    """The sandbox cannot start; the message says why and what to do."""
