"""The process's environment settings: secrets, URLs, the database, the port and logging,
read from environment variables or a ``.env`` file (:func:`load_settings`), with
:func:`database_url` (the URL to connect with) and :func:`settings_problems` (what must be
set before the bot can serve)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Final, Literal

from cryptography.hazmat.primitives import serialization
from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from pydantic_settings.exceptions import SettingsError
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from workflows.config_errors import ConfigError
from workflows.config_fields import http_url

_LOG_LEVELS: Final = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
_SECRET_FIELDS: Final = frozenset(
    {
        "slack_bot_token",
        "slack_signing_secret",
        "slack_app_token",
        "github_token",
        "github_app_private_key",
    }
)
_SUPPORTED_DRIVERS: Final = ("sqlite", "postgresql", "postgresql+psycopg")
_DATABASE_EXAMPLES: Final = (
    "use sqlite:///hotfix.db or postgresql+psycopg://user:password@host:5432/dbname"
)


class Settings(BaseSettings):
    """Process settings from environment variables, or a ``.env`` file (the environment wins).

    Variable names are case-insensitive and empty values count as unset. Secrets are
    ``SecretStr``: they print as ``**********`` in reprs, logs and error messages.
    """

    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        case_sensitive=False,
        env_ignore_empty=True,
        extra="ignore",
        frozen=True,
    )

    slack_bot_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    slack_api_url: str = "https://slack.com/api/"
    github_token: SecretStr | None = None
    github_api_url: str = "https://api.github.com"
    github_timeout: int = 15  # seconds for one GitHub request
    # Or a GitHub App: its id, its private key and (optional: looked up otherwise) the id of
    # its installation on the repository's account.
    github_app_id: int | None = None
    github_app_installation_id: int | None = None
    github_app_private_key: SecretStr | None = None
    github_app_private_key_file: Path | None = None
    # Not a SecretStr (it is usually not secret), but it may hold a password: keep it out of reprs.
    database_url: str = Field(default="sqlite:///hotfix.db", repr=False)
    hotfix_config: Path = Path("hotfix.yml")
    port: int = 3000
    host: str = "0.0.0.0"  # the address to listen on (the sandbox: 127.0.0.1 only)
    log_level: str = "INFO"
    log_format: Literal["json", "text"] = "json"
    # Where Slack can reach the bot over HTTPS (the Home tab's chart image); optional.
    public_url: str | None = None

    @field_validator("slack_api_url")
    @classmethod
    def _slack_api_url_ends_with_slash(cls, value: str) -> str:
        # slack_sdk joins method names onto this URL; without the trailing slash the last
        # path segment is silently replaced ("…/api" + "chat.postMessage" → "…/chat.postMessage").
        url = http_url(value, "https://slack.com/api/")
        return url if url.endswith("/") else url + "/"

    @field_validator("github_api_url")
    @classmethod
    def _github_api_url_without_slash(cls, value: str) -> str:
        return http_url(value, "https://api.github.com").rstrip("/")

    @model_validator(mode="after")
    def _one_complete_github_identity(self) -> Settings:
        """A token, or a complete GitHub App (an id and one readable key) — not both."""
        app = {
            "GITHUB_APP_ID": self.github_app_id,
            "GITHUB_APP_INSTALLATION_ID": self.github_app_installation_id,
            "GITHUB_APP_PRIVATE_KEY": self.github_app_private_key,
            "GITHUB_APP_PRIVATE_KEY_FILE": self.github_app_private_key_file,
        }
        given = [name for name, value in app.items() if value is not None]
        if not given:
            return self
        if self.github_token is not None:
            raise ValueError(
                "GITHUB_TOKEN and " + ", ".join(given) + " are both set: the bot acts either "
                "with a token or as a GitHub App; unset one"
            )
        if self.github_app_id is None:
            raise ValueError(
                f"GITHUB_APP_ID: required with {given[0]} (the App ID on the app's settings page)"
            )
        if (self.github_app_private_key is None) == (self.github_app_private_key_file is None):
            raise ValueError(
                "GITHUB_APP_PRIVATE_KEY or GITHUB_APP_PRIVATE_KEY_FILE: set exactly one (the "
                ".pem key GitHub generated for the app, or the path to it)"
            )
        self.github_app_pem()  # readable and a private key, or a clear message now
        return self

    def github_app_pem(self) -> str | None:
        """The GitHub App's private key (PEM), from the variable or the file; None without one.

        Raises:
            ValueError: the file cannot be read, or the text is not a PEM private key.
        """
        if self.github_app_private_key_file is not None:
            name = "GITHUB_APP_PRIVATE_KEY_FILE"
            try:
                pem = self.github_app_private_key_file.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as error:
                reason = getattr(error, "strerror", None) or type(error).__name__
                raise ValueError(
                    f"{name}: cannot read {self.github_app_private_key_file}: {reason}"
                ) from None
        elif self.github_app_private_key is not None:
            name = "GITHUB_APP_PRIVATE_KEY"
            pem = self.github_app_private_key.get_secret_value()
            if "\n" not in pem and "\\n" in pem:  # one line, as .env files often hold it
                pem = pem.replace("\\n", "\n")
        else:
            return None
        try:
            serialization.load_pem_private_key(pem.strip().encode(), password=None)
        except (ValueError, TypeError):
            raise ValueError(
                f"{name}: not a PEM private key (expected the text between "
                "-----BEGIN … PRIVATE KEY----- and -----END … PRIVATE KEY-----, unencrypted)"
            ) from None
        return pem.strip() + "\n"

    @field_validator("github_timeout", mode="before")
    @classmethod
    def _timeout_seconds(cls, value: object) -> int:
        text = str(value).strip()
        if isinstance(value, bool) or not text.isdigit() or not 1 <= int(text) <= 300:
            raise ValueError(f"{text!r} is not a number of seconds (1-300)")
        return int(text)

    @field_validator("port", mode="before")
    @classmethod
    def _port_number(cls, value: object) -> int:
        text = str(value).strip()
        if isinstance(value, bool) or not text.isdigit() or not 1 <= int(text) <= 65535:
            raise ValueError(f"{text!r} is not a port number (1-65535)")
        return int(text)

    @field_validator("log_level", mode="before")
    @classmethod
    def _known_log_level(cls, value: object) -> str:
        level = str(value).strip().upper()
        if level not in _LOG_LEVELS:
            raise ValueError(f"{value!r} is not a log level ({', '.join(_LOG_LEVELS)})")
        return level


def load_settings(env_file: str | Path | None = ".env") -> Settings:
    """Read :class:`Settings` from the environment and ``env_file`` (ignored when missing).

    Pass ``env_file=None`` to read the environment only.

    Raises:
        ConfigError: one line per invalid variable, e.g.
            ``PORT: 'abc' is not a port number (1-65535)``.
    """
    try:
        return Settings(_env_file=env_file)  # type: ignore[call-arg]
    except ValidationError as error:
        problems = []
        for detail in error.errors():
            field = str(detail["loc"][0]) if detail["loc"] else ""
            name = field.upper()
            if detail["type"] == "value_error" and not name:  # names its variables itself
                problems.append(str(detail["ctx"]["error"]))
            elif detail["type"] == "value_error":
                problems.append(f"{name}: {detail['ctx']['error']}")
            elif field in _SECRET_FIELDS:
                problems.append(f"{name}: {detail['msg']}")
            else:
                problems.append(f"{name}: {detail['input']!r} is not valid: {detail['msg']}")
        raise ConfigError(problems) from None
    except SettingsError as error:
        raise ConfigError([f"{env_file}: {error}"]) from None


def _hide_password(url: str) -> str:
    # "user:password@" → "user:***@", also in strings too malformed for make_url to parse.
    return re.sub(r":[^:]*@", ":***@", url)


def _database_url_problem(url: str) -> str | None:
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        return f"DATABASE_URL: {_hide_password(url)!r} is not a database URL: {_DATABASE_EXAMPLES}"
    if parsed.drivername not in _SUPPORTED_DRIVERS:
        hint = " (write postgresql://, not postgres://)" if parsed.drivername == "postgres" else ""
        return (
            f"DATABASE_URL: the driver {parsed.drivername!r} is not supported{hint}: "
            f"{_DATABASE_EXAMPLES}"
        )
    return None


def database_url(settings: Settings) -> str:
    """The SQLAlchemy URL to connect with; ``postgresql://`` becomes ``postgresql+psycopg://``.

    Raises:
        ConfigError: DATABASE_URL cannot be parsed or names an unsupported driver.
    """
    problem = _database_url_problem(settings.database_url)
    if problem is not None:
        raise ConfigError([problem])
    parsed = make_url(settings.database_url)
    if parsed.drivername != "postgresql":
        return settings.database_url
    return parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)


def settings_problems(settings: Settings, *, socket_mode_allowed: bool = True) -> list[str]:
    """What must be set or fixed before the bot can serve, one instruction per line.

    With SLACK_APP_TOKEN set and ``socket_mode_allowed``, the bot runs in Socket Mode, where
    Slack does not sign requests, so SLACK_SIGNING_SECRET is not needed. Otherwise the bot
    serves over HTTP and needs it. An empty list means ready to serve.
    """
    problems: list[str] = []
    bot_token = settings.slack_bot_token
    app_token = settings.slack_app_token
    if bot_token is None:
        problems.append(
            "SLACK_BOT_TOKEN is not set: the Bot User OAuth Token (xoxb-…) "
            "from your Slack app's OAuth & Permissions page"
        )
    elif not bot_token.get_secret_value().startswith("xoxb-"):
        problems.append(
            "SLACK_BOT_TOKEN does not start with xoxb-: use the Bot User OAuth Token "
            "from your Slack app's OAuth & Permissions page, not a user (xoxp-) "
            "or app-level (xapp-) token"
        )
    if app_token is not None and not app_token.get_secret_value().startswith("xapp-"):
        problems.append(
            "SLACK_APP_TOKEN does not start with xapp-: create an app-level token with the "
            "connections:write scope under Basic Information → App-Level Tokens in your "
            "Slack app's settings"
        )
    socket_mode = socket_mode_allowed and app_token is not None
    if not socket_mode and settings.slack_signing_secret is None:
        hint = " (or set SLACK_APP_TOKEN to use Socket Mode)" if socket_mode_allowed else ""
        problems.append(
            "SLACK_SIGNING_SECRET is not set: Basic Information → App Credentials → "
            f"Signing Secret in your Slack app's settings{hint}"
        )
    database_problem = _database_url_problem(settings.database_url)
    if database_problem is not None:
        problems.append(database_problem)
    return problems
