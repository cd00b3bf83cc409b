"""Settings from the environment, the policy file, and durations: what a person setting up sees."""

from __future__ import annotations

import textwrap
from datetime import timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError

from workflows.config import (
    ConfigError,
    Policy,
    Settings,
    database_url,
    load_policy,
    load_settings,
    role_title,
    settings_problems,
)
from workflows.durations import format_duration, parse_duration

EXAMPLE = Path(__file__).resolve().parent.parent / "hotfix.example.yml"

MINIMAL = """\
repository:
  remote: git@github.com:acme/api.git
roles:
  engineering_manager: [U0EM]
  oncall_lead: [S0ONCALL]
  cto: [U0CTO]
"""

ENV_NAMES = (
    "SLACK_BOT_TOKEN",
    "SLACK_SIGNING_SECRET",
    "SLACK_APP_TOKEN",
    "SLACK_API_URL",
    "GITHUB_TOKEN",
    "GITHUB_API_URL",
    "GITHUB_TIMEOUT",
    "GITHUB_APP_ID",
    "GITHUB_APP_INSTALLATION_ID",
    "GITHUB_APP_PRIVATE_KEY",
    "GITHUB_APP_PRIVATE_KEY_FILE",
    "DATABASE_URL",
    "HOTFIX_CONFIG",
    "PORT",
    "HOST",
    "LOG_LEVEL",
)

ACCEPTED = "use a number with s, m or h, such as 90s, 15m, 1h30m"


@pytest.fixture(autouse=True)
def in_empty_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test runs in its own directory, with none of the bot's variables set."""
    monkeypatch.chdir(tmp_path)
    for name in ENV_NAMES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    return tmp_path


def write_policy(text: str, name: str = "hotfix.yml") -> Path:
    """Write a policy file into the current directory and return its relative path."""
    path = Path(name)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def policy_problems(text: str) -> list[str]:
    """The problems load_policy reports for a hotfix.yml with this text."""
    with pytest.raises(ConfigError) as raised:
        load_policy(write_policy(text))
    return raised.value.problems


# --------------------------------------------------------------------------------------------
# Durations
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("90s", timedelta(seconds=90)),
        ("15m", timedelta(minutes=15)),
        ("2h", timedelta(hours=2)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        ("1h 30m 15s", timedelta(hours=1, minutes=30, seconds=15)),
        ("45 minutes", timedelta(minutes=45)),
        ("1 hour", timedelta(hours=1)),
        ("90 sec", timedelta(seconds=90)),
        ("  15 MINS ", timedelta(minutes=15)),
        ("1H30M", timedelta(hours=1, minutes=30)),
        ("1 hour and 30 minutes", timedelta(hours=1, minutes=30)),
        ("168h", timedelta(days=7)),
    ],
)
def test_parse_duration_accepts(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


def test_parse_duration_explains_what_is_accepted() -> None:
    with pytest.raises(ValueError) as raised:
        parse_duration("15 mins ago")
    assert str(raised.value) == f"'15 mins ago' is not a duration: {ACCEPTED}"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", f"an empty value is not a duration: {ACCEPTED}"),
        ("   ", f"an empty value is not a duration: {ACCEPTED}"),
        ("0m", f"'0m' is not a duration: it must be longer than zero; {ACCEPTED}"),
        ("-5m", f"'-5m' is not a duration: it must be longer than zero; {ACCEPTED}"),
        ("15", f"'15' has no unit: {ACCEPTED}"),
        ("1.5h", f"'1.5h' is not a duration: {ACCEPTED}"),
        ("2d", f"'2d' is not a duration: {ACCEPTED}"),
        ("1h1h", f"'1h1h' is not a duration: {ACCEPTED}"),
        ("soon", f"'soon' is not a duration: {ACCEPTED}"),
        ("169h", "'169h' is too long: the longest accepted duration is 7 days (168h)"),
    ],
)
def test_parse_duration_refuses(text: str, message: str) -> None:
    with pytest.raises(ValueError) as raised:
        parse_duration(text)
    assert str(raised.value) == message


@pytest.mark.parametrize(
    ("duration", "expected"),
    [
        (timedelta(hours=1, minutes=30), "1h30m"),
        (timedelta(minutes=45), "45m"),
        (timedelta(seconds=90), "1m30s"),
        (timedelta(hours=2), "2h"),
        (timedelta(days=2), "48h"),
        (timedelta(hours=1, seconds=5), "1h5s"),
        (timedelta(0), "0s"),
    ],
)
def test_format_duration(duration: timedelta, expected: str) -> None:
    assert format_duration(duration) == expected


@pytest.mark.parametrize("text", ["90s", "15m", "1h30m", "2h5s", "168h"])
def test_formatted_durations_parse_back(text: str) -> None:
    assert parse_duration(format_duration(parse_duration(text))) == parse_duration(text)


def test_format_duration_refuses_negative() -> None:
    with pytest.raises(ValueError):
        format_duration(timedelta(minutes=-1))


# --------------------------------------------------------------------------------------------
# The policy file: what loads
# --------------------------------------------------------------------------------------------


def test_example_file_loads_as_is() -> None:
    policy = load_policy(EXAMPLE)

    assert policy.repository.remote == "git@github.com:acme/api.git"
    assert policy.repository.github == "acme/api"
    assert policy.roles == {
        "engineering_manager": ("U0EM",),
        "oncall_lead": ("S0ONCALL",),
        "cto": ("U0CTO",),
        "security": ("S0SEC",),
    }
    assert policy.channels.stakeholders == "C0STAKE"
    assert policy.budgets.assessment == timedelta(minutes=15)


def test_example_file_documents_every_key() -> None:
    text = EXAMPLE.read_text(encoding="utf-8")
    keys = [
        "repository:", "remote:", "github:", "production_branch:", "merge_back:",
        "tag_pattern:", "roles:", "approvals:", "critical:", "high:", "distinct_people:",
        "budgets:", "assessment:", "escalation:", "channels:", "stakeholders:",
        "deploy:", "command:", "workdir:", "timeout:", "rollback_command:", "health_url:",
        "health_expect:", "health_timeout:", "dashboards:", "allowed_roles:", "monitoring:",
        "interval:", "window:",
    ]  # fmt: skip
    for key in keys:
        assert f"\n  {key}" in text or f"\n{key}" in text, key


def test_defaults_apply_to_a_minimal_file() -> None:
    policy = load_policy(write_policy(MINIMAL))

    assert policy.repository.github is None
    assert policy.repository.production_branch == "main"
    assert policy.repository.merge_back == ("main", "develop")
    assert policy.repository.tag_pattern == "v{major}.{minor}.{patch}"
    assert policy.approvals.critical == ("engineering_manager", "oncall_lead", "cto")
    assert policy.approvals.high == ("engineering_manager", "oncall_lead")
    assert policy.approvals.distinct_people is True
    assert policy.budgets.assessment == timedelta(minutes=15)
    assert policy.escalation == ("oncall_lead", "engineering_manager", "cto")
    assert policy.channels.stakeholders is None


def test_empty_sections_mean_defaults() -> None:
    policy = load_policy(write_policy(MINIMAL + "approvals:\nbudgets:\nchannels:\n"))

    assert policy.approvals.high == ("engineering_manager", "oncall_lead")
    assert policy.budgets.assessment == timedelta(minutes=15)


def test_custom_roles_budgets_and_tag_pattern() -> None:
    policy = load_policy(
        write_policy(
            """\
            repository:
              remote: /srv/git/api.git
              merge_back: [develop]
              tag_pattern: "release-{major}.{minor}.{patch}"
            roles:
              release_manager: [U0RM, W0RM2]
              vp_engineering: [U0VP]
            approvals:
              critical: [release_manager, vp_engineering]
              high: [release_manager]
              distinct_people: false
            budgets:
              assessment: 1 hour 30 minutes
            escalation: [release_manager]
            """
        )
    )

    assert policy.required_roles("critical") == ["release_manager", "vp_engineering"]
    assert policy.required_roles("HIGH") == ["release_manager"]
    assert policy.required_roles("medium") == []
    assert policy.approvals.distinct_people is False
    assert policy.budgets.assessment == timedelta(hours=1, minutes=30)
    assert policy.repository.tag_pattern.format(major=1, minor=2, patch=3) == "release-1.2.3"


def test_required_roles_follow_the_severity() -> None:
    policy = load_policy(EXAMPLE)

    assert policy.required_roles("critical") == ["engineering_manager", "oncall_lead", "cto"]
    assert policy.required_roles("high") == ["engineering_manager", "oncall_lead"]
    assert policy.required_roles("low") == []


def test_policy_is_immutable() -> None:
    policy = load_policy(EXAMPLE)

    with pytest.raises(ValidationError):
        policy.escalation = ("cto",)  # type: ignore[misc]
    with pytest.raises(ValidationError):
        policy.approvals.distinct_people = False  # type: ignore[misc]


@pytest.mark.parametrize(
    ("role", "title"),
    [
        ("engineering_manager", "Engineering Manager"),
        ("oncall_lead", "On-call Lead"),
        ("cto", "CTO"),
        ("security", "Security"),
        ("release_manager", "Release Manager"),
        ("vp_engineering", "VP Engineering"),
    ],
)
def test_role_title(role: str, title: str) -> None:
    assert role_title(role) == title


# --------------------------------------------------------------------------------------------
# The policy file: what a person sees when it is wrong
# --------------------------------------------------------------------------------------------


def test_unknown_role_names_the_known_ones() -> None:
    problems = policy_problems(
        """\
        repository:
          remote: git@github.com:acme/api.git
        roles:
          engineering_manager: [U0EM]
          oncall_lead: [S0ONCALL]
          cto: [U0CTO]
          security: [S0SEC]
        approvals:
          critical: [engineering_manager, oncall_lead, ctoo]
        """
    )

    assert problems == [
        "hotfix.yml: approvals.critical[2]: unknown role 'ctoo' "
        "(known roles: cto, engineering_manager, oncall_lead, security)"
    ]


def test_unknown_key_suggests_the_close_one() -> None:
    problems = policy_problems(
        """\
        repository:
          remot: git@github.com:acme/api.git
        roles:
          engineering_manager: [U0EM]
          oncall_lead: [S0ONCALL]
          cto: [U0CTO]
        aprovals:
          high: [cto]
        colour: blue
        """
    )

    assert problems == [
        "hotfix.yml: repository.remote: required key is missing",
        "hotfix.yml: repository.remot: unknown key (did you mean 'remote'?)",
        "hotfix.yml: aprovals: unknown key (did you mean 'approvals'?)",
        "hotfix.yml: colour: unknown key (known keys: repository, roles, approvals, budgets, "
        "escalation, channels, security, review, people, data_dir, workers, slack, deploy, "
        "monitoring, announce, postmortem, drill)",
    ]


def test_every_problem_is_reported_at_once() -> None:
    problems = policy_problems(
        """\
        repository:
          remote: git@github.com:acme/api.git
          github: https://github.com/acme/api
          merge_back: main
          tag_pattern: "v{major}.{minor}"
        roles:
          engineering_manager: [U0EM, U0EM]
          oncall_lead: S0ONCALL
          cto: [bob]
          Security Team: []
        approvals:
          critical: [engineering_manager, oncall_lead, ctoo]
          high: []
          distinct_people: maybe
        budgets:
          assessment: 15 mins ago
        escalation: [oncall_lead, 3]
        channels:
          stakeholders: "#general"
        """
    )

    known = "(known roles: Security Team, cto, engineering_manager, oncall_lead)"
    assert problems == [
        "hotfix.yml: repository.github: 'https://github.com/acme/api' is not a GitHub "
        "repository in owner/name form, such as acme/api",
        "hotfix.yml: repository.merge_back: expected a list of branch names, such as "
        "[main, develop], got 'main' (write [main])",
        "hotfix.yml: repository.tag_pattern: 'v{major}.{minor}' must contain {patch} exactly "
        "once, such as v{major}.{minor}.{patch}",
        "hotfix.yml: roles.engineering_manager: 'U0EM' is listed twice",
        "hotfix.yml: roles.oncall_lead: expected a list of Slack user ids (U…/W…) or user "
        "group ids (S…), such as [U0123ABCD], got 'S0ONCALL' (write [S0ONCALL])",
        "hotfix.yml: roles.cto[0]: 'bob' is not a Slack user id (U…/W…) or user group id (S…)",
        "hotfix.yml: roles.Security Team: 'Security Team' is not a role name: use snake_case, "
        "such as oncall_lead",
        "hotfix.yml: roles.Security Team: must list at least one Slack user id or user group id",
        f"hotfix.yml: approvals.critical[2]: unknown role 'ctoo' {known}",
        "hotfix.yml: approvals.high: must list at least one role",
        "hotfix.yml: approvals.distinct_people: expected true or false, got 'maybe'",
        f"hotfix.yml: budgets.assessment: '15 mins ago' is not a duration: {ACCEPTED}",
        "hotfix.yml: escalation[1]: expected a role name, got 3",
        "hotfix.yml: channels.stakeholders: '#general' is not a Slack channel id (C…/G…)",
    ]
    assert str(ConfigError(problems)) == "\n".join(problems)


def test_bad_slack_id_in_a_role() -> None:
    problems = policy_problems(MINIMAL.replace("cto: [U0CTO]", "cto: [bob]"))

    assert problems == [
        "hotfix.yml: roles.cto[0]: 'bob' is not a Slack user id (U…/W…) or user group id (S…)"
    ]


def test_required_sections_missing() -> None:
    problems = policy_problems("approvals:\n  distinct_people: true\n")

    assert problems == [
        "hotfix.yml: repository: required key is missing",
        "hotfix.yml: roles: required key is missing",
    ]


def test_defaults_that_name_undefined_roles_are_explained() -> None:
    problems = policy_problems(
        """\
        repository:
          remote: git@github.com:acme/api.git
        roles:
          engineering_manager: [U0EM]
          oncall_lead: [S0ONCALL]
        """
    )

    assert problems == [
        "hotfix.yml: approvals.critical: the default [engineering_manager, oncall_lead, cto] "
        "names 'cto', which is not defined under roles: define it under roles or set "
        "approvals.critical",
        "hotfix.yml: escalation: the default [oncall_lead, engineering_manager, cto] names "
        "'cto', which is not defined under roles: define it under roles or set escalation",
    ]


@pytest.mark.parametrize(
    ("pattern", "problem"),
    [
        ("v{major}.{minor}.{patch}.{build}", "has an unknown placeholder {build}"),
        ("v{major}.{major}.{minor}.{patch}", "must contain {major} exactly once"),
        ("v{major}{minor}.{patch}", "put a separator between placeholders"),
        ("v{major.{minor}.{patch}", "has an unmatched { or }"),
        ("v {major}.{minor}.{patch}", "does not make a valid git tag name"),
    ],
)
def test_tag_pattern_refusals(pattern: str, problem: str) -> None:
    problems = policy_problems(MINIMAL.replace("roles:", f'  tag_pattern: "{pattern}"\nroles:', 1))

    assert len(problems) == 1
    assert problems[0].startswith(f"hotfix.yml: repository.tag_pattern: '{pattern}'")
    assert problem in problems[0]


def test_bad_branch_names() -> None:
    problems = policy_problems(
        MINIMAL.replace(
            "roles:", "  production_branch: my branch\n  merge_back: [main, main]\nroles:"
        )
    )

    assert problems == [
        "hotfix.yml: repository.production_branch: 'my branch' is not a valid git branch name: "
        "git does not allow spaces, ~ ^ : ? * [ \\, '..', or a leading '-' or '/'",
        "hotfix.yml: repository.merge_back: 'main' is listed twice",
    ]


def test_missing_file() -> None:
    with pytest.raises(ConfigError) as raised:
        load_policy(Path("hotfix.yml"))

    assert str(raised.value) == (
        "hotfix.yml: not found — copy hotfix.example.yml to hotfix.yml and edit it, "
        "or set HOTFIX_CONFIG"
    )


def test_yaml_syntax_error_gives_line_and_column() -> None:
    problems = policy_problems(
        """\
        repository:
          remote: git@github.com:acme/api.git
        roles:
          cto: [U0CTO
        escalation: [cto]
        """
    )

    assert problems == [
        "hotfix.yml: line 5, column 11: invalid YAML: expected ',' or ']', but got ':' "
        "(while parsing a flow sequence at line 4, column 8)"
    ]


def test_duplicate_yaml_keys_are_reported() -> None:
    problems = policy_problems(MINIMAL + "roles:\n  cto: [U0OTHER]\n")

    assert problems == [
        "hotfix.yml: line 7, column 1: duplicate key 'roles' (first on line 3); "
        "YAML would keep only the last one",
        "hotfix.yml: approvals.critical: the default [engineering_manager, oncall_lead, cto] "
        "names 'engineering_manager', 'oncall_lead', which are not defined under roles: "
        "define them under roles or set approvals.critical",
        "hotfix.yml: approvals.high: the default [engineering_manager, oncall_lead] names "
        "'engineering_manager', 'oncall_lead', which are not defined under roles: "
        "define them under roles or set approvals.high",
        "hotfix.yml: escalation: the default [oncall_lead, engineering_manager, cto] names "
        "'oncall_lead', 'engineering_manager', which are not defined under roles: "
        "define them under roles or set escalation",
    ]


@pytest.mark.parametrize("text", ["", "\n", "# only a comment\n"])
def test_empty_file(text: str) -> None:
    assert policy_problems(text) == [
        "hotfix.yml: the file is empty — copy hotfix.example.yml to hotfix.yml and edit it, "
        "or set HOTFIX_CONFIG"
    ]


@pytest.mark.parametrize(("text", "shown"), [("- cto\n", "a list"), ("hotfix\n", "'hotfix'")])
def test_top_level_must_be_a_mapping(text: str, shown: str) -> None:
    assert policy_problems(text) == [
        "hotfix.yml: expected a mapping of keys (repository:, roles:, approvals:, …) at the top "
        f"level, got {shown}"
    ]


def test_a_section_that_is_not_a_mapping() -> None:
    problems = policy_problems(MINIMAL + "budgets: 15m\n")

    keys = "assessment, branch, fix, review, deploy, merge_back"
    assert problems == [f"hotfix.yml: budgets: expected a mapping with keys {keys}, got '15m'"]


def test_problems_name_the_file_as_given(tmp_path: Path) -> None:
    (tmp_path / "config").mkdir()
    path = write_policy("roles:\n  cto: [U0CTO]\n", name="config/policy.yml")

    with pytest.raises(ConfigError) as raised:
        load_policy(path)

    assert raised.value.problems[0] == "config/policy.yml: repository: required key is missing"


def test_policy_built_in_code_checks_role_references() -> None:
    with pytest.raises(ValidationError) as raised:
        Policy.model_validate(
            {
                "repository": {"remote": "git@github.com:acme/api.git"},
                "roles": {"engineering_manager": ["U0EM"], "oncall_lead": ["S0ONCALL"]},
            }
        )

    assert "approvals.critical: unknown role 'cto'" in str(raised.value)


# --------------------------------------------------------------------------------------------
# Environment settings
# --------------------------------------------------------------------------------------------


def test_settings_defaults() -> None:
    settings = load_settings()

    assert settings.slack_bot_token is None
    assert settings.slack_signing_secret is None
    assert settings.slack_app_token is None
    assert settings.github_token is None
    assert settings.slack_api_url == "https://slack.com/api/"
    assert settings.github_api_url == "https://api.github.com"
    assert settings.database_url == "sqlite:///hotfix.db"
    assert settings.hotfix_config == Path("hotfix.yml")
    assert settings.port == 3000
    assert settings.log_level == "INFO"


def test_settings_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-bot")
    monkeypatch.setenv("slack_signing_secret", "signing")  # names are case-insensitive
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_token")
    monkeypatch.setenv("HOTFIX_CONFIG", "/etc/hotfix/policy.yml")
    monkeypatch.setenv("PORT", "8080")
    monkeypatch.setenv("LOG_LEVEL", "debug")

    settings = load_settings()

    assert settings.slack_bot_token is not None
    assert settings.slack_bot_token.get_secret_value() == "xoxb-bot"
    assert settings.slack_signing_secret is not None
    assert settings.slack_signing_secret.get_secret_value() == "signing"
    assert settings.github_token is not None
    assert settings.github_token.get_secret_value() == "ghp_token"
    assert settings.hotfix_config == Path("/etc/hotfix/policy.yml")
    assert settings.port == 8080
    assert settings.log_level == "DEBUG"


def test_settings_from_dotenv_file_with_environment_winning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env_file = tmp_path / "bot.env"
    env_file.write_text(
        "SLACK_BOT_TOKEN=xoxb-from-file\nPORT=4000\nUNRELATED=ignored\n", encoding="utf-8"
    )
    monkeypatch.setenv("PORT", "5000")

    settings = load_settings(env_file)

    assert settings.slack_bot_token is not None
    assert settings.slack_bot_token.get_secret_value() == "xoxb-from-file"
    assert settings.port == 5000


def test_dotenv_in_working_directory_is_read_by_default(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("LOG_LEVEL=warning\n", encoding="utf-8")

    assert load_settings().log_level == "WARNING"
    assert load_settings(env_file=None).log_level == "INFO"


def test_empty_variables_count_as_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "")
    monkeypatch.setenv("PORT", "")

    settings = load_settings()

    assert settings.slack_bot_token is None
    assert settings.port == 3000


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("https://slack.com/api", "https://slack.com/api/"),
        ("https://slack.com/api/", "https://slack.com/api/"),
        ("http://127.0.0.1:8765/api", "http://127.0.0.1:8765/api/"),
    ],
)
def test_slack_api_url_always_ends_with_slash(
    monkeypatch: pytest.MonkeyPatch, given: str, expected: str
) -> None:
    monkeypatch.setenv("SLACK_API_URL", given)

    assert load_settings().slack_api_url == expected


def test_settings_built_in_code_are_normalized_too() -> None:
    settings = Settings(_env_file=None, slack_api_url="http://127.0.0.1:9/api")  # type: ignore[call-arg]

    assert settings.slack_api_url == "http://127.0.0.1:9/api/"


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("https://api.github.com/", "https://api.github.com"),
        ("https://github.example.com/api/v3/", "https://github.example.com/api/v3"),
    ],
)
def test_github_api_url_has_no_trailing_slash(
    monkeypatch: pytest.MonkeyPatch, given: str, expected: str
) -> None:
    monkeypatch.setenv("GITHUB_API_URL", given)

    assert load_settings().github_api_url == expected


def test_secrets_never_show(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-very-secret")
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "signing-very-secret")
    monkeypatch.setenv("SLACK_APP_TOKEN", "xapp-very-secret")
    monkeypatch.setenv("GITHUB_TOKEN", "ghp-very-secret")
    monkeypatch.setenv("DATABASE_URL", "postgresql://hotfix:db-very-secret@db/hotfix")

    settings = load_settings()

    for shown in (repr(settings), str(settings), f"{settings}"):
        assert "very-secret" not in shown


def test_invalid_port_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PORT", "abc")

    with pytest.raises(ConfigError) as raised:
        load_settings()

    assert str(raised.value) == "PORT: 'abc' is not a port number (1-65535)"


def test_every_invalid_variable_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PORT", "70000")
    monkeypatch.setenv("GITHUB_TIMEOUT", "0")
    monkeypatch.setenv("LOG_LEVEL", "loud")
    monkeypatch.setenv("SLACK_API_URL", "slack.com/api")

    with pytest.raises(ConfigError) as raised:
        load_settings()

    assert raised.value.problems == [
        "SLACK_API_URL: 'slack.com/api' is not an http(s) URL, such as https://slack.com/api/",
        "GITHUB_TIMEOUT: '0' is not a number of seconds (1-300)",
        "PORT: '70000' is not a port number (1-65535)",
        "LOG_LEVEL: 'loud' is not a log level (DEBUG, INFO, WARNING, ERROR, CRITICAL)",
    ]


BOT_TOKEN_MISSING = (
    "SLACK_BOT_TOKEN is not set: the Bot User OAuth Token (xoxb-…) "
    "from your Slack app's OAuth & Permissions page"
)
SIGNING_SECRET_MISSING = (
    "SLACK_SIGNING_SECRET is not set: Basic Information → App Credentials → Signing Secret "
    "in your Slack app's settings"
)


def test_settings_problems_for_an_empty_environment() -> None:
    assert settings_problems(load_settings()) == [
        BOT_TOKEN_MISSING,
        SIGNING_SECRET_MISSING + " (or set SLACK_APP_TOKEN to use Socket Mode)",
    ]


def test_settings_problems_in_http_only_deployments() -> None:
    assert settings_problems(load_settings(), socket_mode_allowed=False) == [
        BOT_TOKEN_MISSING,
        SIGNING_SECRET_MISSING,
    ]


def test_socket_mode_needs_no_signing_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-bot")
    monkeypatch.setenv("SLACK_APP_TOKEN", "xapp-app")
    settings = load_settings()

    assert settings_problems(settings) == []
    assert settings_problems(settings, socket_mode_allowed=False) == [SIGNING_SECRET_MISSING]


def test_http_mode_ready_to_serve(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-bot")
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "signing")

    assert settings_problems(load_settings()) == []


def test_wrong_kinds_of_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxp-user-token")
    monkeypatch.setenv("SLACK_APP_TOKEN", "xoxb-not-an-app-token")

    problems = settings_problems(load_settings())

    assert problems == [
        "SLACK_BOT_TOKEN does not start with xoxb-: use the Bot User OAuth Token from your "
        "Slack app's OAuth & Permissions page, not a user (xoxp-) or app-level (xapp-) token",
        "SLACK_APP_TOKEN does not start with xapp-: create an app-level token with the "
        "connections:write scope under Basic Information → App-Level Tokens in your Slack "
        "app's settings",
    ]
    assert not any("user-token" in p or "not-an-app-token" in p for p in problems)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("sqlite:///hotfix.db", "sqlite:///hotfix.db"),
        ("sqlite://", "sqlite://"),
        ("postgresql://hotfix:pw@db:5432/hotfix", "postgresql+psycopg://hotfix:pw@db:5432/hotfix"),
        ("postgresql+psycopg://hotfix@db/hotfix", "postgresql+psycopg://hotfix@db/hotfix"),
    ],
)
def test_database_url_accepted_and_normalized(
    monkeypatch: pytest.MonkeyPatch, given: str, expected: str
) -> None:
    monkeypatch.setenv("DATABASE_URL", given)
    settings = load_settings()

    assert database_url(settings) == expected
    assert not [p for p in settings_problems(settings) if p.startswith("DATABASE_URL")]


def test_unsupported_database_urls(monkeypatch: pytest.MonkeyPatch) -> None:
    examples = "use sqlite:///hotfix.db or postgresql+psycopg://user:password@host:5432/dbname"
    cases = {
        "mysql://u:secret@db/hotfix": (
            f"DATABASE_URL: the driver 'mysql' is not supported: {examples}"
        ),
        "postgres://u:secret@db/hotfix": (
            "DATABASE_URL: the driver 'postgres' is not supported "
            f"(write postgresql://, not postgres://): {examples}"
        ),
        "db host u:secret@": (f"DATABASE_URL: 'db host u:***@' is not a database URL: {examples}"),
    }
    for given, problem in cases.items():
        monkeypatch.setenv("DATABASE_URL", given)
        settings = load_settings()

        assert settings_problems(settings)[-1] == problem
        with pytest.raises(ConfigError) as raised:
            database_url(settings)
        assert raised.value.problems == [problem]


# --------------------------------------------------------------------------------------------
# GitHub App identity
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def app_key() -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def test_a_github_app_from_a_key_file_or_a_one_line_variable(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, app_key: str
) -> None:
    monkeypatch.setenv("GITHUB_APP_ID", "4242")
    monkeypatch.setenv("GITHUB_APP_INSTALLATION_ID", "77")
    key_file = tmp_path / "app.pem"
    key_file.write_text(app_key)
    monkeypatch.setenv("GITHUB_APP_PRIVATE_KEY_FILE", str(key_file))
    settings = load_settings()
    assert (settings.github_app_id, settings.github_app_installation_id) == (4242, 77)
    assert settings.github_app_pem() == app_key

    monkeypatch.delenv("GITHUB_APP_PRIVATE_KEY_FILE")
    monkeypatch.setenv("GITHUB_APP_PRIVATE_KEY", app_key.strip().replace("\n", "\\n"))
    settings = load_settings()
    assert settings.github_app_pem() == app_key
    assert "PRIVATE KEY" not in repr(settings)

    # The installation's id may be left out: the bot looks it up for the repository.
    monkeypatch.delenv("GITHUB_APP_INSTALLATION_ID")
    assert load_settings().github_app_installation_id is None


@pytest.mark.parametrize(
    ("variables", "problem"),
    [
        (
            {"GITHUB_APP_INSTALLATION_ID": "77"},
            "GITHUB_APP_ID: required with GITHUB_APP_INSTALLATION_ID (the App ID on the app's "
            "settings page)",
        ),
        (
            {"GITHUB_APP_ID": "4242", "GITHUB_APP_INSTALLATION_ID": "77"},
            "GITHUB_APP_PRIVATE_KEY or GITHUB_APP_PRIVATE_KEY_FILE: set exactly one (the .pem "
            "key GitHub generated for the app, or the path to it)",
        ),
        (
            {
                "GITHUB_APP_ID": "4242",
                "GITHUB_APP_INSTALLATION_ID": "77",
                "GITHUB_APP_PRIVATE_KEY": "ghp_this_is_a_token",
            },
            "GITHUB_APP_PRIVATE_KEY: not a PEM private key (expected the text between "
            "-----BEGIN … PRIVATE KEY----- and -----END … PRIVATE KEY-----, unencrypted)",
        ),
        (
            {
                "GITHUB_APP_ID": "4242",
                "GITHUB_APP_INSTALLATION_ID": "77",
                "GITHUB_APP_PRIVATE_KEY_FILE": "/nonexistent/app.pem",
            },
            "GITHUB_APP_PRIVATE_KEY_FILE: cannot read /nonexistent/app.pem: "
            "No such file or directory",
        ),
        (
            {"GITHUB_TOKEN": "ghp_x", "GITHUB_APP_ID": "4242"},
            "GITHUB_TOKEN and GITHUB_APP_ID are both set: the bot acts either with a token or "
            "as a GitHub App; unset one",
        ),
    ],
)
def test_an_incomplete_or_wrong_github_app_is_explained(
    monkeypatch: pytest.MonkeyPatch, app_key: str, variables: dict[str, str], problem: str
) -> None:
    for name, value in variables.items():
        monkeypatch.setenv(name, value.replace("{key}", app_key))
    with pytest.raises(ConfigError) as raised:
        load_settings()
    assert raised.value.problems == [problem]
    assert "ghp_this_is_a_token" not in str(raised.value)


def test_a_poll_interval_without_a_unit_is_refused_like_a_budget() -> None:
    problems = policy_problems(MINIMAL + "review:\n  poll_interval: 5\n")
    assert problems == [
        "hotfix.yml: review.poll_interval: expected a duration such as 15m or 1h30m, got 5"
    ]


# --------------------------------------------------------------------------------------------
# deploy: and monitoring: (procedure Phase 5)
# --------------------------------------------------------------------------------------------


def test_example_deploy_and_monitoring_sections_load() -> None:
    policy = load_policy(EXAMPLE)

    assert policy.deploy.command == ("./deploy.sh", "production", "{version}")
    assert policy.deploy.rollback == ("./deploy.sh", "production", "{previous_version}")
    assert policy.deploy.timeout == timedelta(minutes=15)
    assert policy.deploy.health_url == "https://api.example.com/health"
    assert policy.deploy.health_expect.status == 200
    assert policy.deploy.dashboards == {"Errors": "https://grafana.example.com/d/errors"}
    assert policy.deploy.allowed_roles == ("oncall_lead",)
    assert policy.monitoring.interval == timedelta(minutes=10)
    assert policy.monitoring.window == timedelta(minutes=30)


def test_deploy_defaults_and_second_scale_durations() -> None:
    policy = load_policy(write_policy(MINIMAL))
    assert not policy.deploy.configured
    assert policy.deploy.rollback is None
    assert policy.deploy.health_timeout == timedelta(minutes=2)
    assert (policy.monitoring.interval, policy.monitoring.window) == (
        timedelta(minutes=10),
        timedelta(minutes=30),
    )

    quick = load_policy(
        write_policy(
            MINIMAL
            + "deploy:\n  command: [./deploy.sh, '{version}']\n  timeout: 20s\n"
            + "  health_timeout: 5s\nmonitoring:\n  interval: 2s\n  window: 6s\n"
        )
    )
    assert quick.deploy.configured
    assert quick.deploy.rollback == ("./deploy.sh", "{previous_version}")
    assert quick.deploy.timeout == timedelta(seconds=20)
    assert (quick.monitoring.interval, quick.monitoring.window) == (
        timedelta(seconds=2),
        timedelta(seconds=6),
    )


def test_a_github_actions_deploy() -> None:
    policy = load_policy(
        write_policy(
            MINIMAL
            + "deploy:\n  github_actions: {workflow: deploy.yml, inputs: {version: '{version}'}}\n"
        )
    )
    actions = policy.deploy.github_actions
    assert actions is not None and policy.deploy.configured
    assert (actions.workflow, actions.ref, actions.inputs) == (
        "deploy.yml",
        "{version}",
        {"version": "{version}"},
    )


@pytest.mark.parametrize(
    ("section", "problem"),
    [
        (
            'deploy:\n  command: "./deploy.sh production {version}"\n',
            "deploy.command: './deploy.sh production {version}' is a shell string: give the "
            'command as a list of arguments, such as ["./deploy.sh", "production", "{version}"] '
            "(the bot never runs a shell)",
        ),
        (
            "deploy:\n  command: [./deploy.sh, '{verison}']\n",
            "deploy.command[1]: '{verison}' has an unknown placeholder {verison}: use "
            "{version}, {previous_version}, {ticket}, {hotfix_id}, {checkout}",
        ),
        (
            "deploy:\n  command: [./deploy.sh, '{version!r}']\n",
            "deploy.command[1]: '{version!r}': placeholders take no format, write {version}",
        ),
        ("deploy:\n  command: []\n", "deploy.command: must name a program to run"),
        (
            "deploy:\n  command: [x]\n  github_actions: {workflow: deploy.yml}\n",
            "deploy: give either command or github_actions, not both",
        ),
        ("deploy:\n  timeout: 15\n", "deploy.timeout: expected a duration such as 15m"),
        (
            "deploy:\n  health_url: api.example.com/health\n",
            "deploy.health_url: 'api.example.com/health' is not an http(s) URL",
        ),
        ("deploy:\n  health_expect: {status: 999}\n", "deploy.health_expect.status"),
        (
            "deploy:\n  allowed_roles: [oncall]\n",
            "deploy.allowed_roles[0]: unknown role 'oncall'",
        ),
        ("deploy:\n  comand: [x]\n", "deploy.comand: unknown key (did you mean 'command'?)"),
        (
            "deploy:\n  github_actions: {workflow: 'deploy.yml; rm -rf /'}\n",
            "deploy.github_actions.workflow: 'deploy.yml; rm -rf /' is not a workflow file name",
        ),
        (
            "deploy:\n  dashboards: {Errors: 'ftp://grafana'}\n",
            "deploy.dashboards: 'ftp://grafana' is not an http(s) URL",
        ),
        (
            "monitoring:\n  interval: 40m\n",
            "monitoring: interval (40m) is longer than window (30m): no ping would be posted",
        ),
        ("monitoring:\n  window: half an hour\n", "monitoring.window:"),
    ],
)
def test_deploy_and_monitoring_mistakes_are_explained(section: str, problem: str) -> None:
    problems = policy_problems(MINIMAL + section)
    assert len(problems) == 1, problems
    assert problem in problems[0]


def test_the_announcement_webhook_must_be_an_http_url() -> None:
    problems = policy_problems(MINIMAL + "announce:\n  webhook_url: ftp://status\n")
    assert problems == [
        "hotfix.yml: announce.webhook_url: 'ftp://status' is not an http(s) URL, such as "
        "https://status.example.com/hooks/hotfix"
    ]
    assert policy_problems(MINIMAL + "announce:\n  attempts: 0\n") != []
