"""The building blocks of the policy file's sections: a strict frozen section, durations as
people type them, role references checked against the file's roles, http(s) URLs, and how a
value is shown back in a problem line. The ``workflows.config_*`` section modules share
them."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import timedelta
from typing import Annotated, Any, Final

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, ValidationInfo

from workflows.durations import parse_duration

KNOWN_ROLES_CONTEXT: Final = "known_roles"


def http_url(value: str, name: str) -> str:
    url = value.strip()
    if not re.match(r"https?://[^/\s]+", url):
        raise ValueError(f"{url!r} is not an http(s) URL, such as {name}")
    return url


def role_reference(value: str, info: ValidationInfo) -> str:
    # load_policy passes the role names defined in the file, so a misspelt role is reported
    # at its exact position even when other parts of the file are wrong too.
    known = (info.context or {}).get(KNOWN_ROLES_CONTEXT)
    if known is not None and value not in known:
        raise ValueError(unknown_role(value, known))
    return value


def unknown_role(role: str, known: Iterable[str]) -> str:
    return f"unknown role {role!r} (known roles: {', '.join(sorted(known)) or 'none'})"


def non_empty_unique(what: str) -> AfterValidator:
    def check(values: tuple[str, ...]) -> tuple[str, ...]:
        if not values:
            raise ValueError(f"must list at least one {what}")
        repeated = sorted({v for v in values if values.count(v) > 1}, key=values.index)
        if repeated:
            listed = ", ".join(repr(v) for v in repeated)
            raise ValueError(f"{listed} {'is' if len(repeated) == 1 else 'are'} listed twice")
        return values

    return AfterValidator(check)


RoleReference = Annotated[str, AfterValidator(role_reference)]


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _duration(value: object) -> timedelta:
    """A duration as people type it (15m, 1h30m); a bare number has no unit and is refused."""
    if isinstance(value, str):
        return parse_duration(value)
    if isinstance(value, timedelta):
        return value
    raise ValueError(f"expected a duration such as 15m or 1h30m, got {shown(value)}")


Duration = Annotated[timedelta, BeforeValidator(_duration)]


def shown(value: Any) -> str:
    """A value as the person wrote it in YAML, briefly."""
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "a list"
    return str(value)
