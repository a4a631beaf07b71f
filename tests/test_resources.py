"""resources/*: every in-scope endpoint pinned on the wire, argument checks, auth recovery, and
the client's configuration. HTTP is mocked with aioresponses (see ``wire_mock``)."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest
from aioresponses import CallbackResult
from wire_mock import (
    API,
    all_calls,
    calls,
    count,
    form,
    headers,
    json_body,
    mock_http,
    raw_body,
    url,
)

from privicore_async import (
    CommandHandle,
    CommandResult,
    CommandStatus,
    PollPolicy,
    PrivicoreClient,
    RetryPolicy,
    errors,
)
from privicore_async.models import (
    AuthToken,
    Device,
    DeviceConfiguration,
    HealthStatus,
    StorageDevice,
)
from privicore_async.wire import StatusReading

TOKEN = "T-secret"
FAST = PollPolicy(initial_delay=0.0, min_interval=0.01, timeout=5)
QUIET = PollPolicy(initial_delay=60.0, min_interval=0.01, timeout=60)  # no poll during a test
FORM_CT = "application/x-www-form-urlencoded"

AUTHENTICATE = "/profile/authenticate"
PROFILE_ID = "/profile/retrieve-profile-id"
STORAGE_LIST = "/storage/list-storage-devices"


def make_client(**kwargs: Any) -> PrivicoreClient:
    kwargs.setdefault("token", TOKEN)
    kwargs.setdefault("poll", FAST)
    kwargs.setdefault(
        "retry", RetryPolicy(max_attempts=2, initial_backoff=0.001, max_backoff=0.002)
    )
    return PrivicoreClient(api_url=API, **kwargs)


def in_an_hour() -> str:
    return (datetime.now(UTC) + timedelta(hours=1)).isoformat()


def assert_form_call(call: Any, expected: dict[str, str], *, token: str | None = TOKEN) -> None:
    sent = headers(call)
    assert sent["content-type"] == FORM_CT
    assert form(call) == expected
    if token is None:
        assert "x-dpt-authorization" not in sent
    else:
        assert sent["x-dpt-authorization"] == token
    assert "authorization" not in sent


def assert_get_call(call: Any, *, token: str | None = TOKEN) -> None:
    sent = headers(call)
    assert "data" not in call.kwargs
    assert "content-type" not in sent
    if token is None:
        assert "x-dpt-authorization" not in sent
    else:
        assert sent["x-dpt-authorization"] == token


# -- utility ---------------------------------------------------------------------------------------


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


async def test_command_status_404_is_not_found() -> None:
    with mock_http() as m:
        m.post(API + "/request-status/nope", status=404)
        async with make_client() as c:
            with pytest.raises(errors.NotFoundError):
                await c.utility.command_status("nope")
    assert all_calls(m) == [("POST", "/request-status/nope")]


async def test_command_status_unknown_answer_names_command_and_value() -> None:
    with mock_http() as m:
        m.post(API + "/request-status/cmd-1", payload="exploded")
        async with make_client() as c:
            with pytest.raises(errors.ProtocolError) as info:
                await c.utility.command_status("cmd-1")
    assert "cmd-1" in str(info.value)
    assert "'exploded'" in str(info.value)


# -- profile ---------------------------------------------------------------------------------------


async def test_register_is_a_public_form_command_awaited_to_success() -> None:
    with mock_http() as m:
        m.post(API + "/profile/register-profile", status=202, body='"cmd-reg"')
        m.post(API + "/request-status/cmd-reg", payload="started")
        m.post(API + "/request-status/cmd-reg", payload="succeeded")
        async with make_client(token=None) as c:
            handle = await c.profile.register("alice", "pw 1&2")
            result = await handle
    assert isinstance(result, CommandResult)
    assert (result.command_id, result.status, result.polls) == (
        "cmd-reg",
        CommandStatus.SUCCEEDED,
        2,
    )
    (call,) = calls(m, "POST", "/profile/register-profile")
    assert_form_call(call, {"username": "alice", "password": "pw 1&2"}, token=None)


async def test_register_taken_username_is_conflict() -> None:
    with mock_http() as m:
        m.post(API + "/profile/register-profile", status=409, payload={"message": "taken"})
        async with make_client() as c:
            with pytest.raises(errors.ConflictError):
                await c.profile.register("alice", "pw")
    assert count(m, "POST", "/profile/register-profile") == 1


async def test_authenticate_adopts_the_token() -> None:
    expires = "2030-02-21T15:33:44+00:00"
    with mock_http() as m:
        m.post(API + AUTHENTICATE, payload={"authorizationToken": "T-new", "expiresAt": expires})
        m.get(API + PROFILE_ID, payload={"profileId": "p-1"})
        async with make_client(token=None) as c:
            token = await c.profile.authenticate("alice", "pw")
            assert await c.profile.retrieve_profile_id() == "p-1"
            assert c.tokens.current == token
    assert token == AuthToken("T-new", datetime(2030, 2, 21, 15, 33, 44, tzinfo=UTC))
    (auth,) = calls(m, "POST", AUTHENTICATE)
    assert_form_call(auth, {"username": "alice", "password": "pw"}, token=None)
    (get,) = calls(m, "GET", PROFILE_ID)
    assert_get_call(get, token="T-new")


async def test_authenticate_replaces_an_existing_token() -> None:
    with mock_http() as m:
        m.post(API + AUTHENTICATE, payload={"authorizationToken": "T-new"})
        m.get(API + PROFILE_ID, payload={"profileId": "p-1"})
        async with make_client(token="T-old") as c:
            await c.profile.authenticate("alice", "pw")
            await c.profile.retrieve_profile_id()
    (auth,) = calls(m, "POST", AUTHENTICATE)
    assert "x-dpt-authorization" not in headers(auth)
    assert headers(calls(m, "GET", PROFILE_ID)[0])["x-dpt-authorization"] == "T-new"


async def test_authenticate_without_arguments_uses_configured_credentials() -> None:
    with mock_http() as m:
        m.post(API + AUTHENTICATE, payload={"authorizationToken": "T-new"})
        async with make_client(token=None, username="bob", password="pw-b") as c:
            await c.profile.authenticate()
    assert form(calls(m, "POST", AUTHENTICATE)[0]) == {"username": "bob", "password": "pw-b"}


async def test_authenticate_without_any_credentials_sends_nothing() -> None:
    with mock_http() as m:
        async with make_client(token=None) as c:
            with pytest.raises(errors.AuthenticationError, match="nothing was sent"):
                await c.profile.authenticate()
    assert m.requests == {}


async def test_authenticate_bad_credentials_is_401_and_keeps_state() -> None:
    with mock_http() as m:
        m.post(API + AUTHENTICATE, status=401, payload={"message": "Unauthorized"})
        async with make_client(token="T-old") as c:
            with pytest.raises(errors.AuthenticationError):
                await c.profile.authenticate("alice", "wrong")
            assert c.tokens.current == AuthToken("T-old")
    assert count(m, "POST", AUTHENTICATE) == 1


async def test_authenticate_answer_without_token_is_protocol_error() -> None:
    with mock_http() as m:
        m.post(API + AUTHENTICATE, payload={"expiresAt": in_an_hour()})
        async with make_client(token=None) as c:
            with pytest.raises(errors.ProtocolError, match=r"profile\.authenticate"):
                await c.profile.authenticate("alice", "pw")
            assert c.tokens.current is None


@pytest.mark.parametrize(
    ("answer", "expected"),
    [({"profileId": "p-1"}, "p-1"), ("p-2", "p-2"), (" p-3 \n", "p-3")],
)
async def test_retrieve_profile_id(answer: Any, expected: str) -> None:
    with mock_http() as m:
        if isinstance(answer, str):
            m.get(API + PROFILE_ID, body=answer, content_type="text/plain")
        else:
            m.get(API + PROFILE_ID, payload=answer)
        async with make_client() as c:
            assert await c.profile.retrieve_profile_id() == expected
    (call,) = calls(m, "GET", PROFILE_ID)
    assert_get_call(call)


@pytest.mark.parametrize("answer", [{"id": "p"}, [], {"profileId": None}])
async def test_retrieve_profile_id_bad_answer(answer: Any) -> None:
    with mock_http() as m:
        m.get(API + PROFILE_ID, payload=answer)
        async with make_client() as c:
            with pytest.raises(errors.ProtocolError, match=r"profile\.retrieve_profile_id"):
                await c.profile.retrieve_profile_id()


async def test_token_expiry_posts_an_empty_form() -> None:
    with mock_http() as m:
        m.post(
            API + "/profile/authorization-token/expiry",
            payload={"expiresAt": "2026-02-21T15:33:44Z"},
        )
        async with make_client() as c:
            expiry = await c.profile.token_expiry()
    assert expiry == datetime(2026, 2, 21, 15, 33, 44, tzinfo=UTC)
    (call,) = calls(m, "POST", "/profile/authorization-token/expiry")
    assert raw_body(call) == b""
    assert headers(call)["content-type"] == FORM_CT
    assert headers(call)["x-dpt-authorization"] == TOKEN


@pytest.mark.parametrize("answer", [{"expires": "x"}, {"expiresAt": "tomorrow"}, []])
async def test_token_expiry_bad_answer(answer: Any) -> None:
    with mock_http() as m:
        m.post(API + "/profile/authorization-token/expiry", payload=answer)
        async with make_client() as c:
            with pytest.raises(errors.ProtocolError, match=r"profile\.token_expiry"):
                await c.profile.token_expiry()


async def test_reauthorize_200_adopts_the_new_token() -> None:
    with mock_http() as m:
        m.post(
            API + "/profile/reauthorize-authorization-token",
            payload={"authorizationToken": "T-fresh", "expiresAt": "2030-01-01T00:00:00Z"},
        )
        m.get(API + PROFILE_ID, payload={"profileId": "p"})
        async with make_client() as c:
            token = await c.profile.reauthorize(ttl=86400)
            await c.profile.retrieve_profile_id()
            assert c.tokens.current == token
    assert token == AuthToken("T-fresh", datetime(2030, 1, 1, tzinfo=UTC))
    (call,) = calls(m, "POST", "/profile/reauthorize-authorization-token")
    assert_form_call(call, {"ttl": "86400"})
    assert headers(calls(m, "GET", PROFILE_ID)[0])["x-dpt-authorization"] == "T-fresh"


async def test_reauthorize_default_ttl() -> None:
    with mock_http() as m:
        m.post(
            API + "/profile/reauthorize-authorization-token",
            payload={"authorizationToken": "T-fresh"},
        )
        async with make_client() as c:
            await c.profile.reauthorize()
    assert form(calls(m, "POST", "/profile/reauthorize-authorization-token")[0]) == {"ttl": "3600"}


async def test_reauthorize_202_waits_for_the_command_then_reads_expiry() -> None:
    with mock_http() as m:
        m.post(API + "/profile/reauthorize-authorization-token", status=202, payload=["cmd-re"])
        m.post(API + "/request-status/cmd-re", payload="started")
        m.post(API + "/request-status/cmd-re", payload="succeeded")
        m.post(
            API + "/profile/authorization-token/expiry",
            payload={"expiresAt": "2031-05-05T05:05:05+00:00"},
        )
        async with make_client() as c:
            token = await c.profile.reauthorize(ttl=600)
            assert c.tokens.current == token
    assert token == AuthToken(TOKEN, datetime(2031, 5, 5, 5, 5, 5, tzinfo=UTC))
    assert all_calls(m) == [
        ("POST", "/profile/reauthorize-authorization-token"),
        ("POST", "/request-status/cmd-re"),
        ("POST", "/request-status/cmd-re"),
        ("POST", "/profile/authorization-token/expiry"),
    ]
    expiry = calls(m, "POST", "/profile/authorization-token/expiry")[0]
    assert raw_body(expiry) == b""
    assert headers(expiry)["x-dpt-authorization"] == TOKEN


async def test_reauthorize_202_rejected_keeps_the_old_token() -> None:
    with mock_http() as m:
        m.post(API + "/profile/reauthorize-authorization-token", status=202, body='"cmd-re"')
        m.post(
            API + "/request-status/cmd-re", payload={"command_status": 3, "body": "ttl.too_long"}
        )
        async with make_client() as c:
            with pytest.raises(errors.CommandRejected) as info:
                await c.profile.reauthorize(ttl=10**6)
            assert c.tokens.current == AuthToken(TOKEN)
    assert (info.value.command_id, info.value.reason) == ("cmd-re", "ttl.too_long")
    assert count(m, "POST", "/profile/authorization-token/expiry") == 0


@pytest.mark.parametrize("ttl", [0, -5, "60", 1.5, True, None])
async def test_reauthorize_refuses_a_bad_ttl(ttl: Any) -> None:
    with mock_http() as m:
        async with make_client() as c:
            with pytest.raises(errors.InvalidArgumentError, match="ttl") as info:
                await c.profile.reauthorize(ttl=ttl)
    assert isinstance(info.value, ValueError)
    assert info.value.errors.keys() == {"ttl"}
    assert m.requests == {}


async def test_revoke_forgets_the_token() -> None:
    with mock_http() as m:
        m.post(API + "/profile/revoke-authorization-token", status=200, body="")
        async with make_client() as c:
            assert await c.profile.revoke() is None
            assert c.tokens.current is None
            with pytest.raises(errors.AuthenticationError, match="nothing was sent"):
                await c.profile.retrieve_profile_id()
    (call,) = calls(m, "POST", "/profile/revoke-authorization-token")
    assert raw_body(call) == b""
    assert headers(call)["content-type"] == FORM_CT
    assert headers(call)["x-dpt-authorization"] == TOKEN
    assert all_calls(m) == [("POST", "/profile/revoke-authorization-token")]


async def test_revoke_then_next_call_authenticates_again() -> None:
    with mock_http() as m:
        m.post(API + "/profile/revoke-authorization-token", status=200, body="")
        m.post(API + AUTHENTICATE, payload={"authorizationToken": "T-again"})
        m.get(API + PROFILE_ID, payload={"profileId": "p"})
        async with make_client(username="alice", password="pw") as c:
            await c.profile.revoke()
            await c.profile.retrieve_profile_id()
    assert headers(calls(m, "GET", PROFILE_ID)[0])["x-dpt-authorization"] == "T-again"
    assert count(m, "POST", AUTHENTICATE) == 1


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
            assert handle.command_id is None
            assert handle.status is CommandStatus.ACCEPTED
            assert handle.done()
            result = await handle
    assert (result.command_id, result.status) == (None, CommandStatus.ACCEPTED)
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


async def test_sync_device_header_only_answer_is_tracked() -> None:
    # The seed documents sync-device as 202 with no body; the id only in x-dpt-cab-id.
    with mock_http() as m:
        m.post(API + "/storage/sync-device", status=202, body="", headers={"x-dpt-cab-id": "cmd-s"})
        m.post(API + "/request-status/cmd-s", payload="succeeded")
        async with make_client() as c:
            handle = await c.storage.sync_device("dev-1")
            assert handle.command_id == "cmd-s"
            result = await handle
    assert result.status is CommandStatus.SUCCEEDED
    assert all_calls(m) == [("POST", "/storage/sync-device"), ("POST", "/request-status/cmd-s")]


async def test_configure_meta_omits_name_when_none() -> None:
    with mock_http() as m:
        m.post(API + "/device/configure-meta", status=202, body='"cmd-1"')
        async with make_client(poll=QUIET) as c:
            await c.devices.configure_meta("dev-1")
    assert_form_call(calls(m, "POST", "/device/configure-meta")[0], {"deviceIdentifier": "dev-1"})


# -- devices: sync reads ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "expected"),
    [({"deviceIdentifier": "dev-77"}, "dev-77"), ("dev-78", "dev-78"), ('"dev-79"', "dev-79")],
    ids=["object", "bare-text", "json-string"],
)
async def test_retrieve_unique_identifier(answer: Any, expected: str) -> None:
    with mock_http() as m:
        if isinstance(answer, str):
            m.post(API + "/device/retrieve-unique-identifier", body=answer)
        else:
            m.post(API + "/device/retrieve-unique-identifier", payload=answer)
        async with make_client() as c:
            assert await c.devices.retrieve_unique_identifier("cmd-1") == expected
    (call,) = calls(m, "POST", "/device/retrieve-unique-identifier")
    assert_form_call(call, {"id": "cmd-1"})


@pytest.mark.parametrize("answer", [{"deviceId": "x"}, {"deviceIdentifier": " "}, [], None])
async def test_retrieve_unique_identifier_bad_answer(answer: Any) -> None:
    with mock_http() as m:
        m.post(API + "/device/retrieve-unique-identifier", payload=answer)
        async with make_client() as c:
            with pytest.raises(errors.ProtocolError, match="deviceIdentifier"):
                await c.devices.retrieve_unique_identifier("cmd-1")


async def test_devices_list_models_keep_unknown_keys() -> None:
    answer = [
        {
            "deviceIdentifier": "dev-1",
            "name": "Phone",
            "status": "approved",
            "createdAt": "2026-01-02T03:04:05+01:00",
            "os": "android",
            "battery": 80,
        },
        {"deviceIdentifier": "dev-2"},
    ]
    with mock_http() as m:
        m.get(API + "/device/retrieve-profile-devices", payload=answer)
        async with make_client() as c:
            devices = await c.devices.list()
    assert devices == [
        Device(
            "dev-1",
            "Phone",
            "approved",
            datetime(2026, 1, 2, 2, 4, 5, tzinfo=UTC),
            {"os": "android", "battery": 80},
        ),
        Device("dev-2"),
    ]
    (call,) = calls(m, "GET", "/device/retrieve-profile-devices")
    assert_get_call(call)


async def test_devices_list_missing_identifier_is_protocol_error() -> None:
    with mock_http() as m:
        m.get(API + "/device/retrieve-profile-devices", payload=[{"name": "Phone"}])
        async with make_client() as c:
            with pytest.raises(errors.ProtocolError) as info:
                await c.devices.list()
    message = str(info.value)
    assert "devices.list" in message
    assert "device_identifier" in message or "deviceIdentifier" in message


async def test_devices_list_missing_identifier_names_the_wire_field() -> None:
    with mock_http() as m:
        m.get(API + "/device/retrieve-profile-devices", payload=[{"name": "Phone"}])
        async with make_client() as c:
            with pytest.raises(errors.ProtocolError, match="deviceIdentifier"):
                await c.devices.list()


@pytest.mark.parametrize("answer", [{"items": []}, "devices", [1]])
async def test_devices_list_wrong_shape_is_protocol_error(answer: Any) -> None:
    with mock_http() as m:
        m.get(API + "/device/retrieve-profile-devices", payload=answer)
        async with make_client() as c:
            with pytest.raises(errors.ProtocolError, match=r"devices\.list"):
                await c.devices.list()


CONFIGURATION = {
    "device-identifier": "dev-1",
    "client-id": "cid-1",
    "client-secret": "cs-very-secret",
    "rabbit-user": "mq-user",
    "rabbit-pass": "mq-very-secret",
    "rabbit-host": "mq.privicore.test",
    "rabbit-port": 5672,
    "vhost": "/dpt",
}


def assert_configuration(config: DeviceConfiguration) -> None:
    assert config == DeviceConfiguration(
        "dev-1", "cid-1", "cs-very-secret", "mq-user", "mq-very-secret", "mq.privicore.test", 5672,
        {"vhost": "/dpt"},
    )  # fmt: skip
    for text in (repr(config), str(config)):
        assert "very-secret" not in text
        assert "cid-1" in text
        assert "mq.privicore.test" in text


async def test_retrieve_configuration_posts_form_and_hides_secrets() -> None:
    with mock_http() as m:
        m.post(API + "/device/download-device-configuration", payload=CONFIGURATION)
        async with make_client() as c:
            config = await c.devices.retrieve_configuration("dev-1")
    assert_configuration(config)
    (call,) = calls(m, "POST", "/device/download-device-configuration")
    assert_form_call(call, {"deviceIdentifier": "dev-1"})
    assert all_calls(m) == [("POST", "/device/download-device-configuration")]


@pytest.mark.parametrize("status", [404, 405])
async def test_retrieve_configuration_falls_back_to_the_official_get(status: int) -> None:
    with mock_http() as m:
        m.post(API + "/device/download-device-configuration", status=status)
        m.get(API + "/device/retrieve-device-configuration/dev%2F1", payload=CONFIGURATION)
        async with make_client() as c:
            config = await c.devices.retrieve_configuration("dev/1")
    assert_configuration(config)
    assert all_calls(m) == [
        ("POST", "/device/download-device-configuration"),
        ("GET", "/device/retrieve-device-configuration/dev%2F1"),
    ]
    (get,) = calls(m, "GET", "/device/retrieve-device-configuration/dev%2F1")
    assert_get_call(get)


async def test_retrieve_configuration_other_errors_do_not_fall_back() -> None:
    with mock_http() as m:
        m.post(API + "/device/download-device-configuration", status=403)
        async with make_client() as c:
            with pytest.raises(errors.PermissionDeniedError):
                await c.devices.retrieve_configuration("dev-1")
    assert all_calls(m) == [("POST", "/device/download-device-configuration")]


async def test_retrieve_configuration_fallback_404_is_raised() -> None:
    with mock_http() as m:
        m.post(API + "/device/download-device-configuration", status=404)
        m.get(API + "/device/retrieve-device-configuration/dev-1", status=404)
        async with make_client() as c:
            with pytest.raises(errors.NotFoundError) as info:
                await c.devices.retrieve_configuration("dev-1")
    # Both were tried; the probe-verified route's answer is the one reported.
    assert info.value.path == "/device/download-device-configuration"
    assert all_calls(m) == [
        ("POST", "/device/download-device-configuration"),
        ("GET", "/device/retrieve-device-configuration/dev-1"),
    ]


# -- storage: list ---------------------------------------------------------------------------------


async def test_storage_list_models() -> None:
    answer = [
        {"deviceIdentifier": "s-1", "name": "NAS", "online": True,
         "registeredAt": "2026-03-04T05:06:07Z", "quotaGb": 500},
        {"deviceIdentifier": 1234},
    ]  # fmt: skip
    with mock_http() as m:
        m.get(API + STORAGE_LIST, payload=answer)
        async with make_client() as c:
            devices = await c.storage.list()
    assert devices == [
        StorageDevice(
            "s-1", "NAS", True, datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC), {"quotaGb": 500}
        ),
        StorageDevice("1234"),
    ]
    assert_get_call(calls(m, "GET", STORAGE_LIST)[0])


async def test_storage_list_missing_identifier_is_protocol_error() -> None:
    with mock_http() as m:
        m.get(API + STORAGE_LIST, payload=[{"name": "NAS"}])
        async with make_client() as c:
            with pytest.raises(errors.ProtocolError, match=r"storage\.list"):
                await c.storage.list()


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
            assert c.commands.pending == 0
    exc = info.value
    assert isinstance(exc, ValueError)
    assert isinstance(exc, errors.ValidationError)
    assert exc.argument == argument
    assert str(exc).startswith(f"{argument}: ")
    assert list(exc.errors) == [field]
    assert m.requests == {}


# -- path quoting end to end -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("command_id", "path"),
    [
        ("../x", "/request-status/..%2Fx"),
        ("..", "/request-status/%2E%2E"),
        ("a/b?c#d", "/request-status/a%2Fb%3Fc%23d"),
        ("caf\u00e9 1", "/request-status/caf%C3%A9%201"),
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


# -- authentication state --------------------------------------------------------------------------


def token_gate(valid: str, answer: Any) -> Callable[..., Awaitable[CallbackResult]]:
    """A mock that answers ``answer`` for requests carrying ``valid`` and 401 otherwise.

    It takes a little while, so concurrent calls really are in flight together (a mock that
    answers without yielding would run each call to completion before the next one starts).
    """

    async def respond(target: Any, **kwargs: Any) -> CallbackResult:
        await asyncio.sleep(0.01)
        sent = {k.lower(): v for k, v in (kwargs.get("headers") or {}).items()}
        if sent.get("x-dpt-authorization") == valid:
            return CallbackResult(status=200, payload=answer)
        return CallbackResult(status=401, payload={"message": "Unauthorized"})

    return respond


def slow(status: int = 200, payload: Any = None) -> Callable[..., Awaitable[CallbackResult]]:
    """A mock answer that takes a little while (see :func:`token_gate`)."""

    async def respond(target: Any, **kwargs: Any) -> CallbackResult:
        await asyncio.sleep(0.02)
        return CallbackResult(status=status, payload=payload)

    return respond


async def test_first_call_authenticates_first() -> None:
    with mock_http() as m:
        m.post(API + AUTHENTICATE, payload={"authorizationToken": "T-1", "expiresAt": in_an_hour()})
        m.get(API + STORAGE_LIST, callback=token_gate("T-1", []), repeat=True)
        async with make_client(token=None, username="alice", password="pw") as c:
            assert await c.storage.list() == []
            assert await c.storage.list() == []
            assert c.tokens.authentications == 1
    assert all_calls(m) == [("POST", AUTHENTICATE), ("GET", STORAGE_LIST), ("GET", STORAGE_LIST)]
    assert_form_call(calls(m, "POST", AUTHENTICATE)[0], {"username": "alice", "password": "pw"},
                     token=None)  # fmt: skip


async def test_401_authenticates_once_and_replays_once() -> None:
    with mock_http() as m:
        m.post(API + AUTHENTICATE, payload={"authorizationToken": "T-new"}, repeat=True)
        m.get(API + STORAGE_LIST, callback=token_gate("T-new", []), repeat=True)
        async with make_client(token="T-old", username="alice", password="pw") as c:
            assert await c.storage.list() == []
            assert c.tokens.current == AuthToken("T-new")
    assert all_calls(m) == [("GET", STORAGE_LIST), ("GET", STORAGE_LIST), ("POST", AUTHENTICATE)]
    sent = [headers(call)["x-dpt-authorization"] for call in calls(m, "GET", STORAGE_LIST)]
    assert sent == ["T-old", "T-new"]


async def test_401_on_a_command_replays_it_once() -> None:
    def respond(target: Any, **kwargs: Any) -> CallbackResult:
        if kwargs["headers"]["X-DPT-AUTHORIZATION"] == "T-new":
            return CallbackResult(status=202, body='"cmd-1"')
        return CallbackResult(status=401)

    with mock_http() as m:
        m.post(API + AUTHENTICATE, payload={"authorizationToken": "T-new"}, repeat=True)
        m.post(API + "/device/approve-device", callback=respond, repeat=True)
        async with make_client(token="T-old", username="alice", password="pw", poll=QUIET) as c:
            handle = await c.devices.approve("dev-1")
    assert handle.command_id == "cmd-1"
    assert count(m, "POST", "/device/approve-device") == 2
    assert count(m, "POST", AUTHENTICATE) == 1


async def test_second_401_is_raised() -> None:
    with mock_http() as m:
        m.post(API + AUTHENTICATE, payload={"authorizationToken": "T-new"}, repeat=True)
        m.get(API + STORAGE_LIST, status=401, repeat=True)
        async with make_client(token="T-old", username="alice", password="pw") as c:
            with pytest.raises(errors.AuthenticationError) as info:
                await c.storage.list()
    assert info.value.path == STORAGE_LIST
    assert count(m, "GET", STORAGE_LIST) == 2
    assert count(m, "POST", AUTHENTICATE) == 1


async def test_401_without_password_is_raised_without_authenticating() -> None:
    with mock_http() as m:
        m.get(API + STORAGE_LIST, status=401, repeat=True)
        async with make_client(token="T-old") as c:
            with pytest.raises(errors.AuthenticationError):
                await c.storage.list()
    assert all_calls(m) == [("GET", STORAGE_LIST)]


async def test_concurrent_401s_cause_one_authenticate() -> None:
    with mock_http() as m:
        m.post(
            API + AUTHENTICATE, callback=slow(payload={"authorizationToken": "T-new"}), repeat=True
        )
        m.get(API + STORAGE_LIST, callback=token_gate("T-new", []), repeat=True)
        async with make_client(token="T-old", username="alice", password="pw") as c:
            results = await asyncio.gather(*(c.storage.list() for _ in range(20)))
            assert c.tokens.authentications == 1
    assert results == [[]] * 20
    assert count(m, "POST", AUTHENTICATE) == 1
    sent = [headers(call)["x-dpt-authorization"] for call in calls(m, "GET", STORAGE_LIST)]
    assert sorted(sent) == ["T-new"] * 20 + ["T-old"] * 20


async def test_concurrent_first_calls_cause_one_authenticate() -> None:
    with mock_http() as m:
        m.post(
            API + AUTHENTICATE, callback=slow(payload={"authorizationToken": "T-1"}), repeat=True
        )
        m.get(API + STORAGE_LIST, callback=token_gate("T-1", []), repeat=True)
        async with make_client(token=None, username="alice", password="pw") as c:
            await asyncio.gather(*(c.storage.list() for _ in range(20)))
    assert count(m, "POST", AUTHENTICATE) == 1
    assert count(m, "GET", STORAGE_LIST) == 20


async def test_concurrent_401s_with_wrong_password_cause_one_authenticate() -> None:
    with mock_http() as m:
        m.post(API + AUTHENTICATE, callback=slow(status=401), repeat=True)
        m.get(API + STORAGE_LIST, callback=token_gate("T-never", []), repeat=True)
        async with make_client(token="T-old", username="alice", password="wrong") as c:
            results = await asyncio.gather(
                *(c.storage.list() for _ in range(20)), return_exceptions=True
            )
    assert all(isinstance(r, errors.AuthenticationError) for r in results)
    assert count(m, "POST", AUTHENTICATE) == 1


async def test_token_expiring_within_the_margin_is_reauthorized_first() -> None:
    with mock_http() as m:
        m.post(
            API + "/profile/reauthorize-authorization-token",
            payload={"authorizationToken": "T-fresh", "expiresAt": in_an_hour()},
        )
        m.get(API + STORAGE_LIST, callback=token_gate("T-fresh", []), repeat=True)
        async with make_client(username="alice", password="pw") as c:
            c.tokens.adopt(AuthToken("T-old", datetime.now(UTC) + timedelta(seconds=30)))
            await c.storage.list()
            await c.storage.list()
            assert c.tokens.current is not None
            assert c.tokens.current.authorization_token == "T-fresh"
    assert all_calls(m) == [
        ("POST", "/profile/reauthorize-authorization-token"),
        ("GET", STORAGE_LIST),
        ("GET", STORAGE_LIST),
    ]
    reauth = calls(m, "POST", "/profile/reauthorize-authorization-token")[0]
    assert_form_call(reauth, {"ttl": "3600"}, token="T-old")


async def test_token_with_time_left_is_not_reauthorized() -> None:
    with mock_http() as m:
        m.get(API + STORAGE_LIST, payload=[])
        async with make_client() as c:
            c.tokens.adopt(AuthToken(TOKEN, datetime.now(UTC) + timedelta(seconds=120)))
            await c.storage.list()
    assert all_calls(m) == [("GET", STORAGE_LIST)]


async def test_failed_reauthorize_falls_back_to_authenticate() -> None:
    with mock_http() as m:
        m.post(API + "/profile/reauthorize-authorization-token", status=401)
        m.post(
            API + AUTHENTICATE, payload={"authorizationToken": "T-auth", "expiresAt": in_an_hour()}
        )
        m.get(API + STORAGE_LIST, callback=token_gate("T-auth", []), repeat=True)
        async with make_client(username="alice", password="pw") as c:
            c.tokens.adopt(AuthToken("T-old", datetime.now(UTC) - timedelta(seconds=5)))
            await c.storage.list()
    assert all_calls(m) == [
        ("POST", "/profile/reauthorize-authorization-token"),
        ("POST", AUTHENTICATE),
        ("GET", STORAGE_LIST),
    ]


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


# -- the tracker met through resume: deadlines must hold -------------------------------------------


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
