"""User group members from Slack (``usergroups.users.list``), for the role directory."""

from __future__ import annotations

from collections.abc import Sequence

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from workflows.roles import GroupLookupError, GroupMembers


def slack_group_members(client: WebClient) -> GroupMembers:
    def members(group_id: str) -> Sequence[str]:
        try:
            response = client.usergroups_users_list(usergroup=group_id)
        except SlackApiError as error:
            raise GroupLookupError(str(error.response.get("error", "unknown_error"))) from error
        except (SlackClientError, OSError) as error:
            raise GroupLookupError("Slack could not be reached") from error
        return list(response.get("users") or [])

    return members
