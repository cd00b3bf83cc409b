"""Events API listeners. Slack delivers an event again when it was not acknowledged in time
(even while the first delivery is still running), so each one is handled once."""

from __future__ import annotations

from typing import Any

from bot.ack import AckPath
from bot.dedupe import first_delivery
from bot.home import home_for
from bot.ids import EventType
from bot.router import Router
from bot.services import BotServices


def register(app: Router, services: BotServices, path: AckPath) -> None:
    @app.event(EventType.APP_HOME_OPENED)
    @path.later()
    def app_home_opened(event: dict[str, Any], body: dict[str, Any]) -> None:
        if event.get("tab", "home") != "home":
            return
        if not first_delivery(services.sessions, body, services.clock()):
            return
        view = home_for(services, event["user"])
        services.slack.views_publish(user_id=event["user"], view=view.to_dict())
