"""``hotfix-bot check-config`` against the live services: what the policy file cannot say
about itself. The Slack token and its scopes, the channels the policy names, the user
groups and users behind each role, the GitHub repository and the git remote — each reported
as OK, FAIL (with the fix) or SKIP (with why), so an operator fixes everything in one pass
before the first incident instead of during it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Literal

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.ids import BOT_SCOPES
from bot.slack_api import REFUSED_TOKEN, UNREACHABLE, error_code
from workflows.config import Policy
from workflows.git_repo import GitOperationFailed, Repository, redact
from workflows.github_client import GitHubFailed, GitHubRepository
from workflows.roles import role_title

Status = Literal["OK", "FAIL", "SKIP"]

REINSTALL = (
    "add them under OAuth & Permissions → Bot Token Scopes (manifest.yml lists every one), "
    "then reinstall the app to the workspace"
)


@dataclass(frozen=True)
class Check:
    status: Status
    item: str
    detail: str

    def line(self) -> str:
        return f"  {self.status:<4}  {self.item}: {self.detail}"


class _SlackFailed(Exception):
    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def run(
    policy: Policy,
    *,
    slack: WebClient,
    github: GitHubRepository | None,
    repository: Repository,
) -> list[Check]:
    """Every live check, in the order an operator would fix them."""
    return [
        *_slack_checks(policy, slack),
        _github_check(policy, github),
        _git_check(policy, repository),
    ]


def _call(method: Callable[..., object], **args: object) -> dict:
    """One Web API call: its answer, or ``_SlackFailed`` with Slack's error code."""
    try:
        response = method(**args)
    except SlackApiError as error:
        raise _SlackFailed(error_code(error)) from None
    except (SlackClientError, OSError):
        raise _SlackFailed(UNREACHABLE) from None
    return {"data": response.data, "headers": response.headers}  # type: ignore[attr-defined]


def _slack_checks(policy: Policy, slack: WebClient) -> Iterator[Check]:
    try:
        answer = _call(slack.auth_test)
    except _SlackFailed as failed:
        yield _token_failure(failed.code, slack.base_url)
        reason = "skipped: the Slack token must work first"
        yield Check("SKIP", "Slack scopes", reason)
        yield Check("SKIP", "Slack channels and roles", reason)
        return
    data = answer["data"]
    yield Check(
        "OK",
        "Slack token",
        f"the bot is {data.get('user')} ({data.get('user_id')}) in {data.get('team')} "
        f"({data.get('team_id')})",
    )
    yield _scopes_check(answer["headers"])
    yield from _channel_checks(policy, slack)
    yield from _role_checks(policy, slack)


def _token_failure(code: str, api_url: str) -> Check:
    if code == UNREACHABLE:
        fix = f"could not reach Slack at {api_url}: check the network, or SLACK_API_URL"
    elif code in REFUSED_TOKEN:
        fix = (
            f"Slack refused SLACK_BOT_TOKEN ({code}): copy the Bot User OAuth Token (xoxb-…) "
            "again from your Slack app's OAuth & Permissions page"
        )
    else:
        fix = f"Slack answered {code} to auth.test: check SLACK_BOT_TOKEN and SLACK_API_URL"
    return Check("FAIL", "Slack token", fix)


def _scopes_check(headers: dict) -> Check:
    header = next((v for k, v in headers.items() if k.lower() == "x-oauth-scopes"), None)
    if header is None:
        return Check("SKIP", "Slack scopes", "Slack did not say which scopes the token has")
    value = header if isinstance(header, str) else ",".join(header)
    granted = {scope.strip() for scope in value.split(",") if scope.strip()}
    missing = sorted(BOT_SCOPES - granted)
    if missing:
        return Check("FAIL", "Slack scopes", f"missing {', '.join(missing)}: {REINSTALL}")
    return Check("OK", "Slack scopes", f"all {len(BOT_SCOPES)} the bot needs are granted")


def _channel_checks(policy: Policy, slack: WebClient) -> Iterator[Check]:
    for key in ("stakeholders", "review"):
        channel = getattr(policy.channels, key)
        item = f"channels.{key}"
        if channel is None:
            yield Check("SKIP", item, "not set")
            continue
        try:
            found = _call(slack.conversations_info, channel=channel)["data"]["channel"]
        except _SlackFailed as failed:
            if failed.code == "channel_not_found":
                fix = (
                    f"no channel {channel} the bot can see: check the id (channel details → "
                    "About), and for a private channel /invite the bot into it"
                )
            elif failed.code == "missing_scope":
                fix = f"the token cannot read channel details: {REINSTALL}"
            else:
                fix = f"Slack answered {failed.code} for {channel}"
            yield Check("FAIL", item, fix)
            continue
        name = f"#{found.get('name')} ({channel})"
        if found.get("is_archived"):
            yield Check("FAIL", item, f"{name} is archived: unarchive it or name another channel")
        elif found.get("is_private") and not found.get("is_member"):
            yield Check("FAIL", item, f"{name} is private: /invite the bot into it")
        else:
            yield Check("OK", item, name)


def _role_checks(policy: Policy, slack: WebClient) -> Iterator[Check]:
    for role, principals in policy.roles.items():
        item = f"roles.{role}"
        problems: list[str] = []
        people: set[str] = set()
        for principal in principals:
            try:
                if principal.startswith("S"):
                    answer = _call(slack.usergroups_users_list, usergroup=principal)
                    members = answer["data"].get("users") or []
                    if not members:
                        problems.append(f"user group {principal} has no members")
                    people.update(members)
                else:
                    _call(slack.users_info, user=principal)
                    people.add(principal)
            except _SlackFailed as failed:
                problems.append(_principal_problem(principal, failed.code))
        if problems:
            fix = "; ".join(problems)
            yield Check("FAIL", item, f"{fix}: fix roles.{role} in the policy file")
        else:
            count = f"{len(people)} {'person' if len(people) == 1 else 'people'}"
            yield Check("OK", item, f"{role_title(role)}: {count}")


def _principal_problem(principal: str, code: str) -> str:
    if code in ("no_such_subteam", "subteam_not_found"):
        return f"no user group {principal}"
    if code == "user_not_found":
        return f"no user {principal}"
    if code == "missing_scope":
        return f"the token cannot read {principal} ({REINSTALL})"
    return f"Slack answered {code} for {principal}"


def _github_check(policy: Policy, github: GitHubRepository | None) -> Check:
    if not policy.repository.github:
        return Check("SKIP", "GitHub", "repository.github is not set: no pull requests")
    if github is None:
        return Check(
            "FAIL",
            "GitHub",
            f"repository.github is {policy.repository.github} but no credentials are set: "
            "set GITHUB_TOKEN, or GITHUB_APP_ID and GITHUB_APP_PRIVATE_KEY(_FILE)",
        )
    try:
        name = github.reachable()
    except GitHubFailed as failed:
        return Check("FAIL", "GitHub", f"{github.full_name}: {failed.reason}")
    finally:
        github.close()
    return Check("OK", "GitHub", f"{name} is reachable with the bot's credentials")


def _git_check(policy: Policy, repository: Repository) -> Check:
    branch = policy.repository.production_branch
    item = f"git remote {redact(policy.repository.remote)}"
    try:
        head = repository.branch_head(branch)
        tag = repository.latest_production_tag(policy.repository.tag_pattern)
    except GitOperationFailed as failed:
        return Check(
            "FAIL",
            item,
            f"{failed.reason}: check repository.remote and the machine's git credentials",
        )
    if head is None:
        return Check("FAIL", item, f"has no branch {branch}: fix repository.production_branch")
    if tag is None:
        return Check(
            "FAIL",
            item,
            f"no tag matches {policy.repository.tag_pattern}, so there is no production "
            "version to branch from: fix repository.tag_pattern, or tag the release",
        )
    return Check("OK", item, f"{branch} at {head[:7]}, production {tag.name}")
