"""docs/architecture.md stays true: every module and name it points a newcomer to exists."""

from __future__ import annotations

import re

from tests.conftest import ROOT
from workflows.claims import TimelineClaims
from workflows.deployment import HotfixDeploy, monitoring_pings
from workflows.hotfixes import HotfixService
from workflows.lifecycle import sources

MAP = (ROOT / "docs" / "architecture.md").read_text()


def test_every_module_the_map_names_exists() -> None:
    named = set(re.findall(r"`((?:app|bot|workflows|storage|sandbox|tests)[\w/]*\.py)`", MAP))
    assert len(named) > 30, named
    missing = [
        path
        for path in sorted(named)
        if not (ROOT / path).is_file() and not (ROOT / path[:-3] / "__init__.py").is_file()
    ]
    assert missing == []


def test_the_names_it_points_to_are_where_it_says() -> None:
    assert callable(HotfixDeploy.command) and callable(monitoring_pings)
    assert callable(HotfixService.approve) and callable(TimelineClaims.claim_ping)
    assert sources("approve") == ("awaiting_approval",)
    monitoring = (ROOT / "bot" / "monitoring.py").read_text()
    assert "timers.register(MONITOR_JOB" in monitoring  # where each check is scheduled
