"""The fake Slack's file uploads, driven by the real ``WebClient.files_upload_v2``.

slack_sdk uploads in three steps: ``files.getUploadURLExternal`` (form-encoded), a POST of
the raw bytes to the ``upload_url`` it answered (plain urllib outside the WebClient: no token,
no retry handlers, and urllib's default ``application/x-www-form-urlencoded`` label on the
bytes), then ``files.completeUploadExternal``.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from sandbox.slack_server import FakeSlack

TOKEN = "xoxb-test-token"
SCOPES = ["chat:write", "files:write"]
ALICE = "U0ALICE"
OPS = "C0OPS"
LOG = "deploy-HF-1.log"


def expect_error(error: str, call: Any, *args: Any, **kwargs: Any) -> SlackApiError:
    with pytest.raises(SlackApiError) as info:
        call(*args, **kwargs)
    assert info.value.response["error"] == error, info.value.response.data
    return info.value


def post_bytes(url: str, data: bytes, method: str = "POST") -> tuple[int, str]:
    """Send ``data`` to an upload URL as slack_sdk does (urllib, no headers of its own)."""
    request = urllib.request.Request(url, data=data, method=method)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack(token=TOKEN, scopes=SCOPES) as server:
        server.add_user(ALICE, "alice")
        server.add_channel(OPS, "ops")
        server.add_channel("C0AWAY", "away", bot_is_member=False)
        yield server
        server.assert_valid()


@pytest.fixture
def web(fake: FakeSlack) -> WebClient:
    return WebClient(token=TOKEN, base_url=fake.api_url, timeout=5)


@pytest.fixture
def card_ts(web: WebClient) -> str:
    """A top-level message in #ops to reply to."""
    return web.chat_postMessage(channel=OPS, text="HF-1 card")["ts"]


def file_of(fake: FakeSlack, file_id: str) -> dict[str, Any]:
    found = fake.file(file_id)
    assert found is not None, f"the fake has no file {file_id}"
    return found


def get_upload_url(web: WebClient, data: bytes, filename: str = LOG) -> tuple[str, str]:
    answer = web.files_getUploadURLExternal(filename=filename, length=len(data))
    return answer["file_id"], answer["upload_url"]


def test_files_upload_v2_into_a_thread(fake: FakeSlack, web: WebClient, card_ts: str) -> None:
    answer = web.files_upload_v2(
        channel=OPS,
        thread_ts=card_ts,
        content="log text",
        filename=LOG,
        title="Deploy log of HF-1",
        initial_comment="The deploy failed; here is its log.",
    )

    file_id = answer["file"]["id"]
    assert answer["files"] == [{"id": file_id, "title": "Deploy log of HF-1"}]
    [reply] = fake.thread(OPS, card_ts)
    assert reply["text"] == "The deploy failed; here is its log."
    assert reply["thread_ts"] == card_ts
    assert reply["files"] == [{"id": file_id, "title": "Deploy log of HF-1", "name": LOG}]
    assert [m["ts"] for m in fake.messages(OPS)] == [card_ts]  # a reply, not top-level
    stored = {
        "id": file_id,
        "name": LOG,
        "title": "Deploy log of HF-1",
        "length": 8,
        "content": b"log text",
        "shared": True,
        "channel": OPS,
        "thread_ts": card_ts,
        "message_ts": reply["ts"],
        "initial_comment": "The deploy failed; here is its log.",
    }
    assert fake.files() == [stored]
    assert fake.file(file_id) == stored
    assert fake.files(OPS, thread_ts=card_ts) == [stored]
    assert fake.files(OPS, thread_ts="1.000001") == []
    assert fake.files("C0AWAY") == []
    # What went over the wire: form-encoded arguments, ``files`` as a JSON string.
    [asked] = fake.calls_to("files.getUploadURLExternal")
    assert asked == {"filename": LOG, "length": "8"}
    [completed] = fake.calls_to("files.completeUploadExternal")
    assert completed["files"] == [{"id": file_id, "title": "Deploy log of HF-1"}]
    wires = {c.method: c.wire for c in fake.calls}
    assert wires["files.getUploadURLExternal"] == "form"
    assert wires["files.completeUploadExternal"] == "form"


def test_a_reply_ts_shares_in_its_parent_thread(
    fake: FakeSlack, web: WebClient, card_ts: str
) -> None:
    reply_ts = web.chat_postMessage(channel=OPS, thread_ts=card_ts, text="deploying")["ts"]
    web.files_upload_v2(channel=OPS, thread_ts=reply_ts, content="log text", filename=LOG)

    assert [m.get("files") is not None for m in fake.thread(OPS, card_ts)] == [False, True]
    assert [f["thread_ts"] for f in fake.files(OPS)] == [card_ts]


def test_binary_file_at_top_level_defaults_title_to_filename(
    fake: FakeSlack, web: WebClient
) -> None:
    data = bytes(range(256))
    answer = web.files_upload_v2(channel=OPS, file=data, filename="core.bin")

    [message] = fake.messages(OPS)
    assert message["text"] == ""
    assert "thread_ts" not in message
    assert message["files"] == [
        {"id": answer["file"]["id"], "title": "core.bin", "name": "core.bin"}
    ]
    [stored] = fake.files(OPS)
    assert (stored["content"], stored["title"], stored["thread_ts"]) == (data, "core.bin", None)


def test_uploaded_bytes_are_kept_as_sent_not_form_decoded(fake: FakeSlack, web: WebClient) -> None:
    web.files_upload_v2(channel=OPS, content="a=1&b=%20+c", filename="query.txt")

    assert fake.files(OPS)[0]["content"] == b"a=1&b=%20+c"


def test_several_files_share_one_message(fake: FakeSlack, web: WebClient, card_ts: str) -> None:
    web.files_upload_v2(
        file_uploads=[
            {"content": "build", "filename": "build.log"},
            {"content": "deploy", "filename": "deploy.log", "title": "Deploy"},
        ],
        channel=OPS,
        thread_ts=card_ts,
        initial_comment="logs",
    )

    [reply] = fake.thread(OPS, card_ts)
    assert [(f["name"], f["title"]) for f in reply["files"]] == [
        ("build.log", "build.log"),
        ("deploy.log", "Deploy"),
    ]
    assert [f["content"] for f in fake.files(OPS, thread_ts=card_ts)] == [b"build", b"deploy"]


def test_without_a_channel_the_file_stays_private(fake: FakeSlack, web: WebClient) -> None:
    web.files_upload_v2(content="secret", filename="notes.txt")

    assert fake.messages(OPS) == []
    [stored] = fake.files()
    assert stored["shared"] is True
    assert (stored["channel"], stored["message_ts"], stored["content"]) == (None, None, b"secret")
    assert fake.files(OPS) == []


def test_files_write_scope_is_needed() -> None:
    with FakeSlack(token=TOKEN, scopes=["chat:write"]) as fake:
        fake.add_channel(OPS, "ops")
        web = WebClient(token=TOKEN, base_url=fake.api_url)

        error = expect_error(
            "missing_scope", web.files_upload_v2, channel=OPS, content="x", filename=LOG
        )
        assert error.response["needed"] == "files:write"
        expect_error("missing_scope", web.files_completeUploadExternal, files=[{"id": "F1"}])
        assert fake.files() == []
        assert fake.messages(OPS) == []


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"length": 8}, "filename is required"),
        ({"filename": LOG}, "length is required"),
        ({"filename": "", "length": 8}, "filename is required"),
        ({"filename": LOG, "length": "eight"}, "length must be a positive integer"),
        ({"filename": LOG, "length": 0}, "length must be a positive integer"),
    ],
)
def test_get_upload_url_refuses_missing_arguments(
    fake: FakeSlack, web: WebClient, params: dict[str, Any], message: str
) -> None:
    error = expect_error(
        "invalid_arguments", web.api_call, "files.getUploadURLExternal", params=params
    )
    assert message in error.response["response_metadata"]["messages"][0]
    assert fake.files() == []


def test_upload_url_is_on_the_fakes_host_and_answers_ok(fake: FakeSlack, web: WebClient) -> None:
    file_id, url = get_upload_url(web, b"12345")
    assert file_id.startswith("F")
    assert url == f"{fake.base_url}/upload/v1/{file_id}"

    assert post_bytes(url, b"12345") == (200, "OK - 5")
    assert file_of(fake, file_id)["content"] == b"12345"
    assert file_of(fake, file_id)["shared"] is False
    assert post_bytes(f"{fake.base_url}/upload/v1/F0NOSUCH", b"x")[0] == 404
    assert post_bytes(url, b"", method="GET")[0] == 405
    assert post_bytes(url, b"12345", method="PUT")[0] == 501  # Slack wants a POST


def test_complete_refuses_unknown_and_unuploaded_files(fake: FakeSlack, web: WebClient) -> None:
    expect_error("file_not_found", web.files_completeUploadExternal, files=[{"id": "F0NOSUCH"}])
    file_id, _ = get_upload_url(web, b"log text")
    error = expect_error(
        "file_not_found", web.files_completeUploadExternal, files=[{"id": file_id}]
    )
    assert "nothing was POSTed" in error.response["response_metadata"]["messages"][0]
    assert file_of(fake, file_id)["shared"] is False


def test_complete_refuses_a_length_mismatch(fake: FakeSlack, web: WebClient) -> None:
    file_id, url = get_upload_url(web, b"log text")
    assert post_bytes(url, b"log text, longer") == (200, "OK - 16")

    error = expect_error(
        "invalid_arguments",
        web.files_completeUploadExternal,
        files=[{"id": file_id}],
        channel_id=OPS,
    )
    assert "16 bytes uploaded, 8 announced" in error.response["response_metadata"]["messages"][0]
    assert fake.messages(OPS) == []

    assert post_bytes(url, b"log text") == (200, "OK - 8")  # uploading again replaces the bytes
    web.files_completeUploadExternal(files=[{"id": file_id}], channel_id=OPS)
    assert file_of(fake, file_id)["content"] == b"log text"


def test_complete_once_only(fake: FakeSlack, web: WebClient) -> None:
    file_id, url = get_upload_url(web, b"log text")
    post_bytes(url, b"log text")
    web.files_completeUploadExternal(files=[{"id": file_id, "title": "log"}], channel_id=OPS)

    expect_error("file_not_found", web.files_completeUploadExternal, files=[{"id": file_id}])
    assert post_bytes(url, b"log text")[0] == 404  # the upload URL is spent
    assert len(fake.messages(OPS)) == 1


@pytest.mark.parametrize(
    ("where", "error"),
    [
        ({"channel_id": "C0NOSUCH"}, "channel_not_found"),
        ({"channel_id": "#ops"}, "channel_not_found"),  # names are not resolved
        ({"channel_id": ALICE}, "channel_not_found"),  # nor user ids
        ({"channel_id": "C0AWAY"}, "not_in_channel"),
        ({"channel_id": OPS, "thread_ts": "1.000001"}, "thread_not_found"),
        ({"thread_ts": "1.000001"}, "invalid_arguments"),
    ],
)
def test_complete_refuses_a_bad_destination_and_shares_nothing(
    fake: FakeSlack, web: WebClient, where: dict[str, str], error: str
) -> None:
    file_id, url = get_upload_url(web, b"log text")
    post_bytes(url, b"log text")

    expect_error(error, web.files_completeUploadExternal, files=[{"id": file_id}], **where)
    assert file_of(fake, file_id)["shared"] is False
    assert fake.messages(OPS) == []
    web.files_completeUploadExternal(files=[{"id": file_id}], channel_id=OPS)  # still possible
    assert fake.files(OPS)[0]["id"] == file_id


def test_complete_refuses_malformed_files(fake: FakeSlack, web: WebClient) -> None:
    for files in ("", "[]", '[{"title": "no id"}]', "{}"):
        expect_error(
            "invalid_arguments",
            web.api_call,
            "files.completeUploadExternal",
            params={"files": files},
        )
    expect_error(
        "invalid_arguments", web.api_call, "files.completeUploadExternal", params={"files": "[{"}
    )
    assert fake.validation_errors == [
        "files.completeUploadExternal: argument 'files' is not valid JSON"
    ]
    fake.validation_errors.clear()


def test_an_upload_failure_raises_urllibs_http_error(fake: FakeSlack, web: WebClient) -> None:
    fake.fail("upload_url", http_status=500)

    # Not a SlackApiError: slack_sdk lets urllib's HTTPError (an OSError) through.
    with pytest.raises(urllib.error.HTTPError) as info:
        web.files_upload_v2(channel=OPS, content="log text", filename=LOG)
    assert info.value.code == 500
    assert fake.calls_to("files.completeUploadExternal") == []
    assert fake.messages(OPS) == []
    [stored] = fake.files()
    assert (stored["content"], stored["shared"]) == (None, False)


def test_a_hung_upload_times_out(fake: FakeSlack) -> None:
    web = WebClient(token=TOKEN, base_url=fake.api_url, timeout=1)
    fake.hang("upload_url")
    try:
        with pytest.raises(OSError):
            web.files_upload_v2(channel=OPS, content="log text", filename=LOG)
    finally:
        fake.recover()
    [held] = fake.dropped
    assert (held.method, held.args) == (
        "upload_url",
        {"file_id": fake.files()[0]["id"], "length": 8},
    )
    assert fake.calls_to("files.completeUploadExternal") == []


def test_reset_forgets_files(fake: FakeSlack, web: WebClient) -> None:
    web.files_upload_v2(channel=OPS, content="log text", filename=LOG)
    fake.reset()
    assert fake.files() == []
