"""What went wrong, in one line: the adapter's errors and the reasons they give.

Every failed git operation is a :class:`GitOperationFailed` naming what was attempted and one
redacted line saying why, for the people in the Slack thread; the subclasses are the failures a
caller acts on (a taken branch, a tag on another commit, a merge conflict, a push the remote
refused for a reason a retry may fix). The reasons are read from what git wrote on stderr and
from a push's report: a timeout, credentials, a missing repository, an unreachable host, or
git's own ``fatal:`` line.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Final

from workflows.git_repo.redaction import redact


class GitOperationFailed(Exception):
    """A git operation that did not happen, with one human line saying why.

    ``operation`` names what was attempted ("create branch hotfix/SEC-1-x"), ``reason`` is one
    line for the people in the Slack thread ("remote rejected: protected branch"), ``detail``
    is what git said (redacted) for the logs.
    """

    def __init__(self, operation: str, reason: str, *, detail: str = "") -> None:
        self.operation = redact(operation)
        self.reason = _one_line(redact(reason))
        self.detail = redact(detail)
        super().__init__(self.operation, self.reason)

    def __str__(self) -> str:
        return f"{self.operation}: {self.reason}"


class BranchTaken(GitOperationFailed):
    """The branch exists on the remote and does not contain the tag: choose another name."""

    def __init__(self, name: str, commit: str = "") -> None:
        super().__init__(
            f"create branch {name}",
            f"branch {name} already exists on the remote and does not start at the tag",
            detail=f"{name} is at {commit}" if commit else "",
        )
        self.name = name
        self.commit = commit


class TagConflict(GitOperationFailed):
    """The tag exists on the remote on another commit; it is never moved."""

    def __init__(self, tag: str, existing_commit: str, wanted_commit: str = "") -> None:
        super().__init__(
            f"tag {tag}",
            f"tag {tag} exists on another commit",
            detail=f"{tag} is on {existing_commit}, wanted {wanted_commit or 'another commit'}",
        )
        self.tag = tag
        self.existing_commit = existing_commit
        self.wanted_commit = wanted_commit


class MergeConflict(GitOperationFailed):
    """Merging the hotfix into ``target`` conflicts in ``files``; a person has to resolve it."""

    def __init__(self, target: str, files: Sequence[str], *, source: str = "") -> None:
        listed = ", ".join(files[:5]) + (f" and {len(files) - 5} more" if len(files) > 5 else "")
        super().__init__(
            f"merge {source} into {target}" if source else f"merge into {target}",
            f"conflicts in {listed}",
            detail="\n".join(files),
        )
        self.target = target
        self.source = source
        self.files = tuple(files)


class _PushRejected(GitOperationFailed):
    """A push the remote refused for a ref-level reason the caller may recover from."""

    def __init__(self, operation: str, reason: str, *, kind: str, detail: str = "") -> None:
        super().__init__(operation, reason, detail=detail)
        self.kind = kind


def _one_line(text: str, limit: int = 300) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


# --------------------------------------------------------------------------- failure reasons

_TIMEOUT_MARKS: Final = ("Timeout: the command", "process killed because it timed out")
_AUTH_MARKS: Final = (
    "authentication failed",
    "terminal prompts disabled",
    "could not read username",
    "could not read password",
    "permission denied (publickey",
    "access denied",
    "invalid username or password",
    "the requested url returned error: 401",
    "the requested url returned error: 403",
)
_NOT_FOUND_MARKS: Final = (
    "does not appear to be a git repository",
    "repository not found",
    "the requested url returned error: 404",
)
_UNREACHABLE_MARKS: Final = (
    "could not read from remote repository",
    "could not resolve host",
    "failed to connect",
    "connection refused",
    "connection timed out",
    "network is unreachable",
    "unable to access",
    "no route to host",
    "unable to connect",
    "the remote end hung up unexpectedly",
)
# What the people in the thread read (one line each, with what to check).
AUTH_FAILED: Final = (
    "git authentication failed: the remote refused the bot's git credentials (check "
    "`repository.remote` and the git credentials on the bot's host)"
)
HOST_KEY_UNKNOWN: Final = (
    "the remote's SSH host key is not trusted yet: add it to known_hosts on the bot's host"
)
NOT_FOUND: Final = (
    "the remote repository was not found: check `repository.remote`, and that the bot's git "
    "credentials can see it"
)
UNREACHABLE: Final = "could not reach the remote: check that the bot's host can reach it"


def _reason(stderr: str, timeout: float, *, timed_out: bool = False, status: int = 0) -> str:
    """One line for a failed git call, from what it wrote on stderr."""
    lowered = stderr.lower()
    if timed_out or any(mark.lower() in lowered for mark in _TIMEOUT_MARKS):
        return f"timed out after {timeout:g} s"
    if "host key verification failed" in lowered:
        return HOST_KEY_UNKNOWN
    if any(mark in lowered for mark in _AUTH_MARKS):
        return AUTH_FAILED
    if any(mark in lowered for mark in _NOT_FOUND_MARKS):
        return NOT_FOUND
    if any(mark in lowered for mark in _UNREACHABLE_MARKS):
        return UNREACHABLE
    for line in stderr.splitlines():
        text = line.strip()
        for prefix in ("fatal:", "error:"):
            if text.lower().startswith(prefix):
                return text[len(prefix) :].strip() or "git failed"
    first = next((line.strip() for line in stderr.splitlines() if line.strip()), "")
    return first or f"git exited with status {status}"


def _push_reason(
    summaries: Sequence[str],
    remote_lines: Sequence[str],
    detail: str,
    timeout: float,
    *,
    timed_out: bool,
) -> tuple[str | None, str]:
    """(kind of ref-level rejection or None, one line) for a failed push."""
    text = " ".join(summaries)
    if "[remote rejected]" in text or "[remote failure]" in text:
        said = [line for line in remote_lines if "error" in line.lower()] or list(remote_lines)
        if said:
            message = said[0]
            message = re.sub(r"(?i)^error:\s*", "", message)
        else:
            match = re.search(r"\[remote (?:rejected|failure)\]\s*\((.*)\)", text)
            message = match.group(1) if match else "declined"
        return None, f"remote rejected: {message}"
    if "(stale info)" in text:
        return "stale", "the branch changed on the remote meanwhile; retry"
    if "(already exists)" in text:
        return "exists", "already exists on the remote"
    if "(non-fast-forward)" in text or "(fetch first)" in text:
        return "non-fast-forward", "someone pushed to the branch meanwhile; retry"
    if "[rejected]" in text:
        match = re.search(r"\[rejected\]\s*\((.*)\)", text)
        return None, f"rejected: {match.group(1) if match else 'by the remote'}"
    reason = _reason(detail, timeout, timed_out=timed_out)
    if reason.startswith("git exited") or not (detail.strip() or timed_out):
        reason = "the remote did not confirm the push; check the branch on the remote, then retry"
    return None, reason
