"""resources/directories.py and models/directories.py: every Directory endpoint pinned on the wire
(method, path with quoting, token header, content type, exact form/JSON body), the answer shapes
each list accepts, argument checks that send nothing, the inferred-route docstrings, and a
route override that really moves the request. HTTP is mocked with aioresponses."""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from privicore_async import CommandHandle, PollPolicy, PrivicoreClient, RetryPolicy, errors
from privicore_async.models import (
    Directory,
    DirectoryDevice,
    DirectoryInvitation,
    DirectoryProfile,
)
from privicore_async.resources import Directories
from privicore_async.routes import ROUTES
from tests.wire_mock import API, all_calls, calls, form, headers, json_body, mock_http, raw_body

TOKEN = "T-profile-token"
FORM_CT = "application/x-www-form-urlencoded"
JSON_CT = "application/json"
PASSWORD = "pa ss/w+rd&=1"

DIRECTORY = {
    "directoryId": "dir-1",
    "directoryName": "Acme staff",
    "directoryShortName": "acme",
    "profileId": "owner-1",
    "createdAt": "2026-02-21T15:33:44+00:00",
    "meta": {"region": "eu"},
    "plan": "gold",
}
PROFILE = {
    "profileId": "p-1",
    "username": "alice",
    "givenName": "Alice",
    "familyName": "Liddell",
    "createdAt": "2026-02-21T15:33:44+00:00",
    "devices": [{"deviceIdentifier": "dev-1", "name": "phone", "status": "pending"}],
    "role": "member",
}
DEVICE = {
    "deviceIdentifier": "dev-1",
    "profileId": "p-1",
    "name": "phone",
    "status": "approved",
    "storage": True,
    "createdAt": "2026-02-21T15:33:44+00:00",
}
INVITATION = {
    "invitationId": "inv-1",
    "directoryId": "dir-1",
    "directoryName": "Acme staff",
    "directoryShortName": "acme",
    "createdAt": "2026-02-21T15:33:44+00:00",
    "invitedBy": "owner-1",
}


def make_client(**kwargs: Any) -> PrivicoreClient:
    kwargs.setdefault("token", TOKEN)
    kwargs.setdefault("poll", PollPolicy(initial_delay=0.0, min_interval=0.01, timeout=5))
    kwargs.setdefault("retry", RetryPolicy(max_attempts=2, initial_backoff=0.001))
    return PrivicoreClient(api_url=API, **kwargs)


def assert_token_headers(call: Any, content_type: str | None) -> None:
    sent = headers(call)
    assert sent["x-dpt-authorization"] == TOKEN
    assert "authorization" not in sent
    assert sent.get("content-type") == content_type


Invoke = Callable[[Directories], Awaitable[CommandHandle]]

# -- the eight commands: exact request, and the handle's command id ----------------------------

COMMANDS: list[tuple[str, Invoke, str, str, dict[str, Any]]] = [
    (
        "register",
        lambda d: d.register("Acme staff", "acme"),
        "/directory/register",
        FORM_CT,
        {"directoryName": "Acme staff", "directoryShortName": "acme"},
    ),
    (
        "create_user",
        lambda d: d.create_user("dir-1", username="alice", given_name="Alice", family_name="L"),
        "/directory/create-user",
        FORM_CT,
        {"directoryId": "dir-1", "username": "alice", "givenName": "Alice", "familyName": "L"},
    ),
    (
        "update_user",
        lambda d: d.update_user("dir-1", "p-1", given_name="Al", family_name="Lid"),
        "/directory/update-user-information",
        FORM_CT,
        {"directoryId": "dir-1", "profileId": "p-1", "givenName": "Al", "familyName": "Lid"},
    ),
    (
        "update_user (given name only)",
        lambda d: d.update_user("dir-1", "p-1", given_name="Al"),
        "/directory/update-user-information",
        FORM_CT,
        {"directoryId": "dir-1", "profileId": "p-1", "givenName": "Al"},
    ),
    (
        "update_user (family name only)",
        lambda d: d.update_user("dir-1", "p-1", family_name="Lid"),
        "/directory/update-user-information",
        FORM_CT,
        {"directoryId": "dir-1", "profileId": "p-1", "familyName": "Lid"},
    ),
    (
        "invite_profile",
        lambda d: d.invite_profile("dir-1", "bob"),
        "/directory/invite-profile",
        FORM_CT,
        {"directoryId": "dir-1", "username": "bob"},
    ),
    (
        "set_profile_password",
        lambda d: d.set_profile_password("dir-1", "p-1", PASSWORD),
        "/directory/set-profile-password",
        FORM_CT,
        {"directoryId": "dir-1", "profileId": "p-1", "password": PASSWORD},
    ),
    (
        "process_invitation (accept)",
        lambda d: d.process_invitation("inv-1", True),
        "/directory/process-invitation",
        FORM_CT,
        {"invitationId": "inv-1", "accept": "1"},
    ),
    (
        "process_invitation (decline)",
        lambda d: d.process_invitation("inv-1", accept=False),
        "/directory/process-invitation",
        FORM_CT,
        {"invitationId": "inv-1", "accept": "0"},
    ),
    (
        "create_profile_device",
        lambda d: d.create_profile_device("dir-1", "p-1", "phone"),
        "/directory/create-profile-device",
        FORM_CT,
        {"directoryId": "dir-1", "profileId": "p-1", "deviceName": "phone"},
    ),
    (
        "add_storage_device",
        lambda d: d.add_storage_device("dir-1", "p-1", "dev-1"),
        "/directory/add-storage-device-to-profile",
        FORM_CT,
        {"directoryId": "dir-1", "profileId": "p-1", "deviceIdentifier": "dev-1"},
    ),
    (
        "create_voting_pool",
        lambda d: d.create_voting_pool("dir-1", ["dev-1", "dev-2"]),
        "/directory/create-voting-pool",
        JSON_CT,
        {"directoryId": "dir-1", "deviceIdentifiers": ["dev-1", "dev-2"]},
    ),
    (
        "create_voting_pool (all devices)",
        lambda d: d.create_voting_pool("dir-1"),
        "/directory/create-voting-pool",
        JSON_CT,
        {"directoryId": "dir-1", "deviceIdentifiers": []},
    ),
    (
        "store_meta",
        lambda d: d.store_meta("dir-1", {"region": "eu", "seats": 5, "tags": ["a"]}),
        "/directory/store-meta",
        JSON_CT,
        {"directoryId": "dir-1", "meta": {"region": "eu", "seats": 5, "tags": ["a"]}},
    ),
]


@pytest.mark.parametrize(
    ("invoke", "path", "content_type", "body"),
    [c[1:] for c in COMMANDS],
    ids=[c[0] for c in COMMANDS],
)
async def test_command_request_is_pinned(
    invoke: Invoke, path: str, content_type: str, body: dict[str, Any]
) -> None:
    with mock_http() as m:
        m.post(API + path, status=202, payload=["cmd-1"])
        m.post(API + "/request-status/cmd-1", payload="succeeded")
        async with make_client() as c:
            handle = await invoke(c.directories)
            result = await handle
    assert isinstance(handle, CommandHandle)
    assert handle.command_id == "cmd-1"
    assert result.command_id == "cmd-1"
    (call,) = calls(m, "POST", path)
    assert_token_headers(call, content_type)
    if content_type == FORM_CT:
        assert form(call) == body
    else:
        # JSON: real arrays and objects, not strings.
        assert json_body(call) == body
    assert all_calls(m) == [("POST", path), ("POST", "/request-status/cmd-1")]


async def test_command_timeout_is_passed_to_the_handle() -> None:
    with mock_http() as m:
        m.post(API + "/directory/register", status=202, payload={"commandId": "cmd-1"})
        m.post(API + "/request-status/cmd-1", payload="started", repeat=True)
        async with make_client() as c:
            handle = await c.directories.register("Acme", "acme", timeout=0.2)
            with pytest.raises(errors.CommandTimeout):
                await handle


async def test_rejection_reason_reaches_the_caller() -> None:
    with mock_http() as m:
        m.post(API + "/directory/invite-profile", status=202, payload="cmd-9")
        m.post(
            API + "/request-status/cmd-9",
            payload={"commandId": "cmd-9", "command_status": 3, "body": "directory.not_owner"},
        )
        async with make_client() as c:
            handle = await c.directories.invite_profile("dir-1", "bob")
            with pytest.raises(errors.CommandRejected) as info:
                await handle
    assert info.value.reason == "directory.not_owner"


async def test_set_profile_password_never_shows_the_password(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="privicore_async")
    with mock_http() as m:
        m.post(API + "/directory/set-profile-password", status=422, payload={"message": "no"})
        async with make_client() as c:
            with pytest.raises(errors.ValidationError) as info:
                await c.directories.set_profile_password("dir-1", "p-1", PASSWORD)
            with pytest.raises(errors.InvalidArgumentError) as blank:
                await c.directories.set_profile_password("dir-1", "p-1", "   ")
    (call,) = calls(m, "POST", "/directory/set-profile-password")
    assert form(call)["password"] == PASSWORD
    for text in (str(info.value), repr(info.value), str(blank.value), caplog.text):
        assert PASSWORD not in text
        assert "pa+ss" not in text  # nor its form-encoded spelling


# -- the ten reads: exact request and the answer shapes they accept ---------------------------


@pytest.mark.parametrize(
    "answer", [[DIRECTORY], {"directories": [DIRECTORY]}, {"items": [DIRECTORY]}]
)
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("list_owned", "/directory/retrieve-owned-directories"),
        ("list_assigned", "/directory/retrieve-assigned-directories"),
    ],
)
async def test_directory_lists(method: str, path: str, answer: Any) -> None:
    with mock_http() as m:
        m.get(API + path, payload=answer)
        async with make_client() as c:
            directories = await getattr(c.directories, method)()
    (directory,) = directories
    assert isinstance(directory, Directory)
    assert directory.directory_id == "dir-1"
    assert directory.directory_name == "Acme staff"
    assert directory.directory_short_name == "acme"
    assert directory.profile_id == "owner-1"
    assert directory.created_at is not None
    assert directory.created_at.year == 2026
    assert directory.meta == {"region": "eu"}
    assert directory.extra == {"plan": "gold"}
    (call,) = calls(m, "GET", path)
    assert_token_headers(call, None)
    assert raw_body(call) is None
    assert all_calls(m) == [("GET", path)]


async def test_retrieve_quotes_the_directory_id() -> None:
    with mock_http() as m:
        m.get(API + "/directory/retrieve-directory/a%2Fb%3Fc", payload=DIRECTORY)
        async with make_client() as c:
            directory = await c.directories.retrieve("a/b?c")
    assert directory == Directory(
        "dir-1",
        "Acme staff",
        "acme",
        "owner-1",
        directory.created_at,
        {"region": "eu"},
        {"plan": "gold"},
    )
    assert all_calls(m) == [("GET", "/directory/retrieve-directory/a%2Fb%3Fc")]
    (call,) = calls(m, "GET", "/directory/retrieve-directory/a%2Fb%3Fc")
    assert_token_headers(call, None)


async def test_retrieve_minimal_answer_and_missing_id() -> None:
    with mock_http() as m:
        m.get(API + "/directory/retrieve-directory/dir-1", payload={"directoryId": 7})
        m.get(API + "/directory/retrieve-directory/dir-2", payload={"directoryName": "x"})
        async with make_client() as c:
            minimal = await c.directories.retrieve("dir-1")
            with pytest.raises(errors.ProtocolError, match="directoryId"):
                await c.directories.retrieve("dir-2")
    assert minimal == Directory("7")


async def test_retrieve_profile_quotes_both_ids_and_parses_devices() -> None:
    path = "/directory/retrieve-directory-profile/dir%2F1/..%2Fp"
    with mock_http() as m:
        m.get(API + path, payload=PROFILE)
        async with make_client() as c:
            profile = await c.directories.retrieve_profile("dir/1", "../p")
    assert isinstance(profile, DirectoryProfile)
    assert (profile.profile_id, profile.username) == ("p-1", "alice")
    assert (profile.given_name, profile.family_name) == ("Alice", "Liddell")
    assert profile.devices == [DirectoryDevice("dev-1", name="phone", status="pending")]
    assert profile.extra == {"role": "member"}
    assert all_calls(m) == [("GET", path)]
    (call,) = calls(m, "GET", path)
    assert_token_headers(call, None)


@pytest.mark.parametrize("answer", [[PROFILE], {"users": [PROFILE]}, {"profiles": [PROFILE]}])
async def test_list_users(answer: Any) -> None:
    path = "/directory/list-directory-users/dir%201"
    with mock_http() as m:
        m.get(API + path, payload=answer)
        async with make_client() as c:
            (user,) = await c.directories.list_users("dir 1")
    assert user.profile_id == "p-1"
    assert user.given_name == "Alice"
    assert all_calls(m) == [("GET", path)]
    assert_token_headers(calls(m, "GET", path)[0], None)


@pytest.mark.parametrize("answer", [[DEVICE], {"devices": [DEVICE]}])
async def test_list_devices(answer: Any) -> None:
    path = "/directory/list-directory-devices/dir-1"
    with mock_http() as m:
        m.get(API + path, payload=answer)
        async with make_client() as c:
            (device,) = await c.directories.list_devices("dir-1")
    assert isinstance(device, DirectoryDevice)
    assert (device.device_identifier, device.profile_id, device.name) == ("dev-1", "p-1", "phone")
    assert (device.status, device.storage) == ("approved", True)
    assert device.created_at is not None
    assert all_calls(m) == [("GET", path)]
    assert_token_headers(calls(m, "GET", path)[0], None)


@pytest.mark.parametrize("answer", [[INVITATION], {"invitations": [INVITATION]}])
async def test_list_invites(answer: Any) -> None:
    path = "/directory/list-directory-invites"
    with mock_http() as m:
        m.get(API + path, payload=answer)
        async with make_client() as c:
            (invitation,) = await c.directories.list_invites()
    assert isinstance(invitation, DirectoryInvitation)
    assert (invitation.invitation_id, invitation.directory_id) == ("inv-1", "dir-1")
    assert invitation.directory_short_name == "acme"
    assert invitation.extra == {"invitedBy": "owner-1"}
    assert all_calls(m) == [("GET", path)]
    assert_token_headers(calls(m, "GET", path)[0], None)


@pytest.mark.parametrize(
    "answer",
    [
        [PROFILE, {"profileId": "p-2"}],
        {"profiles": [PROFILE, {"profileId": "p-2"}]},
        {"p-1": {k: v for k, v in PROFILE.items() if k != "profileId"}, "p-2": {}},
    ],
    ids=["list", "wrapped", "keyed-by-id"],
)
async def test_profiles_info_sends_a_real_array(answer: Any) -> None:
    path = "/directory/profiles-info"
    with mock_http() as m:
        m.post(API + path, payload=answer)
        async with make_client() as c:
            profiles = await c.directories.profiles_info("dir-1", ("p-1", "p-2"))
    assert [p.profile_id for p in profiles] == ["p-1", "p-2"]
    assert profiles[0].username == "alice"
    (call,) = calls(m, "POST", path)
    assert_token_headers(call, JSON_CT)
    assert raw_body(call) == b'{"directoryId":"dir-1","profileIds":["p-1","p-2"]}'
    assert all_calls(m) == [("POST", path)]


@pytest.mark.parametrize(
    ("method", "args", "path", "answer"),
    [
        ("list_owned", (), "/directory/retrieve-owned-directories", {"directories": "x"}),
        ("list_assigned", (), "/directory/retrieve-assigned-directories", [{"name": "x"}]),
        ("list_invites", (), "/directory/list-directory-invites", [{"directoryId": "d"}]),
        ("list_users", ("d",), "/directory/list-directory-users/d", "nope"),
        ("list_devices", ("d",), "/directory/list-directory-devices/d", [{"name": "x"}]),
        ("retrieve_profile", ("d", "p"), "/directory/retrieve-directory-profile/d/p", []),
        ("retrieve", ("d",), "/directory/retrieve-directory/d", {"createdAt": "soon"}),
    ],
)
async def test_bad_answers_are_protocol_errors(
    method: str, args: tuple[str, ...], path: str, answer: Any
) -> None:
    with mock_http() as m:
        m.get(API + path, payload=answer)
        async with make_client() as c:
            with pytest.raises(errors.ProtocolError, match=f"directories.{method}"):
                await getattr(c.directories, method)(*args)


async def test_profiles_info_bad_answer_is_a_protocol_error() -> None:
    with mock_http() as m:
        m.post(API + "/directory/profiles-info", payload=[{"givenName": "x"}])
        async with make_client() as c:
            with pytest.raises(errors.ProtocolError, match="profileId"):
                await c.directories.profiles_info("d", ["p"])


async def test_not_found_passes_through() -> None:
    with mock_http() as m:
        m.get(API + "/directory/retrieve-directory/d", status=404, payload={"message": "x"})
        async with make_client() as c:
            with pytest.raises(errors.NotFoundError):
                await c.directories.retrieve("d")


# -- bad input: refused before anything is sent -----------------------------------------------

BAD_INPUT: list[tuple[Invoke, str, str]] = [
    (lambda d: d.register("", "acme"), "directory_name", "directoryName"),
    (lambda d: d.register("Acme", "  "), "directory_short_name", "directoryShortName"),
    (lambda d: d.register(5, "acme"), "directory_name", "directoryName"),  # type: ignore[arg-type]
    (lambda d: d.retrieve(""), "directory_id", "directoryId"),
    (
        lambda d: d.create_user(" ", username="a", given_name="A", family_name="B"),
        "directory_id",
        "directoryId",
    ),
    (
        lambda d: d.create_user("d", username="", given_name="A", family_name="B"),
        "username",
        "username",
    ),
    (
        lambda d: d.create_user("d", username="a", given_name="", family_name="B"),
        "given_name",
        "givenName",
    ),
    (
        lambda d: d.create_user("d", username="a", given_name="A", family_name=None),  # type: ignore[arg-type]
        "family_name",
        "familyName",
    ),
    (lambda d: d.update_user("d", "p"), "given_name", "givenName"),
    (lambda d: d.update_user("d", "", given_name="A"), "profile_id", "profileId"),
    (lambda d: d.update_user("d", "p", given_name=" "), "given_name", "givenName"),
    (lambda d: d.update_user("d", "p", family_name=""), "family_name", "familyName"),
    (lambda d: d.invite_profile("d", ""), "username", "username"),
    (lambda d: d.invite_profile("", "bob"), "directory_id", "directoryId"),
    (lambda d: d.set_profile_password("d", "p", ""), "password", "password"),
    (lambda d: d.set_profile_password("d", " ", "pw"), "profile_id", "profileId"),
    (lambda d: d.process_invitation("", True), "invitation_id", "invitationId"),
    (lambda d: d.process_invitation("inv", 1), "accept", "accept"),  # type: ignore[arg-type]
    (lambda d: d.process_invitation("inv", "yes"), "accept", "accept"),  # type: ignore[arg-type]
    (lambda d: d.retrieve_profile("d", ""), "profile_id", "profileId"),
    (lambda d: d.retrieve_profile("", "p"), "directory_id", "directoryId"),
    (lambda d: d.list_users(""), "directory_id", "directoryId"),
    (lambda d: d.list_devices(" "), "directory_id", "directoryId"),
    (lambda d: d.profiles_info("d", []), "profile_ids", "profileIds"),
    (lambda d: d.profiles_info("d", "p-1"), "profile_ids", "profileIds"),
    (lambda d: d.profiles_info("d", ["p-1", ""]), "profile_ids", "profileIds"),
    (lambda d: d.profiles_info("", ["p-1"]), "directory_id", "directoryId"),
    (lambda d: d.create_profile_device("d", "p", ""), "device_name", "deviceName"),
    (lambda d: d.create_profile_device("d", "", "phone"), "profile_id", "profileId"),
    (lambda d: d.add_storage_device("d", "p", " "), "device_identifier", "deviceIdentifier"),
    (lambda d: d.add_storage_device("", "p", "dev"), "directory_id", "directoryId"),
    (lambda d: d.create_voting_pool("d", "dev-1"), "device_identifiers", "deviceIdentifiers"),
    (lambda d: d.create_voting_pool("d", [""]), "device_identifiers", "deviceIdentifiers"),
    (lambda d: d.create_voting_pool(""), "directory_id", "directoryId"),
    (lambda d: d.store_meta("d", {}), "meta", "meta"),
    (lambda d: d.store_meta("d", [("a", 1)]), "meta", "meta"),  # type: ignore[arg-type]
    (lambda d: d.store_meta("d", {1: "a"}), "meta", "meta"),  # type: ignore[dict-item]
    (lambda d: d.store_meta("d", {"a": object()}), "meta", "meta"),
    (lambda d: d.store_meta("d", {"a": float("nan")}), "meta", "meta"),
    (lambda d: d.store_meta(" ", {"a": 1}), "directory_id", "directoryId"),
]


@pytest.mark.parametrize(("invoke", "argument", "field"), BAD_INPUT)
async def test_bad_input_is_refused_and_nothing_is_sent(
    invoke: Callable[[Directories], Awaitable[Any]], argument: str, field: str
) -> None:
    with mock_http() as m:
        async with make_client() as c:
            with pytest.raises(errors.InvalidArgumentError) as info:
                await invoke(c.directories)
    assert info.value.argument == argument
    assert field in info.value.errors
    assert all_calls(m) == []


# -- inferred routes: documented as such, and correctable ------------------------------------


def test_every_directory_route_is_inferred_and_every_method_says_so() -> None:
    names = [n for n in ROUTES if n.startswith("directories.")]
    assert len(names) == 18
    for name in names:
        route = ROUTES[name]
        assert route.inferred, name
        doc = inspect.getdoc(getattr(Directories, name.split(".", 1)[1])) or ""
        assert f"{route.method} {route.path.split('{')[0]}" in doc, name
        assert "inferred" in doc, name
        assert "PrivicoreClient(routes=" in doc, name


async def test_a_route_override_moves_the_request() -> None:
    with mock_http() as m:
        m.post(API + "/v2/dir/new", status=202, payload={"commandId": "dir-9"})
        m.post(API + "/request-status/dir-9", payload="succeeded")
        async with make_client(routes={"directories.register": ("POST", "/v2/dir/new")}) as c:
            handle = await c.directories.register("Acme", "acme")
            await handle
    assert handle.command_id == "dir-9"
    assert all_calls(m) == [("POST", "/v2/dir/new"), ("POST", "/request-status/dir-9")]
    (call,) = calls(m, "POST", "/v2/dir/new")
    assert form(call) == {"directoryName": "Acme", "directoryShortName": "acme"}
    assert_token_headers(call, FORM_CT)


async def test_a_path_override_keeps_quoting_the_id() -> None:
    overrides = {"directories.retrieve": ("GET", "/v2/dir/{directoryId}/info")}
    with mock_http() as m:
        m.get(API + "/v2/dir/a%2Fb/info", payload=DIRECTORY)
        async with make_client(routes=overrides) as c:
            directory = await c.directories.retrieve("a/b")
    assert directory.directory_id == "dir-1"
    assert all_calls(m) == [("GET", "/v2/dir/a%2Fb/info")]


def test_models_are_frozen_and_keep_unknown_keys_apart() -> None:
    directory = Directory("d", extra={"x": 1})
    with pytest.raises(AttributeError):
        directory.directory_id = "e"  # type: ignore[misc]
    assert DirectoryProfile("p").devices == []
    assert "x" in repr(directory)
