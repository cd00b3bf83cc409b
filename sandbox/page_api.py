"""What the sandbox page can see and do. Seeing: the workspace as one person of the sample
team sees it (channels, threads, their ephemerals, their open modal, their Home tab), the
pull requests on the fake GitHub, and the sample world. Doing: every click, selection,
submission and slash command becomes the signed request Slack would send to the bot's
``/slack/events``; nothing reaches the bot any other way."""

from __future__ import annotations

import copy
import hashlib
import json
import time
from typing import Any

from sandbox import world as sample
from sandbox.guide import next_step
from sandbox.session import CI_CHECK, DRILL_REPOSITORY, REPOSITORY, Sandbox
from sandbox.slack_requests import Response

BOT_USER = "U0SANDBOT"
ROLES = {p.user_id: p.does for p in sample.TEAM}
CHANNELS = (sample.CHANNEL, sample.STAKEHOLDERS, sample.REVIEW)
TOPICS = {
    sample.CHANNEL["id"]: "Checkout incidents: type /hotfix start here",
    sample.STAKEHOLDERS["id"]: "Where the bot announces hotfix milestones",
    sample.REVIEW["id"]: "Where the bot asks for expedited reviews",
}


# What a selection in a message holds, by element type (Slack's view-state names).
PICKED = {
    "checkboxes": "selected_options",
    "radio_buttons": "selected_option",
    "static_select": "selected_option",
    "users_select": "selected_user",
}


class PageError(Exception):
    """Something the page asked for cannot be done; the message says why, for a toast."""


class PageApi:
    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox

    @property
    def slack(self) -> Any:
        assert self.sandbox.slack is not None
        return self.sandbox.slack

    @property
    def requests(self) -> Any:
        assert self.sandbox.requests is not None
        return self.sandbox.requests

    @property
    def github(self) -> Any:
        assert self.sandbox.github is not None
        return self.sandbox.github

    # ------------------------------------------------------------------ who the page is

    def me(self) -> str:
        assert self.sandbox.store is not None
        return self.sandbox.store.text("me", sample.TEAM[0].user_id)

    def user(self, user_id: Any) -> str:
        if user_id not in ROLES:
            raise PageError(f"No such person in the sandbox team: {user_id!r}.")
        return str(user_id)

    def switch(self, body: dict[str, Any]) -> dict[str, Any]:
        assert self.sandbox.store is not None
        self.sandbox.store.put("me", self.user(body.get("user")))
        self.sandbox.changed()
        return {"ok": True}

    # ------------------------------------------------------------------ seeing

    def state(self, user_id: str | None) -> dict[str, Any]:
        me = self.user(user_id) if user_id else self.me()
        state = {
            "me": me,
            "users": self._users(),
            "channels": [
                {"id": c["id"], "name": c["name"], "topic": TOPICS[c["id"]]} for c in CHANNELS
            ],
            "messages": {c["id"]: self._channel(c["id"]) for c in CHANNELS},
            "ephemerals": self._ephemerals(me),
            "modal": self._modal(me),
            "picked": self._picked().get(me, {}),
            "home": self._home(me),
            "github": self._github(),
            "world": self.sandbox.describe(),
            "guide": next_step(self.sandbox.directory / "hotfix.db"),
            "bot": {
                "ready": self.sandbox.bot_problem() is None,
                "problem": self.sandbox.bot_problem(),
            },
        }
        digest = hashlib.sha1(json.dumps(state, sort_keys=True, default=str).encode())
        state["version"] = int(digest.hexdigest()[:12], 16)
        return state

    def _users(self) -> list[dict[str, Any]]:
        return [
            {"id": p.user_id, "name": p.name, "real_name": p.real_name, "title": p.does}
            for p in sample.TEAM
        ]

    def _author(self, user_id: str | None) -> str:
        if user_id == BOT_USER:
            return "Hotfix Bot"
        found = self.slack.user(user_id) if user_id else None
        return str(found["real_name"]) if found else str(user_id or "someone")

    def _shown(self, message: dict[str, Any], files: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            "ts": message["ts"],
            "text": message.get("text") or "",
            "blocks": message.get("blocks") or [],
            "user": message.get("user"),
            "user_name": self._author(message.get("user")),
            "is_bot": message.get("user") == BOT_USER,
            "thread_ts": message.get("thread_ts"),
            "reply_count": message.get("reply_count", 0),
            "edited": bool(message.get("edited")),
            "files": [
                {
                    "id": f["id"],
                    "name": f["name"],
                    "title": f["title"],
                    "url": f"/sandbox/files/{f['id']}",
                }
                for f in files
                if f["message_ts"] == message["ts"]
            ],
        }

    def _channel(self, channel_id: str) -> list[dict[str, Any]]:
        files = [f for f in self.slack.files(channel_id) if f["shared"]]
        shown = []
        for message in self.slack.messages(channel_id):
            entry = self._shown(message, files)
            replies = self.slack.thread(channel_id, message["ts"]) if entry["reply_count"] else []
            entry["replies"] = [self._shown(reply, files) for reply in replies]
            shown.append(entry)
        return shown

    def _ephemerals(self, me: str) -> list[dict[str, Any]]:
        return [
            {
                "id": f"{e['channel']}-{e['ts']}",
                "channel": e["channel"],
                "ts": e["ts"],
                "thread_ts": e.get("thread_ts"),
                "text": e.get("text") or "",
                "blocks": e.get("blocks") or [],
            }
            for e in self.slack.ephemerals(user_id=me)
        ]

    def _modal(self, me: str) -> dict[str, Any] | None:
        view = self.slack.open_modal(me)
        if view is None:
            return None
        errors = self._errors().get(view["id"], {})
        keep = ("id", "title", "submit", "close", "blocks", "private_metadata", "hash")
        return {**{k: view.get(k) for k in keep}, "errors": errors}

    def _home(self, me: str) -> dict[str, Any] | None:
        home = self.slack.home(me)
        return None if home is None else {"id": home["id"], "blocks": home.get("blocks") or []}

    def _github(self) -> dict[str, Any]:
        pulls = []
        for repository, pull in self.sandbox.pulls():
            sha = pull["head"]["sha"]
            pulls.append(
                {
                    "number": pull["number"],
                    "repository": repository,
                    "title": ("🧪 DRILL · " if repository == DRILL_REPOSITORY else "")
                    + pull["title"],
                    "state": pull["state"],
                    "merged": bool(pull.get("merged_at")),
                    "head_ref": pull["head"]["ref"],
                    "head_sha": sha,
                    "url": pull["html_url"],
                    "reviews": [
                        {"user": r["user"]["login"], "state": r["state"]}
                        for r in self.github.reviews(repository, pull["number"])
                    ],
                    "checks": [
                        {
                            "id": c["id"],
                            "name": c["name"],
                            "status": c["status"],
                            "conclusion": c["conclusion"],
                        }
                        for c in self.github.check_runs(repository, sha)
                    ],
                }
            )
        return {
            "repository": REPOSITORY,
            "prs": pulls,
            "logins": [p.github for p in sample.TEAM],
        }

    def file(self, file_id: str) -> tuple[str, bytes] | None:
        found = self.slack.file(file_id)
        if found is None or found["content"] is None:
            return None
        return str(found["name"]), bytes(found["content"])

    # ------------------------------------------------------------------ what people picked

    def _picked(self) -> dict[str, dict[str, Any]]:
        """Per person, what they ticked or selected in messages: a Slack client keeps that
        across the bot's updates of a message (same block_id and action_id), and so does
        the sandbox, in its database."""
        assert self.sandbox.store is not None
        return json.loads(self.sandbox.store.text("picked", "{}"))

    def _remember(self, user: str, where: str, action: dict[str, Any]) -> None:
        kind = action.get("type")
        if kind not in PICKED:
            return
        assert self.sandbox.store is not None
        every = self._picked()
        value = {"type": kind, PICKED[kind]: action.get(PICKED[kind])}
        every.setdefault(user, {})[f"{where}/{action.get('action_id')}"] = value
        self.sandbox.store.put("picked", json.dumps(every))

    # ------------------------------------------------------------------ modal errors

    def _errors(self) -> dict[str, dict[str, str]]:
        assert self.sandbox.store is not None
        return json.loads(self.sandbox.store.text("modal_errors", "{}"))

    def _set_errors(self, view_id: str, errors: dict[str, str] | None) -> None:
        assert self.sandbox.store is not None
        every = self._errors()
        if errors:
            every[view_id] = errors
        else:
            every.pop(view_id, None)
        self.sandbox.store.put("modal_errors", json.dumps(every))

    # ------------------------------------------------------------------ doing, through Slack

    def command(self, body: dict[str, Any]) -> dict[str, Any]:
        user = self.user(body.get("user"))
        channel = self._channel_id(body.get("channel"))
        text = str(body.get("text") or "").strip()
        name, _, rest = text.partition(" ")
        if name != "/hotfix":
            raise PageError(
                f"{name or 'That'} is not a command of this workspace: the sandbox has "
                "/hotfix only (try /hotfix help)."
            )
        answer = self.requests.slash(rest.strip(), user_id=user, channel_id=channel)
        self._answered(answer, "the command")
        shown = self._ack_message(answer)
        if shown is not None:
            self.slack.show_ack(channel, user, *shown)
        return {"ok": True}

    def action(self, body: dict[str, Any]) -> dict[str, Any]:
        user = self.user(body.get("user"))
        action = body.get("action")
        container = body.get("container")
        if not isinstance(action, dict) or not isinstance(container, dict):
            raise PageError("The page sent an action without its container.")
        action = {**action, "action_ts": f"{time.time():.6f}"}
        if container.get("type") in ("view", "home"):
            view_id = str(container.get("view_id"))
            if self.slack.view(view_id) is None:
                raise PageError("That view is gone: reload the page.")
            state = body.get("state") if isinstance(body.get("state"), dict) else None
            answer = self.requests.act_in_view(view_id, action, user_id=user, state=state)
        else:
            channel = self._channel_id(container.get("channel"))
            ts = str(container.get("ts"))
            ephemeral = bool(container.get("is_ephemeral"))
            message = self._message(channel, ts, user, ephemeral)
            if not ephemeral:
                self._remember(user, f"{channel}|{ts}|{action.get('block_id')}", action)
            answer = self.requests.act_in_message(
                channel_id=channel,
                message=message,
                action=action,
                user_id=user,
                ephemeral=ephemeral,
            )
        self._answered(answer, "the click")
        return {"ok": True}

    def submit(self, body: dict[str, Any]) -> dict[str, Any]:
        user = self.user(body.get("user"))
        view_id = str(body.get("view_id"))
        state = body.get("state")
        if not isinstance(state, dict) or not isinstance(state.get("values"), dict):
            raise PageError("The page sent a form without its values.")
        if not self.slack.view_is_open(view_id):
            raise PageError("That form is closed already: reload the page.")
        answer = self.requests.submit_state(view_id, user_id=user, state=state)
        self._answered(answer, "the form")
        errors: dict[str, str] = {}
        try:
            reply = answer.json() if answer.body else None
        except ValueError:
            reply = None
        if isinstance(reply, dict) and reply.get("response_action") == "errors":
            errors = {str(k): str(v) for k, v in (reply.get("errors") or {}).items()}
        self._set_errors(view_id, errors)
        return {"ok": True, "errors": errors}

    def close(self, body: dict[str, Any]) -> dict[str, Any]:
        user = self.user(body.get("user"))
        view_id = str(body.get("view_id"))
        if self.slack.view_is_open(view_id):
            self._answered(self.requests.close_view(view_id, user_id=user), "closing the form")
        self._set_errors(view_id, None)
        return {"ok": True}

    def home(self, body: dict[str, Any]) -> dict[str, Any]:
        user = self.user(body.get("user"))
        self._answered(self.requests.app_home_opened(user), "opening Home")
        return {"ok": True}

    # ------------------------------------------------------------------ the world and GitHub

    def make_fix(self, body: dict[str, Any]) -> dict[str, Any]:
        branch = str(body.get("branch") or "")
        if branch not in self.sandbox.hotfix_branches():
            raise PageError(f"There is no branch {branch!r} in the origin (yet).")
        assert self.sandbox.world is not None
        drill = branch.startswith("drill:")
        sha = sample.make_fix(self.sandbox.world, branch.removeprefix("drill:"), drill=drill)
        self.sandbox.changed()
        return {"ok": True, "sha": sha}

    def set_health(self, body: dict[str, Any]) -> dict[str, Any]:
        self.sandbox.set_health(bool(body.get("healthy")))
        return {"ok": True}

    def review(self, body: dict[str, Any]) -> dict[str, Any]:
        repository, number = self._pull(body)
        login = str(body.get("login") or "")
        if login not in {p.github for p in sample.TEAM}:
            raise PageError(f"{login!r} is not a GitHub account of the sandbox team.")
        self.github.add_review(repository, number, login, "APPROVED")
        self.sandbox.changed()
        return {"ok": True}

    def check(self, body: dict[str, Any]) -> dict[str, Any]:
        repository, number = self._pull(body)
        conclusion = body.get("conclusion")
        if conclusion not in ("success", "failure"):
            raise PageError("A check run can be made to pass (success) or fail (failure).")
        sha = self.github.pull(repository, number)["head"]["sha"]
        runs = {c["id"]: c["name"] for c in self.github.check_runs(repository, sha)}
        name = runs.get(body.get("check_id"), CI_CHECK)
        self.github.add_check_run(
            repository,
            sha,
            name,
            conclusion=conclusion,
            title="Made to pass in the sandbox"
            if conclusion == "success"
            else "Made to fail in the sandbox",
        )
        self.sandbox.changed()
        return {"ok": True}

    # ------------------------------------------------------------------ helpers

    def _pull(self, body: dict[str, Any]) -> tuple[str, int]:
        repository = body.get("repository") or REPOSITORY
        value = body.get("number")
        if repository not in (REPOSITORY, DRILL_REPOSITORY):
            raise PageError(f"There is no repository {repository!r} in the sandbox.")
        try:
            number = int(value)
            self.github.pull(repository, number)
        except (TypeError, ValueError, KeyError):
            raise PageError(f"There is no pull request #{value} on {repository}.") from None
        return str(repository), number

    def _channel_id(self, value: Any) -> str:
        if value not in {c["id"] for c in CHANNELS}:
            raise PageError(f"No such channel in the sandbox: {value!r}.")
        return str(value)

    def _message(self, channel: str, ts: str, user: str, ephemeral: bool) -> dict[str, Any]:
        if ephemeral:
            found = [e for e in self.slack.ephemerals(channel, user) if e["ts"] == ts]
            if not found:
                raise PageError("That message is gone: reload the page.")
            return copy.deepcopy(found[-1])
        message = self.slack.message(channel, ts)
        if message is None:
            raise PageError("That message is gone: reload the page.")
        return message

    @staticmethod
    def _ack_message(answer: Response) -> tuple[str, Any] | None:
        """What the bot put in its acknowledgement, for Slack to show the user."""
        if not answer.body:
            return None
        try:
            body = answer.json()
        except ValueError:
            return answer.text, None
        if isinstance(body, dict) and (body.get("text") or body.get("blocks")):
            return str(body.get("text") or ""), body.get("blocks")
        return None

    def _answered(self, answer: Response, what: str) -> None:
        """Slack's own words when the app did not answer 200 in time."""
        if answer.status == 200:
            return
        problem = self.sandbox.bot_problem()
        raise PageError(
            problem
            or f"The bot answered {what} with HTTP {answer.status}; Slack would show "
            f"\u201cdispatch_failed\u201d. See {self.sandbox.bot_log}."
        )
