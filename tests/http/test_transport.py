"""http/transport.py: wire shapes per auth kind and encoding, error mapping, the retry rule,
budgets, Retry-After, recovery (401 replay, alternatives), and secrets kept out of errors.

Wire shapes go through the real aiohttp path (aioresponses); the recovery logic of the
attempt loop is driven through the in-memory sender."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator
from types import SimpleNamespace
from typing import Any

import aiohttp
import attrs
import pytest
from yarl import URL

from privicore_async import PollPolicy, PrivicoreClient, RetryPolicy, Timeouts, errors
from privicore_async.http import (
    AiohttpSender,
    Failure,
    MemoryReply,
    MemorySender,
    PreparedRequest,
    RequestKind,
    SendError,
    Transport,
    WireResponse,
)
from privicore_async.http import retry as retry_module
from privicore_async.http import transport as transport_module
from privicore_async.routes import ROUTES, Auth, Host
from privicore_async.wire import CommandStatus
from tests.wire_mock import (
    API,
    all_calls,
    calls,
    count,
    form,
    headers,
    json_body,
    mock_http,
    raw_body,
)

UP = "http://upstream.test"
DOWN = "http://downstream.test"
TOKEN = "T-abc"

PROFILE_ID = "/profile/retrieve-profile-id"
APPROVE = "/device/approve-device"


class FakeTime:
    """A virtual monotonic clock that only ``sleep`` advances; records every wait."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, delay: float) -> None:
        self.sleeps.append(delay)
        self.now += delay
        await _real_sleep(0)


_real_sleep = asyncio.sleep


@pytest.fixture
def fake_time(monkeypatch: pytest.MonkeyPatch) -> FakeTime:
    """Patches only the HTTP layer's view of ``asyncio.sleep`` and ``time.monotonic``."""
    clock = FakeTime()
    monkeypatch.setattr(transport_module, "asyncio", SimpleNamespace(sleep=clock.sleep))
    monkeypatch.setattr(transport_module, "time", SimpleNamespace(monotonic=clock.monotonic))
    monkeypatch.setattr(retry_module, "time", SimpleNamespace(monotonic=clock.monotonic))
    return clock


@pytest.fixture
async def transport() -> AsyncIterator[Transport]:
    t = Transport(
        AiohttpSender(),
        {Host.API: API, Host.UPSTREAM: UP, Host.DOWNSTREAM: DOWN},
        # max_time bounds the retries of what never connects (they use up no attempt).
        retry=RetryPolicy(max_attempts=3, initial_backoff=0.01, max_backoff=0.02, max_time=0.1),
    )
    try:
        yield t
    finally:
        await t.close()


def client(**kwargs: Any) -> PrivicoreClient:
    kwargs.setdefault("token", TOKEN)
    kwargs.setdefault("retry", RetryPolicy(max_attempts=3, initial_backoff=0.01, max_backoff=0.02))
    kwargs.setdefault("poll", PollPolicy(initial_delay=60.0, min_interval=0.01, timeout=5))
    return PrivicoreClient(api_url=API, **kwargs)


def connector_error() -> aiohttp.ClientConnectorError:
    key = SimpleNamespace(host="privicore.test", port=80, ssl=True)
    return aiohttp.ClientConnectorError(key, OSError(111, "Connection refused"))  # type: ignore[arg-type]


# -- wire shapes per auth kind and encoding --------------------------------------------------------


async def test_token_route_sends_raw_token_header_and_no_body(transport: Transport) -> None:
    with mock_http() as m:
        m.get(API + PROFILE_ID, payload={"profileId": "p-1"})
        response = await transport.request(ROUTES["profile.retrieve_profile_id"], credential=TOKEN)
    assert isinstance(response, WireResponse)
    assert (response.status, response.body, response.route) == (
        200,
        {"profileId": "p-1"},
        "profile.retrieve_profile_id",
    )
    (call,) = calls(m, "GET", PROFILE_ID)
    sent = headers(call)
    assert sent["x-dpt-authorization"] == "T-abc"  # raw: no "Bearer "
    assert "authorization" not in sent
    assert "content-type" not in sent
    assert "data" not in call.kwargs
    assert "params" not in call.kwargs
    assert call.kwargs["allow_redirects"] is False


async def test_form_route_sends_encoded_form(transport: Transport) -> None:
    with mock_http() as m:
        m.post(API + APPROVE, status=202, body='"cmd-1"')
        response = await transport.request(
            ROUTES["devices.approve"],
            fields={"deviceIdentifier": "dev 1&x=y", "skip": None, "flag": True, "n": 5},
            credential=TOKEN,
        )
    assert response.status == 202
    assert response.body == "cmd-1"
    (call,) = calls(m, "POST", APPROVE)
    assert headers(call)["content-type"] == "application/x-www-form-urlencoded"
    assert headers(call)["x-dpt-authorization"] == TOKEN
    assert form(call) == {"deviceIdentifier": "dev 1&x=y", "flag": "1", "n": "5"}
    assert raw_body(call) == b"deviceIdentifier=dev+1%26x%3Dy&flag=1&n=5"


async def test_form_route_without_fields_sends_empty_form_body(transport: Transport) -> None:
    with mock_http() as m:
        m.post(API + "/profile/authorization-token/expiry", payload={"expiresAt": "2026-01-01Z"})
        await transport.request(ROUTES["profile.token_expiry"], credential=TOKEN)
    (call,) = calls(m, "POST", "/profile/authorization-token/expiry")
    assert raw_body(call) == b""
    assert headers(call)["content-type"] == "application/x-www-form-urlencoded"


async def test_no_auth_route_sends_no_credential(transport: Transport) -> None:
    with mock_http() as m:
        m.post(API + "/profile/authenticate", payload={"authorizationToken": "T-new"})
        await transport.request(
            ROUTES["profile.authenticate"], fields={"username": "u", "password": "p"}
        )
    (call,) = calls(m, "POST", "/profile/authenticate")
    sent = headers(call)
    assert "x-dpt-authorization" not in sent
    assert "authorization" not in sent
    assert form(call) == {"username": "u", "password": "p"}


async def test_json_route_sends_compact_json(transport: Transport) -> None:
    fields = {
        "name": "p",
        "applyingEventIds": [1, 2],
        "configuration": {"a": {"b": True}},
        "votingConfigurationId": "v",
    }
    with mock_http() as m:
        m.post(API + "/policy/register", status=202, payload=["cmd-9"])
        await transport.request(ROUTES["policies.register"], fields=fields, credential=TOKEN)
    (call,) = calls(m, "POST", "/policy/register")
    assert headers(call)["content-type"] == "application/json"
    assert json_body(call) == fields
    assert raw_body(call) == json.dumps(fields, separators=(",", ":")).encode()


async def test_json_route_without_fields_sends_empty_object(transport: Transport) -> None:
    with mock_http() as m:
        m.post(API + "/request-status/c1", payload="started")
        await transport.request(ROUTES["utility.command_status"], path={"commandId": "c1"})
    (call,) = calls(m, "POST", "/request-status/c1")
    assert raw_body(call) == b"{}"
    assert headers(call)["content-type"] == "application/json"
    assert "x-dpt-authorization" not in headers(call)


async def test_query_route_repeats_php_array_keys(transport: Transport) -> None:
    fields = [("client_id", "cid"), ("nonce", "n-1"), ("scope[]", "all"), ("scope[]", "read")]
    path = "/profile/oauth-application-request-authorization-code"
    with mock_http() as m:
        m.get(
            URL(API + path).with_query(fields),
            status=202,
            payload={"commandId": "c"},
        )
        await transport.request(
            ROUTES["oauth.request_authorization_code"], fields=fields, credential=TOKEN
        )
    ((method, target),) = m.requests
    assert method == "GET"
    assert target.path == path
    assert sorted(target.query.items()) == sorted(fields)
    (call,) = m.requests[(method, target)]
    assert "data" not in call.kwargs


async def test_client_secret_basic_route(transport: Transport) -> None:
    path = "/oauth-application/obtain-access-token"
    with mock_http() as m:
        m.post(API + path, payload={"token": "a", "refreshToken": "r"})
        await transport.request(
            ROUTES["oauth.obtain_access_token"],
            fields={"authorization_code": "code-1"},
            credential=("client-1", "s3cret:x"),
        )
    (call,) = calls(m, "POST", path)
    sent = headers(call)
    assert sent["authorization"] == "Basic " + base64.b64encode(b"client-1:s3cret:x").decode()
    assert "x-dpt-authorization" not in sent
    assert form(call) == {"authorization_code": "code-1"}


async def test_raw_basic_route_sends_token_verbatim(transport: Transport) -> None:
    path = "/oauth-application/refresh-access-token"
    with mock_http() as m:
        m.post(API + path, payload={"token": "b"})
        await transport.request(
            ROUTES["oauth.refresh_access_token"],
            fields={"refresh_token": "r-1"},
            credential="acc-tok=",
        )
    (call,) = calls(m, "POST", path)
    assert headers(call)["authorization"] == "Basic acc-tok="
    assert "x-dpt-authorization" not in headers(call)


async def test_query_auth_download_and_binary_upload(transport: Transport) -> None:
    with mock_http() as m:
        m.get(DOWN + "/?auth=dl-1", body=b"\x00\x01cipher", content_type="application/octet-stream")
        m.post(UP + "/?auth=up-1", status=200, body="")
        got = await transport.request(ROUTES["data_tokens.download"], credential="dl-1")
        await transport.request(
            ROUTES["data_tokens.upload"], content=b"\x00\xffraw", credential="up-1"
        )
    assert got.body == "\x00\x01cipher"  # decoded as text: callers of download use raw bytes
    (download,) = calls(m, "GET", "/?auth=dl-1", base=DOWN)
    assert "x-dpt-authorization" not in headers(download)
    assert "authorization" not in headers(download)
    (upload,) = calls(m, "POST", "/?auth=up-1", base=UP)
    assert raw_body(upload) == b"\x00\xffraw"
    assert headers(upload)["content-type"] == "application/octet-stream"


async def test_explicit_url_is_used_as_is(transport: Transport) -> None:
    with mock_http() as m:
        m.get("http://other.test:8011/x?auth=dl-2", body="ok")
        await transport.request(
            ROUTES["data_tokens.download"], credential="dl-2", url="http://other.test:8011/x"
        )
    assert all_calls(m) == [("GET", "/x?auth=dl-2")]


async def test_route_without_base_url_is_refused() -> None:
    t = Transport(AiohttpSender(), {Host.API: API})
    try:
        with mock_http() as m, pytest.raises(errors.PrivicoreError, match="upstream"):
            await t.request(ROUTES["data_tokens.upload"], content=b"x", credential="u")
        assert m.requests == {}
    finally:
        await t.close()


async def test_fields_on_a_bodiless_route_are_a_type_error(transport: Transport) -> None:
    with mock_http() as m, pytest.raises(TypeError, match="takes no body fields"):
        await transport.request(ROUTES["storage.list"], fields={"a": 1}, credential=TOKEN)
    assert m.requests == {}


# -- missing credentials ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    ["profile.retrieve_profile_id", "devices.approve", "oauth.obtain_access_token",
     "oauth.refresh_access_token", "data_tokens.download"],
)  # fmt: skip
async def test_no_credential_for_a_credential_route_sends_nothing(
    transport: Transport, name: str
) -> None:
    route = ROUTES[name]
    with mock_http() as m, pytest.raises(errors.AuthenticationError) as info:
        await transport.request(route)
    assert m.requests == {}
    assert info.value.status == 401
    assert "nothing was sent" in str(info.value)
    assert (info.value.method, info.value.path) == (route.method, route.path)


async def test_client_without_token_or_password_sends_nothing() -> None:
    with mock_http() as m:
        async with client(token=None) as c:
            with pytest.raises(errors.AuthenticationError, match="nothing was sent"):
                await c.storage.list()
    assert m.requests == {}


# -- error statuses --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (401, errors.AuthenticationError),
        (403, errors.PermissionDeniedError),
        (404, errors.NotFoundError),
        (409, errors.ConflictError),
        (418, errors.APIError),
        (500, errors.ServerError),
        (502, errors.ServerError),
        (503, errors.ServerError),
    ],
)
async def test_error_status_maps_to_class(
    transport: Transport, status: int, cls: type[errors.APIError]
) -> None:
    with mock_http() as m:
        m.post(
            API + APPROVE,
            status=status,
            payload={"message": "nope"},
            headers={"X-DPT-CAB-REQUEST-ID": "req-7"},
        )
        with pytest.raises(cls) as info:
            await transport.request(
                ROUTES["devices.approve"], fields={"deviceIdentifier": "d"}, credential=TOKEN
            )
    exc = info.value
    assert type(exc) is cls
    assert (exc.status, exc.body, exc.request_id) == (status, {"message": "nope"}, "req-7")
    assert (exc.method, exc.path) == ("POST", APPROVE)
    assert str(exc).startswith(f"POST {APPROVE}: HTTP {status}")
    assert count(m, "POST", APPROVE) == 1


async def test_422_carries_parsed_field_errors(transport: Transport) -> None:
    body = {"errors": [{"propertyPath": "deviceIdentifier", "message": "must not be blank"}]}
    with mock_http() as m:
        m.post(API + APPROVE, status=422, payload=body)
        with pytest.raises(errors.ValidationError) as info:
            await transport.request(
                ROUTES["devices.approve"], fields={"deviceIdentifier": " "}, credential=TOKEN
            )
    assert info.value.errors == {"deviceIdentifier": ["must not be blank"]}
    assert info.value.body == body
    assert not isinstance(info.value, ValueError)  # a server refusal, not InvalidArgumentError


async def test_429_on_a_command_is_not_retried_and_carries_retry_after(
    transport: Transport, fake_time: FakeTime
) -> None:
    with mock_http() as m:
        m.post(API + APPROVE, status=429, headers={"Retry-After": "7"}, repeat=True)
        with pytest.raises(errors.RateLimitError) as info:
            await transport.request(
                ROUTES["devices.approve"], fields={"deviceIdentifier": "d"}, credential=TOKEN
            )
    assert info.value.retry_after == 7.0
    assert count(m, "POST", APPROVE) == 1
    assert fake_time.sleeps == []


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (401, errors.AuthenticationError),
        (404, errors.NotFoundError),
        (422, errors.ValidationError),
        (500, errors.ServerError),
    ],
)
async def test_error_status_through_the_client(status: int, cls: type[errors.APIError]) -> None:
    with mock_http() as m:
        m.post(API + APPROVE, status=status, body="", repeat=True)
        async with client() as c:
            with pytest.raises(cls) as info:
                await c.devices.approve("dev-1")
    assert info.value.status == status
    assert count(m, "POST", APPROVE) == 1  # token-only client: no re-authentication either


# -- the retry rule --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "failure",
    [
        aiohttp.ServerDisconnectedError(),
        aiohttp.ClientOSError(104, "Connection reset by peer"),
        aiohttp.SocketTimeoutError("read timed out"),
        connector_error(),
    ],
    ids=["disconnected", "reset", "read-timeout", "refused"],
)
async def test_get_is_retried_after_a_connection_failure(
    failure: Exception, fake_time: FakeTime
) -> None:
    with mock_http() as m:
        m.get(API + PROFILE_ID, exception=failure)
        m.get(API + PROFILE_ID, payload={"profileId": "p-1"})
        async with client() as c:
            assert await c.profile.retrieve_profile_id() == "p-1"
    assert count(m, "GET", PROFILE_ID) == 2
    assert len(fake_time.sleeps) == 1
    assert 0.0 <= fake_time.sleeps[0] <= 0.01  # initial_backoff, full jitter


async def test_get_that_keeps_failing_raises_after_max_attempts(fake_time: FakeTime) -> None:
    with mock_http() as m:
        m.get(API + PROFILE_ID, exception=aiohttp.ServerDisconnectedError(), repeat=True)
        async with client(retry=RetryPolicy(max_attempts=5, initial_backoff=0.01)) as c:
            with pytest.raises(errors.TransportError) as info:
                await c.profile.retrieve_profile_id()
    assert count(m, "GET", PROFILE_ID) == 5
    assert len(fake_time.sleeps) == 4
    assert str(info.value).startswith(f"GET {PROFILE_ID}: ServerDisconnectedError")


async def test_get_retried_on_retryable_statuses_then_raises(fake_time: FakeTime) -> None:
    with mock_http() as m:
        m.get(API + PROFILE_ID, status=502)
        m.get(API + PROFILE_ID, status=504)
        m.get(API + PROFILE_ID, status=503, payload={"message": "down"})
        async with client() as c:
            with pytest.raises(errors.ServerError) as info:
                await c.profile.retrieve_profile_id()
    assert info.value.status == 503
    assert count(m, "GET", PROFILE_ID) == 3


@pytest.mark.parametrize("status", [400, 401, 404, 500])
async def test_get_not_retried_on_other_statuses(status: int, fake_time: FakeTime) -> None:
    with mock_http() as m:
        m.get(API + PROFILE_ID, status=status, repeat=True)
        async with client() as c:
            with pytest.raises(errors.APIError):
                await c.profile.retrieve_profile_id()
    assert count(m, "GET", PROFILE_ID) == 1
    assert fake_time.sleeps == []


@pytest.mark.parametrize("status", [429, 502, 503, 504])
async def test_command_post_that_got_an_answer_is_never_sent_twice(
    status: int, fake_time: FakeTime
) -> None:
    with mock_http() as m:
        m.post(API + APPROVE, status=status, repeat=True)
        async with client(retry=RetryPolicy(max_attempts=10)) as c:
            with pytest.raises(errors.APIError) as info:
                await c.devices.approve("dev-1")
    assert info.value.status == status
    assert count(m, "POST", APPROVE) == 1
    assert fake_time.sleeps == []


@pytest.mark.parametrize(
    "failure",
    [aiohttp.ServerDisconnectedError(), aiohttp.ClientOSError(104, "reset"),
     aiohttp.SocketTimeoutError("read timeout"), aiohttp.ClientPayloadError("cut")],
    ids=["disconnected", "reset", "read-timeout", "payload"],
)  # fmt: skip
async def test_command_post_that_may_have_arrived_is_not_retried(
    failure: Exception, fake_time: FakeTime
) -> None:
    with mock_http() as m:
        m.post(API + APPROVE, exception=failure, repeat=True)
        async with client(retry=RetryPolicy(max_attempts=10)) as c:
            with pytest.raises(errors.TransportError):
                await c.devices.approve("dev-1")
    assert count(m, "POST", APPROVE) == 1
    assert fake_time.sleeps == []


@pytest.mark.parametrize(
    "failure",
    [connector_error(), aiohttp.ConnectionTimeoutError("Connection timeout to host")],
    ids=["refused", "connect-timeout"],
)
async def test_command_post_that_failed_to_connect_is_retried(
    failure: Exception, fake_time: FakeTime
) -> None:
    with mock_http() as m:
        m.post(API + APPROVE, exception=failure)
        m.post(API + APPROVE, exception=failure)
        m.post(API + APPROVE, status=202, body='"cmd-1"')
        async with client() as c:
            handle = await c.devices.approve("dev-1")
            assert handle.command_id == "cmd-1"
    assert count(m, "POST", APPROVE) == 3
    assert len(fake_time.sleeps) == 2


async def test_command_post_that_never_connects_is_retried_until_max_time(
    fake_time: FakeTime,
) -> None:
    # A server that is down costs nothing per attempt: an outage is waited out for max_time,
    # however many attempts that takes (max_attempts counts the others).
    with mock_http() as m:
        m.post(API + APPROVE, exception=connector_error(), repeat=True)
        async with client(retry=RetryPolicy(max_attempts=4, max_time=10.0)) as c:
            with pytest.raises(errors.TransportError, match="ClientConnectorError") as info:
                await c.devices.approve("dev-1")
    assert count(m, "POST", APPROVE) > 4
    assert sum(fake_time.sleeps) <= 10.0
    assert info.value.may_have_arrived is False


async def test_status_endpoint_is_safe_and_retried_on_503(fake_time: FakeTime) -> None:
    with mock_http() as m:
        m.post(API + "/request-status/c1", status=503)
        m.post(API + "/request-status/c1", status=502)
        m.post(API + "/request-status/c1", payload=["succeeded"])
        async with client() as c:
            reading = await c.utility.command_status("c1")
    assert reading.status is CommandStatus.SUCCEEDED
    assert count(m, "POST", "/request-status/c1") == 3


async def test_safe_flag_makes_a_post_repeatable(transport: Transport, fake_time: FakeTime) -> None:
    with mock_http() as m:
        m.post(API + "/request-status/c1", exception=aiohttp.ServerDisconnectedError())
        m.post(API + "/request-status/c1", payload="started")
        response = await transport.request(
            ROUTES["utility.command_status"], path={"commandId": "c1"}, safe=True
        )
    assert response.body == "started"
    assert count(m, "POST", "/request-status/c1") == 2


async def test_a_status_read_makes_one_attempt(transport: Transport, fake_time: FakeTime) -> None:
    # The tracker reads again at the handle's next due time: the transport must not retry.
    path = "/request-status/c1"
    with mock_http() as m:
        m.post(API + path, exception=connector_error(), repeat=True)
        with pytest.raises(errors.TransportError):
            await transport.request(
                ROUTES["utility.command_status"],
                path={"commandId": "c1"},
                kind=RequestKind.STATUS_READ,
            )
    assert count(m, "POST", path) == 1
    assert fake_time.sleeps == []


# -- Retry-After and budgets -----------------------------------------------------------------------


async def test_retry_after_on_429_is_honoured(fake_time: FakeTime) -> None:
    with mock_http() as m:
        m.get(API + PROFILE_ID, status=429, headers={"Retry-After": "1"})
        m.get(API + PROFILE_ID, payload={"profileId": "p"})
        async with client() as c:
            assert await c.profile.retrieve_profile_id() == "p"
    assert fake_time.sleeps == [1.0]
    assert count(m, "GET", PROFILE_ID) == 2


async def test_retry_after_on_503_replaces_the_backoff(fake_time: FakeTime) -> None:
    with mock_http() as m:
        m.get(API + PROFILE_ID, status=503, headers={"Retry-After": "2"})
        m.get(API + PROFILE_ID, payload={"profileId": "p"})
        async with client() as c:
            await c.profile.retrieve_profile_id()
    assert fake_time.sleeps == [2.0]


async def test_retry_after_above_the_maximum_is_not_waited_for(fake_time: FakeTime) -> None:
    with mock_http() as m:
        m.get(API + PROFILE_ID, status=429, headers={"Retry-After": "30"}, repeat=True)
        async with client(retry=RetryPolicy(max_retry_after=5.0)) as c:
            with pytest.raises(errors.RateLimitError) as info:
                await c.profile.retrieve_profile_id()
    assert info.value.retry_after == 30.0
    assert fake_time.sleeps == []
    assert count(m, "GET", PROFILE_ID) == 1


async def test_retry_after_beyond_the_time_budget_is_not_waited_for(fake_time: FakeTime) -> None:
    with mock_http() as m:
        m.get(API + PROFILE_ID, status=429, headers={"Retry-After": "1"}, repeat=True)
        async with client(retry=RetryPolicy(max_attempts=10, max_time=0.5)) as c:
            with pytest.raises(errors.RateLimitError):
                await c.profile.retrieve_profile_id()
    assert fake_time.sleeps == []
    assert count(m, "GET", PROFILE_ID) == 1


async def test_max_time_bounds_the_attempts(fake_time: FakeTime) -> None:
    with mock_http() as m:
        m.get(API + PROFILE_ID, status=503, headers={"Retry-After": "1"}, repeat=True)
        async with client(retry=RetryPolicy(max_attempts=100, max_time=3.5)) as c:
            with pytest.raises(errors.ServerError):
                await c.profile.retrieve_profile_id()
    # Attempts at t=0, 1, 2, 3; another wait would end at 4 > 3.5.
    assert fake_time.sleeps == [1.0, 1.0, 1.0]
    assert count(m, "GET", PROFILE_ID) == 4


async def test_max_time_bounds_connection_retries(fake_time: FakeTime) -> None:
    policy = RetryPolicy(max_attempts=1000, max_time=1.0, initial_backoff=0.2, max_backoff=0.2)
    with mock_http() as m:
        m.get(API + PROFILE_ID, exception=aiohttp.ServerDisconnectedError(), repeat=True)
        async with client(retry=policy) as c:
            with pytest.raises(errors.TransportError):
                await c.profile.retrieve_profile_id()
    assert sum(fake_time.sleeps) <= 1.0
    assert count(m, "GET", PROFILE_ID) == len(fake_time.sleeps) + 1
    assert count(m, "GET", PROFILE_ID) < 1000


def test_retry_policy_waits_are_jittered_exponential_and_capped() -> None:
    policy = RetryPolicy(initial_backoff=0.1, max_backoff=0.5)
    caps = [0.1, 0.2, 0.4, 0.5, 0.5, 0.5]
    seen_positive = False
    for _ in range(50):
        waits = policy.waits()
        for cap in caps:
            wait = next(iter(waits))
            assert 0.0 <= wait <= cap
            seen_positive = seen_positive or wait > 0
    assert seen_positive


@pytest.mark.parametrize(
    "kwargs",
    [{"max_attempts": 0}, {"max_time": 0}, {"initial_backoff": 0}, {"max_backoff": -1}],
)
def test_retry_policy_refuses_nonsense(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - attrs validators raise plain ValueError
        RetryPolicy(**kwargs)


# -- secrets never in TransportError messages ------------------------------------------------------


def _assert_clean(text: str, *secrets: str) -> None:
    for secret in secrets:
        assert secret not in text, f"{secret!r} leaked into {text!r}"


async def test_transport_error_redacts_the_token() -> None:
    secret = "T-abc-very-secret"
    failure = aiohttp.ClientOSError(104, f"reset while sending X-DPT-AUTHORIZATION: {secret}")
    with mock_http() as m:
        m.post(API + APPROVE, exception=failure)
        async with client(token=secret) as c:
            with pytest.raises(errors.TransportError) as info:
                await c.devices.approve("dev-1")
    message = str(info.value)
    assert message.startswith(f"POST {APPROVE}: ClientOSError")
    assert "***" in message
    _assert_clean(message, secret)
    _assert_clean(repr(info.value), secret)
    # aiohttp's error is kept as the cause, as a copy with the token taken out and without
    # the traceback (whose frames hold the request's headers).
    cause = info.value.__cause__
    assert type(cause) is aiohttp.ClientOSError
    assert cause is not failure
    assert cause.errno == 104
    assert cause.__traceback__ is None
    _assert_clean(f"{cause} {cause!r} {cause.args} {cause.strerror}", secret)
    assert "***" in str(cause)
    assert info.value.__suppress_context__
    assert info.value.__context__ is None


async def test_transport_error_redacts_client_secret_and_basic_pair(
    transport: Transport, fake_time: FakeTime
) -> None:
    pair = base64.b64encode(b"client-1:cs-secret-1").decode()
    failure = aiohttp.ServerDisconnectedError(f"boom cs-secret-1 Basic {pair}")
    path = "/oauth-application/obtain-access-token"
    with mock_http() as m:
        m.post(API + path, exception=failure)
        with pytest.raises(errors.TransportError) as info:
            await transport.request(
                ROUTES["oauth.obtain_access_token"],
                fields={"authorization_code": "c"},
                credential=("client-1", "cs-secret-1"),
            )
    _assert_clean(str(info.value), "cs-secret-1", pair)


async def test_transport_error_redacts_raw_basic_token(
    transport: Transport, fake_time: FakeTime
) -> None:
    path = "/oauth-application/refresh-access-token"
    with mock_http() as m:
        m.post(API + path, exception=aiohttp.ServerDisconnectedError("Basic acc-secret-2 lost"))
        with pytest.raises(errors.TransportError) as info:
            await transport.request(
                ROUTES["oauth.refresh_access_token"],
                fields={"refresh_token": "r"},
                credential="acc-secret-2",
            )
    _assert_clean(str(info.value), "acc-secret-2")


@pytest.mark.parametrize("token", ["dl-secret-3", "dlSecret3XYZ"])
async def test_transport_error_redacts_query_auth(
    transport: Transport, fake_time: FakeTime, token: str
) -> None:
    target = URL(DOWN + "/").with_query([("auth", token)])
    # aiohttp words a connect timeout exactly like this: the full URL, query included.
    failure = aiohttp.ConnectionTimeoutError(f"Connection timeout to host {target}")
    with mock_http() as m:
        m.get(target, exception=failure, repeat=True)
        with pytest.raises(errors.TransportError) as info:
            await transport.request(ROUTES["data_tokens.download"], credential=token)
    assert str(info.value).startswith("GET /: ConnectionTimeoutError")
    _assert_clean(str(info.value), token)
    assert isinstance(info.value, errors.ConnectTimeout)
    assert type(info.value.__cause__) is aiohttp.ConnectionTimeoutError
    _assert_clean(f"{info.value.__cause__} {info.value.__cause__!r}", token)
    assert count(m, "GET", "/?auth=" + token, base=DOWN) > 3  # not sent: retried until max_time


async def test_transport_error_redacts_percent_encoded_query_auth(
    transport: Transport, fake_time: FakeTime
) -> None:
    token = "dl/Secret+4=="
    target = URL(DOWN + "/").with_query([("auth", token)])
    failure = aiohttp.ConnectionTimeoutError(f"Connection timeout to host {target}")
    with mock_http() as m:
        m.get(target, exception=failure, repeat=True)
        with pytest.raises(errors.TransportError) as info:
            await transport.request(ROUTES["data_tokens.download"], credential=token)
    assert "Secret" not in str(info.value), str(info.value)


async def test_api_error_never_quotes_the_query_string(transport: Transport) -> None:
    with mock_http() as m:
        m.get(DOWN + "/?auth=dl-secret-5", status=404, body="")
        with pytest.raises(errors.NotFoundError) as info:
            await transport.request(ROUTES["data_tokens.download"], credential="dl-secret-5")
    assert info.value.path == "/"
    _assert_clean(str(info.value), "dl-secret-5")


# -- answers the wire reference does not allow -----------------------------------------------------


@pytest.mark.parametrize("status", [301, 302, 307])
async def test_redirect_answer_is_not_a_success(status: int) -> None:
    with mock_http() as m:
        m.post(
            API + APPROVE,
            status=status,
            body="<html>Moved</html>",
            headers={"Location": "https://privicore.test/device/approve-device"},
        )
        async with client() as c:
            with pytest.raises(errors.PrivicoreError):
                await c.devices.approve("dev-1")


# -- recovery in the attempt loop, through the in-memory sender ------------------------------------


class Keeper:
    """A CredentialSource: hands out ``T-1``, then ``T-2`` after a recovery (if it can)."""

    def __init__(self, *, can_recover: bool = True) -> None:
        self.current = "T-1"
        self.recoveries: list[str] = []
        self._can = can_recover

    async def token(self) -> str:
        return self.current

    async def recover(self, failed: str) -> bool:
        self.recoveries.append(failed)
        if not self._can:
            return False
        self.current = f"T-{int(failed.split('-')[1]) + 1}"
        return True


def memory(answers: list[MemoryReply | SendError]) -> MemorySender:
    """Answers in order; each request is kept in ``sender.requests``."""
    pending = list(answers)

    def answer(request: PreparedRequest) -> MemoryReply:
        item = pending.pop(0)
        if isinstance(item, SendError):
            raise item
        return item

    return MemorySender(answer)


def memory_transport(sender: MemorySender, **kwargs: Any) -> Transport:
    kwargs.setdefault("retry", RetryPolicy(max_attempts=3, initial_backoff=0.01, max_backoff=0.02))
    return Transport(sender, {Host.API: API, Host.DOWNSTREAM: DOWN}, **kwargs)


def tokens_sent(sender: MemorySender) -> list[str | None]:
    return [r.headers.get("X-DPT-AUTHORIZATION") for r in sender.requests]


async def test_a_401_gets_one_fresh_token_and_one_replay(fake_time: FakeTime) -> None:
    sender = memory([MemoryReply(401), MemoryReply(200, b'{"profileId": "p"}')])
    keeper = Keeper()
    response = await memory_transport(sender).request(
        ROUTES["profile.retrieve_profile_id"], tokens=keeper
    )
    assert response.body == {"profileId": "p"}
    assert tokens_sent(sender) == ["T-1", "T-2"]
    assert keeper.recoveries == ["T-1"]
    assert fake_time.sleeps == []  # a replay, not a retry


async def test_a_second_401_is_raised() -> None:
    sender = memory([MemoryReply(401), MemoryReply(401)])
    keeper = Keeper()
    with pytest.raises(errors.AuthenticationError):
        await memory_transport(sender).request(ROUTES["storage.sync_device"], tokens=keeper)
    assert tokens_sent(sender) == ["T-1", "T-2"]
    assert keeper.recoveries == ["T-1"]


async def test_no_replay_without_a_fresh_token_or_with_an_explicit_credential() -> None:
    sender = memory([MemoryReply(401)])
    keeper = Keeper(can_recover=False)
    with pytest.raises(errors.AuthenticationError):
        await memory_transport(sender).request(ROUTES["storage.list"], tokens=keeper)
    assert len(sender.requests) == 1
    sender = memory([MemoryReply(401)])
    keeper = Keeper()
    with pytest.raises(errors.AuthenticationError):
        await memory_transport(sender).request(
            ROUTES["storage.list"], credential="T-given", tokens=keeper
        )
    assert tokens_sent(sender) == ["T-given"]
    assert keeper.recoveries == []


async def test_a_stream_replays_after_a_401_like_a_request() -> None:
    sender = memory([MemoryReply(401), MemoryReply(200, [b"ab", b"cd"])])
    keeper = Keeper()
    async with memory_transport(sender).stream(ROUTES["data_tokens.list"], tokens=keeper) as chunks:
        assert [chunk async for chunk in chunks] == [b"ab", b"cd"]
    assert tokens_sent(sender) == ["T-1", "T-2"]


async def test_a_streamed_body_is_never_replayed() -> None:
    async def body() -> AsyncIterator[bytes]:
        yield b"x"

    route = attrs.evolve(ROUTES["data_tokens.upload"], auth=Auth.TOKEN)  # a token route, streamed
    sender = memory([MemoryReply(401)])
    keeper = Keeper()
    with pytest.raises(errors.AuthenticationError):
        await memory_transport(sender).request(route, tokens=keeper, content=body(), url=UP + "/")
    assert len(sender.requests) == 1
    assert keeper.recoveries == []


async def test_a_405_switches_the_status_read_to_get_for_good() -> None:
    sender = memory(
        [MemoryReply(405), MemoryReply(200, b'"started"'), MemoryReply(200, b'"succeeded"')]
    )
    transport = memory_transport(sender)
    route = ROUTES["utility.command_status"]
    for _ in range(2):
        await transport.request(route, path={"commandId": "c1"}, kind=RequestKind.STATUS_READ)
    assert [(r.method, r.url, r.body) for r in sender.requests] == [
        ("POST", API + "/request-status/c1", b"{}"),
        ("GET", API + "/request-status/c1", None),
        ("GET", API + "/request-status/c1", None),
    ]
    assert transport.route_in_use(route).method == "GET"


async def test_a_404_of_the_status_post_tries_get_until_the_post_has_answered() -> None:
    # The POST has never answered here: it may not exist, so a 404 tries the GET once (§a5).
    sender = memory(
        [
            MemoryReply(404, b'{"message": "post"}'),
            MemoryReply(404, b'{"message": "get"}'),
            MemoryReply(404),
            MemoryReply(200, b'"started"'),
        ]
    )
    transport = memory_transport(sender)
    route = ROUTES["utility.command_status"]
    with pytest.raises(errors.NotFoundError) as info:
        await transport.request(route, path={"commandId": "c1"}, kind=RequestKind.STATUS_READ)
    assert info.value.body == {"message": "post"}  # the GET knew no better: the first answer
    reading = await transport.request(route, path={"commandId": "c1"}, kind=RequestKind.STATUS_READ)
    assert reading.body == "started"
    assert [(r.method, r.url) for r in sender.requests] == [
        ("POST", API + "/request-status/c1"),
        ("GET", API + "/request-status/c1"),
        ("POST", API + "/request-status/c1"),
        ("GET", API + "/request-status/c1"),
    ]
    assert transport.route_in_use(route) is route  # a 404 switch is not remembered


async def test_once_the_status_post_has_answered_a_404_is_not_yet_and_not_switched() -> None:
    sender = memory([MemoryReply(200, b'"succeeded"'), MemoryReply(404), MemoryReply(404)])
    transport = memory_transport(sender)
    route = ROUTES["utility.command_status"]
    await transport.request(route, path={"commandId": "c1"}, kind=RequestKind.STATUS_READ)
    for _ in range(2):  # an id not visible yet costs one request per read, not two
        with pytest.raises(errors.NotFoundError):
            await transport.request(route, path={"commandId": "c2"}, kind=RequestKind.STATUS_READ)
    assert [(r.method, r.url) for r in sender.requests] == [
        ("POST", API + "/request-status/c1"),
        ("POST", API + "/request-status/c2"),
        ("POST", API + "/request-status/c2"),
    ]
    # Another client (another transport) has not seen the POST answer: it still tries the GET.
    other = memory([MemoryReply(404), MemoryReply(404)])
    with pytest.raises(errors.NotFoundError):
        await memory_transport(other).request(route, path={"commandId": "c2"})
    assert [r.method for r in other.requests] == ["POST", "GET"]


async def test_a_get_answered_after_a_post_404_does_not_prove_the_post() -> None:
    # A server without the POST: each read is POST 404 then GET; the GET's 2xx proves nothing
    # about the POST, so a later 404 still tries the GET.
    sender = memory(
        [MemoryReply(404), MemoryReply(200, b'"started"'), MemoryReply(404), MemoryReply(404)]
    )
    transport = memory_transport(sender)
    route = ROUTES["utility.command_status"]
    reading = await transport.request(route, path={"commandId": "c1"}, kind=RequestKind.STATUS_READ)
    assert reading.body == "started"
    with pytest.raises(errors.NotFoundError):
        await transport.request(route, path={"commandId": "c2"}, kind=RequestKind.STATUS_READ)
    assert [r.method for r in sender.requests] == ["POST", "GET", "POST", "GET"]


async def test_the_documented_get_is_tried_once_and_the_first_answer_shown() -> None:
    sender = memory([MemoryReply(404, b'{"message": "first"}'), MemoryReply(404, b"second")])
    transport = memory_transport(sender)
    route = ROUTES["devices.retrieve_configuration"]
    with pytest.raises(errors.NotFoundError) as info:
        await transport.request(route, fields={"deviceIdentifier": "d/1"}, credential=TOKEN)
    assert info.value.body == {"message": "first"}
    assert [(r.method, r.url, r.body) for r in sender.requests] == [
        ("POST", API + "/device/download-device-configuration", b"deviceIdentifier=d%2F1"),
        ("GET", API + "/device/retrieve-device-configuration/d%2F1", None),
    ]
    assert transport.route_in_use(route) is route  # a 404 proves nothing: not remembered


@pytest.mark.parametrize(
    ("failure", "route", "attempts"),
    [
        (Failure.NOT_SENT, "storage.sync_device", None),  # never reached: until max_time
        (Failure.LOST, "storage.sync_device", 1),  # may have started the command: final
        (Failure.LOST, "storage.list", 3),  # a read: repeated
        (Failure.INVALID, "storage.list", 1),
    ],
)
async def test_no_answer_is_repeated_per_the_table(
    fake_time: FakeTime, failure: Failure, route: str, attempts: int | None
) -> None:
    sender = memory([SendError(failure, "boom")] * 100)
    args = {"fields": {"deviceIdentifier": "d"}} if route == "storage.sync_device" else {}
    retry = RetryPolicy(max_attempts=3, initial_backoff=0.01, max_backoff=0.01, max_time=0.05)
    transport = memory_transport(sender, retry=retry)
    with pytest.raises(errors.TransportError) as info:
        await transport.request(ROUTES[route], credential=TOKEN, **args)
    if attempts is None:  # more than max_attempts, within max_time
        assert len(sender.requests) > 3
        assert sum(fake_time.sleeps) <= 0.05
    else:
        assert len(sender.requests) == attempts
    assert len(fake_time.sleeps) == len(sender.requests) - 1
    assert info.value.__context__ is None


async def test_busy_answers_are_retried_for_reads_only(fake_time: FakeTime) -> None:
    busy = MemoryReply(503, headers={"Retry-After": "1.5"})
    sender = memory([busy, MemoryReply(200, b"[]")])
    await memory_transport(sender).request(ROUTES["storage.list"], credential=TOKEN)
    assert fake_time.sleeps == [1.5]
    sender = memory([busy])
    with pytest.raises(errors.ServerError):
        await memory_transport(sender).request(
            ROUTES["storage.sync_device"], credential=TOKEN, fields={"deviceIdentifier": "d"}
        )
    assert len(sender.requests) == 1


async def test_a_status_read_for_the_tracker_is_one_attempt(fake_time: FakeTime) -> None:
    sender = memory([MemoryReply(503)])
    with pytest.raises(errors.ServerError):
        await memory_transport(sender).request(
            ROUTES["utility.command_status"],
            path={"commandId": "c1"},
            kind=RequestKind.STATUS_READ,
        )
    assert len(sender.requests) == 1
    assert fake_time.sleeps == []


async def test_a_body_cut_short_is_a_transport_error_naming_no_secret() -> None:
    secret = "dl-secret-9"
    sender = memory([MemoryReply(200, [b"a", b"b"], cut_after=1)])
    route = ROUTES["data_tokens.download"]
    async with memory_transport(sender).stream(route, credential=secret) as chunks:
        got = [await anext(chunks)]
        with pytest.raises(errors.TransportError) as info:
            await anext(chunks)
    assert got == [b"a"]
    assert secret not in str(info.value)
    assert sender.requests[0].url == f"{DOWN}/?auth={secret}"


class CountingLimit:
    """A RateLimiter that grants at once and counts the permits."""

    def __init__(self) -> None:
        self.permits = 0

    async def acquire(self) -> None:
        self.permits += 1

    async def close(self) -> None:
        pass


async def test_every_attempt_waits_for_a_permit_retries_included(fake_time: FakeTime) -> None:
    limit = CountingLimit()
    sender = memory([MemoryReply(503), MemoryReply(200, b"[]"), MemoryReply(200, b'"started"')])
    transport = memory_transport(sender, limiter=limit)
    await transport.request(ROUTES["storage.list"], credential=TOKEN)  # one retry
    await transport.request(
        ROUTES["utility.command_status"], path={"commandId": "c"}, kind=RequestKind.STATUS_READ
    )
    assert limit.permits == len(sender.requests) == 3


async def test_a_command_sent_as_a_get_is_never_repeated(fake_time: FakeTime) -> None:
    # oauth.request_authorization_code is a GET that starts a command: a lost answer may mean
    # it started, so it is not a read to repeat.
    sender = memory([SendError(Failure.LOST, "reset")] * 3)
    route = ROUTES["oauth.request_authorization_code"]
    assert route.method == "GET"
    fields = [("client_id", "c"), ("nonce", "n"), ("scope[]", "all")]
    with pytest.raises(errors.TransportError) as info:
        await memory_transport(sender).request(route, credential=TOKEN, fields=fields)
    assert len(sender.requests) == 1
    assert info.value.may_have_arrived


# -- how the last attempt failed: the TransportError subclasses ------------------------------------

ONE_TRY = RetryPolicy(max_attempts=1, max_time=0.001)


def answered_by(handler: Any, **kwargs: Any) -> tuple[Transport, MemorySender]:
    sender = MemorySender(handler)
    kwargs.setdefault("retry", ONE_TRY)
    return memory_transport(sender, **kwargs), sender


@pytest.mark.parametrize(
    ("failure", "timed_out", "raised"),
    [
        (Failure.NOT_SENT, False, errors.ConnectError),
        (Failure.NOT_SENT, True, errors.ConnectTimeout),
        (Failure.LOST, True, errors.ReadTimeout),
        (Failure.LOST, False, errors.TransportError),
        (Failure.INVALID, False, errors.TransportError),
    ],
)
async def test_the_error_says_how_the_last_attempt_failed(
    failure: Failure, timed_out: bool, raised: type[errors.TransportError]
) -> None:
    def fail(request: PreparedRequest) -> MemoryReply:
        raise SendError(failure, "failed", timed_out=timed_out)

    t, _ = answered_by(fail)
    with pytest.raises(errors.TransportError) as info:
        await t.request(ROUTES["utility.health"])
    assert type(info.value) is raised
    assert info.value.may_have_arrived is (failure is Failure.LOST)
    assert info.value.__cause__ is None  # the sender gave no exception of its own


async def test_a_connect_timeout_is_both_a_connect_error_and_a_timeout() -> None:
    assert issubclass(errors.ConnectTimeout, errors.ConnectError)
    assert issubclass(errors.ConnectTimeout, errors.TransportTimeout)
    assert issubclass(errors.ReadTimeout, errors.TransportTimeout)
    assert not issubclass(errors.TransportTimeout, TimeoutError)  # asyncio.timeout's own


async def test_the_class_follows_the_last_attempt_and_may_have_arrived_all_of_them() -> None:
    sent: list[int] = []

    def fail(request: PreparedRequest) -> MemoryReply:
        sent.append(1)  # lost once, then refused until max_time
        raise SendError(Failure.LOST if len(sent) == 1 else Failure.NOT_SENT, "failed")

    retry = RetryPolicy(max_attempts=2, initial_backoff=0.001, max_backoff=0.001, max_time=0.01)
    t, _ = answered_by(fail, retry=retry)
    with pytest.raises(errors.ConnectError) as info:
        await t.request(ROUTES["utility.health"])
    assert info.value.may_have_arrived  # the first attempt was lost on its way


async def test_the_network_error_is_chained_scrubbed_of_the_token() -> None:
    original = aiohttp.ClientConnectorError(
        SimpleNamespace(host="privicore.test", port=80, ssl=True),  # type: ignore[arg-type]
        OSError(111, f"refused while sending {TOKEN}"),
    )

    def fail(request: PreparedRequest) -> MemoryReply:
        raise SendError(Failure.NOT_SENT, f"refused {TOKEN}", cause=original)

    t, _ = answered_by(fail)
    with pytest.raises(errors.ConnectError) as info:
        await t.request(ROUTES["devices.list"], credential=TOKEN)
    cause = info.value.__cause__
    assert type(cause) is aiohttp.ClientConnectorError
    assert cause is not original
    assert str(cause).endswith("[refused while sending ***]")
    _assert_clean(f"{info.value} {cause} {cause!r} {cause.args}", TOKEN)


# -- request options: per call, extra headers ------------------------------------------------------


async def test_options_given_with_a_call_replace_the_transports_own() -> None:
    from privicore_async.http.options import RequestOptions

    t, sender = answered_by(lambda request: MemoryReply(200, b"{}"))
    custom = RequestOptions(Timeouts(connect=1, read=2, total=3), headers={"X-Tenant": "t-1"})
    await t.request(ROUTES["utility.health"], options=custom)
    await t.request(ROUTES["utility.health"])
    with_options, without = sender.requests
    assert with_options.timeouts == Timeouts(connect=1, read=2, total=3)
    assert with_options.headers["X-Tenant"] == "t-1"
    assert without.timeouts == Timeouts()
    assert "X-Tenant" not in without.headers


async def test_a_streamed_call_keeps_no_total_of_its_options() -> None:
    from privicore_async.http.options import RequestOptions

    t, sender = answered_by(lambda request: MemoryReply(200, [b"a", b"b"]))
    custom = RequestOptions(Timeouts(connect=1, read=2, total=3))
    async with t.stream(ROUTES["data_tokens.download"], credential="dl-1", options=custom) as body:
        assert [chunk async for chunk in body] == [b"a", b"b"]
    assert sender.requests[0].timeouts == Timeouts(connect=1, read=2, total=None)


async def test_extra_header_values_are_redacted_like_credentials() -> None:
    from privicore_async.http.options import RequestOptions

    def fail(request: PreparedRequest) -> MemoryReply:
        raise SendError(Failure.LOST, f"lost; headers were {dict(request.headers)}")

    t, _ = answered_by(fail)
    options = RequestOptions(retry=ONE_TRY, headers={"X-Gateway-Key": "gw-secret-9"})
    with pytest.raises(errors.TransportError) as info:
        await t.request(ROUTES["devices.list"], credential=TOKEN, options=options)
    _assert_clean(str(info.value), "gw-secret-9", TOKEN)
    assert "X-Gateway-Key" in str(info.value)  # the name is no secret


async def test_the_retry_policy_of_the_options_is_the_one_obeyed() -> None:
    from privicore_async.http.options import RequestOptions

    t, sender = answered_by(lambda request: MemoryReply(503))
    retry = RetryPolicy(max_attempts=3, initial_backoff=0.001, max_backoff=0.001)
    with pytest.raises(errors.ServerError):
        await t.request(ROUTES["utility.health"], options=RequestOptions(retry=retry))
    assert len(sender.requests) == 3
    with pytest.raises(errors.ServerError):
        await t.request(ROUTES["utility.health"])  # the transport's own: one attempt
    assert len(sender.requests) == 4


def test_a_wire_response_names_its_request_id() -> None:
    assert WireResponse(200, {"x-dpt-cab-request-id": "req-1"}, None).request_id == "req-1"
    assert WireResponse(200, {}, None).request_id is None
