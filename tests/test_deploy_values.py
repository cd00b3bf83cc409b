"""What reaches a deploy command: checked values, one argument each, no bot secrets."""

from __future__ import annotations

import pytest

from workflows.deploy import DeployRefused, DeployValues, environment, render

PATTERN = "v{major}.{minor}.{patch}"
SECRETS = (
    "SLACK_BOT_TOKEN",
    "SLACK_SIGNING_SECRET",
    "GITHUB_TOKEN",
    "GITHUB_APP_ID",
    "DATABASE_URL",
)


def values(**changes: str) -> DeployValues:
    base = {
        "version": "v1.2.4",
        "previous_version": "v1.2.3",
        "ticket": "SEC-9",
        "hotfix_id": "HF-1",
        "checkout": "/srv/deploys/HF-1/attempt-1-checkout",
    }
    return DeployValues(**{**base, **changes})


@pytest.mark.parametrize(
    ("changes", "said"),
    [
        ({"version": "v1.2.4; rm -rf /"}, "The version `v1.2.4; rm -rf /` does not match"),
        ({"previous_version": "--force"}, "The previous version `--force` does not match"),
        ({"ticket": "SEC-9 $(whoami)"}, "is not a plain identifier"),
    ],
)
def test_a_value_that_could_be_read_as_something_else_is_refused(
    changes: dict[str, str], said: str
) -> None:
    with pytest.raises(DeployRefused) as refused:
        values(**changes).checked(PATTERN)
    assert said in str(refused.value)


def test_each_argument_stays_one_argument_and_the_environment_has_no_bot_secret(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    checked = values(ticket="OPS/12#3").checked(PATTERN)
    argv = render(
        ("./deploy.sh", "--tag={version}", "{ticket} for {hotfix_id}", "{checkout}"), checked
    )
    assert argv == (
        "./deploy.sh",
        "--tag=v1.2.4",
        "OPS/12#3 for HF-1",
        "/srv/deploys/HF-1/attempt-1-checkout",
    )
    for name in (
        "SLACK_BOT_TOKEN",
        "SLACK_SIGNING_SECRET",
        "GITHUB_TOKEN",
        "GITHUB_APP_ID",
        "DATABASE_URL",
    ):
        monkeypatch.setenv(name, "secret")
    monkeypatch.setenv("PATH_TO_TOOLS", "/opt/tools")
    env = environment(checked)
    assert not {
        "SLACK_BOT_TOKEN",
        "SLACK_SIGNING_SECRET",
        "GITHUB_TOKEN",
        "GITHUB_APP_ID",
        "DATABASE_URL",
    } & set(env)
    assert env["PATH_TO_TOOLS"] == "/opt/tools"
    assert (env["HOTFIX_VERSION"], env["HOTFIX_PREVIOUS_VERSION"], env["HOTFIX_ID"]) == (
        "v1.2.4",
        "v1.2.3",
        "HF-1",
    )
