"""Reading the remote: its release tags, its branches and the commits of a hotfix branch.

Tags and branches are read with ``git ls-remote``, so a stale clone can never hide one; the
commits of a branch since its tag are read from the clone after a fetch. Nothing here changes
the remote.
"""

from __future__ import annotations

from dataclasses import dataclass

from workflows.git_repo.clone import _Clone
from workflows.git_repo.names import validate_branch_name, validate_tag_name
from workflows.git_repo.versions import DEFAULT_TAG_PATTERN, Tag, _pattern_regex


@dataclass(frozen=True)
class Commit:
    """One commit of a hotfix branch."""

    sha: str
    author_name: str
    author_email: str
    summary: str
    message: str


class _RemoteReads(_Clone):
    """The ``Repository`` methods that read the remote."""

    def production_tags(self, pattern: str = DEFAULT_TAG_PATTERN) -> list[Tag]:
        """The remote's release tags matching ``pattern``, in version order (oldest first).

        Read with ``git ls-remote``; annotated tags are resolved to the commit they tag.
        Pre-releases (``v1.3.0-rc.1``) and other tags are left out.
        """
        regex = _pattern_regex(pattern)
        with self._session("read production tags") as session:
            refs = session.ls_remote("--tags")
        commits: dict[str, str] = {}
        for ref, sha in refs.items():
            name = ref.removeprefix("refs/tags/")
            if name.endswith("^{}"):
                commits[name[:-3]] = sha  # the peeled line wins over the tag object
            else:
                commits.setdefault(name, sha)
        tags = []
        for name, commit in commits.items():
            match = regex.fullmatch(name)
            if match:
                version = (int(match["major"]), int(match["minor"]), int(match["patch"]))
                tags.append(Tag(name, version, commit))
        return sorted(tags, key=lambda tag: tag.version)

    def latest_production_tag(self, pattern: str = DEFAULT_TAG_PATTERN) -> Tag | None:
        """The highest release tag on the remote, or None if there is none."""
        tags = self.production_tags(pattern)
        return tags[-1] if tags else None

    def remote_branches(self, prefix: str = "") -> dict[str, str]:
        """Branches on the remote whose name starts with ``prefix``: name → head commit."""
        with self._session("list branches") as session:
            refs = session.ls_remote("--heads")
        names = {ref.removeprefix("refs/heads/"): sha for ref, sha in refs.items()}
        return {name: sha for name, sha in sorted(names.items()) if name.startswith(prefix)}

    def branch_head(self, name: str) -> str | None:
        """The commit ``name`` points to on the remote, or None if there is no such branch."""
        validate_branch_name(name)
        with self._session(f"read branch {name}") as session:
            return session.ls_remote("--heads", f"refs/heads/{name}").get(f"refs/heads/{name}")

    def commits_on_branch(self, branch: str, since_tag: str) -> list[Commit]:
        """Commits on the remote ``branch`` that ``since_tag`` does not contain, oldest first."""
        validate_branch_name(branch)
        validate_tag_name(since_tag)
        with self._session(f"list commits of {branch}") as session:
            session.fetch()
            head = session.require_branch(branch)
            tag = session.require_tag(since_tag)
            output = session.git(
                "log",
                "-z",
                "--topo-order",
                "--reverse",
                "--format=%H%x00%an%x00%ae%x00%s%x00%B",
                head,
                f"^{tag}",
                "--",
            )
        fields = output.split("\0")
        if fields and fields[-1] == "":
            fields.pop()
        commits = []
        for index in range(0, len(fields) - 4, 5):
            sha, name, email, summary, message = fields[index : index + 5]
            commits.append(Commit(sha.strip(), name, email, summary, message.rstrip("\n")))
        return commits
