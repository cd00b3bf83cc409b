"""Phase 5 in Slack: the deploy runs off the request thread with its progress in the thread,
then the monitoring window (``bot.monitoring``), and rollback."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime

from slack_sdk.errors import SlackApiError
from slack_sdk.models.blocks import Block

from bot.card import CardPublisher, slack_error_code
from bot.ids import MessagePurpose
from bot.monitoring import Monitoring
from bot.outbox import Outbox
from bot.render import deploy as render
from bot.render.drill import MARK as DRILL_MARK
from bot.render.drill import marked_if
from bot.slack_api import GuardedWebClient
from storage.db import DatabaseUnavailable
from workflows.config import Policy
from workflows.deploy import Health, RunOutcome, wait_healthy
from workflows.deployment import (
    MIGRATION_ITEMS,
    VERIFY_ITEMS,
    HotfixDeploy,
    outcome_detail,
)
from workflows.durations import format_duration
from workflows.errors import DomainError
from workflows.git_repo import GitOperationFailed
from workflows.hotfixes import BOT_ACTOR, HotfixMovedOn, HotfixService
from workflows.lifecycle import HotfixLifecycle, sources
from workflows.roles import role_title
from workflows.scheduler import Timers
from workflows.snapshot import HotfixSnapshot, MessageRef

log = logging.getLogger(__name__)

PROGRESS_EVERY = 3.0  # seconds between updates of the progress message (chat.update: tier 3)
CARD_EVERY = 10.0  # seconds between refreshes of the card's "deploying … — 1m 20s"
#: The panel (pre-deploy checklist) is shown from ready to deploy on.
PANEL_STATES = ("ready_to_deploy", "deploying", "deploy_failed", "monitoring", "rolled_back")


class DeployFlow:
    """The Slack side of ``HotfixDeploy``."""

    def __init__(
        self,
        deploy: HotfixDeploy,
        service: HotfixService,
        cards: CardPublisher,
        outbox: Outbox,
        client: GuardedWebClient,
        policy: Policy,
        timers: Timers,
        *,
        clock: Callable[[], datetime],
    ) -> None:
        self.deploy = deploy
        self._service = service
        self._cards = cards
        self._outbox = outbox
        self._client = client
        self._policy = policy
        self._timers = timers
        self._clock = clock
        self._running: set[int] = set()  # hotfixes whose deploy or rollback runs here
        self._guard = threading.Lock()
        self.monitoring = Monitoring(service, outbox, policy, timers, clock=clock)
        cards.extra_messages.append(self._panel_message)

    # ------------------------------------------------------------------ the panel

    def facts(self, hotfix: HotfixSnapshot | None = None) -> render.DeployFacts:
        """What the deploy panel says; a drill's names its own deploy, never production's."""
        deploy = self._policy.deploy
        drill = hotfix is not None and hotfix.drill
        return render.DeployFacts(
            configured=drill or deploy.configured,
            command=self._policy.drill.command if drill else deploy.command,
            rollback=self._policy.drill.rollback if drill else deploy.rollback,
            workflow=(
                deploy.github_actions.workflow if deploy.github_actions and not drill else None
            ),
            dashboards=dict(deploy.dashboards),
            stakeholders=self._policy.channels.stakeholders,
            health_url=deploy.health_url,
            deploy_roles=" or ".join(role_title(r) for r in deploy.allowed_roles),
        )

    def _panel_message(self, hotfix: HotfixSnapshot) -> tuple[str, str, list[dict]] | None:
        """For ``CardPublisher``: the pre-deploy checklist, kept up to date in the thread."""
        if hotfix.state not in PANEL_STATES and MessagePurpose.DEPLOY not in hotfix.messages:
            return None
        text, blocks = render.deploy_panel(
            hotfix, self.facts(hotfix), version=self.deploy.next_version(hotfix)
        )
        return MessagePurpose.DEPLOY, text, [b.to_dict() for b in blocks]

    # ------------------------------------------------------------------ requests

    def check_deployer(self, hotfix: HotfixSnapshot, actor: str) -> None:
        """Refuse at once who may not deploy or roll back this hotfix."""
        machine = HotfixLifecycle(model=_Row(hotfix), state_field="state")
        machine.may_deploy(
            actor=actor,
            actor_roles=self._service.directory.roles_of(actor),
            deploy_roles=self._policy.deploy.allowed_roles,
        )

    def start(self, hotfix_id: int, actor: str) -> HotfixSnapshot:
        """ "Tag & deploy" (or Retry): move to deploying, then run it in the background."""
        hotfix = self.deploy.begin(hotfix_id, actor=actor)
        self._background(hotfix_id, self._run_deploy, f"deploy-{hotfix.key}")
        return hotfix

    def roll_back(self, hotfix_id: int, actor: str, reason: str) -> HotfixSnapshot:
        hotfix = self._service.get(hotfix_id)
        if hotfix.state not in sources("roll_back"):
            raise HotfixMovedOn(hotfix.key, hotfix.state)
        self.check_deployer(hotfix, actor)
        if self._policy.deploy.rollback is None and self._policy.deploy.github_actions is None:
            raise DomainError(
                "No rollback is configured (`deploy.rollback_command`): roll back by hand."
            )
        hotfix = self.deploy.roll_back(hotfix_id, actor=actor, reason=reason)
        self.monitoring.cancel(hotfix_id)
        previous = hotfix.previous_version or hotfix.base_tag or "the previous version"
        self._cards.say(hotfix, render.rolling_back(hotfix, actor, previous))
        self._background(hotfix_id, self._run_rollback, f"rollback-{hotfix.key}")
        return hotfix

    def retry_rollback(self, hotfix_id: int, actor: str) -> None:
        hotfix = self._service.get(hotfix_id)
        if hotfix.state != "rolled_back":
            raise HotfixMovedOn(hotfix.key, hotfix.state)
        self.check_deployer(hotfix, actor)
        self._background(hotfix_id, self._run_rollback, f"rollback-{hotfix.key}")

    def fix_again(self, hotfix_id: int, actor: str) -> HotfixSnapshot:
        hotfix = self.deploy.fix_again(hotfix_id, actor=actor)
        self._cards.say(hotfix, render.fixing_again(hotfix, actor))
        return hotfix

    def all_green(self, hotfix_id: int, actor: str) -> HotfixSnapshot:
        """ "All green" goes in the summary under the clicker's name: the requester's or a
        role holder's word; passing a held window (its last check failed) is for those who
        may deploy or roll back."""
        hotfix = self._service.get(hotfix_id)
        if self.monitoring.held(hotfix):
            self.check_deployer(hotfix, actor)
        else:
            self._service.may_drive(hotfix, actor, "confirm all green")
        return self.monitoring.all_green(hotfix_id, actor)

    def tick(self, hotfix_id: int, user: str, verify: bool, selected: list[str]) -> None:
        items = VERIFY_ITEMS if verify else MIGRATION_ITEMS
        hotfix = self._service.get(hotfix_id)
        if verify:
            if user != hotfix.deployer_id:
                self.check_deployer(hotfix, user)
        else:  # the migration checklist gates the deploy: not anyone's to tick
            self._service.may_drive(hotfix, user, "tick its migration checklist")
        self.deploy.tick(hotfix_id, user=user, group=[item for item, _ in items], selected=selected)

    def _background(self, hotfix_id: int, work: Callable[[int], None], name: str) -> None:
        with self._guard:
            if hotfix_id in self._running:
                raise DomainError(f"HF-{hotfix_id}: a deploy or rollback is already running.")
            self._running.add(hotfix_id)

        def run() -> None:
            try:
                work(hotfix_id)
            finally:
                with self._guard:
                    self._running.discard(hotfix_id)

        threading.Thread(target=run, name=name, daemon=True).start()

    # ------------------------------------------------------------------ the deploy

    def _run_deploy(self, hotfix_id: int) -> None:
        """Tag, announce, run, check health: every way this ends is said in the thread and
        leaves the hotfix monitoring or deploy failed."""
        hotfix = self._service.get(hotfix_id)
        progress: MessageRef | None = None
        outcome: RunOutcome | None = None
        try:
            tag = self.deploy.tag(hotfix_id)
            hotfix = self._service.get(hotfix_id)
            self._cards.say(hotfix, render.tagged(hotfix, tag.name, tag.commit, tag.created))
            progress = self._post(
                hotfix, *render.progress(hotfix, f"deploying `{tag.name}`", 0, [])
            )
            outcome = self._run_command(hotfix, progress, rollback=False)
            if not outcome.ok:
                self._fail(hotfix, outcome.reason(self.deploy.timeout_text()), outcome)
                return
            health = self._check_health(hotfix, progress)
            if health is not None and not health.ok:
                self._fail(
                    hotfix,
                    f"the health check never passed within "
                    f"{format_duration(self._policy.deploy.health_timeout)} "
                    f"(last: {health.detail})",
                    outcome,
                )
                return
            detail = outcome_detail(outcome, self.deploy.timeout_text())
            detail["health"] = health.detail if health else None
            done = self.deploy.succeeded(hotfix_id, detail)
            text, blocks = render.deployed(
                done,
                health,
                window=format_duration(self._policy.monitoring.window),
                interval=format_duration(self._policy.monitoring.interval),
            )
            self._finish(done, progress, text, blocks)
        except (DomainError, GitOperationFailed) as refused:
            reason = getattr(refused, "user_message", None) or str(refused)
            self._fail(hotfix, reason, outcome, progress=progress)
        except DatabaseUnavailable:
            log.error("%s: the database failed during the deploy", hotfix.key)
            self._say_safely(hotfix, render.deploy_refused(hotfix, "the bot's database failed"))
        except Exception:
            log.exception("%s: the deploy failed unexpectedly", hotfix.key)
            self._fail(hotfix, "an unexpected error (the bot's log has the details)", outcome)

    def _run_command(
        self, hotfix: HotfixSnapshot, progress: MessageRef | None, *, rollback: bool
    ) -> RunOutcome:
        run, checkout = self.deploy.command(hotfix, rollback=rollback)
        what = (
            f"rolling back to `{hotfix.previous_version or hotfix.base_tag}`"
            if rollback
            else f"deploying `{hotfix.deployed_version}`"
        )
        last_card = [0.0]

        def tick() -> None:
            self.deploy.heartbeat(hotfix.id)
            if progress is not None:
                text, blocks = render.progress(hotfix, what, run.seconds, run.tail())
                self._update(hotfix, progress, text, blocks)
            if run.seconds - last_card[0] >= CARD_EVERY:
                last_card[0] = run.seconds
                self._cards.refresh(hotfix.id)

        try:
            return run.run(tick=tick, every=PROGRESS_EVERY)
        finally:
            self.deploy.clean_up(hotfix, checkout)

    def _check_health(self, hotfix: HotfixSnapshot, progress: MessageRef | None) -> Health | None:
        deploy = self._policy.deploy
        if not deploy.health_url:
            return None

        def shown(attempt: int, health: Health) -> None:
            self.deploy.heartbeat(hotfix.id)
            if progress is not None and not health.ok:
                self._update(
                    hotfix, progress, render.checking_health(hotfix, attempt, health), None
                )

        health, _ = wait_healthy(
            deploy.health_url,
            deploy.health_expect,
            within=deploy.health_timeout.total_seconds(),
            on_attempt=shown,
        )
        return health

    def _fail(
        self,
        hotfix: HotfixSnapshot,
        reason: str,
        outcome: RunOutcome | None,
        *,
        progress: MessageRef | None = None,
    ) -> None:
        detail: dict[str, object] = {"reason": reason}
        if outcome is not None:
            detail.update(outcome_detail(outcome, self.deploy.timeout_text()))
            detail["reason"] = reason
        try:
            failed = self.deploy.failed(hotfix.id, detail)
        except HotfixMovedOn:
            failed = self._service.get(hotfix.id)
        except DatabaseUnavailable:
            failed = hotfix
        text, blocks = render.deploy_failed(
            failed, reason, outcome.tail if outcome else (), log_follows=outcome is not None
        )
        self._finish(failed, progress, text, blocks)
        if outcome is not None:
            self._attach_log(failed, outcome)

    def _attach_log(self, hotfix: HotfixSnapshot, outcome: RunOutcome) -> bool:
        card = self._service.get(hotfix.id).messages.get(MessagePurpose.CARD)
        if card is None or not outcome.log_path.is_file():
            return False
        try:
            self._client.files_upload_v2(
                channel=card.channel_id,
                thread_ts=card.ts,
                file=str(outcome.log_path),
                filename=f"deploy-{hotfix.key}-{hotfix.deployed_version or 'log'}.log",
                title=f"Deploy log of {hotfix.key} ({hotfix.deployed_version})",
                # A drill's file says so too, in the message that carries it.
                **({"initial_comment": f"{DRILL_MARK} · the deploy's log"} if hotfix.drill else {}),
            )
        except (SlackApiError, OSError) as error:
            log.warning("%s: deploy log not attached (%s)", hotfix.key, error)
            self._cards.say(
                hotfix,
                f"📄 The full log of {hotfix.key}'s deploy could not be attached "
                f"({_error_words(error)}); it is kept on the bot's host at "
                f"`{outcome.log_path}`.",
            )
            return False
        return True

    # ------------------------------------------------------------------ rollback

    def _run_rollback(self, hotfix_id: int) -> None:
        hotfix = self._service.get(hotfix_id)
        previous = hotfix.previous_version or hotfix.base_tag or "the previous version"
        try:
            progress = self._post(
                hotfix, *render.progress(hotfix, f"rolling back to `{previous}`", 0, [])
            )
            outcome = self._run_command(hotfix, progress, rollback=True)
            reason = None if outcome.ok else outcome.reason(self.deploy.timeout_text())
            self._service.record_event(
                hotfix_id,
                actor=BOT_ACTOR,
                kind="rollback_finished" if outcome.ok else "rollback_failed",
                detail=outcome_detail(outcome, self.deploy.timeout_text()),
            )
            text, blocks = render.rolled_back(hotfix, previous, outcome.ok, reason)
            if not outcome.ok:
                self._attach_log(hotfix, outcome)
            self._finish(hotfix, progress, text, blocks)
        except (DomainError, GitOperationFailed) as refused:
            reason = getattr(refused, "user_message", None) or str(refused)
            text, blocks = render.rolled_back(hotfix, previous, False, reason)
            self._say_safely(hotfix, text, blocks)
        except Exception:
            log.exception("%s: the rollback failed unexpectedly", hotfix.key)
            text, blocks = render.rolled_back(
                hotfix, previous, False, "an unexpected error (the bot's log has the details)"
            )
            self._say_safely(hotfix, text, blocks)

    # ---------------------------------------------------------------- after any change

    def sync(self, hotfix_id: int) -> None:
        """After any change (and at start): a deploy no process runs any more (the bot was
        stopped mid-way) is failed; while monitoring, the next ping is armed."""
        hotfix = self._service.get(hotfix_id)
        if hotfix.state == "deploying" and hotfix_id not in self._running:
            if self.deploy.is_stale(hotfix):
                self._fail(
                    hotfix,
                    "the bot stopped while the deploy ran, so how it ended is unknown: check "
                    "production, then retry or roll back",
                    None,
                )
            return
        self.monitoring.sync(hotfix)

    # ----------------------------------------------------------------- talking

    def _post(self, hotfix: HotfixSnapshot, text: str, blocks: list[dict]) -> MessageRef | None:
        try:
            return self._cards.post_in_thread(hotfix, text, blocks)
        except SlackApiError:
            return None

    def _update(
        self, hotfix: HotfixSnapshot, ref: MessageRef, text: str, blocks: list[dict] | None
    ) -> None:
        """A progress update; one Slack does not take is skipped (the next one follows)."""
        text, blocks = marked_if(hotfix.drill, text, blocks)
        try:
            self._client.chat_update(channel=ref.channel_id, ts=ref.ts, text=text, blocks=blocks)
        except SlackApiError as error:
            log.info("progress not updated (%s)", error)

    def _finish(
        self, hotfix: HotfixSnapshot, progress: MessageRef | None, text: str, blocks: list[Block]
    ) -> None:
        payload = [b.to_dict() for b in blocks]
        if progress is None:
            self._cards.say(hotfix, text, blocks)
        else:
            self._cards.replace_in_thread(hotfix, progress, text, payload)

    def _say_safely(
        self, hotfix: HotfixSnapshot, text: str, blocks: list[Block] | None = None
    ) -> None:
        try:
            self._cards.say(hotfix, text, blocks)
        except DatabaseUnavailable:
            log.error("%s: could not tell the thread: %s", hotfix.key, text)


def _error_words(error: Exception) -> str:
    if isinstance(error, SlackApiError):
        return f"Slack said {slack_error_code(error)}"
    return "the upload did not go through"


class _Row:
    """What the lifecycle's validators read of a hotfix (they never write)."""

    def __init__(self, hotfix: HotfixSnapshot) -> None:
        self.state = hotfix.state
        self.key = hotfix.key
        self.requester_id = hotfix.requester_id
