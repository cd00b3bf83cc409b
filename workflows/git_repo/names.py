"""Names git will be given: branch and tag names, commit ids and messages, checked first.

Everything a person typed or the policy made up is checked here before it reaches a git
command line: branch and tag names are held to a stricter rule than git's (and to git's own
``check-ref-format``), commit ids must look like one, and messages must not be empty.
"""

from __future__ import annotations

import functools
import re
from typing import Final

import git

MAX_BRANCH_NAME: Final = 200
_ABBREVIATED_SHA: Final = re.compile(r"[0-9a-fA-F]{7,64}")
_REF_CHARACTERS: Final = re.compile(r"[A-Za-z0-9._/-]+")


def validate_branch_name(name: str) -> str:
    """Return ``name`` if it is a safe branch name; raise ``ValueError`` saying why not.

    Stricter than git: ASCII letters, digits and ``. _ / -`` only, at most 200 characters, and
    ``git check-ref-format --branch`` must accept it too.
    """
    _check_ref_name(name, "branch")
    if name == "HEAD" or name.startswith("refs/"):
        raise ValueError(f"{name!r} is not a valid branch name: it would be confused with a ref")
    if not _git_accepts(("check-ref-format", "--branch", name)):
        raise ValueError(f"{name!r} is not a valid branch name: git check-ref-format refuses it")
    return name


def validate_tag_name(name: str) -> str:
    """Return ``name`` if it is a safe tag name (same rules as branches); raise ``ValueError``."""
    _check_ref_name(name, "tag")
    if name == "HEAD" or not _git_accepts(("check-ref-format", f"refs/tags/{name}")):
        raise ValueError(f"{name!r} is not a valid tag name: git check-ref-format refuses it")
    return name


def _check_ref_name(name: str, kind: str) -> None:
    problem = None
    if not isinstance(name, str) or not name:
        problem = "it is empty"
    elif len(name) > MAX_BRANCH_NAME:
        problem = f"it is longer than {MAX_BRANCH_NAME} characters"
    elif not _REF_CHARACTERS.fullmatch(name):
        problem = "use only ASCII letters, digits and . _ / -"
    elif name.startswith("-"):
        problem = "it must not start with '-'"
    elif name.startswith("/"):
        problem = "it must not start with '/'"
    elif name.endswith("/"):
        problem = "it must not end with '/'"
    elif name.endswith(".lock"):
        problem = "it must not end with '.lock'"
    elif ".." in name:
        problem = "it must not contain '..'"
    elif "//" in name:
        problem = "it must not contain '//'"
    if problem:
        raise ValueError(f"{name!r} is not a valid {kind} name: {problem}")


@functools.lru_cache(maxsize=4096)
def _git_accepts(args: tuple[str, ...]) -> bool:
    status, _, _ = git.Git().execute(
        ["git", *args],
        with_exceptions=False,
        with_extended_output=True,
        kill_after_timeout=30,
    )
    return status == 0


def _commit_id(value: str) -> str:
    if not _ABBREVIATED_SHA.fullmatch(value):
        raise ValueError(f"{value!r} is not a commit id (7 to 64 hexadecimal digits)")
    return value.lower()


def _message(value: str, what: str) -> str:
    if not value or not value.strip():
        raise ValueError(f"the {what} message must not be empty")
    return value
