"""Real git repositories for tests: a bare ``origin`` shaped like a product that ships hotfixes.

The origin is written in one ``git fast-import`` run (a few milliseconds), so every test gets
its own fresh copy:

* ``main``: ten commits, tagged v1.0.0 … v1.2.3 (some annotated, some lightweight, and v1.0.10
  to prove versions are compared as numbers), v1.2.3 on its head;
* ``develop``: main plus two commits; ``nightly-2026`` and the pre-release ``v1.10.0-rc.2``;
* ``release/1.3.0``: branched from develop, one commit, pre-release ``v1.3.0-rc.1``;
* tags that are no production release: ``v01.2.4``, ``v1.2``, ``v2.0``;
* ``release-1.9.0`` / ``release-2.0.0`` / ``release-2.0.0-rc.1`` for a second tag pattern.

Use the ``origin`` fixture (``pytest_plugins = ("tests.git_fixtures",)`` or import it), or
:func:`build_origin` directly. :func:`commit_on` adds commits to a branch of the origin.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pytest

AUTHOR = ("Dana Developer", "dana@example.com")
TAGGER = ("Release Manager", "releases@example.com")
BASE_TIME = 1_767_225_600  # 2026-01-01T00:00:00Z

AUTH_PY = "def authenticate(token):\n    return validate_token(token)\n"


def git_environment() -> dict[str, str]:
    """An environment for test-side git calls: fixed identity, no user or system config."""
    env = dict(os.environ)
    env.update(
        {
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": os.devnull,
            "GIT_AUTHOR_NAME": AUTHOR[0],
            "GIT_AUTHOR_EMAIL": AUTHOR[1],
            "GIT_COMMITTER_NAME": AUTHOR[0],
            "GIT_COMMITTER_EMAIL": AUTHOR[1],
            "GIT_TERMINAL_PROMPT": "0",
            "LC_ALL": "C",
        }
    )
    return env


def run_git(
    cwd: Path,
    *args: str,
    input: str | bytes | None = None,
    env: Mapping[str, str] | None = None,
    strip: bool = True,
) -> str:
    """Run git in ``cwd`` and return its stdout (stripped unless ``strip`` is False); raise on
    failure with git's stderr."""
    data = input.encode() if isinstance(input, str) else input
    result = subprocess.run(
        ["git", *args],
        cwd=cwd,
        input=data,
        capture_output=True,
        env=dict(env) if env is not None else git_environment(),
        timeout=60,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(
            f"git {' '.join(args)} failed ({result.returncode}): {result.stderr.decode().strip()}"
        )
    output = result.stdout.decode()
    return output.strip() if strip else output


@dataclass
class Origin:
    """A bare repository standing in for the team's remote, with ways to look inside it."""

    path: Path
    clock: list[int] = field(default_factory=lambda: [BASE_TIME + 100_000])

    @property
    def url(self) -> str:
        """What to give :class:`workflows.git_repo.Repository` as the remote."""
        return str(self.path)

    def git(self, *args: str, input: str | None = None) -> str:
        """Run git inside the bare origin."""
        return run_git(self.path, *args, input=input)

    def head(self, branch: str) -> str | None:
        """The commit of ``branch`` on the origin, or None."""
        try:
            return self.git("rev-parse", "--verify", "--quiet", f"refs/heads/{branch}")
        except RuntimeError:
            return None

    def branches(self) -> dict[str, str]:
        """Every branch of the origin: name → commit."""
        output = self.git("for-each-ref", "--format=%(refname:strip=2) %(objectname)", "refs/heads")
        return dict(line.split(" ", 1) for line in output.splitlines())

    def tag_commit(self, tag: str) -> str:
        """The commit ``tag`` points to (peeled)."""
        return self.git("rev-parse", "--verify", f"refs/tags/{tag}^{{commit}}")

    def object_type(self, ref: str) -> str:
        """``git cat-file -t`` of ``ref``: "tag" for an annotated tag, "commit" otherwise."""
        return self.git("cat-file", "-t", ref)

    def tag_message(self, tag: str) -> str:
        """The message of the annotated tag ``tag``."""
        return self.git("for-each-ref", "--format=%(contents)", f"refs/tags/{tag}")

    def parents(self, commit: str) -> list[str]:
        """The parents of ``commit``, in order."""
        return self.git("rev-list", "--parents", "-n", "1", commit).split()[1:]

    def message(self, commit: str) -> str:
        """The full message of ``commit``."""
        return self.git("log", "-1", "--format=%B", commit)

    def read(self, revision: str, path: str) -> str:
        """The content of ``path`` at ``revision``."""
        return run_git(self.path, "show", f"{revision}:{path}", strip=False)

    def commit_on(
        self,
        branch: str,
        files: Mapping[str, str | None],
        message: str,
        *,
        start: str | None = None,
    ) -> str:
        """Commit ``files`` (path → text; None deletes) on top of ``branch`` and return the new
        commit. With ``start`` (any revision) the branch is created there first."""
        return commit_on(self, branch, files, message, start=start)

    def protect(self, branch: str, message: str = "protected branch") -> None:
        """Install a pre-receive hook that refuses every push to ``branch`` with ``message``."""
        hook = self.path / "hooks" / "pre-receive"
        hook.write_text(
            "#!/bin/sh\n"
            "status=0\n"
            "while read old new ref; do\n"
            f'  if [ "$ref" = "refs/heads/{branch}" ]; then\n'
            f'    echo "{message}" >&2\n'
            "    status=1\n"
            "  fi\n"
            "done\n"
            "exit $status\n"
        )
        hook.chmod(0o755)

    def next_time(self) -> int:
        """A commit time one minute after the previous one (commits stay in order)."""
        self.clock[0] += 60
        return self.clock[0]


def commit_on(
    origin: Origin | Path | str,
    branch: str,
    files: Mapping[str, str | None],
    message: str,
    *,
    start: str | None = None,
) -> str:
    """Commit ``files`` on the origin's ``branch`` as if someone had pushed it; return the sha.

    Built with plumbing on a temporary index right in the bare origin (no clone, no hooks):
    read the branch's tree, add the blobs, write the tree, commit, and move the branch with a
    compare-and-swap ``update-ref``.
    """
    repo = origin if isinstance(origin, Origin) else Origin(Path(origin))
    ref = f"refs/heads/{branch}"
    if start is not None:
        parent = repo.git("rev-parse", "--verify", f"{start}^{{commit}}")
        old = repo.head(branch) or ""
    else:
        found = repo.head(branch)
        if found is None:
            raise ValueError(f"the origin has no branch {branch!r}")
        parent = old = found
    moment = repo.next_time()
    with tempfile.TemporaryDirectory() as scratch:
        env = git_environment()
        env["GIT_INDEX_FILE"] = str(Path(scratch) / "index")
        env["GIT_AUTHOR_DATE"] = env["GIT_COMMITTER_DATE"] = f"{moment} +0000"
        run_git(repo.path, "read-tree", parent, env=env)
        for path, text in files.items():
            if text is None:
                run_git(repo.path, "update-index", "--force-remove", "--", path, env=env)
                continue
            blob = run_git(repo.path, "hash-object", "-w", "--stdin", input=text, env=env)
            run_git(
                repo.path, "update-index", "--add", "--cacheinfo", f"100644,{blob},{path}", env=env
            )
        tree = run_git(repo.path, "write-tree", env=env)
        commit = run_git(repo.path, "commit-tree", tree, "-p", parent, "-m", message, env=env)
    run_git(repo.path, "update-ref", ref, commit, old)
    return commit


# --------------------------------------------------------------------------- building the origin


class FastImport:
    """Writes a ``git fast-import`` stream: commits with inline files, tags and refs."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.marks = 0
        self.time = BASE_TIME

    @staticmethod
    def _data(text: str) -> bytes:
        body = text.encode()
        return b"data %d\n%s\n" % (len(body), body)

    def commit(
        self,
        branch: str,
        message: str,
        files: Mapping[str, str],
        *,
        parent: int | None = None,
    ) -> int:
        """Add a commit on ``branch`` (after its last commit, or after mark ``parent``)."""
        self.marks += 1
        self.time += 3600
        name, email = AUTHOR
        head = (
            f"commit refs/heads/{branch}\nmark :{self.marks}\n"
            f"author {name} <{email}> {self.time} +0000\n"
            f"committer {name} <{email}> {self.time} +0000\n"
        ).encode()
        self.parts.append(head + self._data(message))
        if parent is not None:
            self.parts.append(b"from :%d\n" % parent)
        for path, text in files.items():
            self.parts.append(f"M 100644 inline {path}\n".encode() + self._data(text))
        return self.marks

    def annotated_tag(self, name: str, mark: int, message: str) -> None:
        """An annotated tag object ``name`` on the commit of ``mark``."""
        tagger, email = TAGGER
        self.parts.append(
            f"tag {name}\nfrom :{mark}\ntagger {tagger} <{email}> {self.time} +0000\n".encode()
            + self._data(message)
        )

    def lightweight_tag(self, name: str, mark: int) -> None:
        """A plain ref ``refs/tags/name`` to the commit of ``mark``."""
        self.parts.append(f"reset refs/tags/{name}\nfrom :{mark}\n".encode())

    def stream(self) -> bytes:
        """The whole stream, ended with ``done``."""
        return b"".join(self.parts) + b"done\n"


def build_origin(path: Path) -> Origin:
    """Create the bare origin described in this module's docstring at ``path``."""
    path.mkdir(parents=True, exist_ok=True)
    run_git(path, "init", "--quiet", "--bare", "--initial-branch=main")
    stream = FastImport()
    releases = [
        ("1.0.0", "Initial commit", "annotated"),
        ("1.0.1", "Fix typo in README", "lightweight"),
        ("1.0.2", "Handle an empty configuration file", "annotated"),
        ("1.0.10", "Log the startup time", "lightweight"),
        ("1.1.0", "Add rate limiting", "annotated"),
        ("1.1.1", "Fix off-by-one in the rate limiter", "lightweight"),
        ("1.2.0", "Add the audit log", "annotated"),
        ("1.2.1", "Write audit times in UTC", "lightweight"),
        ("1.2.2", "Expire sessions after 12 hours", "annotated"),
        ("1.2.3", "Fix the password reset link", "annotated"),
    ]
    marks: dict[str, int] = {}
    for index, (version, summary, kind) in enumerate(releases):
        files = {
            "app.py": f'VERSION = "{version}"\n',
            "CHANGELOG.md": "".join(f"- {r[1]}\n" for r in releases[: index + 1]),
        }
        if index == 0:
            files["auth.py"] = AUTH_PY
            files["README.md"] = "# api\n"
        mark = stream.commit("main", summary, files)
        marks[version] = mark
        if kind == "annotated":
            stream.annotated_tag(f"v{version}", mark, f"Release {version}\n")
        else:
            stream.lightweight_tag(f"v{version}", mark)
    head = marks["1.2.3"]
    stream.lightweight_tag("v01.2.4", head)
    stream.lightweight_tag("v1.2", marks["1.2.2"])
    stream.lightweight_tag("v2.0", head)
    stream.lightweight_tag("release-1.9.0", marks["1.2.2"])
    stream.annotated_tag("release-2.0.0", head, "Release 2.0.0 (marketing name)\n")
    stream.lightweight_tag("release-2.0.0-rc.1", marks["1.2.2"])

    flags = stream.commit(
        "develop", "Add feature flags", {"features.py": "FLAGS = {}\n"}, parent=head
    )
    stream.lightweight_tag("nightly-2026", flags)
    dark = stream.commit("develop", "Add dark mode", {"ui.py": 'THEME = "dark"\n'})
    stream.annotated_tag("v1.10.0-rc.2", dark, "Release candidate 1.10.0-rc.2\n")
    bump = stream.commit(
        "release/1.3.0", "Bump version to 1.3.0", {"app.py": 'VERSION = "1.3.0"\n'}, parent=flags
    )
    stream.annotated_tag("v1.3.0-rc.1", bump, "Release candidate 1.3.0-rc.1\n")

    run_git(path, "fast-import", "--quiet", "--done", input=stream.stream())
    return Origin(path)


@pytest.fixture
def origin(tmp_path: Path) -> Iterator[Origin]:
    """A fresh bare origin (see the module docstring) in this test's tmp dir."""
    yield build_origin(tmp_path / "origin.git")
