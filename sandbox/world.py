"""The sandbox's sample world: a team, a service with a production bug, its git origin, its
deploy script, and the policy file that points Hotfix Bot at them.

The service is ``checkout``, a small Python package with its own test suite. Its history on
``main`` ends in two releases, ``v1.2.2`` and ``v1.2.3`` (production); ``develop`` is a
feature ahead. v1.2.3 shipped a bug the sandbox's incident is about: a coupon is applied
twice at checkout. :func:`make_fix` commits the fix to a hotfix branch as the engineer on
call would (the sandbox's "make a fix" button), with a test that proves it.

Everything lives under one directory; building it takes well under a second and needs only
git.
"""

from __future__ import annotations

import json
import sys
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from git import Actor, Repo

ENGINEER = Actor("Alice Oncall", "alice@checkout.example")
RELEASES = Actor("Release Manager", "releases@checkout.example")
STARTED = datetime(2026, 9, 1, 9, 0, tzinfo=UTC)

CHANNEL = {"id": "C0SANDINC", "name": "inc-checkout"}
STAKEHOLDERS = {"id": "C0SANDSTK", "name": "checkout-stakeholders"}
REVIEW = {"id": "C0SANDREV", "name": "checkout-reviews"}


@dataclass(frozen=True)
class Person:
    """Someone of the sample team: Slack id and name, GitHub login, what they do."""

    user_id: str
    name: str
    real_name: str
    github: str
    does: str


TEAM = (
    Person("U0SANDALICE", "alice", "Alice Oncall", "alice-oncall", "engineer on call (requester)"),
    Person("U0SANDDANA", "dana", "Dana Manager", "dana-em", "engineering manager"),
    Person("U0SANDOMAR", "omar", "Omar Lead", "omar-lead", "on-call lead"),
    Person("U0SANDCHLOE", "chloe", "Chloe Cto", "chloe-cto", "CTO"),
    Person("U0SANDRILEY", "riley", "Riley Reviewer", "riley-reviewer", "reviewer"),
    Person("U0SANDSAM", "sam", "Sam Security", "sam-security", "security"),
)
ONCALL_GROUP = "S0SANDONCALL"
SECURITY_GROUP = "S0SANDSEC"


def person(name: str) -> Person:
    return next(p for p in TEAM if p.name == name)


# ------------------------------------------------------------------- the sample service

CART_START = '''"""The checkout's cart: prices in cents."""


def subtotal(items):
    return sum(price * quantity for price, quantity in items)
'''

CART_V1 = (
    CART_START
    + """

def total(items, coupon=None):
    amount = subtotal(items)
    if coupon:
        amount -= coupon.off(amount)
    return max(amount, 0)
"""
)

COUPONS = '''"""Coupons: a percentage off the amount."""


class Coupon:
    def __init__(self, code, percent):
        self.code = code
        self.percent = percent

    def off(self, amount):
        return amount * self.percent // 100
'''

# v1.2.3 "rounds once at the end" and, by mistake, takes the coupon off twice.
CART_BUGGY = '''"""The checkout's cart: prices in cents."""


def subtotal(items):
    return sum(price * quantity for price, quantity in items)


def total(items, coupon=None):
    amount = subtotal(items)
    if coupon:
        amount -= coupon.off(amount)
        amount -= coupon.off(subtotal(items))
    return max(amount, 0)
'''

CART_FIXED = CART_V1

TESTS = """import unittest

from checkout.cart import subtotal, total
from checkout.coupons import Coupon


class CartTest(unittest.TestCase):
    def test_subtotal(self):
        self.assertEqual(subtotal([(1000, 2), (250, 1)]), 2250)

    def test_total_without_coupon(self):
        self.assertEqual(total([(1000, 1)]), 1000)


if __name__ == "__main__":
    unittest.main()
"""

COUPON_TEST = """import unittest

from checkout.cart import total
from checkout.coupons import Coupon


class CouponTest(unittest.TestCase):
    def test_a_coupon_is_taken_off_once(self):
        self.assertEqual(total([(1000, 1)], Coupon("SAVE10", 10)), 900)


if __name__ == "__main__":
    unittest.main()
"""

# The service's own deploy script, as a team would keep it in its repository. The sandbox
# runs it from a clean checkout of the tag: it "rolls out" in a few steps, printing progress,
# and records the version it put live where the sandbox shows it.
DEPLOY = '''"""Deploy checkout: python deploy.py production v1.2.4 --state DIR"""

import argparse
import json
import os
import sys
import time
from datetime import datetime, timezone

parser = argparse.ArgumentParser()
parser.add_argument("environment")
parser.add_argument("version")
parser.add_argument("--state", required=True)
parser.add_argument("--step-seconds", type=float, default=1.0)
args = parser.parse_args()

state = os.path.join(args.state, args.environment + ".json")
if os.path.exists(os.path.join(args.state, "deploy-fails")):
    print(f"deploying {args.version}: the rollout was refused by the cluster", flush=True)
    sys.exit(1)
for step in ("building the image", "rolling out 1/3", "rolling out 2/3", "rolling out 3/3"):
    print(f"{args.version}: {step}", flush=True)
    time.sleep(args.step_seconds)
with open(state, "w") as file:
    json.dump(
        {
            "version": args.version,
            "hotfix": os.environ.get("HOTFIX_ID"),
            "at": datetime.now(timezone.utc).isoformat(),
        },
        file,
    )
print(f"{args.version} is live in {args.environment}", flush=True)
'''

README = "# checkout\n\nThe checkout service. Tests: `python -m unittest discover -s tests`.\n"

HISTORY: tuple[tuple[str, dict[str, str], str | None], ...] = (
    # (commit message, files written, tag put on it)
    (
        "Checkout service: cart and README",
        {"README.md": README, "checkout/__init__.py": "", "checkout/cart.py": CART_START},
        None,
    ),
    (
        "Cart totals",
        {"checkout/cart.py": CART_V1, "tests/__init__.py": "", "tests/test_cart.py": TESTS},
        None,
    ),
    ("Coupons: a percentage off", {"checkout/coupons.py": COUPONS}, None),
    ("Deploy script", {"deploy.py": DEPLOY}, "v1.2.2"),
    ("Cart: round once, at the end of the total", {"checkout/cart.py": CART_BUGGY}, "v1.2.3"),
)
DEVELOP = ("Gift cards (in progress)", {"checkout/gift_cards.py": '"""Gift cards: soon."""\n'})
FIX = (
    "Apply a coupon once at checkout",
    {"checkout/cart.py": CART_FIXED, "tests/test_coupons.py": COUPON_TEST},
)


@dataclass(frozen=True)
class World:
    """Where the sample world lives on disk."""

    directory: Path
    origin: Path  # the bare repository: the team's "GitHub" remote
    state: Path  # what the deploy script put live

    @property
    def origin_url(self) -> str:
        return str(self.origin)

    @property
    def drill_origin(self) -> Path:
        """The drills' scratch repository: a copy of the origin, made on first use."""
        path = self.directory / "checkout-drill.git"
        if not path.exists():
            Repo.clone_from(self.origin_url, path, bare=True)
        return path

    def deployed(self, environment: str = "production") -> dict[str, Any] | None:
        """What the deploy script last put live in ``environment``, or None."""
        path = self.state / f"{environment}.json"
        return json.loads(path.read_text()) if path.exists() else None

    def fail_deploys(self, fail: bool = True) -> None:
        """Make the next deploys fail (the sandbox's "break the deploy"), or work again."""
        marker = self.state / "deploy-fails"
        if fail:
            marker.touch()
        else:
            marker.unlink(missing_ok=True)


def _commit(repo: Repo, files: dict[str, str], message: str, when: datetime, who: Actor) -> None:
    root = Path(repo.working_tree_dir or ".")
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    repo.index.add(list(files))
    repo.index.commit(message, author=who, committer=who, author_date=when, commit_date=when)


def build(directory: Path) -> World:
    """Write the sample world into ``directory`` (which must not hold one yet)."""
    directory.mkdir(parents=True, exist_ok=True)
    origin = directory / "checkout.git"
    state = directory / "production"
    state.mkdir(exist_ok=True)
    Repo.init(origin, bare=True, initial_branch="main")
    with tempfile.TemporaryDirectory(prefix="sandbox-seed-") as tmp:
        work = Repo.init(tmp, initial_branch="main")
        with work.config_writer() as config:
            config.set_value("user", "name", RELEASES.name)
            config.set_value("user", "email", RELEASES.email)
        when = STARTED
        for message, files, tag in HISTORY:
            when += timedelta(days=3)
            _commit(work, files, message, when, ENGINEER)
            if tag:
                work.create_tag(tag, message=f"Release {tag}")
        work.create_head("develop").checkout()
        _commit(work, DEVELOP[1], DEVELOP[0], when + timedelta(days=1), ENGINEER)
        remote = work.create_remote("origin", str(origin))
        remote.push(["refs/heads/main:refs/heads/main", "refs/heads/develop:refs/heads/develop"])
        remote.push(tags=True)
    return World(directory=directory, origin=origin, state=state)


def make_fix(world: World, branch: str, *, drill: bool = False) -> str:
    """Commit the coupon fix (and its test) to ``branch`` of the origin (of the drills'
    scratch copy, for a drill), as the engineer on call would, and push it. Returns the new
    commit's sha."""
    origin = world.drill_origin if drill else world.origin
    with tempfile.TemporaryDirectory(prefix="sandbox-fix-") as tmp:
        work = Repo.clone_from(str(origin), tmp, branch=branch)
        _commit(work, FIX[1], FIX[0], datetime.now(UTC), ENGINEER)
        work.remote("origin").push(f"HEAD:refs/heads/{branch}")
        return work.head.commit.hexsha


def policy(
    world: World,
    *,
    health_url: str,
    github_repository: str | None = None,
    drill_github: str | None = None,
    page_url: str = "http://127.0.0.1:3000/sandbox",
    step_seconds: float = 1.0,
    monitoring: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The bot's policy for the sandbox: the sample team's roles and short durations, so the
    whole procedure can be walked through in about ten minutes (``monitoring`` shortens the
    window further, for a quick run)."""
    people = {p.name: p for p in TEAM}
    deploy = [
        sys.executable,
        "deploy.py",
        "production",
        "{version}",
        "--state",
        str(world.state),
        "--step-seconds",
        str(step_seconds),
    ]
    # Merged back by the bot itself, so the sandbox shows the merges in git at once.
    repository: dict[str, Any] = {"remote": world.origin_url, "merge_strategy": "direct"}
    if github_repository:
        repository["github"] = github_repository
    return {
        "repository": repository,
        "roles": {
            "engineering_manager": [people["dana"].user_id],
            "oncall_lead": [ONCALL_GROUP],
            "cto": [people["chloe"].user_id],
            "security": [SECURITY_GROUP],
        },
        "budgets": {
            "assessment": "3m",
            "branch": "2m",
            "fix": "3m",
            "review": "3m",
            "deploy": "3m",
            "merge_back": "2m",
        },
        "review": {
            "github_reviewers": [people["riley"].github],
            "poll_interval": "10s",
        },
        "people": {p.github: p.user_id for p in TEAM},
        "channels": {"stakeholders": STAKEHOLDERS["id"], "review": REVIEW["id"]},
        "data_dir": str(world.directory / "data"),
        "deploy": {
            "command": deploy,
            "rollback_command": [*deploy[:3], "{previous_version}", *deploy[4:]],
            "workdir": "{checkout}",
            "timeout": "2m",
            "health_url": health_url,
            "health_timeout": "30s",
            "dashboards": {"Checkout health (the World panel)": page_url},
        },
        "monitoring": monitoring or {"interval": "1m", "window": "3m"},
        # /hotfix start --drill: the same procedure in the scratch copy, with the simulated
        # deploy (nothing is put live).
        "drill": {
            "repository": str(world.drill_origin),
            **({"github": drill_github} if drill_github else {}),
        },
    }


def write_policy(world: World, **options: Any) -> Path:
    path = world.directory / "hotfix.yml"
    path.write_text(yaml.safe_dump(policy(world, **options), sort_keys=False))
    return path
