"""Benchmark of the git adapter on a repository the size of a long-lived product.

Generates a bare origin with ``--commits`` commits on main (plus a develop branch) and
``--tags`` release tags (every other one annotated, plus one pre-release per ten releases) in a
single ``git fast-import`` run, then measures the real ``workflows.git_repo.Repository``:

* the first operation (which creates the bare clone and fetches everything);
* ``latest_production_tag`` and ``merge_check`` (median and p95 over ``--runs`` calls);
* ``create_branch`` with a fresh name on every call (``--runs`` calls);
* the ``git`` processes left behind after ``--ops`` operations in all (target: 0): the timed
  calls plus a round-robin of every public operation that runs git.

Usage: ``.venv/bin/python bench/git_bench.py [--commits N --tags N --ops N --runs N]``.
Prints a Markdown table; ``docs/benchmarks.md`` records a run.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script from a checkout without installing it
    sys.path.insert(0, str(ROOT))

import git  # noqa: E402

from workflows.git_repo import Repository, Tag  # noqa: E402

IDENTITY = "Bench Author <bench@example.com>"
MIX = (
    "latest_production_tag",
    "remote_branches",
    "branch_head",
    "merge_check",
    "is_merged",
    "commits_on_branch",
    "create_branch",
)
START = 1_600_000_000


@dataclass
class Timing:
    """Wall-clock times of one kind of call, in seconds."""

    name: str
    samples: list[float] = field(default_factory=list)
    note: str = ""

    @property
    def median_ms(self) -> float:
        """The median, in milliseconds."""
        return statistics.median(self.samples) * 1000

    @property
    def p95_ms(self) -> float:
        """The 95th percentile (nearest rank), in milliseconds."""
        ordered = sorted(self.samples)
        return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))] * 1000


@dataclass
class Report:
    """Everything one run measured."""

    commits: int
    tags: int
    prerelease_tags: int
    refs: int
    generate_seconds: float
    pack_mib: float
    timings: list[Timing]
    ops: int
    leftover_git_processes: int
    latest_tag: str


def release_name(index: int) -> str:
    """The ``index``-th release, in increasing version order: v1.0.0, v1.0.1 … v1.0.49, v1.1.0…"""
    return f"v{1 + index // 1000}.{(index // 50) % 20}.{index % 50}"


def fast_import_stream(commits: int, tags: int) -> Iterator[bytes]:
    """A fast-import stream: ``commits`` commits on main, three on develop, and the tags."""

    def data(text: str) -> bytes:
        body = text.encode()
        return b"data %d\n%s\n" % (len(body), body)

    def commit(mark: int, ref: str, message: str, path: str, parent: int | None = None) -> bytes:
        when = START + mark * 600
        return (
            f"commit {ref}\nmark :{mark}\n"
            f"author {IDENTITY} {when} +0000\ncommitter {IDENTITY} {when} +0000\n".encode()
            + data(message)
            + (f"from :{parent}\n".encode() if parent else b"")
            + f"M 100644 inline {path}\n".encode()
            + data(f"VALUE = {mark}\n")
        )

    tag_at = {}
    for index in range(tags):
        # Spread the releases along main; the last one is on its head.
        tag_at.setdefault((index + 1) * commits // tags, []).append(index)
    for mark in range(1, commits + 1):
        when = START + mark * 600
        yield commit(mark, "refs/heads/main", f"Change {mark}", f"src/module_{mark % 250}.py")
        for index in tag_at.get(mark, []):
            name = release_name(index)
            if index % 2 == 0:
                yield (
                    f"tag {name}\nfrom :{mark}\ntagger {IDENTITY} {when} +0000\n".encode()
                    + data(f"Release {name}\n")
                )
            else:
                yield f"reset refs/tags/{name}\nfrom :{mark}\n".encode()
            if index % 10 == 9:
                yield f"reset refs/tags/{release_name(index + 1)}-rc.1\nfrom :{mark}\n".encode()
    for offset in range(1, 4):
        yield commit(
            commits + offset,
            "refs/heads/develop",
            f"Feature {offset}",
            f"features/f{offset}.py",
            parent=commits if offset == 1 else None,
        )
    yield b"done\n"


def generate(path: Path, commits: int, tags: int) -> float:
    """Create the bare origin at ``path``; return how long it took in seconds."""
    started = time.perf_counter()
    subprocess.run(
        ["git", "init", "--quiet", "--bare", "--initial-branch=main", str(path)], check=True
    )
    stream = b"".join(fast_import_stream(commits, tags))
    subprocess.run(["git", "fast-import", "--quiet", "--done"], cwd=path, input=stream, check=True)
    # A served repository has its refs packed (any gc does it); fast-import leaves them loose.
    subprocess.run(["git", "pack-refs", "--all", "--prune"], cwd=path, check=True)
    return time.perf_counter() - started


def git_descendants() -> int:
    """How many ``git`` processes descend from this process (read from /proc)."""
    parents: dict[int, int] = {}
    names: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            names[int(entry.name)] = stat[stat.index("(") + 1 : stat.rindex(")")]
            parents[int(entry.name)] = int(stat[stat.rindex(")") + 2 :].split()[1])
    mine = {os.getpid()}
    grew = True
    while grew:
        grew = False
        for pid, ppid in parents.items():
            if ppid in mine and pid not in mine:
                mine.add(pid)
                grew = True
    return sum(1 for pid in mine - {os.getpid()} if names[pid].startswith("git"))


def timed(timing: Timing, call: Callable[[], object], runs: int) -> None:
    """Call ``call`` ``runs`` times, adding each wall-clock time to ``timing``."""
    for _ in range(runs):
        started = time.perf_counter()
        call()
        timing.samples.append(time.perf_counter() - started)


def run(commits: int, tags: int, ops: int, runs: int, workdir: Path) -> Report:
    """Generate the repository under ``workdir`` and measure; see the module docstring.

    ``ops`` counts every call made on the repository, the timed ones included; the calls left
    after the timed ones go round a mix of all kinds of operation.
    """
    origin = workdir / "origin.git"
    generate_seconds = generate(origin, commits, tags)
    refs = subprocess.run(
        ["git", "for-each-ref", "--format=x"], cwd=origin, capture_output=True, check=True
    ).stdout.count(b"\n")
    pack_bytes = sum(f.stat().st_size for f in (origin / "objects" / "pack").glob("*.pack"))
    repository = Repository(str(origin), workdir / "data", timeout=120)
    calls = 0

    def counted(call: Callable[[], object]) -> Callable[[], object]:
        def wrapper() -> object:
            nonlocal calls
            calls += 1
            return call()

        return wrapper

    latest = counted(repository.latest_production_tag)()
    assert isinstance(latest, Tag)
    hotfix = "hotfix/bench-base"
    fresh = (f"hotfix/bench-{number}" for number in range(10**9))
    create = counted(lambda: repository.create_branch(next(fresh), latest.name))
    first = Timing("first create_branch", note="creates the bare clone: full fetch, then push")
    timed(first, counted(lambda: repository.create_branch(hotfix, latest.name)), 1)
    latest_timing = Timing("latest_production_tag", note="ls-remote, parse, sort")
    timed(latest_timing, counted(repository.latest_production_tag), runs)
    branch_timing = Timing("create_branch (fresh name)", note="fetch, resolve, push")
    timed(branch_timing, create, runs)
    check_timing = Timing("merge_check into develop", note="fetch, merge-tree --write-tree")
    timed(check_timing, counted(lambda: repository.merge_check(hotfix, "develop")), runs)

    mix: list[Callable[[], object]] = [
        counted(call)
        for call in (
            repository.latest_production_tag,
            lambda: repository.remote_branches("hotfix/"),
            lambda: repository.branch_head("develop"),
            lambda: repository.merge_check(hotfix, "develop"),
            lambda: repository.is_merged(hotfix, "main"),
            lambda: repository.commits_on_branch(hotfix, latest.name),
        )
    ]
    mix.append(create)
    mixed = Timing(
        "the rest, round-robin: " + ", ".join(MIX), note="every public operation that runs git"
    )
    timed(mixed, lambda: mix[len(mixed.samples) % len(mix)](), max(0, ops - calls))
    return Report(
        commits=commits,
        tags=tags,
        prerelease_tags=tags // 10,
        refs=refs,
        generate_seconds=generate_seconds,
        pack_mib=pack_bytes / 2**20,
        timings=[first, latest_timing, branch_timing, check_timing, mixed],
        ops=calls,
        leftover_git_processes=git_descendants(),
        latest_tag=latest.name,
    )


def machine() -> str:
    """One line describing where the numbers came from."""
    git_version = subprocess.run(
        ["git", "--version"], capture_output=True, text=True, check=True
    ).stdout.split()[-1]
    cpu = ""
    with open("/proc/cpuinfo") as info:
        for line in info:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return (
        f"{os.cpu_count()} cores ({cpu or platform.machine()}), Python "
        f"{platform.python_version()}, git {git_version}, GitPython {git.__version__}, "
        f"{platform.system()} {platform.release()}"
    )


def markdown(report: Report) -> str:
    """The report as Markdown: a line about the repository and one table."""
    lines = [
        f"Repository: {report.commits:,} commits, {report.tags:,} release tags "
        f"+ {report.prerelease_tags:,} pre-release tags ({report.refs:,} refs, "
        f"pack {report.pack_mib:.1f} MiB), generated with git fast-import in "
        f"{report.generate_seconds:.1f} s.",
        "",
        "| Measurement | Runs | Median | p95 | What it does |",
        "|---|---:|---:|---:|---|",
    ]
    for timing in report.timings:
        if not timing.samples:
            continue
        lines.append(
            f"| {timing.name} | {len(timing.samples)} | {timing.median_ms:.0f} ms "
            f"| {timing.p95_ms:.0f} ms | {timing.note} |"
        )
    lines.append(
        f"| git processes left after {report.ops:,} operations | | "
        f"**{report.leftover_git_processes}** | | target: 0 |"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the Markdown report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commits", type=int, default=20_000)
    parser.add_argument("--tags", type=int, default=5_000)
    parser.add_argument("--ops", type=int, default=1_000, help="calls in all, timed ones too")
    parser.add_argument("--runs", type=int, default=50, help="calls per timed measurement")
    parser.add_argument("--workdir", type=Path, help="where to build (default: a temp dir)")
    args = parser.parse_args(argv)
    if min(args.commits, args.tags, args.runs) < 1 or args.ops < 0 or args.tags > args.commits:
        parser.error("need commits >= tags >= 1, runs >= 1 and ops >= 0")
    if args.workdir is not None:
        args.workdir.mkdir(parents=True, exist_ok=True)
        report = run(args.commits, args.tags, args.ops, args.runs, args.workdir)
    else:
        with tempfile.TemporaryDirectory(prefix="git-bench-") as scratch:
            report = run(args.commits, args.tags, args.ops, args.runs, Path(scratch))
    print(f"Machine: {machine()}\n")
    print(markdown(report))
    return 0 if report.leftover_git_processes == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
