"""http/aiohttp_sender.py: session ownership, timeouts per request, the client's real path."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from privicore_async import PollPolicy, PrivicoreClient, RetryPolicy, Timeouts, errors
from privicore_async.http import AiohttpSender, PreparedRequest, SendError
from tests.wire_mock import API, calls, count, mock_http

TOKEN = "T-abc"


def client(**kwargs: Any) -> PrivicoreClient:
    kwargs.setdefault("token", TOKEN)
    kwargs.setdefault("retry", RetryPolicy(max_attempts=3, initial_backoff=0.01, max_backoff=0.02))
    kwargs.setdefault("poll", PollPolicy(initial_delay=60.0, min_interval=0.01, timeout=5))
    return PrivicoreClient(api_url=API, **kwargs)


# -- session ownership and timeouts ----------------------------------------------------------------


def _aiohttp_sender(c: PrivicoreClient) -> AiohttpSender:
    sender = c.transport.sender
    sender = getattr(sender, "inner", sender)  # the suite records routes through a wrapper
    assert isinstance(sender, AiohttpSender)
    return sender


async def test_injected_session_is_left_open() -> None:
    session = aiohttp.ClientSession()
    try:
        with mock_http() as m:
            m.get(API + "/health", payload={"status": "ok"})
            async with client(session=session) as c:
                assert (await c.utility.health()).status == "ok"
                assert _aiohttp_sender(c).session is session
        assert not session.closed
        assert count(m, "GET", "/health") == 1
    finally:
        await session.close()


async def test_owned_session_is_closed_and_the_transport_refuses_more() -> None:
    with mock_http() as m:
        m.get(API + "/health", payload={"status": "ok"}, repeat=True)
        c = client()
        async with c:
            await c.utility.health()
            owned = _aiohttp_sender(c).session
            assert owned is not None
            assert not owned.closed
        assert owned.closed
        with pytest.raises(errors.PrivicoreError, match="closed"):
            await c.utility.health()
        await c.close()  # idempotent
    assert count(m, "GET", "/health") == 1


async def test_default_timeouts_are_passed_per_request() -> None:
    with mock_http() as m:
        m.get(API + "/health", payload={"status": "ok"})
        async with client() as c:
            assert c.transport.timeouts == Timeouts(connect=10.0, read=60.0, total=120.0)
            await c.utility.health()
    (call,) = calls(m, "GET", "/health")
    assert call.kwargs["timeout"] == aiohttp.ClientTimeout(
        total=120.0, sock_connect=10.0, sock_read=60.0
    )


async def test_custom_timeouts_apply_to_an_injected_session_too() -> None:
    session = aiohttp.ClientSession()
    try:
        with mock_http() as m:
            m.get(API + "/health", payload={"status": "ok"})
            timeouts = Timeouts(connect=1.5, read=2.5, total=9.0)
            async with client(session=session, timeouts=timeouts) as c:
                await c.utility.health()
        (call,) = calls(m, "GET", "/health")
        assert call.kwargs["timeout"] == aiohttp.ClientTimeout(
            total=9.0, sock_connect=1.5, sock_read=2.5
        )
    finally:
        await session.close()


async def test_the_owned_session_leaves_every_repeat_to_the_retry_table() -> None:
    # aiohttp would resend a GET once by itself when a connection drops; some commands are GETs.
    sender = AiohttpSender()
    try:
        async with sender.send(
            PreparedRequest("GET", "http://127.0.0.1:1/", route="utility.health")
        ):
            pass
    except SendError:
        pass  # nothing listens there: only the session's settings matter
    assert sender.session is not None
    assert getattr(sender.session, "_retry_connection", False) is False
    await sender.close()
