"""The embedded sandbox, driven over loopback with a plain aiohttp client.

Paths come from the route table (by route name), so these tests also pin that the sandbox
serves what ``routes.py`` says. Commands settle after a short latency; tests wait for the
settlement itself (``sb.settled_at``) instead of sleeping a fixed time.
"""

from __future__ import annotations

import asyncio
import json
import re
import signal
import sys
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import aiohttp
import pytest

from privicore_async.routes import ROUTES, Auth, Host
from privicore_async.sandbox import Faults, Sandbox, server
from privicore_async.sandbox.engine import CommandState
from privicore_async.wire.http import extract_command_id
from tests.sandbox.api import LATENCY, NOT_FOUND, UNAUTHORIZED, UUID, Api, invalid, serving


@pytest.fixture
async def api() -> AsyncIterator[Api]:
    async with serving() as api:
        yield api


@pytest.fixture
async def token(api: Api) -> str:
    return await api.profile()


# -- routing and auth come from the route table -------------------------------------------


async def test_health_needs_no_token(api: Api) -> None:
    answer = await api.call("utility.health")
    assert (answer.status, answer.body) == (200, {"status": "ok"})


async def test_every_token_route_of_the_api_host_is_served_and_guarded(api: Api) -> None:
    token_routes = [r for r in ROUTES.values() if r.host is Host.API and r.auth is Auth.TOKEN]
    assert len(token_routes) > 60
    for route in token_routes:
        path = {name: "x" for name in route.path_params}
        answer = await api.call(route.name, path=path)
        assert (route.name, answer.status, answer.body) == (route.name, 401, UNAUTHORIZED)


async def test_a_route_without_a_handler_answers_501(monkeypatch: pytest.MonkeyPatch) -> None:
    # Every route has a handler now: take one away to see the fallback.
    handlers = {name: h for name, h in server.HANDLERS.items() if name != "utility.health"}
    monkeypatch.setattr(server, "HANDLERS", handlers)
    async with Sandbox(latency=0) as sb, aiohttp.ClientSession() as http:
        resp = await http.get(sb.api_url + "/health")
        async with resp:
            assert resp.status == 501
            assert "utility.health" in (await resp.json())["message"]


async def test_unknown_paths_are_404_and_not_counted(api: Api) -> None:
    async with api.http.get(api.sb.api_url + "/no/such/path") as resp:
        assert resp.status == 404
    assert api.sb.stats.requests_total == 0


# -- command ids: every shape, always the header --------------------------------------------


@pytest.mark.parametrize(
    ("shape", "content_type", "expected"),
    [
        ("json-string", "application/json", lambda cid: f'"{cid}"'),
        ("text", "text/plain", lambda cid: cid),
        ("array", "application/json", lambda cid: f'["{cid}"]'),
        ("object", "application/json", lambda cid: json.dumps({"commandId": cid})),
        ("header", None, lambda cid: ""),
    ],
)
async def test_command_id_shapes(shape: str, content_type: str | None, expected: Any) -> None:
    async with serving(id_shape=shape) as api:
        answer = await api.call("profile.register", {"username": "u", "password": "p"})
        assert answer.status == 202
        command_id = answer.command_id
        assert command_id is not None
        assert UUID.fullmatch(command_id)
        assert answer.raw.decode() == expected(command_id)
        if content_type is not None:
            assert answer.headers["Content-Type"].startswith(content_type)
        assert extract_command_id(answer.body, answer.headers) == command_id
        assert command_id in api.sb.state.commands


async def test_mixed_id_shape_rotates_through_all_five() -> None:
    raws = []
    async with serving(id_shape="mixed") as api:
        for i in range(5):
            answer = await api.call("profile.register", {"username": f"u{i}", "password": "p"})
            cid = answer.command_id
            assert cid is not None
            raws.append(answer.raw.decode().replace(cid, "ID"))
    assert raws == ['"ID"', "ID", '["ID"]', '{"commandId": "ID"}', ""]


async def test_by_default_the_id_is_a_json_string_in_the_body_and_no_header(api: Api) -> None:
    answer = await api.call("profile.register", {"username": "u", "password": "p"})
    assert answer.status == 202
    assert "x-dpt-cab-id" not in answer.headers
    command_id = json.loads(answer.raw)
    assert isinstance(command_id, str)
    assert UUID.fullmatch(command_id)


async def test_sync_device_answers_like_every_command_by_default() -> None:
    async with serving() as api:
        token = await api.profile()
        answer = await api.call("storage.sync_device", {"deviceIdentifier": "dev-1"}, token=token)
        assert answer.status == 202
        assert "x-dpt-cab-id" not in answer.headers
        assert isinstance(answer.body, str)
        assert UUID.fullmatch(answer.body)


async def test_sync_device_with_the_header_shape_answers_the_seeds_empty_body() -> None:
    async with serving(id_shape="header") as api:
        token = await api.profile()
        answer = await api.call("storage.sync_device", {"deviceIdentifier": "dev-1"}, token=token)
        assert answer.status == 202
        assert answer.raw == b""
        assert answer.command_id is not None
        assert UUID.fullmatch(answer.command_id)


# -- command status: shapes, methods, transitions -------------------------------------------


@pytest.mark.parametrize(
    ("shape", "started", "succeeded", "rejected"),
    [
        (
            "object",
            {"command_status": 1, "body": None},
            {"command_status": 2, "body": "Command completed successfully"},
            {"command_status": 3, "body": "device.not_found"},
        ),
        ("string", "started", "succeeded", "rejected"),
        ("array", ["started"], ["succeeded"], ["rejected"]),
    ],
)
async def test_status_shapes_and_transitions(
    shape: str, started: Any, succeeded: Any, rejected: Any
) -> None:
    async with serving(status_shape=shape, latency=0.05) as api:
        token = await api.profile()

        async def read(cid: str) -> Any:
            answer = await api.status(cid)
            assert answer.status == 200
            body = answer.body
            if isinstance(body, dict):
                assert body.pop("commandId") == cid
            return body

        ok = await api.command("devices.request_unique_identifier", {"deviceName": "d"}, token)
        bad = await api.command("storage.sync_device", {"deviceIdentifier": "nope"}, token)
        assert await read(ok) == started
        assert await read(bad) == started
        await api.settled(ok)
        await api.settled(bad)
        assert await read(ok) == succeeded
        assert await read(bad) == rejected


async def test_mixed_status_shape_rotates() -> None:
    async with serving(status_shape="mixed") as api:
        cid = await api.command("profile.register", {"username": "u", "password": "p"}, None)
        bodies = [(await api.status(cid)).body for _ in range(3)]
        assert bodies == [
            {"commandId": cid, "command_status": 1, "body": None},
            "started",
            ["started"],
        ]


async def test_status_is_served_for_post_and_get_and_needs_no_token(api: Api) -> None:
    cid = await api.command("profile.register", {"username": "u", "password": "p"}, None)
    for method in ("POST", "GET"):
        answer = await api.status(cid, method)
        assert answer.status == 200
        assert answer.body == "started"  # the real server's bare status word by default
    # A token, even a bogus one, is ignored.
    answer = await api.call(
        "utility.command_status", token="T-bogus", path={"commandId": cid}, method="GET"
    )
    assert answer.status == 200
    assert api.sb.stats.status_requests == 3


@pytest.mark.parametrize(("allowed", "refused"), [(("POST",), "GET"), (("GET",), "POST")])
async def test_status_method_excluded_answers_405(allowed: tuple[str, ...], refused: str) -> None:
    async with serving(status_methods=allowed) as api:
        cid = await api.command("profile.register", {"username": "u", "password": "p"}, None)
        assert (await api.status(cid, allowed[0])).status == 200
        assert (await api.status(cid, refused)).status == 405


async def test_status_of_an_unknown_command_is_404(api: Api) -> None:
    answer = await api.status("00000000-0000-4000-8000-000000000000")
    assert (answer.status, answer.body) == (404, NOT_FOUND)


async def test_commands_settle_after_latency_plus_seeded_jitter() -> None:
    async with serving(latency=0.05, jitter=0.1, seed=7) as api:
        token = await api.profile()
        data = {"deviceIdentifier": "x"}
        ids = await asyncio.gather(
            *(api.command("storage.sync_device", data, token) for _ in range(10))
        )
        commands = [await api.settled(cid) for cid in ids]
        delays = [c.settled_at - c.accepted_at for c in commands if c.settled_at is not None]
        assert all(d >= 0.045 for d in delays), delays
        assert max(delays) - min(delays) > 0.02, delays  # uniform(0, 0.1) spreads them

        api.sb.latency, api.sb.jitter = 0.15, 0.0  # applies to the next command
        command = await api.run("storage.sync_device", data, token)
        assert command.settled_at is not None
        assert command.settled_at - command.accepted_at >= 0.145


async def test_rules_run_at_settle_time_not_at_accept_time(api: Api, token: str) -> None:
    device = await api.device(token, approve=False)
    # Both accepted while the device is still pending; they settle in order.
    approve = await api.command("devices.approve", {"deviceIdentifier": device}, token)
    register = await api.command("storage.register", {"deviceIdentifier": device}, token)
    assert (await api.settled(approve)).state is CommandState.SUCCEEDED
    assert (await api.settled(register)).state is CommandState.SUCCEEDED
    # Accepted while online, offline by the time it settles.
    sync = await api.command("storage.sync_device", {"deviceIdentifier": device}, token)
    api.sb.set_device_online(device, False)
    command = await api.settled(sync)
    assert (command.state, command.body) == (CommandState.REJECTED, "device.offline")


# -- profile and tokens --------------------------------------------------------------------


async def test_profile_exists_only_once_registration_settles(api: Api) -> None:
    creds = {"username": "bob", "password": "pw"}
    cid = await api.command("profile.register", creds, None)
    assert (await api.call("profile.authenticate", creds)).status == 401
    again = await api.call("profile.register", creds)
    assert (again.status, again.body) == (409, {"message": "Username already taken"})
    await api.settled(cid)
    answer = await api.call("profile.authenticate", creds)
    assert answer.status == 200
    again = await api.call("profile.register", {"username": "bob", "password": "other"})
    assert (again.status, again.body) == (409, {"message": "Username already taken"})


async def test_authenticate_returns_an_opaque_token_and_an_iso_expiry() -> None:
    async with serving(token_ttl=120.0) as api:
        token = await api.profile("carol", "pw")
        assert re.fullmatch(r"T-[A-Za-z0-9_-]{32}", token)
        answer = await api.call("profile.authenticate", {"username": "carol", "password": "pw"})
        expires = answer.body["expiresAt"]
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", expires)
        left = (datetime.fromisoformat(expires) - datetime.now(UTC)).total_seconds()
        assert 115 <= left <= 121
        bad = await api.call("profile.authenticate", {"username": "carol", "password": "nope"})
        assert (bad.status, bad.body) == (401, UNAUTHORIZED)
        nobody = await api.call("profile.authenticate", {"username": "dave", "password": "pw"})
        assert nobody.status == 401


async def test_register_validation_names_every_blank_field(api: Api) -> None:
    answer = await api.call("profile.register", {"username": "  "})
    assert answer.status == 422
    assert answer.body == {
        "message": "Validation failed",
        "errors": {
            "username": ["This value should not be blank."],
            "password": ["This value should not be blank."],
        },
    }
    assert api.sb.stats.commands_accepted == 0


async def test_profile_id_and_token_expiry(api: Api, token: str) -> None:
    answer = await api.call("profile.retrieve_profile_id", token=token)
    profile_id = answer.body["profileId"]
    assert UUID.fullmatch(profile_id)
    assert profile_id in api.sb.state.profiles
    answer = await api.call("profile.token_expiry", token=token)
    assert answer.body["expiresAt"].endswith("+00:00")


@pytest.mark.parametrize(
    "headers",
    [{}, {"X-DPT-AUTHORIZATION": "T-wrong"}, {"Authorization": "Bearer x"}],
    ids=["missing", "unknown", "bearer"],
)
async def test_401_for_missing_or_unknown_token(api: Api, headers: dict[str, str]) -> None:
    url = api.sb.api_url + ROUTES["storage.list"].path
    async with api.http.get(url, headers=headers) as resp:
        assert resp.status == 401
        assert await resp.json() == UNAUTHORIZED


async def test_401_once_tokens_expire(api: Api, token: str) -> None:
    assert (await api.call("storage.list", token=token)).status == 200
    api.sb.expire_tokens()
    answer = await api.call("storage.list", token=token)
    assert (answer.status, answer.body) == (401, UNAUTHORIZED)
    # A new login works again.
    fresh = await api.call("profile.authenticate", {"username": "alice", "password": "s3cret"})
    new_token = fresh.body["authorizationToken"]
    assert (await api.call("storage.list", token=new_token)).status == 200


async def test_revoke_answers_200_empty_then_401_everywhere(api: Api, token: str) -> None:
    answer = await api.call("profile.revoke", token=token)
    assert (answer.status, answer.raw) == (200, b"")
    for name in ("storage.list", "profile.token_expiry", "devices.list"):
        answer = await api.call(name, token=token)
        assert (answer.status, answer.body) == (401, UNAUTHORIZED)


async def test_reauthorize_sync_issues_a_new_token_and_keeps_the_old(api: Api, token: str) -> None:
    answer = await api.call("profile.reauthorize", {"ttl": "60"}, token=token)
    assert answer.status == 200
    new = answer.body["authorizationToken"]
    assert new != token
    left = (datetime.fromisoformat(answer.body["expiresAt"]) - datetime.now(UTC)).total_seconds()
    assert 55 <= left <= 61
    assert (await api.call("storage.list", token=new)).status == 200
    assert (await api.call("storage.list", token=token)).status == 200


@pytest.mark.parametrize(
    ("ttl", "message"),
    [
        ("", "This value should not be blank."),
        ("abc", "This value should be a valid number."),
        ("0", "This value should be between 1 and 2592000."),
        ("2592001", "This value should be between 1 and 2592000."),
    ],
)
async def test_reauthorize_ttl_is_validated(api: Api, token: str, ttl: str, message: str) -> None:
    answer = await api.call("profile.reauthorize", {"ttl": ttl}, token=token)
    assert (answer.status, answer.body) == (422, invalid("ttl", message))


async def test_reauthorize_in_command_mode_extends_the_same_token() -> None:
    async with serving(reauthorize_mode="command") as api:
        token = await api.profile()
        before = api.sb.state.tokens[token].expires_at
        cid = await api.command("profile.reauthorize", {"ttl": "7200"}, token)
        assert api.sb.state.tokens[token].expires_at == before  # not before the settle
        await api.settled(cid)
        after = api.sb.state.tokens[token].expires_at
        assert after == pytest.approx(time.time() + 7200, abs=5)
        answer = await api.call("profile.token_expiry", token=token)
        assert datetime.fromisoformat(answer.body["expiresAt"]).timestamp() == int(after)


async def test_change_password_and_qr_token(api: Api, token: str) -> None:
    wrong = {"currentPassword": "nope", "newPassword": "n3w"}
    assert await api.outcome("profile.change_password", wrong, token) == (
        3,
        "profile.invalid_password",
    )
    right = {"currentPassword": "s3cret", "newPassword": "n3w"}
    assert (await api.outcome("profile.change_password", right, token))[0] == 2
    login = await api.call("profile.authenticate", {"username": "alice", "password": "n3w"})
    assert login.status == 200
    assert (await api.call("storage.list", token=token)).status == 200  # old token still valid
    qr = await api.call("profile.generate_qr_token", token=token)
    assert qr.status == 200
    assert set(qr.body) == {"qrToken", "expiresAt"}


# -- devices -------------------------------------------------------------------------------


async def test_device_onboarding_flow(api: Api, token: str) -> None:
    cid = await api.command("devices.request_unique_identifier", {"deviceName": "phone"}, token)
    early = await api.call("devices.retrieve_unique_identifier", {"id": cid}, token=token)
    assert (early.status, early.body) == (404, NOT_FOUND)
    await api.settled(cid)
    answer = await api.call("devices.retrieve_unique_identifier", {"id": cid}, token=token)
    identifier = answer.body["deviceIdentifier"]
    assert UUID.fullmatch(identifier)

    listed = (await api.call("devices.list", token=token)).body
    assert [{k: v for k, v in d.items() if k != "createdAt"} for d in listed] == [
        {"deviceIdentifier": identifier, "name": "phone", "status": "pending"}
    ]
    assert listed[0]["createdAt"].endswith("+00:00")

    config = await api.call(
        "devices.retrieve_configuration", {"deviceIdentifier": identifier}, token=token
    )
    assert (config.status, config.body) == (
        422,
        invalid("deviceIdentifier", "The device is not approved."),
    )
    ident = {"deviceIdentifier": identifier}
    assert await api.outcome("devices.approve", ident, token) == (
        2,
        "Command completed successfully",
    )
    assert await api.outcome("devices.approve", ident, token) == (3, "device.not_pending")
    assert await api.outcome("devices.reject", ident, token) == (3, "device.not_pending")
    renamed = {"deviceIdentifier": identifier, "name": "tablet"}
    assert (await api.outcome("devices.configure_meta", renamed, token))[0] == 2
    listed = (await api.call("devices.list", token=token)).body
    assert (listed[0]["name"], listed[0]["status"]) == ("tablet", "approved")

    config = await api.call("devices.retrieve_configuration", ident, token=token)
    assert config.status == 200
    assert set(config.body) == {
        "device-identifier",
        "client-id",
        "client-secret",
        "rabbit-user",
        "rabbit-pass",
        "rabbit-host",
        "rabbit-port",
    }
    assert config.body["device-identifier"] == identifier

    assert (await api.outcome("devices.remove", ident, token))[0] == 2
    assert (await api.call("devices.list", token=token)).body == []
    assert await api.outcome("devices.remove", ident, token) == (3, "device.not_found")


async def test_reject_device(api: Api, token: str) -> None:
    identifier = await api.device(token, approve=False)
    ident = {"deviceIdentifier": identifier}
    assert (await api.outcome("devices.reject", ident, token))[0] == 2
    assert (await api.call("devices.list", token=token)).body[0]["status"] == "rejected"
    assert await api.outcome("devices.approve", ident, token) == (3, "device.not_pending")


@pytest.mark.parametrize(
    "name",
    ["devices.approve", "devices.reject", "devices.configure_meta", "devices.remove"],
)
async def test_unknown_device_commands_are_rejected(api: Api, token: str, name: str) -> None:
    assert await api.outcome(name, {"deviceIdentifier": "ghost"}, token) == (3, "device.not_found")


async def test_another_profiles_device_behaves_as_unknown(api: Api, token: str) -> None:
    identifier = await api.storage_device(token)
    other = await api.profile("mallory", "pw")
    ident = {"deviceIdentifier": identifier}
    assert (await api.call("devices.list", token=other)).body == []
    assert (await api.call("storage.list", token=other)).body == []
    config = await api.call("devices.retrieve_configuration", ident, token=other)
    assert config.status == 404
    for name in ("devices.approve", "devices.remove", "storage.sync_device", "storage.register"):
        assert await api.outcome(name, ident, other) == (3, "device.not_found")
    request = next(c for c in api.sb.state.commands.values() if c.route.endswith("identifier"))
    answer = await api.call(
        "devices.retrieve_unique_identifier", {"id": request.command_id}, token=other
    )
    assert answer.status == 404
    assert identifier in api.sb.state.devices  # untouched


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "This value should not be blank."),
        ("   ", "This value should not be blank."),
        ("../etc", "This value is not a valid identifier."),
        ("a b", "This value is not a valid identifier."),
        ("x" * 129, "This value is not a valid identifier."),
    ],
)
@pytest.mark.parametrize(
    "name",
    ["devices.approve", "devices.retrieve_configuration", "storage.sync_device", "storage.remove"],
)
async def test_device_identifier_is_validated(
    api: Api, token: str, name: str, value: str, message: str
) -> None:
    answer = await api.call(name, {"deviceIdentifier": value}, token=token)
    assert (answer.status, answer.body) == (422, invalid("deviceIdentifier", message))


async def test_download_configuration_of_unknown_device_is_404(api: Api, token: str) -> None:
    answer = await api.call(
        "devices.retrieve_configuration", {"deviceIdentifier": "ghost"}, token=token
    )
    assert (answer.status, answer.body) == (404, NOT_FOUND)


# -- storage -------------------------------------------------------------------------------


async def test_storage_register_rejections(api: Api, token: str) -> None:
    pending = await api.device(token, "pending", approve=False)
    approved = await api.device(token, "approved")
    register = "storage.register"
    assert await api.outcome(register, {"deviceIdentifier": "ghost"}, token) == (
        3,
        "device.not_found",
    )
    assert await api.outcome(register, {"deviceIdentifier": pending}, token) == (
        3,
        "device.not_approved",
    )
    assert (await api.outcome(register, {"deviceIdentifier": approved}, token))[0] == 2
    assert await api.outcome(register, {"deviceIdentifier": approved}, token) == (
        3,
        "storage.already_registered",
    )
    listed = (await api.call("storage.list", token=token)).body
    assert len(listed) == 1
    assert set(listed[0]) == {"deviceIdentifier", "name", "online", "registeredAt"}
    assert listed[0]["deviceIdentifier"] == approved
    assert (listed[0]["name"], listed[0]["online"]) == ("approved", True)


async def test_sync_device_outcomes(api: Api, token: str) -> None:
    plain = await api.device(token, "plain")
    storage = await api.storage_device(token)
    sync = "storage.sync_device"
    assert await api.outcome(sync, {"deviceIdentifier": "ghost"}, token) == (3, "device.not_found")
    assert await api.outcome(sync, {"deviceIdentifier": plain}, token) == (
        3,
        "device.not_a_storage_device",
    )
    assert (await api.outcome(sync, {"deviceIdentifier": storage}, token))[0] == 2
    api.sb.set_device_online(storage, False)
    assert await api.outcome(sync, {"deviceIdentifier": storage}, token) == (3, "device.offline")
    assert (await api.call("storage.list", token=token)).body[0]["online"] is False
    api.sb.set_device_online(storage, True)
    assert (await api.outcome(sync, {"deviceIdentifier": storage}, token))[0] == 2
    with pytest.raises(KeyError):
        api.sb.set_device_online("ghost", True)


async def test_storage_remove_and_device_remove_drop_the_role(api: Api, token: str) -> None:
    first = await api.storage_device(token, "first")
    second = await api.storage_device(token, "second")
    remove = "storage.remove"
    assert (await api.outcome(remove, {"deviceIdentifier": first}, token))[0] == 2
    assert await api.outcome(remove, {"deviceIdentifier": first}, token) == (
        3,
        "storage.not_registered",
    )
    assert await api.outcome(remove, {"deviceIdentifier": "ghost"}, token) == (
        3,
        "device.not_found",
    )
    assert (await api.outcome("devices.remove", {"deviceIdentifier": second}, token))[0] == 2
    assert (await api.call("storage.list", token=token)).body == []
    assert [d["deviceIdentifier"] for d in (await api.call("devices.list", token=token)).body] == [
        first
    ]


# -- faults --------------------------------------------------------------------------------


async def test_injected_error_rate_limit_and_unauthorized(api: Api, token: str) -> None:
    api.sb.inject("storage.list", "error")
    answer = await api.call("storage.list", token=token)
    assert (answer.status, answer.body) == (503, {"message": "Service unavailable"})

    api.sb.inject("storage.list", "rate_limit", times=2, retry_after=2.5)
    for _ in range(2):
        answer = await api.call("storage.list", token=token)
        assert (answer.status, answer.headers["Retry-After"]) == (429, "2.5")

    api.sb.inject("storage.list", "unauthorized")
    answer = await api.call("storage.list", token=token)
    assert (answer.status, answer.body) == (401, UNAUTHORIZED)

    assert (await api.call("storage.list", token=token)).status == 200  # one-offs are used up
    assert api.sb.stats.faults == {"error": 1, "rate_limit": 2, "unauthorized": 1}
    assert api.sb.stats.requests["storage.list"] == 5


async def test_injected_reset_closes_the_connection_without_an_answer(api: Api, token: str) -> None:
    accepted = api.sb.stats.commands_accepted
    api.sb.inject("storage.sync_device", "reset")
    with pytest.raises((aiohttp.ServerDisconnectedError, aiohttp.ClientOSError)):
        await api.call("storage.sync_device", {"deviceIdentifier": "d"}, token=token)
    assert api.sb.stats.commands_accepted == accepted  # the handler never ran
    # aiohttp's client silently retries an idempotent GET once, so a GET needs two resets.
    api.sb.inject("storage.list", "reset", times=2)
    with pytest.raises((aiohttp.ServerDisconnectedError, aiohttp.ClientOSError)):
        await api.call("storage.list", token=token)
    assert api.sb.stats.requests["storage.list"] == 2
    assert (await api.call("storage.list", token=token)).status == 200


async def test_injected_slow_answer(api: Api) -> None:
    api.sb.inject("utility.health", "slow", delay=0.15)
    started = time.monotonic()
    answer = await api.call("utility.health")
    assert answer.status == 200
    assert time.monotonic() - started >= 0.15


async def test_injected_lost_command_never_settles() -> None:
    async with serving(status_shape="object") as api:
        await _a_lost_command_never_settles(api, await api.profile())


async def _a_lost_command_never_settles(api: Api, token: str) -> None:
    api.sb.inject("storage.sync_device", "lost")
    # A refused request does not use the one-off up.
    bad = await api.call("storage.sync_device", {"deviceIdentifier": ""}, token=token)
    assert bad.status == 422
    lost = await api.command("storage.sync_device", {"deviceIdentifier": "d"}, token)
    normal = await api.command("storage.sync_device", {"deviceIdentifier": "d"}, token)
    await api.settled(normal)
    await asyncio.sleep(LATENCY * 2)
    assert api.sb.settled_at(lost) is None
    assert (await api.status(lost)).body["command_status"] == 1
    assert api.sb.stats.commands_lost == 1


async def test_random_faults_are_seeded_and_limited_to_routes() -> None:
    faults = Faults(error_rate=0.5, routes={"utility.health"}, seed=3)
    codes = []
    for _ in range(2):
        async with serving(faults=faults) as api:
            run = [(await api.call("utility.health")).status for _ in range(20)]
            codes.append(run)
            cid = await api.command("profile.register", {"username": "u", "password": "p"}, None)
            assert (await api.status(cid)).status == 200  # not a faulted route
    assert codes[0] == codes[1]
    assert set(codes[0]) == {200, 503}


async def test_random_faults_of_every_kind() -> None:
    async with serving(faults=Faults(rate_limit_rate=1.0, retry_after=3)) as api:
        answer = await api.call("utility.health")
        assert (answer.status, answer.headers["Retry-After"]) == (429, "3")
    async with serving(faults=Faults(lost_rate=1.0)) as api:
        cid = await api.command("profile.register", {"username": "u", "password": "p"}, None)
        await asyncio.sleep(LATENCY * 3)
        assert api.sb.settled_at(cid) is None
    faults = Faults(slow_rate=1.0, slow_delay=0.1, routes=["utility.health"])
    async with serving(faults=faults) as api:
        started = time.monotonic()
        assert (await api.call("utility.health")).status == 200
        assert time.monotonic() - started >= 0.1
    async with (
        serving(faults=Faults(reset_rate=1.0)) as api,
        aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True)) as http,
    ):
        with pytest.raises((aiohttp.ServerDisconnectedError, aiohttp.ClientOSError)):
            await api.call("profile.register", {"username": "u", "password": "p"}, http=http)


def test_fault_settings_are_validated() -> None:
    with pytest.raises(ValueError, match="unknown route"):
        Faults(routes={"storage.lsit"})
    with pytest.raises(ValueError, match="within"):
        Faults(error_rate=1.5)
    with pytest.raises(ValueError, match="sum"):
        Faults(error_rate=0.6, reset_rate=0.6)
    sb = Sandbox()
    with pytest.raises(ValueError, match="unknown route"):
        sb.inject("nope", "error")
    with pytest.raises(ValueError, match="unknown fault"):
        sb.inject("utility.health", "explode")


def test_sandbox_settings_are_validated() -> None:
    with pytest.raises(ValueError, match="id_shape"):
        Sandbox(id_shape="xml")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="status_methods"):
        Sandbox(status_methods=("PUT",))
    with pytest.raises(ValueError, match="latency"):
        Sandbox(latency=-1)
    with pytest.raises(RuntimeError, match="not started"):
        _ = Sandbox().api_url


# -- stats and admin endpoints ------------------------------------------------------------


async def test_stats_count_requests_per_route_and_commands(api: Api, token: str) -> None:
    await api.run("storage.sync_device", {"deviceIdentifier": "d"}, token)
    await api.call("storage.list", token=token)
    stats = api.sb.stats
    assert stats.requests["profile.register"] == 1
    assert stats.requests["profile.authenticate"] == 1
    assert stats.requests["storage.sync_device"] == 1
    assert stats.requests["storage.list"] == 1
    assert (stats.commands_accepted, stats.commands_settled) == (2, 2)
    assert (stats.commands_succeeded, stats.commands_rejected) == (1, 1)


async def test_admin_endpoints(api: Api, token: str) -> None:
    base = api.sb.api_url + "/_sandbox"
    api.http.headers["X-Sandbox-Token"] = api.sb.admin_token  # every admin request below
    device = await api.storage_device(token)
    async with api.http.get(base + "/stats") as resp:
        stats = await resp.json()
    assert stats["requests"]["storage.register"] == 1
    assert stats["commands_settled"] == stats["commands_accepted"] == 4
    assert "_sandbox" not in json.dumps(stats["requests"])

    async with api.http.get(base + "/settled") as resp:
        settled = await resp.json()
    assert settled == {cid: c.settled_at for cid, c in api.sb.state.commands.items()}

    async with api.http.post(base + f"/devices/{device}/online", data={"online": "0"}) as resp:
        assert (resp.status, await resp.json()) == (
            200,
            {"deviceIdentifier": device, "online": False},
        )
    assert await api.outcome("storage.sync_device", {"deviceIdentifier": device}, token) == (
        3,
        "device.offline",
    )
    async with api.http.post(base + "/devices/ghost/online", data={"online": "1"}) as resp:
        assert resp.status == 404
    async with api.http.post(base + f"/devices/{device}/online", data={"online": "yes"}) as resp:
        assert resp.status == 422

    async with api.http.post(base + "/latency", data={"latency": "0.5", "jitter": "0.1"}) as resp:
        assert await resp.json() == {"latency": 0.5, "jitter": 0.1}
    assert (api.sb.latency, api.sb.jitter) == (0.5, 0.1)
    async with api.http.post(base + "/latency", data={"latency": "-1"}) as resp:
        assert resp.status == 422

    async with api.http.post(base + "/tokens/expire") as resp:
        assert (await resp.json())["expired"] == 1
    assert (await api.call("storage.list", token=token)).status == 401


# -- lifecycle and process mode ------------------------------------------------------------


async def test_close_cancels_pending_settlements_and_leaves_no_task() -> None:
    sb = Sandbox(latency=0.05)
    await sb.start()
    await sb.start()  # idempotent
    async with aiohttp.ClientSession() as http:
        api = Api(sb, http)
        cid = await api.command("profile.register", {"username": "u", "password": "p"}, None)
    await sb.close()
    await sb.close()  # idempotent
    assert asyncio.all_tasks() == {asyncio.current_task()}
    await asyncio.sleep(0.1)
    assert sb.settled_at(cid) is None
    assert sb.state.commands[cid].state is CommandState.STARTED
    with pytest.raises(RuntimeError, match="closed"):
        await sb.start()


async def test_many_commands_share_one_timer() -> None:
    # Latency long enough that all 200 are still pending when the last 202 arrives,
    # even on a loaded machine.
    async with serving(latency=1.0) as api:
        token = await api.profile()
        ids = await asyncio.gather(
            *(
                api.command("storage.sync_device", {"deviceIdentifier": f"d{i}"}, token)
                for i in range(200)
            )
        )
        stats = api.sb.stats
        assert stats.commands_accepted - stats.commands_settled == 200
        # Only the test and aiohttp's one task per keep-alive connection: none per command.
        others = {
            t.get_coro().__qualname__  # type: ignore[union-attr]
            for t in asyncio.all_tasks()
            if t is not asyncio.current_task()
        }
        assert others == {"RequestHandler.start"}
        for cid in ids:
            await api.settled(cid)
        assert api.sb.stats.commands_settled == 201


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
async def test_process_mode_serves_until_signalled(signum: signal.Signals) -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "privicore_async.sandbox",
        "--port",
        "0",
        "--latency",
        "0.01",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None
        line = (await asyncio.wait_for(proc.stdout.readline(), 15)).decode()
        match = re.fullmatch(r"privicore sandbox listening on (http://127\.0\.0\.1:\d+)\n", line)
        assert match, line
        token_line = (await asyncio.wait_for(proc.stdout.readline(), 15)).decode()
        token = re.fullmatch(r"privicore sandbox admin token (\S+)\n", token_line)
        assert token, token_line
        async with aiohttp.ClientSession(headers={"X-Sandbox-Token": token.group(1)}) as http:
            async with http.get(match.group(1) + "/health") as resp:
                assert (resp.status, await resp.json()) == (200, {"status": "ok"})
            async with http.get(match.group(1) + "/_sandbox/stats") as resp:
                assert (await resp.json())["requests"] == {"utility.health": 1}
        proc.send_signal(signum)
        out, err = await asyncio.wait_for(proc.communicate(), 15)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode == 0, err.decode()
    assert (out, err) == (b"", b"")
