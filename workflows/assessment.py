"""The procedure's "Hotfix Request": what is wrong, how bad, and what waiting would cost."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from workflows.durations import parse_duration
from workflows.severity import Severity

TITLE_MAX = 150
TEXT_MAX = 2000
TICKET_MAX = 40
TICKET_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._#-]*")
# A token on the /hotfix command line that looks like a tracker id: SEC-123, PROD-456, #789.
TICKET_ON_COMMAND_LINE = re.compile(r"(?:[A-Za-z][A-Za-z0-9]*-\d+|#\d+)")
FUTURE_TOLERANCE = timedelta(minutes=5)


@dataclass(frozen=True)
class Assessment:
    """A validated Hotfix Request."""

    title: str
    severity: Severity
    impact: str
    discovered_at: datetime
    reporter_id: str
    estimated_fix: timedelta | None = None
    risk_if_delayed: str | None = None
    ticket: str | None = None
    security_fix: bool = False
    needs_migration: bool = False


@dataclass(frozen=True)
class AssessmentDraft:
    """What the person typed, before validation (every field may be missing or wrong)."""

    title: str | None = None
    severity: str | None = None
    impact: str | None = None
    discovered_at: datetime | None = None
    reporter_id: str | None = None
    estimated_fix: str | None = None
    risk_if_delayed: str | None = None
    ticket: str | None = None
    security_fix: bool = False
    needs_migration: bool = False


@dataclass
class AssessmentInvalid(Exception):
    """One message per field that must be corrected, keyed by the draft's field name."""

    errors: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        return "; ".join(f"{name}: {message}" for name, message in self.errors.items())


@dataclass(frozen=True)
class CommandLine:
    """What ``/hotfix start [--drill] [TICKET] [SEVERITY] [title…]`` prefills in the
    assessment (``--drill``: a rehearsal, see the policy's ``drill`` section)."""

    ticket: str | None = None
    severity: Severity | None = None
    title: str | None = None
    drill: bool = False


def parse_start_arguments(text: str) -> CommandLine:
    """Split the words after ``start``: ticket and severity (either order), then the title.

    Nothing here is rejected: whatever does not look like a ticket or a severity is the title,
    and the modal validates everything when it is submitted.
    """
    words = text.split()
    drill = "--drill" in words
    words = [w for w in words if w != "--drill"]
    ticket: str | None = None
    severity: Severity | None = None
    while words:
        word = words[0]
        if ticket is None and TICKET_ON_COMMAND_LINE.fullmatch(word) and len(word) <= TICKET_MAX:
            ticket = word.upper() if not word.startswith("#") else word
        elif severity is None and word.lower() in Severity.__members__.values():
            severity = Severity(word.lower())
        else:
            break
        words.pop(0)
    title = " ".join(words)[:TITLE_MAX] or None
    return CommandLine(ticket=ticket, severity=severity, title=title, drill=drill)


def _has_control_characters(value: str, *, allow_newlines: bool) -> bool:
    allowed = {"\n", "\t"} if allow_newlines else set()
    return any(unicodedata.category(ch) == "Cc" and ch not in allowed for ch in value)


def _text(
    draft_value: str | None,
    name: str,
    errors: dict[str, str],
    *,
    required: bool,
    max_length: int,
    multiline: bool,
) -> str | None:
    value = (draft_value or "").strip()
    if not value:
        if required:
            errors[name] = "Required."
        return None
    if len(value) > max_length:
        errors[name] = f"Too long: {len(value)} characters, at most {max_length}."
    elif _has_control_characters(value, allow_newlines=multiline):
        errors[name] = "Contains control characters; type plain text."
    return value


def validate_assessment(draft: AssessmentDraft, *, now: datetime) -> Assessment:
    """Check every field of the draft, reporting all problems at once."""
    errors: dict[str, str] = {}
    title = _text(
        draft.title, "title", errors, required=True, max_length=TITLE_MAX, multiline=False
    )
    impact = _text(
        draft.impact, "impact", errors, required=True, max_length=TEXT_MAX, multiline=True
    )
    risk = _text(
        draft.risk_if_delayed,
        "risk_if_delayed",
        errors,
        required=False,
        max_length=TEXT_MAX,
        multiline=True,
    )

    severity: Severity | None = None
    if not draft.severity:
        errors["severity"] = "Choose a severity."
    else:
        try:
            severity = Severity(draft.severity.lower())
        except ValueError:
            errors["severity"] = (
                f"Unknown severity {draft.severity!r}: choose critical, high, medium or low."
            )

    ticket = (draft.ticket or "").strip() or None
    if ticket is not None and (len(ticket) > TICKET_MAX or not TICKET_RE.fullmatch(ticket)):
        errors["ticket"] = (
            "A ticket id is letters, digits, '-', '_', '.' or '#', at most "
            f"{TICKET_MAX} characters (for example SEC-123)."
        )

    estimated: timedelta | None = None
    if draft.estimated_fix and draft.estimated_fix.strip():
        try:
            estimated = parse_duration(draft.estimated_fix)
        except ValueError as exc:
            errors["estimated_fix"] = str(exc)

    discovered = draft.discovered_at or now
    if discovered > now + FUTURE_TOLERANCE:
        errors["discovered_at"] = "That is in the future; when was the problem discovered?"

    if not draft.reporter_id:
        errors["reporter_id"] = "Who reported it?"

    if errors:
        raise AssessmentInvalid(errors)
    assert title is not None and impact is not None and severity is not None
    assert draft.reporter_id is not None
    return Assessment(
        title=title,
        severity=severity,
        impact=impact,
        discovered_at=discovered,
        reporter_id=draft.reporter_id,
        estimated_fix=estimated,
        risk_if_delayed=risk,
        ticket=ticket,
        security_fix=draft.security_fix,
        needs_migration=draft.needs_migration,
    )
