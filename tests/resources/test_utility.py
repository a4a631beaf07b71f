"""resources/utility.py: server health and one-off command status reads, pinned on the wire."""

from __future__ import annotations

from typing import Any

import pytest

from privicore_async import CommandStatus, errors
from privicore_async.models import HealthStatus
from privicore_async.wire import StatusReading
from tests.client_helpers import assert_get_call, make_client
from tests.wire_mock import (
    API,
    all_calls,
    calls,
    count,
    headers,
    json_body,
    mock_http,
    raw_body,
)


async def test_health() -> None:
    with mock_http() as m:
        m.get(API + "/health", payload={"status": "ok", "uptime": 12})
        async with make_client() as c:
            health = await c.utility.health()
    assert health == HealthStatus("ok", {"uptime": 12})
    (call,) = calls(m, "GET", "/health")
    assert_get_call(call, token=None)  # public endpoint: the token is not sent


async def test_health_without_status_is_a_protocol_error() -> None:
    with mock_http() as m:
        m.get(API + "/health", payload={"healthy": True})
        async with make_client() as c:
            with pytest.raises(errors.ProtocolError, match=r"utility\.health"):
                await c.utility.health()


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ("started", StatusReading(CommandStatus.PENDING)),
        (["succeeded"], StatusReading(CommandStatus.SUCCEEDED)),
        ({"command_status": 3, "body": "profile.not_an_owner"},
         StatusReading(CommandStatus.REJECTED, "profile.not_an_owner")),
    ],
)  # fmt: skip
async def test_command_status_posts_empty_json_without_auth(
    answer: Any, expected: StatusReading
) -> None:
    with mock_http() as m:
        m.post(API + "/request-status/cmd-1", payload=answer)
        async with make_client() as c:
            assert await c.utility.command_status("cmd-1") == expected
    (call,) = calls(m, "POST", "/request-status/cmd-1")
    assert raw_body(call) == b"{}"
    assert json_body(call) == {}
    sent = headers(call)
    assert sent["content-type"] == "application/json"
    assert "x-dpt-authorization" not in sent
    assert "authorization" not in sent
    assert all_calls(m) == [("POST", "/request-status/cmd-1")]


async def test_command_status_405_switches_to_get_and_stays() -> None:
    with mock_http() as m:
        m.post(API + "/request-status/cmd-1", status=405, repeat=True)
        m.post(API + "/request-status/cmd-2", status=405, repeat=True)
        m.get(API + "/request-status/cmd-1", payload="started")
        m.get(API + "/request-status/cmd-2", payload=["succeeded"])
        async with make_client() as c:
            first = await c.utility.command_status("cmd-1")
            second = await c.utility.command_status("cmd-2")
    assert first.status is CommandStatus.PENDING
    assert second.status is CommandStatus.SUCCEEDED
    assert all_calls(m) == [
        ("POST", "/request-status/cmd-1"),
        ("GET", "/request-status/cmd-1"),
        ("GET", "/request-status/cmd-2"),
    ]
    (get,) = calls(m, "GET", "/request-status/cmd-1")
    assert_get_call(get, token=None)


async def test_command_status_404_tries_get_once_then_is_not_found() -> None:
    # No POST has answered this client yet: the POST may not exist, so the GET is tried (§a5).
    with mock_http() as m:
        m.post(API + "/request-status/nope", status=404, payload={"message": "post"})
        m.get(API + "/request-status/nope", status=404, payload={"message": "get"})
        async with make_client() as c:
            with pytest.raises(errors.NotFoundError) as info:
                await c.utility.command_status("nope")
    assert info.value.body == {"message": "post"}
    assert all_calls(m) == [("POST", "/request-status/nope"), ("GET", "/request-status/nope")]
    (get,) = calls(m, "GET", "/request-status/nope")
    assert_get_call(get, token=None)


async def test_command_status_404_after_a_post_answered_is_not_found_at_once() -> None:
    with mock_http() as m:
        m.post(API + "/request-status/cmd-1", payload="started")
        m.post(API + "/request-status/nope", status=404)
        async with make_client() as c:
            await c.utility.command_status("cmd-1")
            with pytest.raises(errors.NotFoundError):
                await c.utility.command_status("nope")
    assert all_calls(m) == [("POST", "/request-status/cmd-1"), ("POST", "/request-status/nope")]


async def test_command_status_404_of_a_missing_post_is_read_with_get() -> None:
    with mock_http() as m:
        m.post(API + "/request-status/cmd-1", status=404, repeat=True)
        m.get(API + "/request-status/cmd-1", payload="succeeded", repeat=True)
        async with make_client() as c:
            for _ in range(2):
                reading = await c.utility.command_status("cmd-1")
                assert reading.status is CommandStatus.SUCCEEDED
    # A 404 switch is not remembered (a 405 is): each read tries the POST first.
    assert count(m, "POST", "/request-status/cmd-1") == 2
    assert count(m, "GET", "/request-status/cmd-1") == 2


async def test_command_status_unknown_answer_names_command_and_value() -> None:
    with mock_http() as m:
        m.post(API + "/request-status/cmd-1", payload="exploded")
        async with make_client() as c:
            with pytest.raises(errors.ProtocolError) as info:
                await c.utility.command_status("cmd-1")
    assert "cmd-1" in str(info.value)
    assert "'exploded'" in str(info.value)
