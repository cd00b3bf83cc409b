"""The fake GitHub as a fixture, for modules that turn GitHub on (see `github_settings`)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sandbox.github_server import FakeGitHub
from tests.git_fixtures import Origin

REPO = "acme/api"


@pytest.fixture
def fake_github(origin: Origin) -> Iterator[FakeGitHub]:
    """GitHub for ``acme/api``, backed by the test's origin; every exchange is checked
    against GitHub's OpenAPI description."""
    with FakeGitHub() as github:
        github.add_repo(REPO, origin.path)
        github.add_user("dana-em")
        github.add_team("acme/security", members=("sam-sec",))
        yield github
        github.assert_valid()
