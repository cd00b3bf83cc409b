"""Submitting the assessment modal: inline errors, a refusal, or a new hotfix."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack

from bot.ack import AckPath
from bot.errors import user_message
from bot.ids import BlockId, CallbackId
from bot.render.assessment import (
    field_errors,
    modal_channel,
    modal_drill,
    not_a_hotfix_view,
    read_assessment,
)
from bot.router import Router
from bot.services import BotServices
from workflows.assessment import AssessmentInvalid, validate_assessment

LOST_CHANNEL = "This form lost track of its channel; close it and run /hotfix start again."


def register(app: Router, services: BotServices, path: AckPath) -> None:
    @app.view(CallbackId.ASSESSMENT)
    @path.synchronous(errors_on=BlockId.ISSUE)
    def submit_assessment(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        draft = read_assessment(view.get("state", {}).get("values", {}))
        channel_id = modal_channel(view.get("private_metadata", ""))
        if channel_id is None:
            ack(response_action="errors", errors={BlockId.ISSUE: LOST_CHANNEL})
            return
        try:
            assessment = validate_assessment(draft, now=services.clock())
        except AssessmentInvalid as invalid:
            ack(response_action="errors", errors=field_errors(invalid.errors))
            return
        # MEDIUM/LOW are recorded too (declined), so that an override can open them later.
        # The hotfix is written *before* the ack on purpose (the database is all this touches
        # on the request): if it is down the form stays open with everything typed in it,
        # instead of closing on a lost request.
        try:
            hotfix = services.hotfixes.open(
                assessment,
                requester_id=body["user"]["id"],
                channel_id=channel_id,
                idempotency_key=f"view:{view['id']}",
                drill=modal_drill(view.get("private_metadata", "")),
            )
        except Exception as error:  # the funnel, inline: the form keeps what was typed
            ack(response_action="errors", errors={BlockId.ISSUE: user_message(error)})
            return
        if not assessment.severity.warrants_hotfix:
            ack(response_action="update", view=not_a_hotfix_view(assessment).to_dict())
        else:
            ack()
        if hotfix is not None:  # None: this very form was already submitted once
            services.hotfixes.notify(hotfix.id)
            if assessment.severity.warrants_hotfix:
                services.git.after_open(hotfix.id)
