"""Calls to Slack are bounded: a timeout, few retries, none while Slack does not answer; and
the lanes that run work after the ack refuse, rather than queue for ever."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
from slack_sdk.errors import SlackApiError

from bot.lanes import Lane
from bot.slack_api import (
    Circuit,
    GuardedWebClient,
    ResponseUrls,
    SlackUnreachable,
    error_code,
    is_transient,
    retry_after,
    retry_handlers,
)
from sandbox.slack_server import FakeSlack, wait_for

TOKEN = "xoxb-test-token"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack(token=TOKEN) as server:
        server.add_user("U0ALICE", "alice")
        server.add_channel("C0OPS", "ops")
        yield server
        server.assert_valid()


def client(fake: FakeSlack, circuit: Circuit) -> GuardedWebClient:
    return GuardedWebClient(
        circuit=circuit,
        token=TOKEN,
        base_url=fake.api_url,
        timeout=1,
        retry_handlers=retry_handlers(),
    )


# ------------------------------------------------------------------------------ the fake


def test_a_hung_call_is_never_applied_and_the_fake_answers_again_after_recovery(
    fake: FakeSlack,
) -> None:
    web = client(fake, Circuit("test", failures=99))
    fake.hang("chat.postMessage")
    with pytest.raises(SlackUnreachable) as hung:
        web.chat_postMessage(channel="C0OPS", text="lost")
    assert error_code(hung.value) == "slack_unreachable" and is_transient(hung.value)
    assert [c.args["text"] for c in fake.dropped] == ["lost"]
    assert web.users_info(user="U0ALICE")["ok"]  # only the hung method hangs
    assert fake.messages("C0OPS") == []
    fake.recover()
    assert web.chat_postMessage(channel="C0OPS", text="kept")["ok"]
    assert [m["text"] for m in fake.messages("C0OPS")] == ["kept"]


# ------------------------------------------------------------------------------ the circuit


def test_two_unanswered_calls_open_the_circuit_and_one_probe_closes_it(fake: FakeSlack) -> None:
    clock = Clock()
    circuit = Circuit("test", failures=2, cooldown=5, clock=clock)
    web = client(fake, circuit)
    fake.hang("*")
    for _ in range(2):
        with pytest.raises(SlackUnreachable):
            web.chat_postMessage(channel="C0OPS", text="x")
    assert circuit.is_open and len(fake.dropped) == 2

    started = time.monotonic()
    with pytest.raises(SlackUnreachable) as skipped:
        web.chat_postMessage(channel="C0OPS", text="x")
    assert time.monotonic() - started < 0.5, "an open circuit does not call"
    assert len(fake.dropped) == 2
    assert retry_after(skipped.value) == pytest.approx(5)

    fake.recover()
    clock.now += 5
    assert web.chat_postMessage(channel="C0OPS", text="probe")["ok"]
    assert not circuit.is_open
    assert web.chat_postMessage(channel="C0OPS", text="again")["ok"]


def test_while_a_probe_is_out_every_other_call_fails_at_once() -> None:
    clock = Clock()
    circuit = Circuit("test", failures=1, cooldown=5, clock=clock)
    circuit.failed()
    clock.now += 5
    circuit.before("chat.update")  # the probe
    with pytest.raises(SlackUnreachable):
        circuit.before("chat.update")
    circuit.succeeded()
    circuit.before("chat.update")


def test_slack_refusing_a_call_is_an_answer_and_keeps_the_circuit_closed(
    fake: FakeSlack,
) -> None:
    circuit = Circuit("test", failures=1)
    web = client(fake, circuit)
    with pytest.raises(SlackApiError) as refused:
        web.chat_postMessage(channel="C0NOWHERE", text="x")
    assert error_code(refused.value) == "channel_not_found" and not is_transient(refused.value)
    assert not circuit.is_open


def test_a_5xx_is_retried_once_then_counts_as_no_answer(fake: FakeSlack) -> None:
    circuit = Circuit("test", failures=1)
    web = client(fake, circuit)
    fake.fail("chat.postMessage", http_status=500, times=1)
    assert web.chat_postMessage(channel="C0OPS", text="second try")["ok"]
    fake.fail("chat.postMessage", http_status=503, times=2)
    with pytest.raises(SlackApiError) as failed:
        web.chat_postMessage(channel="C0OPS", text="x")
    assert is_transient(failed.value) and circuit.is_open
    assert len(fake.calls_to("chat.postMessage")) == 4


def test_a_short_retry_after_is_waited_a_long_one_is_handed_back(fake: FakeSlack) -> None:
    web = client(fake, Circuit("test"))
    fake.fail("chat.postMessage", http_status=429, retry_after=1)
    assert web.chat_postMessage(channel="C0OPS", text="after a second")["ok"]

    fake.fail("chat.postMessage", http_status=429, retry_after=30)
    started = time.monotonic()
    with pytest.raises(SlackApiError) as limited:
        web.chat_postMessage(channel="C0OPS", text="x")
    assert time.monotonic() - started < 2, "a 30 s wait is not spent holding a thread"
    assert is_transient(limited.value) and retry_after(limited.value) == 30


def test_a_response_url_that_hangs_costs_one_timeout(fake: FakeSlack) -> None:
    urls = ResponseUrls(timeout=1, circuit=Circuit("test", failures=1))
    url = fake.new_response_url("C0OPS", "U0ALICE")
    fake.hang("response_url")
    started = time.monotonic()
    with pytest.raises(SlackUnreachable):
        urls.post(url, {"text": "lost"})
    assert time.monotonic() - started < 3
    with pytest.raises(SlackUnreachable):  # the circuit is open: not even tried
        urls.post(url, {"text": "lost"})
    assert len(fake.dropped) == 1
    assert fake.responses() == []


# ------------------------------------------------------------------------------ lanes


def test_a_full_lane_refuses_at_once_and_takes_work_again_when_it_drains() -> None:
    lane = Lane("test", workers=1, queue=1)
    release = threading.Event()
    ran: list[str] = []

    def blocked(name: str) -> None:
        release.wait(5)
        ran.append(name)

    assert lane.offer(lambda: blocked("first"), what="first")
    assert lane.offer(lambda: blocked("second"), what="second")  # waits
    assert not lane.offer(lambda: blocked("third"), what="third")
    release.set()
    wait_for(lambda: lane.load == 0)
    assert ran == ["first", "second"]
    assert lane.offer(lambda: ran.append("fourth"), what="fourth")
    wait_for(lambda: "fourth" in ran)
    lane.shutdown()


def test_a_job_still_waiting_stands_for_the_same_job_offered_again() -> None:
    lane = Lane("test", workers=1, queue=10)
    release = threading.Event()
    runs: list[int] = []
    lane.offer(lambda: release.wait(5), what="blocker")
    for _ in range(5):
        assert lane.offer_once(("refresh", 1), lambda: runs.append(1), what="refresh")
    release.set()
    wait_for(lambda: lane.load == 0)
    assert runs == [1]
    lane.shutdown()


def test_a_failing_job_is_logged_and_the_lane_goes_on(caplog: pytest.LogCaptureFixture) -> None:
    lane = Lane("test", workers=1, queue=1)

    def boom() -> None:
        raise RuntimeError("boom")

    lane.offer(boom, what="a job that fails")
    done = threading.Event()
    lane.offer(done.set, what="the next job")
    assert done.wait(5)
    assert "a job that fails failed unexpectedly" in caplog.text
    lane.shutdown()
