"""Durations as people type them: ``90s``, ``15m``, ``1h30m``, ``45 minutes``, ``1 hour``."""

from __future__ import annotations

import re
from datetime import timedelta

__all__ = ["MAX_DURATION", "format_duration", "parse_duration"]

#: The longest duration accepted anywhere a person types one.
MAX_DURATION = timedelta(days=7)

_ACCEPTED = "use a number with s, m or h, such as 90s, 15m, 1h30m"

_UNIT_SECONDS: dict[str, int] = {
    **dict.fromkeys(("h", "hr", "hrs", "hour", "hours"), 3600),
    **dict.fromkeys(("m", "min", "mins", "minute", "minutes"), 60),
    **dict.fromkeys(("s", "sec", "secs", "second", "seconds"), 1),
}

# "1 hour, 30 minutes" and "1 hour and 30 minutes" read the same as "1 hour 30 minutes".
_SEPARATOR = re.compile(r"\s*(?:,|\band\b)\s*")
_DURATION = re.compile(r"(?:\s*[0-9]+\s*[a-z]+)+\s*")
_PART = re.compile(r"([0-9]+)\s*([a-z]+)")


def parse_duration(text: str) -> timedelta:
    """Parse a duration such as ``90s``, ``15m``, ``1h30m`` or ``45 minutes``.

    Units are hours, minutes and seconds, each at most once, written as a letter (``h``,
    ``m``, ``s``) or a word (``hr``, ``hour(s)``, ``min(s)``, ``minute(s)``, ``sec(s)``,
    ``second(s)``). Case and whitespace do not matter.

    Raises:
        ValueError: the text is empty, zero, negative, longer than 7 days, or not a
            duration; the message says what is accepted.
    """
    stripped = text.strip()
    if not stripped:
        raise ValueError(f"an empty value is not a duration: {_ACCEPTED}")
    shown = repr(stripped)
    normalized = _SEPARATOR.sub(" ", stripped.lower())
    if normalized.startswith("-"):
        raise ValueError(f"{shown} is not a duration: it must be longer than zero; {_ACCEPTED}")
    if normalized.isdigit():
        raise ValueError(f"{shown} has no unit: {_ACCEPTED}")
    if not _DURATION.fullmatch(normalized):
        raise ValueError(f"{shown} is not a duration: {_ACCEPTED}")

    seconds = 0
    seen: set[int] = set()
    for number, unit in _PART.findall(normalized):
        unit_seconds = _UNIT_SECONDS.get(unit)
        if unit_seconds is None or unit_seconds in seen:
            raise ValueError(f"{shown} is not a duration: {_ACCEPTED}")
        seen.add(unit_seconds)
        seconds += int(number) * unit_seconds

    if seconds == 0:
        raise ValueError(f"{shown} is not a duration: it must be longer than zero; {_ACCEPTED}")
    if seconds > MAX_DURATION.total_seconds():
        raise ValueError(f"{shown} is too long: the longest accepted duration is 7 days (168h)")
    return timedelta(seconds=seconds)


def format_duration(duration: timedelta) -> str:
    """Format a duration compactly: ``1h30m``, ``45m``, ``1m30s``; zero is ``0s``.

    Fractions of a second are dropped. Hours are not folded into days (``48h``), so the
    result always parses back with :func:`parse_duration` (when it is not zero).

    Raises:
        ValueError: the duration is negative.
    """
    if duration < timedelta(0):
        raise ValueError(f"a negative duration cannot be formatted: {duration}")
    total = duration // timedelta(seconds=1)
    hours, rest = divmod(total, 3600)
    minutes, seconds = divmod(rest, 60)
    pieces = ((hours, "h"), (minutes, "m"), (seconds, "s"))
    return "".join(f"{value}{unit}" for value, unit in pieces if value) or "0s"
