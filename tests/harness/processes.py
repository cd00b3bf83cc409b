"""The processes below a process, read from /proc: the bot's worker, the git and deploy
children it starts, and whatever it left behind."""

from __future__ import annotations

import os
from pathlib import Path


def descendants(root: int) -> list[tuple[int, str]]:
    """Every process below ``root`` (not ``root`` itself), with its command line."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(parent, []).append(int(entry))
    found, todo = [], [root]
    while todo:
        for child in children.get(todo.pop(), []):
            try:
                command = Path(f"/proc/{child}/cmdline").read_bytes().replace(b"\0", b" ")
            except OSError:
                continue
            found.append((child, command.decode(errors="replace")))
            todo.append(child)
    return found


def name_of(pid: int) -> str:
    """The process's short name (``python3``, ``git``), or "" once it is gone."""
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""
