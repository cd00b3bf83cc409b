"""The App Home tab, put together for one viewer from the database (and card links)."""

from __future__ import annotations

from datetime import datetime

from slack_sdk.models.views import View
from sqlalchemy.orm import Session, sessionmaker

from bot.chart import CHART_PATH, deploy_times_png
from bot.render.home import Active, home_view, since
from bot.render.notices import HOME_LIMIT
from bot.render.waiting import waits_on
from bot.services import BotServices
from workflows.history import closed_since, daily_medians
from workflows.roles import RolesUnavailable, role_title
from workflows.snapshot import HotfixSnapshot


def offers(
    hotfix: HotfixSnapshot, viewer: str, roles: frozenset[str], *, distinct_people: bool
) -> list[str]:
    """What ``viewer`` can give this hotfix now: an approval as a missing role, a review."""
    if viewer == hotfix.requester_id:
        return []  # a hotfix needs another pair of eyes: never its requester's
    if hotfix.state == "awaiting_approval":
        if distinct_people and any(a.user_id == viewer for a in hotfix.approvals):
            return []
        return [
            f"approve it as *{role_title(role)}* (the button in its thread)"
            for role in hotfix.missing_roles
            if role in roles
        ]
    if hotfix.state == "in_review" and (not hotfix.security_fix or "security" in roles):
        return ["review it: tick the checklist in its thread and *Approve review*"]
    return []


def home_for(services: BotServices, viewer: str) -> View:
    now = services.clock()
    directory = services.hotfixes.directory
    try:
        roles = frozenset(directory.roles_of(viewer))
    except RolesUnavailable:
        roles = frozenset()  # unknown for now: nothing is offered, nothing is shown wrongly
    deploy_roles = services.policy.deploy.allowed_roles
    active = []
    for hotfix in services.hotfixes.active()[: HOME_LIMIT + 1]:
        link = services.cards.permalink(hotfix)
        active.append(
            Active(
                hotfix,
                waits_on(hotfix, directory.principals, deploy_roles),
                link if link.startswith("http") else None,
            )
        )
    distinct = services.policy.approvals.distinct_people
    waiting = [
        (item, what)
        for item in active
        for what in offers(item.hotfix, viewer, roles, distinct_people=distinct)
    ]
    public = services.public_url
    return home_view(
        waiting=waiting,
        active=active,
        closed=closed_since(services.sessions, since(now)),
        visible=services.visible_to(viewer),
        now=now,
        # The day in the address: Slack caches images by URL, so a new day gets a new one.
        chart_url=f"{public.rstrip('/')}{CHART_PATH}?day={now:%Y-%m-%d}" if public else None,
    )


def deploy_chart(sessions: sessionmaker[Session], now: datetime) -> bytes:
    """The Home tab's chart, drawn from the hotfixes closed in the last 30 days."""
    return deploy_times_png(daily_medians(closed_since(sessions, since(now)), until=now))
