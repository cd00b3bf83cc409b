"""The ``repository:`` section of the policy file: where the code lives, which branches a
hotfix starts from and merges back into, and how hotfix branches and release tags are named
(each name checked against git's own rules)."""

from __future__ import annotations

import re
import string
from typing import Annotated, Final, Literal

from pydantic import AfterValidator, field_validator

from workflows.config_fields import Section, non_empty_unique

_BRANCH_PLACEHOLDERS: Final = frozenset({"ticket", "slug", "version", "id"})
_GITHUB_REPOSITORY = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,37}[A-Za-z0-9])?/[A-Za-z0-9._-]+")
_TAG_PLACEHOLDERS: Final = ("major", "minor", "patch")


def _bad_ref_name(value: str) -> str | None:
    """Why ``value`` cannot name a git branch or tag (git check-ref-format), or None."""
    if (
        not value
        or value == "@"
        or value.startswith(("-", "/", "."))
        or value.endswith(("/", ".", ".lock"))
        or any(bad in value for bad in ("..", "//", "@{", "/."))
        or re.search(r"[\x00-\x20\x7f~^:?*\[\\]", value)
    ):
        return "git does not allow spaces, ~ ^ : ? * [ \\, '..', or a leading '-' or '/'"
    return None


def _branch_name(value: str) -> str:
    reason = _bad_ref_name(value)
    if reason:
        raise ValueError(f"{value!r} is not a valid git branch name: {reason}")
    return value


BranchName = Annotated[str, AfterValidator(_branch_name)]


class Repository(Section):
    """Where the code lives and how releases are named."""

    remote: str
    github: str | None = None
    production_branch: BranchName = "main"
    merge_back: Annotated[tuple[BranchName, ...], non_empty_unique("branch")] = (
        "main",
        "develop",
    )
    tag_pattern: str = "v{major}.{minor}.{patch}"
    branch_pattern: str = "hotfix/{ticket}-{slug}"
    auto_branch: bool = True
    merge_strategy: Literal["pull_request", "direct"] = "pull_request"
    merge_into_release_branches: bool = False

    @field_validator("branch_pattern")
    @classmethod
    def _branch_placeholders(cls, value: str) -> str:
        example = "such as hotfix/{ticket}-{slug}"
        try:
            fields = [f for _, f, _, _ in string.Formatter().parse(value) if f is not None]
        except ValueError:
            raise ValueError(f"{value!r} has an unmatched {{ or }}: write it {example}") from None
        unknown = [f for f in fields if f not in _BRANCH_PLACEHOLDERS]
        if unknown:
            raise ValueError(
                f"{value!r} has an unknown placeholder {{{unknown[0]}}}: use {{ticket}}, "
                f"{{slug}}, {{version}} or {{id}}, {example}"
            )
        if not {"ticket", "id"} & set(fields):
            raise ValueError(f"{value!r} must contain {{ticket}} or {{id}}, {example}")
        sample = value.format(ticket="SEC-1", slug="x", version="1.2.4", id="7")
        if _bad_ref_name(sample):
            raise ValueError(f"{value!r} does not make a valid git branch name, {example}")
        return value

    @field_validator("remote")
    @classmethod
    def _remote_given(cls, value: str) -> str:
        if not value.strip():
            raise ValueError(
                "must not be empty: give a git URL or path, such as git@github.com:acme/api.git"
            )
        return value.strip()

    @field_validator("github")
    @classmethod
    def _owner_slash_name(cls, value: str | None) -> str | None:
        if value is None:
            return None
        name = value.strip()
        if not _GITHUB_REPOSITORY.fullmatch(name) or name.endswith(".git"):
            raise ValueError(
                f"{value!r} is not a GitHub repository in owner/name form, such as acme/api"
            )
        return name

    @field_validator("tag_pattern")
    @classmethod
    def _semantic_version_placeholders(cls, value: str) -> str:
        example = "such as v{major}.{minor}.{patch}"
        try:
            pieces = list(string.Formatter().parse(value))
        except ValueError:
            raise ValueError(f"{value!r} has an unmatched {{ or }}: write it {example}") from None
        fields = [field for _, field, _, _ in pieces if field is not None]
        for name in fields:
            if name not in _TAG_PLACEHOLDERS:
                raise ValueError(
                    f"{value!r} has an unknown placeholder {{{name}}}: only {{major}}, "
                    f"{{minor}} and {{patch}} are allowed, {example}"
                )
        for name in _TAG_PLACEHOLDERS:
            if fields.count(name) != 1:
                raise ValueError(f"{value!r} must contain {{{name}}} exactly once, {example}")
        if any(spec or conversion for _, field, spec, conversion in pieces if field):
            raise ValueError(f"{value!r}: placeholders take no format, {example}")
        if any(not literal for literal, _, _, _ in pieces[1:]):
            raise ValueError(f"{value!r}: put a separator between placeholders, {example}")
        if _bad_ref_name(value.format(major=1, minor=2, patch=3)):
            raise ValueError(f"{value!r} does not make a valid git tag name, {example}")
        return value
