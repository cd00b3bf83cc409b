"""Events API listeners."""

from __future__ import annotations

from typing import Any

from slack_bolt import App
from slack_sdk import WebClient

from bot.errors import reported
from bot.ids import EventType
from bot.render.notices import home_view
from bot.services import BotServices


def register(app: App, services: BotServices) -> None:
    @app.event(EventType.APP_HOME_OPENED)
    @reported
    def app_home_opened(event: dict[str, Any], client: WebClient) -> None:
        if event.get("tab", "home") != "home":
            return
        view = home_view(services.hotfixes.active(), services.visible_to(event["user"]))
        client.views_publish(user_id=event["user"], view=view.to_dict())
