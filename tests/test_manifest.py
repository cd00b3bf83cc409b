"""manifest.yml and the code agree on commands, events, scopes and URLs."""

from __future__ import annotations

import re

import yaml

from app import EVENTS_PATH
from bot.ids import BOT_SCOPES, ActionId, BlockId, CallbackId, Command, EventType
from tests.conftest import ROOT
from workflows.lifecycle import mermaid

MANIFEST = yaml.safe_load((ROOT / "manifest.yml").read_text())


def test_slash_commands_match_the_code() -> None:
    commands = MANIFEST["features"]["slash_commands"]
    assert {c["command"] for c in commands} == {c.value for c in Command}
    for command in commands:
        assert command["url"] == f"https://YOUR-HOST{EVENTS_PATH}"
        assert command["description"] and len(command["description"]) <= 100
        assert command["usage_hint"].startswith("start ")


def test_events_interactivity_and_home_tab() -> None:
    settings = MANIFEST["settings"]
    assert set(settings["event_subscriptions"]["bot_events"]) == {e.value for e in EventType}
    assert settings["event_subscriptions"]["request_url"] == f"https://YOUR-HOST{EVENTS_PATH}"
    assert settings["interactivity"] == {
        "is_enabled": True,
        "request_url": f"https://YOUR-HOST{EVENTS_PATH}",
    }
    assert MANIFEST["features"]["app_home"]["home_tab_enabled"] is True


def test_scopes_are_exactly_what_the_code_needs() -> None:
    assert set(MANIFEST["oauth_config"]["scopes"]["bot"]) == BOT_SCOPES


def test_identifiers_are_unique_and_within_slack_limits() -> None:
    for enum in (ActionId, BlockId, CallbackId):
        values = [member.value for member in enum]
        assert len(values) == len(set(values)), enum
        for value in values:
            assert re.fullmatch(r"[a-z0-9_]{1,255}", value), value


def test_socket_mode_variant_is_documented() -> None:
    text = (ROOT / "manifest.yml").read_text()
    assert "socket_mode_enabled: true" in text and "SLACK_APP_TOKEN" in text


def test_the_readme_diagram_is_the_machine() -> None:
    readme = (ROOT / "README.md").read_text()
    assert f"```mermaid\n{mermaid()}```" in readme, "run `hotfix-bot diagram` and paste it"
