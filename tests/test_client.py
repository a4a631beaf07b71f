"""PrivicoreClient: every command route's wire call and answer shapes, argument checks
before sending, route overrides, configuration and lifecycle. HTTP is mocked with
aioresponses (see ``tests.wire_mock``)."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import attrs
import pytest

from privicore_async import (
    CommandHandle,
    CommandStatus,
    PollPolicy,
    PrivicoreClient,
    RetryPolicy,
    Timeouts,
    errors,
)
from privicore_async.http import MemoryReply, MemorySender, PreparedRequest
from privicore_async.routes import Host
from tests.client_helpers import (
    AUTHENTICATE,
    FAST,
    PROFILE_ID,
    QUIET,
    TOKEN,
    assert_form_call,
    make_client,
)
from tests.wire_mock import API, all_calls, calls, form, headers, mock_http

# -- command-returning methods: the wire call and every command id shape ---------------------------

Call = Callable[[PrivicoreClient], Awaitable[CommandHandle]]

COMMANDS: list[tuple[str, Call, str, dict[str, str], str | None]] = [
    ("profile.register", lambda c: c.profile.register("alice", "pw-1"),
     "/profile/register-profile", {"username": "alice", "password": "pw-1"}, None),
    ("devices.request_unique_identifier", lambda c: c.devices.request_unique_identifier("Phone 1"),
     "/device/request-unique-identifier", {"deviceName": "Phone 1"}, TOKEN),
    ("devices.configure_meta", lambda c: c.devices.configure_meta("dev-1", name="Kitchen"),
     "/device/configure-meta", {"deviceIdentifier": "dev-1", "name": "Kitchen"}, TOKEN),
    ("devices.approve", lambda c: c.devices.approve("dev-1"),
     "/device/approve-device", {"deviceIdentifier": "dev-1"}, TOKEN),
    ("devices.reject", lambda c: c.devices.reject("dev-1"),
     "/device/reject-device", {"deviceIdentifier": "dev-1"}, TOKEN),
    ("devices.remove", lambda c: c.devices.remove("dev-1"),
     "/device/remove", {"deviceIdentifier": "dev-1"}, TOKEN),
    ("storage.register", lambda c: c.storage.register("dev-1"),
     "/storage/register", {"deviceIdentifier": "dev-1"}, TOKEN),
    ("storage.sync_device", lambda c: c.storage.sync_device("dev-1"),
     "/storage/sync-device", {"deviceIdentifier": "dev-1"}, TOKEN),
    ("storage.remove", lambda c: c.storage.remove("dev-1"),
     "/storage/remove", {"deviceIdentifier": "dev-1"}, TOKEN),
]  # fmt: skip
COMMAND_IDS = [row[0] for row in COMMANDS]

ID_SHAPES: dict[str, dict[str, Any]] = {
    "json-string": {"body": '"cmd-1"'},
    "unquoted-text": {"body": " cmd-1\n", "content_type": "text/plain"},
    "array": {"payload": ["cmd-1"]},
    "object": {"payload": {"commandId": "cmd-1"}},
    "header-empty-body": {"body": "", "headers": {"X-DPT-CAB-ID": "cmd-1"}},
    "header-null-body": {"body": "null", "headers": {"x-dpt-cab-id": "cmd-1"}},
    "status-200": {"status": 200, "payload": {"commandId": "cmd-1"}},
}


@pytest.mark.parametrize("shape", list(ID_SHAPES))
@pytest.mark.parametrize(("name", "call", "path", "expected", "token"), COMMANDS, ids=COMMAND_IDS)
async def test_command_wire_call_and_id_shape(
    name: str, call: Call, path: str, expected: dict[str, str], token: str | None, shape: str
) -> None:
    answer = {"status": 202, **ID_SHAPES[shape]}
    with mock_http() as m:
        m.post(API + path, **answer)
        async with make_client(poll=QUIET) as c:
            handle = await call(c)
            assert isinstance(handle, CommandHandle)
            assert handle.command_id == "cmd-1"
            assert handle.kind == name
            assert handle.status is CommandStatus.PENDING
            assert not handle.done()
    assert all_calls(m) == [("POST", path)]
    (sent,) = calls(m, "POST", path)
    assert_form_call(sent, expected, token=token)


@pytest.mark.parametrize(("name", "call", "path", "expected", "token"), COMMANDS, ids=COMMAND_IDS)
async def test_command_is_tracked_to_success(
    name: str, call: Call, path: str, expected: dict[str, str], token: str | None
) -> None:
    with mock_http() as m:
        m.post(API + path, status=202, body='"cmd-1"')
        m.post(API + "/request-status/cmd-1", payload=["started"])
        m.post(API + "/request-status/cmd-1", payload={"command_status": 2, "body": "done"})
        async with make_client() as c:
            handle = await call(c)
            result = await handle
            assert handle.done()
            assert handle.status is CommandStatus.SUCCEEDED
            assert handle.result() is result
    assert (result.command_id, result.status, result.body, result.polls) == (
        "cmd-1",
        CommandStatus.SUCCEEDED,
        "done",
        2,
    )
    assert result.submitted_at is not None
    assert result.settled_at is not None
    assert result.submitted_at <= result.settled_at
    for poll in calls(m, "POST", "/request-status/cmd-1"):
        assert "x-dpt-authorization" not in headers(poll)


@pytest.mark.parametrize(("name", "call", "path", "expected", "token"), COMMANDS, ids=COMMAND_IDS)
async def test_command_rejection_carries_id_and_reason(
    name: str, call: Call, path: str, expected: dict[str, str], token: str | None
) -> None:
    with mock_http() as m:
        m.post(API + path, status=202, payload={"commandId": "cmd-9"})
        m.post(API + "/request-status/cmd-9", payload={"command_status": 3, "body": "not.allowed"})
        async with make_client() as c:
            handle = await call(c)
            with pytest.raises(errors.CommandRejected) as info:
                await handle
            assert handle.status is CommandStatus.REJECTED
    assert (info.value.command_id, info.value.reason) == ("cmd-9", "not.allowed")


async def test_bare_rejected_status_has_no_reason() -> None:
    with mock_http() as m:
        m.post(API + "/storage/register", status=202, body='"cmd-2"')
        m.post(API + "/request-status/cmd-2", body='"rejected"')
        async with make_client() as c:
            handle = await c.storage.register("dev-1")
            with pytest.raises(errors.CommandRejected) as info:
                await handle
    assert (info.value.command_id, info.value.reason) == ("cmd-2", None)


@pytest.mark.parametrize(("name", "call", "path", "expected", "token"), COMMANDS, ids=COMMAND_IDS)
async def test_command_202_without_any_id_is_accepted_and_done(
    name: str, call: Call, path: str, expected: dict[str, str], token: str | None
) -> None:
    with mock_http() as m:
        m.post(API + path, status=202, body="")
        async with make_client() as c:
            handle = await call(c)
            assert not handle.has_id  # an AcceptedCommand: its command_id raises
            assert handle.status is CommandStatus.ACCEPTED
            assert handle.done()
            result = await handle
    assert (result.has_id, result.status) == (False, CommandStatus.ACCEPTED)
    assert all_calls(m) == [("POST", path)]  # nothing to poll


@pytest.mark.parametrize(("name", "call", "path", "expected", "token"), COMMANDS, ids=COMMAND_IDS)
async def test_command_answer_in_no_known_shape_is_protocol_error(
    name: str, call: Call, path: str, expected: dict[str, str], token: str | None
) -> None:
    with mock_http() as m:
        m.post(API + path, status=202, payload=["a", "b"])
        async with make_client() as c:
            with pytest.raises(errors.ProtocolError, match="command id"):
                await call(c)


# -- argument checks: nothing is sent --------------------------------------------------------------

Invoke = Callable[[PrivicoreClient, Any], Any]

ARGUMENTS: list[tuple[str, Invoke, str, str]] = [
    ("profile.register-username", lambda c, v: c.profile.register(v, "pw"), "username", "username"),
    ("profile.register-password", lambda c, v: c.profile.register("a", v), "password", "password"),
    ("profile.authenticate-username", lambda c, v: c.profile.authenticate(v, "pw"), "username",
     "username"),
    ("profile.authenticate-password", lambda c, v: c.profile.authenticate("a", v), "password",
     "password"),
    ("utility.command_status", lambda c, v: c.utility.command_status(v), "command_id", "commandId"),
    ("commands.resume", lambda c, v: c.commands.resume(v), "command_id", "commandId"),
    ("devices.request_unique_identifier", lambda c, v: c.devices.request_unique_identifier(v),
     "device_name", "deviceName"),
    ("devices.retrieve_unique_identifier", lambda c, v: c.devices.retrieve_unique_identifier(v),
     "command_id", "id"),
    ("devices.configure_meta", lambda c, v: c.devices.configure_meta(v, name="n"),
     "device_identifier", "deviceIdentifier"),
    ("devices.approve", lambda c, v: c.devices.approve(v), "device_identifier", "deviceIdentifier"),
    ("devices.reject", lambda c, v: c.devices.reject(v), "device_identifier", "deviceIdentifier"),
    ("devices.remove", lambda c, v: c.devices.remove(v), "device_identifier", "deviceIdentifier"),
    ("devices.retrieve_configuration", lambda c, v: c.devices.retrieve_configuration(v),
     "device_identifier", "deviceIdentifier"),
    ("storage.register", lambda c, v: c.storage.register(v), "device_identifier",
     "deviceIdentifier"),
    ("storage.sync_device", lambda c, v: c.storage.sync_device(v), "device_identifier",
     "deviceIdentifier"),
    ("storage.remove", lambda c, v: c.storage.remove(v), "device_identifier", "deviceIdentifier"),
]  # fmt: skip


async def run(invoke: Invoke, client: PrivicoreClient, value: Any) -> Any:
    result = invoke(client, value)  # commands.resume is not a coroutine
    return await result if inspect.isawaitable(result) else result


@pytest.mark.parametrize("value", ["", "   ", "\t\n", None, 123, b"dev-1", ["dev-1"]])
@pytest.mark.parametrize(
    ("invoke", "argument", "field"),
    [row[1:] for row in ARGUMENTS],
    ids=[row[0] for row in ARGUMENTS],
)
async def test_bad_identifier_is_refused_before_sending(
    invoke: Invoke, argument: str, field: str, value: Any
) -> None:
    with mock_http() as m:
        async with make_client(username="u", password="p") as c:
            with pytest.raises(errors.InvalidArgumentError) as info:
                await run(invoke, c, value)
            assert c.commands.tracked == 0
    exc = info.value
    assert isinstance(exc, ValueError)
    assert isinstance(exc, errors.ValidationError)
    assert exc.argument == argument
    assert str(exc).startswith(f"{argument}: ")
    assert list(exc.errors) == [field]
    assert m.requests == {}


# -- route overrides -------------------------------------------------------------------------------


async def test_route_override_is_used_on_the_wire() -> None:
    routes = {
        "storage.sync_device": ("post", "/storage/sync"),
        "utility.command_status": "/rs/{commandId}",
    }
    with mock_http() as m:
        m.post(API + "/storage/sync", status=202, body='"c-1"')
        m.post(API + "/rs/c-1", payload="succeeded")
        async with make_client(routes=routes) as c:
            await (await c.storage.sync_device("dev-1"))
    assert all_calls(m) == [("POST", "/storage/sync"), ("POST", "/rs/c-1")]


# -- configuration ---------------------------------------------------------------------------------


async def test_environment_configures_the_client(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PRIVICORE_API_URL", API + "/")
    monkeypatch.setenv("PRIVICORE_USERNAME", "env-user")
    monkeypatch.setenv("PRIVICORE_PASSWORD", "env-password")
    monkeypatch.delenv("PRIVICORE_WS_URL", raising=False)
    with mock_http() as m:
        m.post(API + AUTHENTICATE, payload={"authorizationToken": "T-env"})
        m.get(API + PROFILE_ID, payload={"profileId": "p"})
        async with PrivicoreClient(poll=FAST) as c:
            assert c.api_url == API
            assert c.ws_url is None
            await c.profile.retrieve_profile_id()
    auth = calls(m, "POST", AUTHENTICATE)[0]
    assert form(auth) == {"username": "env-user", "password": "env-password"}
    assert headers(calls(m, "GET", PROFILE_ID)[0])["x-dpt-authorization"] == "T-env"


async def test_arguments_win_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PRIVICORE_API_URL", "http://elsewhere.test")
    monkeypatch.setenv("PRIVICORE_USERNAME", "env-user")
    monkeypatch.setenv("PRIVICORE_PASSWORD", "env-password")
    with mock_http() as m:
        m.post(API + AUTHENTICATE, payload={"authorizationToken": "T-arg"})
        async with PrivicoreClient(API, username="arg-user", password="arg-pw", poll=FAST) as c:
            await c.profile.authenticate()
    assert form(calls(m, "POST", AUTHENTICATE)[0]) == {"username": "arg-user", "password": "arg-pw"}


def test_api_url_is_required(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PRIVICORE_API_URL", raising=False)
    with pytest.raises(ValueError, match="PRIVICORE_API_URL"):
        PrivicoreClient()
    with pytest.raises(ValueError, match="http"):
        PrivicoreClient("privicore.test:9009")


async def test_client_repr_hides_password_and_token() -> None:
    with mock_http() as m:
        m.post(API + AUTHENTICATE, payload={"authorizationToken": "T-topsecret-9"})
        async with make_client(token=None, username="alice", password="pw-hunter2") as c:
            await c.profile.authenticate()
            texts = [repr(c), str(c), repr(c.tokens), repr(c.profile), repr(c.tokens.current)]
    assert "alice" in repr(c)
    for text in texts:
        assert "pw-hunter2" not in text
        assert "T-topsecret-9" not in text


# -- lifecycle: an injected session closed under a pending handle ----------------------------------


async def test_closed_injected_session_fails_the_handle_instead_of_hanging() -> None:
    # The poll meets "Session is closed": the handle must fail, not wait forever.
    policy = PollPolicy(initial_delay=0.05, min_interval=0.01, timeout=0.3)
    session = aiohttp.ClientSession()
    with mock_http() as m:
        m.post(API + "/request-status/cmd-1", payload="started", repeat=True)
        async with make_client(poll=policy, session=session) as c:
            handle = c.commands.resume("cmd-1")
            await session.close()
            with pytest.raises(errors.PrivicoreError):
                await asyncio.wait_for(handle.wait(), 1.0)


# -- views: with_options ---------------------------------------------------------------------------

PENDING = MemoryReply(200, b'"started"')


def memory_client(
    handler: Callable[[PreparedRequest], MemoryReply] | None = None, **kwargs: Any
) -> tuple[PrivicoreClient, MemorySender]:
    sender = MemorySender(handler or (lambda request: MemoryReply(200, b"[]")))
    kwargs.setdefault("token", TOKEN)
    kwargs.setdefault("poll", QUIET)
    return PrivicoreClient(API, sender=sender, env=False, **kwargs), sender


async def test_a_view_shares_every_part_of_its_client() -> None:
    client, _ = memory_client(ws_url="ws://privicore.test/ws")
    async with client:
        view = client.with_options(timeout=5)
        assert view is not client
        assert isinstance(view, PrivicoreClient)
        for part in ("transport", "tracker", "command_service", "tokens", "acks", "routes"):
            assert getattr(view, part) is getattr(client, part), part
        assert view.devices is not client.devices  # resources send through the view
        assert repr(view).endswith("(view)>")
        assert not repr(client).endswith("(view)>")


async def test_a_views_requests_carry_its_options_and_the_clients_do_not() -> None:
    client, sender = memory_client()
    async with client:
        view = client.with_options(timeout=5, extra_headers={"X-Tenant": "acme"})
        await view.devices.list()
        await view.call("utility.health")
        await client.devices.list()
    via_view, health, direct = sender.requests
    for request in (via_view, health):
        assert request.headers["X-Tenant"] == "acme"
        assert request.timeouts == Timeouts(total=5.0)
    assert via_view.headers["X-DPT-AUTHORIZATION"] == TOKEN  # the SDK's own headers stay
    assert "X-Tenant" not in direct.headers
    assert direct.timeouts == Timeouts()


async def test_a_view_of_a_view_adds_to_its_options() -> None:
    client, sender = memory_client()
    async with client:
        first = client.with_options(extra_headers={"X-A": "1"}, timeout=Timeouts(connect=1))
        second = first.with_options(extra_headers={"X-B": "2"})
        await second.devices.list()
    (request,) = sender.requests
    assert (request.headers["X-A"], request.headers["X-B"]) == ("1", "2")
    assert request.timeouts == Timeouts(connect=1)


async def test_a_views_retry_policy_is_obeyed() -> None:
    client, sender = memory_client(lambda request: MemoryReply(503))
    async with client:
        retry = RetryPolicy(max_attempts=3, initial_backoff=0.001, max_backoff=0.001)
        with pytest.raises(errors.ServerError):
            await client.with_options(retry=retry).devices.list()
        assert len(sender.requests) == 3
        with pytest.raises(errors.ServerError):
            await client.with_options(retry=RetryPolicy(max_attempts=1)).devices.list()
        assert len(sender.requests) == 4


async def test_a_views_poll_timeout_is_its_commands_deadline() -> None:
    def answer(request: PreparedRequest) -> MemoryReply:
        return MemoryReply(202, b'"cmd-1"') if request.route == "devices.approve" else PENDING

    client, _ = memory_client(answer, poll=PollPolicy(min_interval=0.01, max_interval=0.02))
    async with client:
        view = client.with_options(poll=attrs.evolve(client.tracker.policy, timeout=0.1))
        started = asyncio.get_running_loop().time()
        with pytest.raises(errors.CommandTimeout):
            await (await view.devices.approve("dev-1"))
        assert asyncio.get_running_loop().time() - started < 2  # not the client's 300 s


async def test_a_view_cannot_change_how_the_shared_tracker_polls() -> None:
    client, _ = memory_client(poll=PollPolicy(min_interval=0.5))
    with pytest.raises(errors.InvalidArgumentError, match=r"PollPolicy\.timeout") as info:
        client.with_options(poll=PollPolicy(timeout=10))  # min_interval differs from the client's
    assert info.value.argument == "poll"
    client.with_options(poll=attrs.evolve(client.tracker.policy, timeout=10))


@pytest.mark.parametrize(
    ("kwargs", "argument"),
    [
        ({"timeout": "5"}, "timeout"),
        ({"timeout": -1}, "timeout"),
        ({"retry": {"max_attempts": 1}}, "retry"),
        ({"poll": {"timeout": 5}}, "poll"),
        ({"extra_headers": {"X-DPT-AUTHORIZATION": "other-token"}}, "extra_headers"),
        ({"extra_headers": {"User-Agent": "mine/1"}}, "extra_headers"),
        ({"extra_headers": {"X-A": "1\r\nX-B: 2"}}, "extra_headers"),
    ],
)
def test_with_options_checks_its_arguments(kwargs: dict[str, Any], argument: str) -> None:
    client, _ = memory_client()
    with pytest.raises(errors.InvalidArgumentError) as info:
        client.with_options(**kwargs)
    assert info.value.argument == argument
    assert "other-token" not in str(info.value)


async def test_closing_a_view_closes_nothing_closing_the_client_closes_its_views() -> None:
    client, sender = memory_client()
    async with client:
        async with client.with_options(timeout=5) as view:
            await view.devices.list()
        await view.close()
        await client.devices.list()  # still open
        assert not sender.closed
    assert sender.closed
    with pytest.raises(errors.PrivicoreError, match="closed"):
        await view.devices.list()


# -- per-call timeout ------------------------------------------------------------------------------


async def test_call_takes_a_timeout_for_that_call_only() -> None:
    client, sender = memory_client(lambda request: MemoryReply(200, b'{"status": "ok"}'))
    async with client:
        await client.call("utility.health", timeout=2.5)
        await client.call("utility.health", timeout=Timeouts(connect=1, read=1, total=1))
        await client.call("utility.health")
        with pytest.raises(errors.InvalidArgumentError):
            await client.call("utility.health", timeout=0)
    assert [request.timeouts for request in sender.requests] == [
        Timeouts(total=2.5),
        Timeouts(connect=1, read=1, total=1),
        Timeouts(),
    ]


# -- arguments checked at construction -------------------------------------------------------------


@pytest.mark.parametrize(
    "argument", ["poll", "retry", "timeouts", "limits", "telemetry", "env", "trace_configs"]
)
def test_wrongly_typed_policies_are_refused_at_construction(argument: str) -> None:
    kwargs: dict[str, Any] = {"env": False, argument: {"timeout": 5}}
    with pytest.raises(errors.InvalidArgumentError) as info:
        PrivicoreClient(API, sender=MemorySender(lambda request: MemoryReply()), **kwargs)
    assert info.value.argument == argument


# -- the environment: left out, empty, or not read at all ------------------------------------------


@pytest.fixture
def privicore_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PRIVICORE_API_URL", "http://elsewhere.test")
    monkeypatch.setenv("PRIVICORE_WS_URL", "ws://elsewhere.test/ws")
    monkeypatch.setenv("PRIVICORE_USERNAME", "env-user")
    monkeypatch.setenv("PRIVICORE_PASSWORD", "env-password")
    monkeypatch.setenv("PRIVICORE_UPSTREAM_URL", "http://up.elsewhere.test")


@pytest.mark.usefixtures("privicore_env")
def test_env_false_reads_no_variable() -> None:
    with pytest.raises(errors.InvalidArgumentError, match="api_url"):
        PrivicoreClient(env=False)
    client = PrivicoreClient(API, env=False, sender=MemorySender(lambda r: MemoryReply()))
    assert client.api_url == API
    assert client.ws_url is None
    assert client.acks is None
    assert client.tokens.username is None
    assert not client.tokens.can_authenticate
    assert client.transport.base_url(Host.UPSTREAM) is None


@pytest.mark.usefixtures("privicore_env")
def test_an_empty_string_means_none_and_is_not_filled_from_the_environment() -> None:
    sender = MemorySender(lambda request: MemoryReply())
    client = PrivicoreClient(API, ws_url="", username="", password="", sender=sender)
    assert client.ws_url is None
    assert client.acks is None
    assert not client.tokens.can_authenticate
    with pytest.raises(errors.InvalidArgumentError, match="api_url"):
        PrivicoreClient("", sender=sender)


@pytest.mark.usefixtures("privicore_env")
def test_left_out_arguments_still_come_from_the_environment() -> None:
    client = PrivicoreClient(sender=MemorySender(lambda request: MemoryReply()))
    assert client.api_url == "http://elsewhere.test"
    assert client.ws_url == "ws://elsewhere.test/ws"
    assert client.tokens.username == "env-user"


async def test_ack_channel_is_the_channel_or_a_clear_error() -> None:
    async with PrivicoreClient(API, token="T-1", env=False) as polling:
        assert polling.acks is None
        with pytest.raises(errors.PrivicoreError, match="ws_url"):
            _ = polling.ack_channel
    async with PrivicoreClient(API, ws_url="ws://127.0.0.1:9", token="T-1", env=False) as pushed:
        assert pushed.ack_channel is pushed.acks
