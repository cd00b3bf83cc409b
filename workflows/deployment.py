"""Procedure Phase 5 for one hotfix: tag, deploy, verify, watch, roll back.

This module decides what happens and records it through the hotfix service (so every step
is on the timeline and the card); ``workflows.deploy`` runs the command and the health check;
the Slack side (``bot.deploy_flow``) shows progress and runs the monitoring timers.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from workflows.config import Policy
from workflows.deploy import CommandRun, DeployValues, RunOutcome, environment, render
from workflows.deploy_actions import ActionsClient, ActionsRun
from workflows.durations import format_duration
from workflows.errors import DomainError
from workflows.git_repo import GitOperationFailed, Repository, TagResult
from workflows.hotfix_git import HotfixGit
from workflows.hotfixes import BOT_ACTOR, HotfixMovedOn, HotfixService
from workflows.lifecycle import Refused, sources
from workflows.snapshot import HotfixSnapshot
from workflows.targets import Target, Targets

#: The procedure's "Database Migration Hotfix Pattern", ticked before a migration deploys.
MIGRATION_ITEMS: tuple[tuple[str, str], ...] = (
    ("migration_reversible", "The migration is reversible (e.g. a new column with a default)"),
    (
        "migration_two_phase",
        "Two-phase deploy planned: code that works with or without the change, then the "
        "migration, then code that relies on it",
    ),
    ("migration_rollback_tested", "Rollback tested: it does not break the database state"),
)
#: The procedure's post-deployment verification, for the deployer.
VERIFY_ITEMS: tuple[tuple[str, str], ...] = (
    ("verify_scenario", "The scenario that was broken works"),
    ("verify_no_regression", "No regression: nothing else broke"),
    ("verify_error_rates", "Error rates are back to normal, no new errors"),
    ("verify_stakeholders", "Stakeholders confirmed (security: resolved; users: restored)"),
)
#: States in which a deploy may be started (again).
DEPLOYABLE = sources("deploy")
#: A running deploy says it is alive this often; one silent for STALE_AFTER was interrupted.
HEARTBEAT = timedelta(seconds=5)
STALE_AFTER = timedelta(seconds=45)


@dataclass(frozen=True)
class Ping:
    """One step of the monitoring window: its number, when it is due, whether it is the last
    (the summary)."""

    step: int
    due: datetime
    last: bool


def monitoring_pings(started: datetime, interval: timedelta, window: timedelta) -> list[Ping]:
    """Every ``interval`` until ``window`` is over; the window's end is always a step."""
    offsets: list[timedelta] = []
    at = interval
    while at < window:
        offsets.append(at)
        at += interval
    offsets.append(window)
    return [
        Ping(step=n, due=started + offset, last=n == len(offsets))
        for n, offset in enumerate(offsets, start=1)
    ]


class HotfixDeploy:
    """Deploys one hotfix at a time per call; the service's row lock keeps two callers from
    starting the same deploy."""

    def __init__(
        self,
        service: HotfixService,
        policy: Policy,
        git: HotfixGit,
        repository: Repository | Targets,
        *,
        clock: Callable[[], datetime],
        github: ActionsClient | None = None,
    ) -> None:
        self._service = service
        self._policy = policy
        self._git = git
        self._targets = (
            repository if isinstance(repository, Targets) else Targets(Target(repository))
        )
        self._clock = clock
        self._github = github

    @property
    def configured(self) -> bool:
        return self._policy.deploy.configured

    # -------------------------------------------------------------- before deploy

    def missing_ticks(self, hotfix: HotfixSnapshot) -> list[str]:
        """Migration items still unticked (none unless the hotfix needs a migration)."""
        if not hotfix.needs_migration:
            return []
        return [text for item, text in MIGRATION_ITEMS if item not in hotfix.deploy_ticks]

    def tick(
        self, hotfix_id: int, *, user: str, group: Sequence[str], selected: Sequence[str]
    ) -> HotfixSnapshot:
        """Record what ``user`` ticked of a group of deploy checklist items."""

        def update(ticks: dict[str, str]) -> dict[str, str]:
            kept = {item: who for item, who in ticks.items() if item not in group}
            kept.update({item: ticks.get(item, user) for item in group if item in selected})
            return kept

        return self._service.update_deploy_ticks(
            hotfix_id, update, actor=user, allowed_states=(*DEPLOYABLE, "monitoring")
        )

    def next_version(self, hotfix: HotfixSnapshot) -> str | None:
        """The version the next attempt will be tagged as, if it is known without asking git."""
        if hotfix.version and hotfix.version != hotfix.deployed_version:
            return hotfix.version
        return None

    # ------------------------------------------------------------------ deploying

    def begin(self, hotfix_id: int, *, actor: str) -> HotfixSnapshot:
        """Start an attempt: check who asks and that the checklist is complete, then move
        to deploying (one caller wins; the others hear that it is deploying already)."""
        hotfix = self._service.get(hotfix_id)
        if not (hotfix.drill or self.configured):
            raise DomainError(
                "No deploy is configured: set `deploy.command` (an argv list, such as "
                '["./deploy.sh", "production", "{version}"]) or `deploy.github_actions` in '
                "the policy file, then press Tag & deploy again."
            )
        if hotfix.state not in DEPLOYABLE:
            raise HotfixMovedOn(hotfix.key, hotfix.state)
        missing = self.missing_ticks(hotfix)
        if missing:
            raise Refused(
                f"{hotfix.key} needs a database migration: tick the migration checklist "
                f"first ({'; '.join(missing)})."
            )
        return self._service.start_deploy(
            hotfix_id,
            actor=actor,
            deploy_roles=self._policy.deploy.allowed_roles,
            new_version=hotfix.version is None or hotfix.version == hotfix.deployed_version,
        )

    def tag(self, hotfix_id: int) -> TagResult:
        """Tag the reviewed head as the attempt's version (the next free one) and push it."""
        result = self._git.tag(hotfix_id)
        hotfix = self._service.get(hotfix_id)
        self._service.note(
            hotfix_id,
            actor=BOT_ACTOR,
            kind="deploy_version",
            detail={"version": result.name, "previous": hotfix.base_tag},
            changes={"deployed_version": result.name, "previous_version": hotfix.base_tag},
        )
        return result

    def values(self, hotfix: HotfixSnapshot, checkout: Path) -> DeployValues:
        assert hotfix.deployed_version is not None
        return DeployValues(
            version=hotfix.deployed_version,
            previous_version=hotfix.previous_version or hotfix.base_tag or "",
            ticket=hotfix.ticket or "",
            hotfix_id=hotfix.key,
            checkout=str(checkout),
        ).checked(self._policy.repository.tag_pattern)

    def command(
        self, hotfix: HotfixSnapshot, *, rollback: bool = False
    ) -> tuple[CommandRun | ActionsRun, Path | None]:
        """The deploy (or rollback) for the hotfix's attempt, ready to run — a command or a
        GitHub Actions run — and the clean checkout it runs in (None: none needed)."""
        deploy = self._policy.deploy
        attempt = "rollback" if rollback else f"attempt-{hotfix.deploy_attempts}"
        base = self._policy.data_dir / "deploys" / hotfix.key
        if hotfix.drill:  # never the production deploy: the drill's own, or the simulated one
            template: tuple[str, ...] | None = (
                self._policy.drill.rollback if rollback else self._policy.drill.command
            )
        elif deploy.github_actions is not None:
            return self._workflow_run(hotfix, rollback, base / f"{attempt}.log"), None
        else:
            template = deploy.rollback if rollback else deploy.command
        if template is None:
            raise DomainError("No deploy command is configured (`deploy.command`).")
        checkout = base / f"{attempt}-checkout"
        values = self.values(hotfix, checkout)
        uses_checkout = "{checkout}" in deploy.workdir or any("{checkout}" in a for a in template)
        if uses_checkout:
            tag = values.previous_version if rollback else values.version
            try:
                self._targets.of(hotfix).repository.checkout(tag, checkout)
            except GitOperationFailed as failed:
                raise DomainError(f"Could not check out {tag}: {failed.reason}") from None
        workdir = Path(deploy.workdir.format_map(values.as_dict()))
        if not workdir.is_dir():
            raise DomainError(
                f"The deploy's working directory `{workdir}` does not exist (`deploy.workdir`)."
            )
        run = CommandRun(
            render(template, values),
            cwd=workdir,
            env=environment(values),
            timeout=deploy.timeout.total_seconds(),
            log_path=base / f"{attempt}.log",
        )
        return run, checkout if uses_checkout else None

    def _workflow_run(self, hotfix: HotfixSnapshot, rollback: bool, log_path: Path) -> ActionsRun:
        """``deploy.github_actions`` for this attempt; a rollback dispatches the same
        workflow for the previous version (``{version}`` is then the previous one)."""
        actions = self._policy.deploy.github_actions
        assert actions is not None
        if self._github is None:
            raise DomainError(
                "`deploy.github_actions` deploys through GitHub, which the bot cannot reach: "
                "set `repository.github` in the policy file and GITHUB_TOKEN (or "
                "GITHUB_APP_ID and GITHUB_APP_PRIVATE_KEY) in the environment."
            )
        values = self.values(hotfix, Path("."))
        if rollback:
            values = dataclasses.replace(values, version=values.previous_version)
        filled = values.as_dict()
        return ActionsRun(
            self._github,
            actions.workflow,
            actions.ref.format_map(filled),
            {name: value.format_map(filled) for name, value in actions.inputs.items()},
            timeout=self._policy.deploy.timeout.total_seconds(),
            log_path=log_path,
        )

    def clean_up(self, hotfix: HotfixSnapshot, checkout: Path | None) -> None:
        if checkout is not None:
            with contextlib.suppress(GitOperationFailed):
                self._targets.of(hotfix).repository.remove_checkout(checkout)

    def heartbeat(self, hotfix_id: int) -> None:
        self._service.heartbeat(hotfix_id, self._clock())

    def succeeded(self, hotfix_id: int, detail: dict[str, object]) -> HotfixSnapshot:
        """Healthy: the monitoring window opens now."""
        return self._service.fire(
            hotfix_id,
            "deploy_succeeded",
            actor=BOT_ACTOR,
            detail=detail,
            changes={"monitoring_started_at": self._clock(), "monitoring_step": 0},
        )

    def failed(self, hotfix_id: int, detail: dict[str, object]) -> HotfixSnapshot:
        return self._service.fire(hotfix_id, "deploy_failure", actor=BOT_ACTOR, detail=detail)

    def timeout_text(self) -> str:
        return format_duration(self._policy.deploy.timeout)

    def is_stale(self, hotfix: HotfixSnapshot) -> bool:
        """A deploy no process has said it runs for a while (the bot was stopped mid-way)."""
        seen = hotfix.deploy_heartbeat_at or hotfix.deploy_started_at
        return hotfix.state == "deploying" and (seen is None or self._clock() - seen > STALE_AFTER)

    # ------------------------------------------------------------------ rollback

    def roll_back(self, hotfix_id: int, *, actor: str, reason: str) -> HotfixSnapshot:
        """Move to rolled back at once (monitoring stops); the caller runs the command."""
        return self._service.fire_checked(
            hotfix_id,
            "roll_back",
            actor=actor,
            detail={"reason": reason},
            deploy_roles=self._policy.deploy.allowed_roles,
        )

    def fix_again(self, hotfix_id: int, *, actor: str) -> HotfixSnapshot:
        """ "Fix the fix": back to fixing on the same branch; the review starts over and the
        next deploy gets a new version."""
        return self._service.fix_again(hotfix_id, actor=actor)


def outcome_detail(outcome: RunOutcome, timeout_text: str) -> dict[str, object]:
    """What the timeline keeps of a run."""
    return {
        "exit_code": outcome.exit_code,
        "timed_out": outcome.timed_out,
        "seconds": round(outcome.seconds, 1),
        "reason": None if outcome.ok else outcome.reason(timeout_text),
        "log": str(outcome.log_path),
    }
