"""The simulated deploy of a drill: ``python -m workflows.drill_deploy v1.2.4``.

It prints the steps a deploy would take, a second apart, and changes nothing anywhere: a
drill rehearses the deploy (the card's progress, the log, the health check that follows)
without touching production."""

from __future__ import annotations

import sys
import time

STEPS = (
    "checking out {version} (drill: no real checkout)",
    "building {version} (drill: nothing is built)",
    "rolling {version} out to 1 of 3 instances (drill: simulated)",
    "rolling {version} out to 3 of 3 instances (drill: simulated)",
)


def main(argv: list[str]) -> int:
    if len(argv) != 1 or not argv[0].strip():
        print("usage: python -m workflows.drill_deploy VERSION", file=sys.stderr)
        return 2
    version = argv[0]
    print(f"DRILL: simulated deploy of {version}; nothing is changed.", flush=True)
    for number, step in enumerate(STEPS, start=1):
        time.sleep(1)
        print(f"[{number}/{len(STEPS)}] {step.format(version=version)}", flush=True)
    print(f"DRILL: {version} is 'live' (simulated).", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
