"""Branch names, messages and the disclosing-words check."""

from __future__ import annotations

import pytest

from workflows.naming import (
    branch_name,
    find_disclosures,
    merge_message,
    slugify,
    tag_message,
    ticket_for_git,
)

PATTERN = "hotfix/{ticket}-{slug}"


@pytest.mark.parametrize(
    ("title", "slug"),
    [
        ("Auth bypass on empty token", "auth-bypass-on-empty-token"),
        ("Zahlungen schlagen fehl: Überweisung", "zahlungen-schlagen-fehl-uberweisung"),
        ("../../etc/passwd", "etc-passwd"),
        ("-rf --no-verify", "rf-no-verify"),
        ("決済エラー", ""),
        ("; rm -rf / $(reboot)", "rm-rf-reboot"),
        ("a" * 60, "a" * 40),
        (
            "checkout fails for every customer paying by card today",
            "checkout-fails-for-every-customer-paying",
        ),
    ],
)
def test_slugs_are_readable_ascii(title: str, slug: str) -> None:
    assert slugify(title) == slug
    assert len(slugify(title)) <= 40


@pytest.mark.parametrize(
    ("ticket", "title", "security", "expected"),
    [
        ("SEC-123", "Auth bypass", False, "hotfix/SEC-123-auth-bypass"),
        ("SEC-123", "Auth bypass", True, "hotfix/SEC-123"),
        (None, "Payment failure", False, "hotfix/HF-7-payment-failure"),
        (None, "Payment failure", True, "hotfix/HF-7"),
        ("#4521", "決済エラー", False, "hotfix/4521"),
        ("..", "x", False, "hotfix/HF-7-x"),
    ],
)
def test_branch_names(ticket: str | None, title: str, security: bool, expected: str) -> None:
    name = branch_name(
        PATTERN, hotfix_key="HF-7", ticket=ticket, title=title, security_fix=security
    )
    assert name == expected


def test_other_patterns() -> None:
    assert (
        branch_name(
            "hotfix/{version}-{slug}",
            hotfix_key="HF-2",
            ticket=None,
            title="Memory leak",
            security_fix=False,
            version="1.2.4",
        )
        == "hotfix/1.2.4-memory-leak"
    )
    assert ticket_for_git(" ", "HF-1") == "HF-1"


def test_messages_are_neutral_for_security_fixes() -> None:
    assert (
        tag_message(title="Auth bypass fix", ticket="SEC-123", version="v1.2.4", security_fix=False)
        == "Hotfix: Auth bypass fix (SEC-123)"
    )
    assert (
        tag_message(title="Auth bypass fix", ticket="SEC-123", version="v1.2.4", security_fix=True)
        == "Hotfix v1.2.4 (SEC-123)"
    )
    assert (
        merge_message(
            branch="hotfix/SEC-123", version="v1.2.4", title="Auth bypass", security_fix=True
        )
        == "Merge hotfix hotfix/SEC-123 (v1.2.4)"
    )
    assert "Auth bypass" in merge_message(
        branch="hotfix/x", version=None, title="Auth bypass", security_fix=False
    )


def test_disclosing_words_are_found_and_quoted() -> None:
    words = ("injection", "bypass", "CVE", "XSS")
    hits = find_disclosures(
        [
            ("commit 1a2b3c4", "Fix SQL injection in user search\n\nDetails"),
            ("commit 5d6e7f8", "Improve input validation in search functionality"),
            ("commit 9a9a9a9", "tidy\n\nRefs cve-2026-1234 and an xss"),
            ("commit 0b0b0b0", "Bypassing nothing: bypasses is not a whole word"),
        ],
        words,
    )
    assert [(h.where, h.text, h.words) for h in hits] == [
        ("commit 1a2b3c4", "Fix SQL injection in user search", ("injection",)),
        ("commit 9a9a9a9", "Refs cve-2026-1234 and an xss", ("CVE", "XSS")),
    ]
