"""What the bot checks in a fix before it goes public: the ``review:`` section (procedure
Phase 4: the pull request, who reviews, what counts as a minimal change) and the
``security:`` section (the words a security fix must not say in public)."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Final

from pydantic import Field, field_validator

from workflows.config_fields import Duration, Section

DEFAULT_DISCLOSING_WORDS: Final = (
    "vulnerability",
    "vulnerable",
    "exploit",
    "injection",
    "bypass",
    "CVE",
    "XSS",
    "CSRF",
    "SSRF",
    "RCE",
    "security hole",
    "attack",
    "malicious",
    "leak",
    "unauthorized",
    "privilege escalation",
)
DEFAULT_SUSPICIOUS_PATHS: Final = (
    "*.lock",
    "package-lock.json",
    "go.sum",
    ".github/*",
    ".gitlab-ci.yml",
    ".circleci/*",
    "Jenkinsfile",
    "*migrations/*",
    "alembic/*",
)
_GITHUB_REVIEWER = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})(?:/[A-Za-z0-9._-]+)?")


class Security(Section):
    """Security fixes say nothing in public (the procedure's Security Hotfix Pattern)."""

    disclosing_words: tuple[str, ...] = DEFAULT_DISCLOSING_WORDS

    @field_validator("disclosing_words")
    @classmethod
    def _words(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        words = tuple(w.strip() for w in value if w.strip())
        if not words:
            raise ValueError("give at least one word, or leave the key out for the defaults")
        return words


class Review(Section):
    """The expedited review (procedure Phase 4): the PR, who reviews, what is "minimal"."""

    labels: tuple[str, ...] = ("hotfix",)
    github_reviewers: tuple[str, ...] = ()
    max_files: int = Field(default=10, ge=1)
    max_lines: int = Field(default=300, ge=1)
    suspicious_paths: tuple[str, ...] = DEFAULT_SUSPICIOUS_PATHS
    require_github_approval: bool = True
    poll_interval: Duration = timedelta(minutes=1)

    @field_validator("github_reviewers")
    @classmethod
    def _logins(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for login in value:
            if not _GITHUB_REVIEWER.fullmatch(login):
                raise ValueError(f"{login!r} is not a GitHub login or org/team slug")
        return value
