""" "Keep changes minimal": what the size and path warnings say about a PR's real diff."""

from __future__ import annotations

import pytest

from tests.conftest import POLICY
from workflows.config import Policy
from workflows.github_client import ChangedFile, ChangeSummary
from workflows.review import size_warnings


def policy(**review: object) -> Policy:
    return Policy.model_validate({**POLICY, "review": review})


def summary(*files: tuple[str, int, int]) -> ChangeSummary:
    return ChangeSummary(tuple(ChangedFile(name, added, removed) for name, added, removed in files))


FIX = ("auth.py", 3, 1)
TEST = ("tests/test_auth.py", 5, 0)


def test_a_small_tested_fix_gets_no_warning() -> None:
    assert size_warnings(summary(FIX, TEST), policy(), needs_migration=False) == []


def test_too_many_files_and_too_many_lines_are_named() -> None:
    warnings = size_warnings(
        summary(FIX, TEST, ("a.py", 200, 0), ("b.py", 150, 0)),
        policy(max_files=3, max_lines=300),
        needs_migration=False,
    )
    assert warnings == [
        "4 files changed (more than 3): every extra file is one more thing that can break in "
        "production.",
        "359 lines changed (more than 300): a hotfix fixes one thing; refactors wait for the "
        "normal release.",
    ]


def test_no_test_file_is_a_warning() -> None:
    assert size_warnings(summary(FIX), policy(), needs_migration=False) == [
        "No test file changed: the procedure asks for a test with the fix."
    ]


@pytest.mark.parametrize(
    "path", ["package-lock.json", "poetry.lock", ".github/workflows/ci.yml", "alembic/0042.py"]
)
def test_lock_files_ci_and_migrations_are_flagged(path: str) -> None:
    [warning] = size_warnings(summary(FIX, TEST, (path, 1, 1)), policy(), needs_migration=False)
    assert warning.startswith(f"`{path}` is changed (matches `")


@pytest.mark.parametrize("path", ["alembic/0042.py", "db/migrations/0042_add.py"])
def test_a_hotfix_flagged_as_needing_a_migration_may_change_migrations(path: str) -> None:
    assert size_warnings(summary(FIX, TEST, (path, 9, 0)), policy(), needs_migration=True) == []
    # but not its lock files
    assert size_warnings(
        summary(FIX, TEST, (path, 9, 0), ("go.sum", 1, 1)), policy(), needs_migration=True
    ) == [
        "`go.sum` is changed (matches `go.sum`): lock files, CI configuration and migrations "
        "change more than the fix itself."
    ]
