"""Errors the people using the bot are meant to read."""

from __future__ import annotations


class DomainError(Exception):
    """A refusal or failure with a message written for the person who caused it.

    The Slack layer shows ``user_message`` to that person (ephemeral) and nothing else
    happens: domain errors are raised before any change is committed.
    """

    def __init__(self, user_message: str) -> None:
        super().__init__(user_message)
        self.user_message = user_message


class HotfixNotFound(DomainError):
    def __init__(self, reference: object) -> None:
        super().__init__(f"There is no hotfix {reference}. `/hotfix help` shows what you can do.")
