"""Hostile input, generated (hypothesis): whatever is typed after `/hotfix start` or into the
assessment form, the parser and the validator answer with a value or a clear refusal, never
another exception; and every branch name the bot would push is one git accepts."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import INCIDENT_CHANNEL, REQUESTER, RunningBot
from workflows.assessment import (
    TITLE_MAX,
    AssessmentDraft,
    AssessmentInvalid,
    parse_start_arguments,
    validate_assessment,
)
from workflows.naming import branch_name
from workflows.severity import Severity

NOW = datetime(2026, 12, 4, 3, 0, tzinfo=UTC)
# Anything a person (or a paste) can put in a Slack text box, shell and git specials included.
typed = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=400
) | st.sampled_from(
    [
        "",
        " ",
        "--drill",
        "$(reboot)",
        "`id`",
        "; rm -rf /",
        "../..",
        "@{u}",
        "a..b",
        "-x",
        "ü" * 300,
    ]
)


@given(typed)
@settings(max_examples=400, deadline=None)
def test_the_start_line_always_parses_into_a_prefill(text: str) -> None:
    line = parse_start_arguments(text)
    assert line.title is None or 0 < len(line.title) <= TITLE_MAX
    assert line.severity is None or isinstance(line.severity, Severity)
    assert line.ticket is None or " " not in line.ticket
    assert line.drill == ("--drill" in text.split())


drafts = st.builds(
    AssessmentDraft,
    title=st.none() | typed,
    severity=st.none() | st.sampled_from([s.value for s in Severity]) | typed,
    impact=st.none() | typed,
    discovered_at=st.none() | st.datetimes(timezones=st.just(UTC)),
    reporter_id=st.none() | st.from_regex(r"U[0-9A-Z]{2,10}", fullmatch=True) | typed,
    estimated_fix=st.none() | st.from_regex(r"[0-9]{1,3}[smh]", fullmatch=True) | typed,
    risk_if_delayed=st.none() | typed,
    ticket=st.none() | typed,
    security_fix=st.booleans(),
    needs_migration=st.booleans(),
)


@given(drafts)
@settings(max_examples=400, deadline=None)
def test_the_form_is_accepted_or_refused_field_by_field_never_crashed(
    draft: AssessmentDraft,
) -> None:
    try:
        assessment = validate_assessment(draft, now=NOW)
    except AssessmentInvalid as invalid:
        assert invalid.errors  # each refusal names its field
        assert all(isinstance(m, str) and m for m in invalid.errors.values())
    else:
        assert assessment.title and len(assessment.title) <= TITLE_MAX
        assert assessment.severity in Severity


def git_accepts(name: str) -> bool:
    done = subprocess.run(["git", "check-ref-format", "--branch", name], capture_output=True)
    return done.returncode == 0


@given(title=typed, ticket=st.none() | typed, security=st.booleans(), number=st.integers(1, 10**6))
@settings(max_examples=300, deadline=None)
def test_every_branch_name_is_one_git_accepts(
    title: str, ticket: str | None, security: bool, number: int
) -> None:
    for pattern in ("hotfix/{ticket}-{slug}", "hotfix/{id}", "hf/{version}/{ticket}-{slug}"):
        name = branch_name(
            pattern,
            hotfix_key=f"HF-{number}",
            ticket=ticket,
            title=title,
            security_fix=security,
            version="1.2.4",
        )
        assert git_accepts(name), name


@given(text=typed)
@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_any_command_line_gets_an_answer_over_http_never_an_error(
    running_bot: RunningBot, text: str
) -> None:
    """Through the real app: `/hotfix <anything>` is acked 200, and whatever is said back
    (in the ack or later) is words for a person, not a stack trace."""
    bot = running_bot
    before = len(bot.fake.responses(REQUESTER))
    response = bot.slack.slash(text, user_id=REQUESTER, channel_id=INCIDENT_CHANNEL)
    assert response.status == 200
    said = [response.text, *(r["text"] or "" for r in bot.fake.responses(REQUESTER)[before:])]
    assert not any("Traceback" in s or "Error:" in s for s in said), said
