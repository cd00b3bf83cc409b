"""``Repository``: one configured remote, with every operation the bot does on it.

The class only combines the clone (``clone``) with the operations, one mixin per idea:
reading the remote (``remote_reads``), cutting branches and tags (``branching``) and merging
back (``merging``).
"""

from __future__ import annotations

from workflows.git_repo.branching import _Branching
from workflows.git_repo.merging import _Merging
from workflows.git_repo.remote_reads import _RemoteReads


class Repository(_RemoteReads, _Branching, _Merging):
    """One configured remote, worked through a private bare clone under ``data_dir``.

    Thread-safe: every public method takes the clone's lock for its whole duration.
    ``identity`` is the (name, email) written as author, committer and tagger.
    """
