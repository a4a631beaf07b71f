"""resources/tracking.py: ``client.commands.resume`` polls the quoted id and keeps the
handle's deadline."""

from __future__ import annotations

import asyncio

import pytest

from privicore_async import PollPolicy, errors
from tests.client_helpers import make_client
from tests.wire_mock import API, all_calls, mock_http, url


@pytest.mark.parametrize(
    ("command_id", "path"),
    [
        ("../x", "/request-status/..%2Fx"),
        ("..", "/request-status/%2E%2E"),
        ("a/b?c#d", "/request-status/a%2Fb%3Fc%23d"),
        ("caf\u00e9\u00b71", "/request-status/caf%C3%A9%C2%B71"),
    ],
)
async def test_resume_polls_one_quoted_segment(command_id: str, path: str) -> None:
    with mock_http() as m:
        m.post(url(path), payload="succeeded")
        async with make_client() as c:
            handle = c.commands.resume(command_id)
            assert c.commands.resume(command_id) is handle  # same id, same handle
            result = await handle
    assert result.command_id == command_id
    assert all_calls(m) == [("POST", path)]
    ((_, target),) = m.requests
    assert target.raw_path == path


async def test_status_429_with_long_retry_after_does_not_outlast_the_deadline() -> None:
    # A Retry-After pause on the status endpoint must not keep a handle past its deadline.
    policy = PollPolicy(initial_delay=0.0, min_interval=0.01, timeout=0.2)
    with mock_http() as m:
        m.post(
            API + "/request-status/cmd-1", status=429, headers={"Retry-After": "3600"}, repeat=True
        )
        async with make_client(poll=policy) as c:
            handle = c.commands.resume("cmd-1")
            with pytest.raises(errors.CommandTimeout):
                await asyncio.wait_for(handle.wait(), 1.0)


NOT_IDS = ["caf\u00e9 1", "a\r\nb", "x" * 257, "\ufffd", "<html>\n<body>"]


@pytest.mark.parametrize("command_id", NOT_IDS)
async def test_resume_refuses_what_cannot_be_a_command_id(command_id: str) -> None:
    with mock_http() as m:
        async with make_client() as c:
            with pytest.raises(errors.InvalidArgumentError) as info:
                c.commands.resume(command_id)
            assert c.commands.tracked == 0
    assert info.value.argument == "command_id"
    assert all_calls(m) == []
