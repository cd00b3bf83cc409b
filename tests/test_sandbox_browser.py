"""One person plays a whole hotfix in the sandbox page, in real headless Chromium (Debian's
``chromium``, driven by Playwright): they type, fill, tick, click and switch users exactly as
they would by hand, from ``/hotfix start`` to the post-mortem. Screenshots of each phase go
to ``$SANDBOX_SCREENSHOTS`` (the README's come from there) or to the test's own folder.

Without Chromium the test fails, saying how to install it: it never skips."""

from __future__ import annotations

import os
import re
import shutil
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Locator, Page, expect, sync_playwright

from sandbox import world as sample
from tests.test_sandbox import ALICE, CHLOE, DANA, OMAR, Served, free_ports, in_state, ticked
from workflows.review import REVIEW_ITEMS

CHROMIUM = os.environ.get("CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(
            f"Chromium is not installed ({CHROMIUM} not found): the sandbox's browser test needs "
            "Debian's chromium package (`apt-get install chromium`; .ci/run installs it), or "
            "set CHROMIUM to a Chromium binary."
        )
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield launched
        launched.close()


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    with Served(tmp_path / "sandbox", free_ports()) as running:
        yield running


class Person:
    """Someone at the sandbox page, playing every role in turn."""

    def __init__(self, page: Page, shots: Path) -> None:
        self.page = page
        self.shots = shots
        self.thread = page.locator("#thread-pane")

    def shot(self, name: str) -> None:
        self.page.screenshot(path=str(self.shots / f"{name}.png"))

    def act_as(self, user: str) -> None:
        self.page.get_by_label("Acting as").select_option(user)
        expect(self.page.get_by_label("Acting as")).to_have_value(user)

    def type(self, text: str) -> None:
        composer = self.page.get_by_label("Message #inc-checkout")
        composer.fill(text)
        composer.press("Enter")
        expect(composer).to_have_value("")  # sent (it is cleared only when the bot took it)

    def message(self, starts: str) -> Locator:
        """The newest message in the open thread that says ``starts``."""
        return self.thread.locator(".msg", has_text=starts).last

    def click(self, where: Locator, label: str) -> None:
        button = where.get_by_role("button", name=label, exact=True)
        expect(button).to_be_enabled(timeout=30_000)
        button.click()


def test_a_person_plays_a_whole_hotfix_in_the_browser(
    served: Served, browser: Browser, tmp_path: Path
) -> None:
    shots = Path(os.environ.get("SANDBOX_SCREENSHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    page = browser.new_page(viewport={"width": 1440, "height": 900})
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.goto(f"{served.page.url}/sandbox")
    me = Person(page, shots)
    expect(page.get_by_role("button", name="inc-checkout")).to_be_visible()

    # The guide says what to do first, and then each next step.
    guide = page.locator("#guide")
    expect(guide).to_contain_text("/hotfix start CHK-1 critical")

    # Phase 1: Alice declares it; the form refuses a bad duration inline, then opens HF-1.
    me.act_as(ALICE)
    me.type("/hotfix start CHK-1 critical Coupons are taken off twice")
    form = page.get_by_role("dialog", name="Hotfix assessment")
    expect(form).to_be_visible()
    form.get_by_label("Impact").fill("Every order with a coupon is undercharged")
    form.get_by_label("Estimated fix time").fill("soon")
    form.get_by_role("button", name="Open hotfix").click()
    expect(form.locator("[data-block-id=assessment_estimated_fix] .field-error")).to_contain_text(
        "is not a duration"
    )
    me.shot("1-assessment")
    form.get_by_label("Estimated fix time").fill("30m")
    form.get_by_role("button", name="Open hotfix").click()
    expect(form).to_be_hidden()
    card = page.locator("#messages .msg", has_text="HF-1").first
    expect(card).to_contain_text("Coupons are taken off twice")
    card.get_by_role("button", name=re.compile(r"\d+ repl")).click()
    expect(me.thread).to_be_visible()

    # The three approvers, each in their own shoes.
    for user, role in ((OMAR, "On-call Lead"), (DANA, "Engineering Manager"), (CHLOE, "CTO")):
        me.act_as(user)
        me.click(me.message("Approvers for"), f"Approve as {role}")
        expect(me.message("Approvers for").get_by_role("button", name=f"Approve as {role}"))
        expect(
            me.message("Approvers for").get_by_role("button", name=f"Approve as {role}")
        ).to_have_count(0, timeout=30_000)
    fixing = in_state(served, "fixing")
    expect(guide).to_contain_text(f"Make a fix on {fixing['branch']}")
    me.shot("2-approved")

    # Phase 3: the fix lands on the branch (the World panel), and the PR is opened.
    me.act_as(ALICE)
    me.click(page.locator("#world-body"), f"Make a fix on {fixing['branch']}")
    me.type("/hotfix pr HF-1")
    expect(me.message("Hotfix Review Checklist")).to_be_visible(timeout=30_000)

    # Phase 4: GitHub shows the PR and its real CI; Riley approves there.
    page.locator("#nav-github").click()
    pull = page.locator(".pr").first
    expect(pull).to_contain_text(fixing["branch"], timeout=30_000)
    expect(pull).to_contain_text("success", timeout=60_000)
    page.get_by_label("Review as").first.select_option("riley-reviewer")
    me.click(pull, "Approve review")
    expect(pull).to_contain_text("riley-reviewer (approved)")
    me.shot("3-github")
    page.get_by_role("button", name="inc-checkout").click()
    expect(me.thread).to_be_visible()

    # Omar reviews: every item of the procedure's checklist, then Approve review.
    me.act_as(OMAR)
    checklist = me.message("Hotfix Review Checklist")
    for _, item in REVIEW_ITEMS:
        box = checklist.get_by_label(item)
        box.check()
        expect(box).to_be_checked()
        page.wait_for_timeout(300)  # Slack sends each change as its own request
    me.shot("4-review")
    # Each tick is recorded after Slack's ack, on a lane of its own: approve once they are.
    ticked(served, OMAR, {item for item, _ in REVIEW_ITEMS})
    me.click(me.message("Hotfix Review Checklist"), "Approve review")
    in_state(served, "ready_to_deploy")

    # Phase 5: Tag & deploy, confirmed; the pings of the monitoring window; All green.
    me.click(me.message("Pre-deploy checklist"), "Tag & deploy v1.2.4")
    confirm = page.get_by_role("alertdialog")
    expect(confirm).to_contain_text("v1.2.4")
    me.shot("5-confirm")
    confirm.get_by_role("button", name="Deploy v1.2.4").click()
    in_state(served, "monitoring", timeout=60)
    expect(page.locator("#world-body")).to_contain_text("v1.2.4")
    ping = me.message("monitoring check")
    expect(ping).to_be_visible(timeout=30_000)
    me.shot("6-monitoring")
    me.click(ping, "All green")
    in_state(served, "merging_back")

    # Phase 6: merge back; the hotfix closes and its post-mortem draft is in the thread.
    me.type("/hotfix merge-back HF-1")
    in_state(served, "closed", timeout=60)
    draft = page.get_by_role("link", name=re.compile("postmortem-HF-1.md"))
    expect(draft.first).to_be_visible(timeout=30_000)
    href = draft.first.get_attribute("href")
    assert href is not None
    with urllib.request.urlopen(f"{served.page.url}{href}", timeout=10) as answer:
        text = answer.read().decode()
    assert "HF-1" in text and "v1.2.4" in text
    card = page.locator("#messages .msg", has_text="HF-1").first
    expect(card).to_contain_text("Closed")
    expect(guide).to_contain_text("post-mortem draft of HF-1 is in its thread")
    me.shot("7-closed")

    # The App Home tab lists it among the hotfixes.
    page.locator("#nav-home").click()
    expect(page.locator("#home-body")).to_contain_text("HF-1", timeout=30_000)
    me.shot("8-home")

    # A reload loses nothing: the same thread is open, the same user acts.
    page.reload()
    expect(page.get_by_label("Acting as")).to_have_value(OMAR)
    assert sample.person("omar").user_id == OMAR
    assert problems == [], problems
