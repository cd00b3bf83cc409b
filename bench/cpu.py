"""CPU time of a process and everything it started, read from ``/proc`` (Linux).

The ack benchmark reports it per request beside the latencies: latency at saturation is
mostly queueing, and the CPU each request costs says where a difference comes from (the
bot's front, its worker, or a bare app) with far less noise than a p99.
"""

from __future__ import annotations

import os
from pathlib import Path

TICK = os.sysconf("SC_CLK_TCK")


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
    return found


def _seconds(pid: int) -> tuple[float, str] | None:
    """User + system seconds of one process, and its command line (None once it ended)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / TICK, command


def cpu_seconds(root: int, *, part_of: dict[str, str]) -> dict[str, float]:
    """CPU seconds used so far by ``root`` and its descendants, summed per part: a process
    whose command line contains a ``part_of`` key counts for that part, the rest for
    ``"rest"``."""
    totals: dict[str, float] = {}
    pending = [root]
    while pending:
        pid = pending.pop()
        pending += _children(pid)
        read = _seconds(pid)
        if read is None:
            continue
        used, command = read
        part = next((name for key, name in part_of.items() if key in command), "rest")
        totals[part] = totals.get(part, 0.0) + used
    return totals


def spent(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    return {part: after.get(part, 0.0) - before.get(part, 0.0) for part in after}
