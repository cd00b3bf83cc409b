"""Every public string the bot writes into git: branch names, tag and merge messages.

A security fix says nothing in public (the procedure's Security Hotfix Pattern): its branch
is named after the ticket alone and its messages carry no title. Commit messages written by
people are checked for disclosing words instead.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

SLUG_MAX = 40
_NOT_SLUG = re.compile(r"[^a-z0-9]+")
_NOT_TICKET = re.compile(r"[^A-Za-z0-9._-]+")


def slugify(text: str, max_length: int = SLUG_MAX) -> str:
    """``"Zahlungen schlagen fehl: Überweisung"`` → ``"zahlungen-schlagen-fehl-uberweisung"``.

    Lower-case ASCII letters, digits and single dashes; cut at a word boundary.
    """
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = _NOT_SLUG.sub("-", ascii_text.lower()).strip("-")
    if len(slug) > max_length:
        cut = slug[: max_length + 1]
        slug = cut[: cut.rfind("-")] if "-" in cut else cut[:max_length]
    return slug.strip("-")


def ticket_for_git(ticket: str | None, hotfix_key: str) -> str:
    """The ticket as it may appear in a ref name (``#4521`` → ``4521``), or the hotfix key."""
    cleaned = _NOT_TICKET.sub("", ticket or "")
    # git refuses "..", a part ending in ".lock", and a leading or trailing dot or dash.
    cleaned = re.sub(r"\.{2,}", ".", cleaned)
    cleaned = re.sub(r"(\.lock)+$", "", cleaned, flags=re.IGNORECASE).strip(".-")
    return cleaned or hotfix_key


def branch_name(
    pattern: str,
    *,
    hotfix_key: str,
    ticket: str | None,
    title: str,
    security_fix: bool,
    version: str = "",
) -> str:
    """The hotfix branch, from ``repository.branch_pattern``, tidied of empty parts."""
    slug = "" if security_fix else slugify(title)
    raw = pattern.format(
        ticket=ticket_for_git(ticket, hotfix_key), slug=slug, version=version, id=hotfix_key
    )
    # An empty placeholder leaves "--", "-/" or a trailing "-": close the gaps.
    tidy = re.sub(r"-{2,}", "-", raw)
    tidy = re.sub(r"-+(/|$)", r"\1", tidy)
    return re.sub(r"(^|/)-+", r"\1", tidy)


def tag_message(*, title: str, ticket: str | None, version: str, security_fix: bool) -> str:
    """The procedure's ``Hotfix: <title> (<ticket>)``; neutral for a security fix."""
    reference = f" ({ticket})" if ticket else ""
    if security_fix:
        return f"Hotfix {version}{reference}"
    return f"Hotfix: {title}{reference}"


def merge_message(*, branch: str, version: str | None, title: str, security_fix: bool) -> str:
    what = f"{branch} ({version})" if version else branch
    if security_fix:
        return f"Merge hotfix {what}"
    return f"Merge hotfix {what}: {title}"


@dataclass(frozen=True)
class Disclosure:
    """A commit (or title) that names what a security fix fixes."""

    where: str  # "commit 1a2b3c4" or "PR title"
    text: str  # the offending line
    words: tuple[str, ...]


def disclosing_words(text: str, words: Iterable[str]) -> tuple[str, ...]:
    """The configured words found in ``text`` (whole words, any case)."""
    found = []
    for word in words:
        if re.search(rf"(?<![A-Za-z0-9]){re.escape(word)}(?![A-Za-z0-9])", text, re.IGNORECASE):
            found.append(word)
    return tuple(found)


def find_disclosures(messages: Iterable[tuple[str, str]], words: Iterable[str]) -> list[Disclosure]:
    """``messages`` are ``(where, full message)``; each hit quotes the line that discloses."""
    word_list = tuple(words)
    hits = []
    for where, message in messages:
        found = disclosing_words(message, word_list)
        if found:
            line = next(
                (ln for ln in message.splitlines() if disclosing_words(ln, word_list)),
                message.splitlines()[0] if message else "",
            )
            hits.append(Disclosure(where=where, text=line.strip(), words=found))
    return hits
