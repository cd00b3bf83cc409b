"""The App Home tab: what waits for the viewer, the running hotfixes, the last 30 days."""

from __future__ import annotations

import io
import urllib.request
from datetime import UTC, datetime, timedelta

import pytest
from PIL import Image

from storage.models import Event, Hotfix
from tests.conftest import CTO, EM, ONCALL, REQUESTER, RunningBot
from tests.test_approvals import click, open_hotfix
from tests.test_start import text_of

PUBLIC = "https://hotfix.example.com"


@pytest.fixture
def github_settings() -> dict[str, str]:
    # The extra settings the bot starts with (conftest): here, where Slack reaches it.
    return {"public_url": PUBLIC}


def home(bot: RunningBot, user: str) -> str:
    """Open the Home tab as ``user`` and read what is published for them."""
    before = bot.fake.home(user)
    assert bot.slack.app_home_opened(user).status == 200
    view = bot.fake.wait_for(lambda: (v := bot.fake.home(user)) != before and v, timeout=10)
    return text_of(view["blocks"])


def test_a_viewer_with_an_approval_to_give_sees_it_and_one_without_sees_nothing_waits(
    running_bot: RunningBot,
) -> None:
    bot = running_bot
    checklist = open_hotfix(bot)
    bot.fake.wait_for(lambda: bot.fake.messages("C0INCIDENT"))

    for_em = home(bot, EM)
    assert "*Waiting for you*" in for_em
    assert "👉 *<http" in for_em and "|HF-1>* · Login accepts empty tokens — approve it as " in (
        for_em
    )
    assert "*Engineering Manager* (the button in its thread)" in for_em
    assert "*Active hotfixes*" in for_em
    assert "Awaiting approval" in for_em
    assert "waiting on approvals: Engineering Manager, On-call Lead, CTO" in for_em
    assert "*Closed in the last 30 days*" in for_em and "None closed." in for_em

    for_requester = home(bot, REQUESTER)
    assert "Nothing waits for you." in for_requester  # never asked to approve their own
    assert "|HF-1>* · Login accepts empty tokens — Awaiting approval" in for_requester

    click(bot, checklist, "Approve as Engineering Manager", EM)
    bot.fake.wait_for(lambda: any(e.kind == "approval" for e in bot.rows(Event)))
    after = home(bot, EM)
    assert "Nothing waits for you." in after  # one person, one role
    assert "waiting on approvals: On-call Lead, CTO" in after
    assert "approve it as *On-call Lead*" in home(bot, ONCALL)
    assert "approve it as *CTO*" in home(bot, CTO)


def test_closed_hotfixes_show_their_durations_and_the_median_time_to_deploy(
    running_bot: RunningBot,
) -> None:
    bot = running_bot
    now = datetime.now(UTC)
    declared = now - timedelta(days=2)
    with bot.session() as session, session.begin():
        for n, (to_deploy, total) in enumerate(((42, 90), (30, 60), (60, 120)), start=1):
            start = declared + timedelta(hours=n)
            hotfix = Hotfix(
                state="closed",
                title=f"Past fix {n}",
                severity="high",
                impact="x",
                ticket=None,
                discovered_at=start,
                reporter_id=REQUESTER,
                security_fix=n == 3,
                needs_migration=False,
                requester_id=REQUESTER,
                required_roles=[],
                channel_id="C0INCIDENT",
                created_at=start,
            )
            session.add(hotfix)
            session.flush()
            for minutes, before, after in (
                (0, "new", "awaiting_approval"),
                (to_deploy, "deploying", "monitoring"),
                (total, "merging_back", "closed"),
            ):
                session.add(
                    Event(
                        hotfix_id=hotfix.id,
                        at=start + timedelta(minutes=minutes),
                        actor=REQUESTER,
                        kind="x",
                        from_state=before,
                        to_state=after,
                        detail={},
                    )
                )
    shown = home(bot, "U0OUTSIDER")
    assert "✅ *HF-2* · Past fix 2 — 1h 00m, deployed after 30m" in shown
    assert "✅ *HF-1* · Past fix 1 — 1h 30m, deployed after 42m" in shown
    assert "✅ *HF-3* · 🔒 Security fix (details in <#C0INCIDENT>) — 2h 00m" in shown
    assert "Past fix 3" not in shown  # a security fix's title stays with its people
    assert shown.index("HF-3") < shown.index("HF-2") < shown.index("HF-1")  # newest first
    assert "Median time from declaration to deploy: *42m* over 3 hotfixes" in shown
    assert "by day, oldest first: `" in shown and "█" in shown
    today = datetime.now(UTC).strftime("%Y-%m-%d")
    assert f'"image_url": "{PUBLIC}/charts/deploy-times.png?day={today}"' in shown

    # The image Slack fetches: drawn by the bot from the same hotfixes.
    with urllib.request.urlopen(f"{bot.url}/charts/deploy-times.png", timeout=10) as answer:
        assert answer.headers["Content-Type"] == "image/png"
        image = Image.open(io.BytesIO(answer.read()))
    assert image.format == "PNG" and image.size == (600, 180)
    bars = [image.getpixel((x, 150)) for x in range(24, 576)]
    assert (46, 134, 222) in bars  # a day with deploys has its bar
