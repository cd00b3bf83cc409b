"""The one error a person setting the bot up sees: :class:`ConfigError`. Both loaders, the
environment's (``workflows.config_settings``) and the policy file's
(``workflows.config_loader``), turn every mistake into one whose lines say where the mistake
is and what to write instead, so nobody has to read a traceback."""

from __future__ import annotations

from collections.abc import Sequence


class ConfigError(Exception):
    """Configuration that cannot be used; ``problems`` holds one line per mistake."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems: list[str] = list(problems)
        super().__init__(self.problems)

    def __str__(self) -> str:
        return "\n".join(self.problems)
