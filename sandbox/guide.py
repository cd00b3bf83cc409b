"""The sandbox's guide: the next step of the newest hotfix, in one sentence, so that a
newcomer plays a whole hotfix without reading anything else. It reads the bot's own
database (read-only; the sandbox's bot is on this machine)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

START = (
    "As Alice Oncall (the engineer on call), type "
    "`/hotfix start CHK-1 critical Coupons are taken off twice` in #inc-checkout and fill in "
    "the form."
)
STEPS = {
    "new": "Fill in the assessment form and press Open hotfix.",
    "declined": "MEDIUM and LOW go to the normal release. Start another with /hotfix start.",
    "awaiting_approval": (
        "Switch user to each approver the thread names (Omar Lead, Dana Manager, Chloe Cto) "
        "and press their Approve button in the card's thread (the 'N replies' link)."
    ),
    "approved": "Approved: the bot is cutting the hotfix branch from production's tag.",
    "fixing": (
        "Press 'Make a fix on {branch}' below: it commits the fix as the engineer would. "
        "Then press Open PR in the thread, or type /hotfix pr {key}."
    ),
    "in_review": (
        "Open GitHub (left) and approve the review as riley-reviewer. Then, as Omar Lead, "
        "tick the reviewer checklist in the thread and press Approve review."
    ),
    "ready_to_deploy": "As Omar Lead, press 'Tag & deploy {version}' in the thread and confirm.",
    "deploying": "The deploy runs: watch its progress in the thread.",
    "deploy_failed": "The deploy failed: Retry or Roll back from the thread (heal health first).",
    "monitoring": (
        "Monitoring pings arrive in the thread. Press All green, or Break health below to see "
        "a failing ping and the rollback it offers."
    ),
    "rolled_back": "Rolled back to the previous release. Start another with /hotfix start.",
    "merging_back": "Type /hotfix merge-back {key}: the fix goes into main and develop.",
    "closed": (
        "Done: the post-mortem draft of {key} is in its thread. Rehearse it as a team next: "
        "/hotfix start --drill DRILL-1 critical Coupons twice."
    ),
    "rejected": "An approver rejected {key}. Start another with /hotfix start.",
    "aborted": "{key} was aborted. Start another with /hotfix start.",
}


def next_step(database: Path) -> str:
    """What to do next, for the newest hotfix in the bot's database."""
    if not database.exists():
        return START
    try:
        with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=1) as db:
            row = db.execute(
                "SELECT id, state, branch, version, drill FROM hotfixes ORDER BY id DESC LIMIT 1"
            ).fetchone()
    except sqlite3.Error:  # not migrated yet, or busy: the next poll asks again
        return START
    if row is None:
        return START
    hotfix_id, state, branch, version, drill = row
    words = STEPS.get(state, "{key} is {state}.").format(
        key=f"HF-{hotfix_id}",
        branch=f"drill:{branch}" if drill else branch,
        version=version or "the next version",
        state=state,
    )
    return f"HF-{hotfix_id}{' (drill)' if drill else ''}: {words}"
