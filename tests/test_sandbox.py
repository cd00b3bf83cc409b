"""`hotfix-bot sandbox`: the sample world, the fake Slack and GitHub and the real bot (its own
process), driven through the sandbox page's JSON endpoints exactly as the page drives them
— every click and form becomes a signed request to the bot's /slack/events. A whole hotfix,
inline errors, bad input, a restart that loses nothing, and the refusals at start."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from git import Repo

from sandbox import world as sample
from sandbox.page_api import PageApi
from sandbox.session import Sandbox
from sandbox.web import PageServer
from tests.conftest import ROOT
from workflows.review import REVIEW_ITEMS

T = TypeVar("T")
ALICE, DANA, OMAR, CHLOE = (sample.person(n).user_id for n in ("alice", "dana", "omar", "chloe"))
CHANNEL = sample.CHANNEL["id"]


def free_ports(count: int = 5) -> int:
    """A base port with ``count`` free ports from it (the page, then the fakes and the bot)."""
    for _ in range(50):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            base = int(probe.getsockname()[1])
        if base + count > 65535:
            continue
        try:
            for port in range(base, base + count):
                with socket.socket() as s:
                    s.bind(("127.0.0.1", port))
        except OSError:
            continue
        return base
    raise AssertionError("no run of free ports on 127.0.0.1")


class Page:
    """The sandbox page's side of the conversation: its JSON endpoints over HTTP."""

    def __init__(self, url: str) -> None:
        self.url = url

    def state(self, user: str | None = None) -> dict[str, Any]:
        query = f"?user={user}" if user else ""
        with urllib.request.urlopen(f"{self.url}/sandbox/api/state{query}", timeout=10) as r:
            return json.loads(r.read())

    def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        request = urllib.request.Request(
            f"{self.url}/sandbox/api/{path}",
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=30) as r:
            return json.loads(r.read())

    def ok(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        answer = self.post(path, body)
        assert answer["ok"], answer
        return answer

    def command(self, text: str, user: str = ALICE) -> None:
        self.ok("command", {"user": user, "channel": CHANNEL, "text": text})

    def thread(self, starts: str) -> dict[str, Any] | None:
        """The card's thread reply whose text starts with ``starts``, as it is now."""
        cards = self.state()["messages"][CHANNEL]
        for card in cards:
            for reply in card["replies"]:
                if reply["text"].removeprefix("🧪 DRILL · ").startswith(starts):
                    return reply
        return None

    def click(self, starts: str, label: str, user: str) -> None:
        message = wait_for(lambda: self.thread(starts), what=f"a message {starts!r}")
        block, button = find(message["blocks"], label)
        self.ok(
            "action",
            {
                "user": user,
                "container": {"type": "message", "channel": CHANNEL, "ts": message["ts"]},
                "action": {
                    "type": "button",
                    "action_id": button["action_id"],
                    "block_id": block["block_id"],
                    "value": button.get("value", ""),
                    "text": button["text"],
                },
            },
        )


def find(blocks: list[dict[str, Any]], label: str) -> tuple[dict[str, Any], dict[str, Any]]:
    for block in blocks:
        elements = block.get("elements") or []
        if block.get("accessory"):
            elements = [*elements, block["accessory"]]
        for element in elements:
            if element.get("type") == "button" and element["text"]["text"] == label:
                return block, element
    raise AssertionError(f"no button {label!r} in {json.dumps(blocks)[:2000]}")


def wait_for(check: Callable[[], T | None], *, what: str, timeout: float = 30) -> T:
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def form_state(modal: dict[str, Any], **typed: str) -> dict[str, Any]:
    """What Slack's client sends for a modal: every input's initial value, plus ``typed``
    (by action_id) into text inputs."""
    values: dict[str, dict[str, Any]] = {}
    for block in modal["blocks"]:
        if block["type"] != "input":
            continue
        element = block["element"]
        kind, action = element["type"], element["action_id"]
        if kind == "plain_text_input":
            value = {"value": typed.get(action, element.get("initial_value"))}
        elif kind == "static_select":
            value = {"selected_option": element.get("initial_option")}
        elif kind == "checkboxes":
            value = {"selected_options": element.get("initial_options", [])}
        elif kind == "users_select":
            value = {"selected_user": element.get("initial_user")}
        elif kind == "datetimepicker":
            value = {"selected_date_time": element.get("initial_date_time")}
        else:
            raise AssertionError(f"the test does not fill {kind}")
        values.setdefault(block["block_id"], {})[action] = {"type": kind, **value}
    return {"values": values}


class Served:
    """A sandbox as `hotfix-bot sandbox` runs it, in this process: the page server and
    everything behind it."""

    def __init__(self, directory: Path, port: int) -> None:
        self.sandbox = Sandbox(
            directory, port=port, step_seconds=0.2, monitoring={"interval": "2s", "window": "4s"}
        )
        self.server = PageServer(PageApi(self.sandbox), "127.0.0.1", port)
        self.page = Page(f"http://127.0.0.1:{port}")

    def __enter__(self) -> Served:
        self.sandbox.start()
        self.server.serve_in_background()
        return self

    def __exit__(self, *_: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.sandbox.stop()
        print(f"--- the bot's output ---\n{self.sandbox.bot_output()[-20_000:]}")


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    with Served(tmp_path / "sandbox", free_ports()) as running:
        yield running


def hotfix(served: Served) -> dict[str, Any]:
    """The bot's row for HF-1, read from its own database."""
    import sqlite3

    with sqlite3.connect(served.sandbox.directory / "hotfix.db") as db:
        db.row_factory = sqlite3.Row
        row = db.execute("SELECT * FROM hotfixes ORDER BY id LIMIT 1").fetchone()
        return dict(row) if row else {}


def ticked(served: Served, reviewer: str, items: set[str], timeout: float = 60) -> None:
    """Wait until ``reviewer``'s ticks on HF-1 are recorded, as the checklist shows them."""
    import sqlite3

    def stored() -> bool:
        with sqlite3.connect(served.sandbox.directory / "hotfix.db") as db:
            rows = db.execute(
                "SELECT items FROM review_ticks WHERE reviewer_id = ?", (reviewer,)
            ).fetchall()
        return any(items <= set(json.loads(row[0] or "[]")) for row in rows)

    wait_for(stored, what=f"the ticks of {reviewer}", timeout=timeout)


def in_state(served: Served, wanted: str, timeout: float = 60) -> dict[str, Any]:
    return wait_for(
        lambda: (found := hotfix(served)) and found["state"] == wanted and found,
        what=f"the hotfix in {wanted}",
        timeout=timeout,
    )


def declared(page: Page, *, drill: bool = False) -> None:
    """Alice types /hotfix start and fills the assessment form, once with a mistake."""
    flag = "--drill " if drill else ""
    page.command(f"/hotfix start {flag}CHK-1 critical Coupons are taken off twice")
    modal = wait_for(lambda: page.state(ALICE)["modal"], what="the assessment form")
    assert modal["title"]["text"] == ("🧪 Drill assessment" if drill else "Hotfix assessment")
    assert page.state(DANA)["modal"] is None  # a form is only shown to whom it was opened for
    wrong = page.ok(
        "submit",
        {
            "user": ALICE,
            "view_id": modal["id"],
            "state": form_state(modal, impact="Every coupon order", estimated_fix="soon"),
        },
    )
    assert "is not a duration" in wrong["errors"]["assessment_estimated_fix"]
    again = page.state(ALICE)["modal"]
    assert again["id"] == modal["id"]  # still open, with the error under the field
    assert "is not a duration" in again["errors"]["assessment_estimated_fix"]
    right = page.ok(
        "submit",
        {
            "user": ALICE,
            "view_id": modal["id"],
            "state": form_state(modal, impact="Every coupon order", estimated_fix="30m"),
        },
    )
    assert right["errors"] == {}
    assert page.state(ALICE)["modal"] is None


def approved(served: Served, *, drill: bool = False) -> dict[str, Any]:
    page = served.page
    declared(page, drill=drill)
    for user, role in ((OMAR, "On-call Lead"), (DANA, "Engineering Manager"), (CHLOE, "CTO")):
        page.click("Approvers for", f"Approve as {role}", user)
        wait_for(
            lambda role=role: f"Approve as {role}" not in json.dumps(page.thread("Approvers for")),
            what=f"the {role}'s approval",
        )
    return in_state(served, "fixing")


def play(served: Served, *, drill: bool = False) -> tuple[dict[str, Any], str, str]:
    """A whole hotfix through the page: returns the bot's row, the fix and the draft."""
    page = served.page
    row = approved(served, drill=drill)
    assert (row["base_tag"], row["version"]) == ("v1.2.3", "v1.2.4")
    named = f"drill:{row['branch']}" if drill else row["branch"]
    assert page.state()["world"]["hotfix_branches"] == [named]

    sha = page.ok("make-fix", {"branch": named})["sha"]
    page.command("/hotfix pr HF-1")
    pull = wait_for(
        lambda: [p for p in page.state()["github"]["prs"] if p["head_sha"] == sha],
        what="the pull request",
    )[0]
    assert pull["repository"] == ("sandbox/checkout-drill" if drill else "sandbox/checkout")
    # The PR's link (on the card, in the thread) leads to the page's GitHub tab.
    with urllib.request.urlopen(pull["url"], timeout=10) as followed:
        assert followed.url.startswith(f"{page.url}/sandbox")
        assert "<title>" in followed.read().decode()
    # The sandbox's CI runs the service's tests on the PR head, for real: the fix passes.
    check = wait_for(
        lambda: [
            c
            for p in page.state()["github"]["prs"]
            for c in p["checks"]
            if c["conclusion"] == "success"
        ],
        what="green CI",
    )[0]
    assert check["name"] == "ci/tests"
    page.ok(
        "github/review",
        {"repository": pull["repository"], "number": pull["number"], "login": "riley-reviewer"},
    )
    assert page.state()["github"]["prs"][0]["reviews"] == [
        {"user": "riley-reviewer", "state": "APPROVED"}
    ]

    checklist = wait_for(lambda: page.thread("Hotfix Review Checklist"), what="the checklist")
    [(block, boxes)] = [
        (b, e)
        for b in checklist["blocks"]
        for e in b.get("elements") or []
        if e.get("type") == "checkboxes"
    ]
    assert len(boxes["options"]) == len(REVIEW_ITEMS)
    page.ok(
        "action",
        {
            "user": OMAR,
            "container": {"type": "message", "channel": CHANNEL, "ts": checklist["ts"]},
            "action": {
                "type": "checkboxes",
                "action_id": boxes["action_id"],
                "block_id": block["block_id"],
                "selected_options": boxes["options"],
            },
        },
    )
    wait_for(
        lambda: "Approve review" in json.dumps(page.thread("Hotfix Review Checklist")),
        what="the ticks",
    )
    # Like a Slack client, the workspace keeps each person's own ticks, in its database.
    [ticked] = page.state(OMAR)["picked"].values()
    assert len(ticked["selected_options"]) == len(REVIEW_ITEMS)
    assert page.state(ALICE)["picked"] == {}
    time.sleep(1)  # the ticks are stored after the ack
    page.click("Hotfix Review Checklist", "Approve review", OMAR)
    in_state(served, "ready_to_deploy")

    page.click("Pre-deploy checklist", "Tag & deploy v1.2.4", OMAR)
    in_state(served, "monitoring")
    page.click("📈", "All green", OMAR)
    in_state(served, "merging_back")
    page.command("/hotfix merge-back HF-1")
    in_state(served, "closed")

    files = wait_for(
        lambda: [
            f
            for m in page.state()["messages"][CHANNEL]
            for r in [m, *m["replies"]]
            for f in r["files"]
            if f["name"] == "postmortem-HF-1.md"
        ],
        what="the post-mortem draft",
    )
    with urllib.request.urlopen(page.url + files[0]["url"], timeout=10) as answer:
        draft = answer.read().decode()
    return row, sha, draft


def test_a_whole_hotfix_is_played_through_the_page_from_start_to_the_post_mortem(
    served: Served,
) -> None:
    _row, sha, draft = play(served)
    origin = Repo(served.sandbox.world.origin)
    assert origin.tags["v1.2.4"].commit.hexsha == sha
    live = served.page.state()["world"]["deployed"]
    assert (live["version"], live["hotfix"]) == ("v1.2.4", "HF-1")
    for target in ("main", "develop"):
        assert sha in {p.hexsha for p in origin.heads[target].commit.parents}
    assert draft.startswith("# Post-mortem: HF-1")
    assert "v1.2.4" in draft and "Drill score" not in draft


def test_a_drill_rehearses_it_all_in_the_scratch_copy_marked_drill_and_scored(
    served: Served,
) -> None:
    world = served.sandbox.world
    origin = Repo(world.origin)
    before = {ref.name: ref.commit.hexsha for ref in [*origin.heads, *origin.tags]}
    row, sha, draft = play(served, drill=True)
    assert row["drill"]
    # The real origin is as it was: no branch, tag or merge; production runs what it ran.
    assert {ref.name: ref.commit.hexsha for ref in [*origin.heads, *origin.tags]} == before
    assert world.deployed() is None
    scratch = Repo(world.drill_origin)
    assert scratch.tags["v1.2.4"].commit.hexsha == sha
    for target in ("main", "develop"):
        assert sha in {p.hexsha for p in scratch.heads[target].commit.parents}
    # Every message of the drill says so, first thing.
    messages = served.page.state()["messages"]
    said = [
        m
        for channel in (CHANNEL, sample.STAKEHOLDERS["id"], sample.REVIEW["id"])
        for top in messages[channel]
        for m in [top, *top["replies"]]
    ]
    assert len(said) > 10
    unmarked = [m["text"][:80] for m in said if not m["text"].startswith("🧪 DRILL")]
    assert unmarked == []
    assert all(m["blocks"][0]["block_id"] == "drill_mark" for m in said if m["blocks"])
    # So does what the bot tells one person privately about it.
    private = [e["text"] for user in (ALICE, OMAR) for e in served.page.state(user)["ephemerals"]]
    assert private and [t for t in private if not t.startswith("🧪 DRILL")] == []
    # The draft scores the team against the procedure's phase budgets.
    assert draft.startswith("# Drill post-mortem: HF-1")
    assert "## Drill score" in draft
    assert "| Expedited review |" in draft
    assert "phases within budget.**" in draft


def test_a_restart_loses_nothing_and_bad_input_is_answered_clearly(tmp_path: Path) -> None:
    port = free_ports()
    with Served(tmp_path / "sandbox", port) as first:
        page = first.page
        declared(page)
        page.ok("me", {"user": OMAR})
        card = wait_for(lambda: page.state()["messages"][CHANNEL], what="the card")[0]
        # Bad input: each answer says what to do; nothing reaches the bot.
        refused = page.post("command", {"user": ALICE, "channel": CHANNEL, "text": "/deploy"})
        assert not refused["ok"] and "/hotfix only" in refused["error"]
        refused = page.post("me", {"user": "U0NOBODY"})
        assert not refused["ok"] and "No such person" in refused["error"]
        refused = page.post("make-fix", {"branch": "main; rm -rf /"})
        assert not refused["ok"] and "no branch" in refused["error"]
        gone = page.post(
            "action",
            {
                "user": OMAR,
                "container": {"type": "message", "channel": CHANNEL, "ts": "1.000001"},
                "action": {"type": "button", "action_id": "x", "block_id": "y"},
            },
        )
        assert not gone["ok"] and "gone" in gone["error"]
        # Another web page open in the same browser cannot act in the sandbox.
        forged = urllib.request.Request(
            f"{page.url}/sandbox/api/health",
            data=b'{"healthy": false}',
            headers={"Content-Type": "application/json", "Origin": "https://evil.example"},
            method="POST",
        )
        with pytest.raises(urllib.error.HTTPError) as refused_origin:
            urllib.request.urlopen(forged, timeout=10)
        assert refused_origin.value.code == 403
        plain = urllib.request.Request(
            f"{page.url}/sandbox/api/health",
            data=b'{"healthy": false}',
            headers={"Content-Type": "text/plain"},
            method="POST",
        )
        with pytest.raises(urllib.error.HTTPError) as refused_type:
            urllib.request.urlopen(plain, timeout=10)
        assert refused_type.value.code == 415
        assert page.state()["world"]["health"] == "healthy"
        page.ok("health", {"healthy": False})
        wait_for(
            lambda: page.state()["messages"][sample.STAKEHOLDERS["id"]],
            what="the announcement to the stakeholders",
        )
        before = page.state()
    with Served(tmp_path / "sandbox", port) as second:
        after = second.page.state()
        assert after["me"] == OMAR
        assert after["messages"] == before["messages"]
        assert after["world"]["health"] == "broken"
        assert after["messages"][CHANNEL][0]["ts"] == card["ts"]
        # The bot still knows its hotfix, and the restored Slack still holds its card.
        second.page.command("/hotfix status HF-1", user=OMAR)
        status = wait_for(
            lambda: [e for e in second.page.state(OMAR)["ephemerals"] if "HF-1" in e["text"]],
            what="the status",
        )
        assert status


def test_the_sandbox_refuses_to_start_beside_slack_credentials(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "SLACK_BOT_TOKEN": "xoxb-real"}
    done = subprocess.run(
        [sys.executable, str(ROOT / "app.py"), "sandbox", "--port", str(free_ports())],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "Slack credentials are configured (SLACK_BOT_TOKEN)" in done.stderr
    assert "--with-slack-credentials" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / ".sandbox").exists()


def test_run_without_slack_credentials_starts_the_sandbox_and_says_where(tmp_path: Path) -> None:
    """`make run` on a fresh machine: `hotfix-bot run`, nothing configured."""
    port = free_ports()
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "app.py"), "run", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    lines: list[str] = []
    try:
        for line in process.stdout:
            lines.append(line)
            if "open http://" in line:
                break
        said = "".join(lines)
        assert "No Slack credentials (SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET)" in said
        assert f"Hotfix Bot sandbox: open http://127.0.0.1:{port}/sandbox" in said
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/sandbox", timeout=10) as page:
            assert page.status == 200
            assert "<title>" in page.read().decode()
        assert Page(f"http://127.0.0.1:{port}").state()["bot"]["ready"] is True
    finally:
        process.terminate()
        rest, _ = process.communicate(timeout=60)
    assert process.returncode == 0, "".join(lines) + rest
    assert "Traceback" not in "".join(lines) + rest
    assert (tmp_path / ".sandbox" / "sandbox.db").exists()
