"""Release versions and the tag pattern that spells them.

A production tag is a name that fits the policy's pattern (``v{major}.{minor}.{patch}`` unless
configured otherwise) exactly; its version is the three numbers, and the hotfix release after
it is the next patch. Pre-releases, other tags and numbers with leading zeros are not versions.
"""

from __future__ import annotations

import re
import string
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

Version = tuple[int, int, int]

DEFAULT_TAG_PATTERN: Final = "v{major}.{minor}.{patch}"
_NUMBER: Final = r"(?:0|[1-9][0-9]*)"


@dataclass(frozen=True)
class Tag:
    """A production tag as the remote has it; ``commit`` is the commit it points to (peeled)."""

    name: str
    version: Version
    commit: str


def _pattern_pieces(pattern: str) -> list[tuple[str, str | None]]:
    try:
        pieces = [(literal, field) for literal, field, _, _ in string.Formatter().parse(pattern)]
    except ValueError:
        raise ValueError(f"tag pattern {pattern!r} has an unmatched {{ or }}") from None
    fields = [field for _, field in pieces if field is not None]
    if sorted(fields) != ["major", "minor", "patch"]:
        raise ValueError(
            f"tag pattern {pattern!r} must contain {{major}}, {{minor}} and {{patch}} exactly "
            "once each and no other placeholder"
        )
    return pieces


def _pattern_regex(pattern: str) -> re.Pattern[str]:
    parts = []
    for literal, field in _pattern_pieces(pattern):
        parts.append(re.escape(literal))
        if field is not None:
            parts.append(f"(?P<{field}>{_NUMBER})")
    return re.compile("".join(parts))


def format_tag(pattern: str, version: Sequence[int]) -> str:
    """The tag name of ``version`` under ``pattern``: ``format_tag("v{major}.{minor}.{patch}",
    (1, 2, 4)) == "v1.2.4"``."""
    major, minor, patch = (int(part) for part in version)
    if min(major, minor, patch) < 0:
        raise ValueError(f"version {version!r} has a negative number")
    _pattern_pieces(pattern)
    return pattern.format(major=major, minor=minor, patch=patch)


def tag_version(pattern: str, name: str) -> Version | None:
    """The version ``name`` stands for under ``pattern``, or None if it is not a production tag
    (pre-releases, other tags and numbers with leading zeros are not)."""
    match = _pattern_regex(pattern).fullmatch(name)
    if match is None:
        return None
    return int(match["major"]), int(match["minor"]), int(match["patch"])


def next_patch(version: Sequence[int]) -> Version:
    """The hotfix release after ``version``: ``(1, 2, 3) -> (1, 2, 4)``."""
    major, minor, patch = (int(part) for part in version)
    return major, minor, patch + 1
