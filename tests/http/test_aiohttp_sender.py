"""http/aiohttp_sender.py: session ownership, timeouts per request, the client's real path."""

from __future__ import annotations

import platform
from typing import Any

import aiohttp
import pytest
from aiohttp.client_reqrep import ConnectionKey

from privicore_async import PollPolicy, PrivicoreClient, RetryPolicy, Timeouts, __version__, errors
from privicore_async.http import AiohttpSender, PreparedRequest, SendError
from privicore_async.http.aiohttp_sender import USER_AGENT
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


# -- the User-Agent, trace configs, and what a failure carries -------------------------------------


def test_the_user_agent_names_the_sdk_python_and_aiohttp() -> None:
    expected = (
        f"privicore-async/{__version__} python/{platform.python_version()} "
        f"aiohttp/{aiohttp.__version__}"
    )
    assert expected == USER_AGENT


@pytest.mark.parametrize("injected", [False, True], ids=["owned", "injected"])
async def test_every_request_carries_the_user_agent(injected: bool) -> None:
    session = aiohttp.ClientSession(headers={"User-Agent": "someone-else/1"}) if injected else None
    try:
        with mock_http() as m:
            m.get(API + "/health", payload={"status": "ok"})
            async with client(session=session) as c:
                await c.utility.health()
        (call,) = calls(m, "GET", "/health")
        assert call.kwargs["headers"]["User-Agent"] == USER_AGENT
        if session is not None:  # set per request: the session itself is not changed
            assert session.headers["User-Agent"] == "someone-else/1"
    finally:
        if session is not None:
            await session.close()


async def test_trace_configs_reach_the_owned_session() -> None:
    seen: list[str] = []

    async def on_start(session: object, ctx: object, params: Any) -> None:
        seen.append(params.url.path)

    config = aiohttp.TraceConfig()
    config.on_request_start.append(on_start)
    sender = AiohttpSender(trace_configs=[config])
    try:
        with pytest.raises(SendError):
            async with sender.send(PreparedRequest("GET", "http://127.0.0.1:1/probe")):
                pass
        assert sender.session is not None
        assert sender.session.trace_configs == [config]
    finally:
        await sender.close()
    assert seen == ["/probe"]


async def test_trace_configs_with_an_injected_session_are_refused() -> None:
    async with aiohttp.ClientSession() as session:
        with pytest.raises(errors.InvalidArgumentError, match="your own session") as info:
            client(session=session, trace_configs=[aiohttp.TraceConfig()])
    assert info.value.argument == "trace_configs"


@pytest.mark.parametrize("bad", [aiohttp.TraceConfig(), ["not a config"], "x"])
def test_trace_configs_must_be_a_list_of_trace_configs(bad: Any) -> None:
    with pytest.raises(errors.InvalidArgumentError, match="TraceConfig"):
        AiohttpSender(trace_configs=bad)


@pytest.mark.parametrize(
    ("exception", "failure", "timed_out"),
    [
        (aiohttp.ClientConnectorError(
            ConnectionKey("privicore.test", 80, False, True, None, None, None),
            ConnectionRefusedError(111, "refused"),
        ), "not sent", False),
        (aiohttp.ConnectionTimeoutError("connect timeout"), "not sent", True),
        (aiohttp.SocketTimeoutError("read timeout"), "lost", True),
        (TimeoutError(), "lost", True),
        (aiohttp.ServerDisconnectedError("gone"), "lost", False),
    ],
)  # fmt: skip
async def test_a_failure_carries_aiohttps_exception_and_whether_it_timed_out(
    exception: Exception, failure: str, timed_out: bool
) -> None:
    with mock_http() as m:
        m.get(API + "/health", exception=exception)
        sender = AiohttpSender()
        try:
            with pytest.raises(SendError) as info:
                async with sender.send(PreparedRequest("GET", API + "/health")):
                    pass
        finally:
            await sender.close()
    assert info.value.failure.value == failure
    assert info.value.timed_out is timed_out
    assert info.value.cause is exception
    assert info.value.__context__ is None  # raised outside the except block
