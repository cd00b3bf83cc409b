"""The Hotfix Request: command-line prefill and validation of every field."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from workflows.assessment import (
    AssessmentDraft,
    AssessmentInvalid,
    parse_start_arguments,
    validate_assessment,
)
from workflows.severity import Severity

NOW = datetime(2026, 11, 27, 3, 0, tzinfo=UTC)


def draft(**overrides: object) -> AssessmentDraft:
    fields: dict[str, object] = {
        "title": "Checkout returns 500",
        "severity": "critical",
        "impact": "All card payments fail",
        "reporter_id": "U0REPORTER",
        "discovered_at": NOW - timedelta(minutes=10),
    }
    fields.update(overrides)
    return AssessmentDraft(**fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "ticket", "severity", "title"),
    [
        ("", None, None, None),
        (
            "SEC-123 critical Login accepts empty tokens",
            "SEC-123",
            Severity.CRITICAL,
            "Login accepts empty tokens",
        ),
        ("high sec-9 Slow search", "SEC-9", Severity.HIGH, "Slow search"),
        ("Payments are down", None, None, "Payments are down"),
        ("#4521 low", "#4521", Severity.LOW, None),
        ("critical critical outage", None, Severity.CRITICAL, "critical outage"),
        ("; rm -rf / $(reboot)", None, None, "; rm -rf / $(reboot)"),
    ],
)
def test_start_arguments(
    text: str, ticket: str | None, severity: Severity | None, title: str | None
) -> None:
    parsed = parse_start_arguments(text)
    assert (parsed.ticket, parsed.severity, parsed.title) == (ticket, severity, title)


def test_start_arguments_cut_a_huge_title_to_the_field_size() -> None:
    assert len(parse_start_arguments("x" * 10_000).title or "") == 150


def test_valid_assessment() -> None:
    result = validate_assessment(
        draft(estimated_fix="45m", ticket="SEC-123", security_fix=True), now=NOW
    )
    assert result.severity is Severity.CRITICAL
    assert result.estimated_fix == timedelta(minutes=45)
    assert result.ticket == "SEC-123" and result.security_fix


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(AssessmentInvalid) as caught:
        validate_assessment(
            AssessmentDraft(
                title="  ",
                severity="urgent",
                impact=None,
                estimated_fix="soon",
                ticket="../etc/passwd",
                discovered_at=NOW + timedelta(hours=2),
            ),
            now=NOW,
        )
    errors = caught.value.errors
    assert errors["title"] == "Required."
    assert errors["impact"] == "Required."
    assert "Unknown severity 'urgent'" in errors["severity"]
    assert "not a duration" in errors["estimated_fix"]
    assert "ticket id" in errors["ticket"]
    assert "future" in errors["discovered_at"]
    assert errors["reporter_id"] == "Who reported it?"


def test_hostile_text_is_kept_verbatim_but_bounded() -> None:
    text = "; rm -rf / $(curl evil) <!channel> `id`"
    assert validate_assessment(draft(title=text), now=NOW).title == text
    with pytest.raises(AssessmentInvalid) as caught:
        validate_assessment(draft(title="x" * 10_240), now=NOW)
    assert caught.value.errors["title"] == "Too long: 10240 characters, at most 150."
    with pytest.raises(AssessmentInvalid) as caught:
        validate_assessment(draft(title="bell\x07here"), now=NOW)
    assert "control characters" in caught.value.errors["title"]


def test_unicode_and_multiline_impact_are_fine() -> None:
    result = validate_assessment(
        draft(title="Zahlungen schlagen fehl — 決済エラー 💳", impact="line 1\nline 2"), now=NOW
    )
    assert result.title.endswith("💳") and result.impact == "line 1\nline 2"
