"""sandbox/admin.py and admin_routes.py: the ``/_sandbox/`` admin API through
:class:`SandboxAdmin`, against an in-process sandbox and a sandbox in a child process."""

from __future__ import annotations

import asyncio
import json
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import attrs
import pytest
from aiohttp import web

from privicore_async import PollPolicy, PrivicoreClient
from privicore_async.sandbox import Sandbox, SandboxAdmin, SandboxAdminError, SandboxProcess
from privicore_async.sandbox.admin import Ballot, SandboxUser
from privicore_async.sandbox.child import _Banner
from privicore_async.sandbox.engine import CommandState
from privicore_async.sandbox.state import DeviceStatus
from tests.sandbox.api import Api

PASSWORD = "hunter2-but-longer"
WRONG_TOKEN = "not-the-admin-token-0123456789"
FAST_POLL = PollPolicy(initial_delay=0.01, min_interval=0.01, max_interval=0.05, timeout=5)
REFUSED = "admin token required"


@attrs.frozen
class Env:
    sb: Sandbox
    admin: SandboxAdmin
    api: Api

    async def token(self, username: str) -> str:
        answer = await self.api.call(
            "profile.authenticate", {"username": username, "password": PASSWORD}
        )
        assert answer.status == 200, answer.body
        token: str = answer.body["authorizationToken"]
        return token

    async def raw(self, method: str, path: str, **kwargs: Any) -> tuple[int, str]:
        """One admin request by hand: status and body text (for what the client hides)."""
        headers = {"X-Sandbox-Token": self.sb.admin_token}
        url = self.sb.api_url + "/_sandbox" + path
        async with self.api.http.request(method, url, headers=headers, **kwargs) as resp:
            return resp.status, await resp.text()


@pytest.fixture
async def env() -> AsyncIterator[Env]:
    async with (
        Sandbox(latency=0.02) as sb,
        SandboxAdmin(sb.api_url, sb.admin_token) as admin,
        aiohttp.ClientSession() as http,
    ):
        yield Env(sb, admin, Api(sb, http))


async def refused(call: Awaitable[object], status: int) -> SandboxAdminError:
    with pytest.raises(SandboxAdminError) as info:
        await call
    assert info.value.status == status, info.value
    return info.value


def open_pool(sb: Sandbox, user: SandboxUser, pool_id: str = "pool-1") -> None:
    """A manual pool among the user's devices (unanimous: every one must approve)."""
    sb.state.voting.open_pool(pool_id, user.profile_id, list(user.device_ids), None)


# -- the token -------------------------------------------------------------------------------


async def test_every_endpoint_refuses_a_client_without_the_token(env: Env) -> None:
    user = env.sb.seed_user("owner", PASSWORD, devices=2)
    open_pool(env.sb, user)
    async with SandboxAdmin(env.sb.api_url, WRONG_TOKEN) as stranger:
        calls: list[Callable[[], Awaitable[object]]] = [
            stranger.stats,
            stranger.settled,
            stranger.due,
            lambda: stranger.set_latency(5.0, 1.0),
            lambda: stranger.set_device_online(user.device_ids[0], False),
            stranger.expire_tokens,
            stranger.pools,
            lambda: stranger.vote("pool-1", user.device_ids[0], True),
            lambda: stranger.seed_user("intruder", PASSWORD, devices=1),
            stranger.users,
            lambda: stranger.inject("utility.health", "error"),
            lambda: stranger.ws_drop_next(1),
            lambda: stranger.ws_refuse_joins(1),
            stranger.ws_disconnect_all,
            stranger.commands_by_target,
            lambda: stranger.commands_by_target("storage.sync_device"),
        ]
        for call in calls:
            error = await refused(call(), 401)
            assert error.message == REFUSED
            for text in (str(error), repr(error)):
                assert WRONG_TOKEN not in text
                assert env.sb.admin_token not in text
                assert PASSWORD not in text
        assert WRONG_TOKEN not in repr(stranger)
    # Nothing happened.
    assert env.sb.latency == 0.02
    assert env.sb.state.devices[user.device_ids[0]].online
    assert env.sb.state.voting.pools["pool-1"].votes == {}
    assert list(env.sb.seeded) == ["owner"]
    assert (await env.api.call("utility.health")).status == 200  # no fault was queued


def test_the_client_needs_a_token_and_never_shows_it() -> None:
    with pytest.raises(ValueError, match="admin token"):
        SandboxAdmin("http://127.0.0.1:1", "")
    admin = SandboxAdmin("http://127.0.0.1:1/", "secret-admin-token")
    assert repr(admin) == "SandboxAdmin('http://127.0.0.1:1')"


# -- counters and knobs ----------------------------------------------------------------------


async def test_counters_clocks_and_knobs(env: Env) -> None:
    user = await env.admin.seed_user("owner", PASSWORD, devices=1)
    (device,) = user.device_ids
    token = await env.token("owner")
    assert await env.admin.set_latency(1.0) == (1.0, 0.0)
    pending = await env.api.command("storage.sync_device", {"deviceIdentifier": device}, token)
    assert list(await env.admin.due()) == [pending]
    assert await env.admin.set_latency(jitter=0.0, latency=0.0) == (0.0, 0.0)
    assert await env.admin.set_latency() == (0.0, 0.0)  # reads them, changes nothing

    await env.admin.set_device_online(device, False)
    offline = await env.api.run("storage.sync_device", {"deviceIdentifier": device}, token)
    assert (offline.state, offline.body) == (CommandState.REJECTED, "device.offline")
    settled = await env.admin.settled()
    assert settled == {offline.command_id: offline.settled_at}
    stats = await env.admin.stats()
    assert stats["requests"]["storage.sync_device"] == 2
    assert stats["ws"]["joins_ok"] == 0

    error = await refused(env.admin.set_device_online("ghost/../x", True), 404)
    assert error.message == "Record not found"
    error = await refused(env.admin.set_latency(-1.0), 422)
    assert error.errors == {"latency": ["This value should be a number >= 0."]}
    assert await env.admin.expire_tokens() == 1
    assert (await env.api.call("storage.list", token=token)).status == 401


# -- seeding ---------------------------------------------------------------------------------


async def test_seeded_users_are_ready_and_listed_without_their_password(env: Env) -> None:
    user = await env.admin.seed_user("owner", PASSWORD, devices=2)
    seeded = env.sb.seeded["owner"]
    assert user == SandboxUser("owner", seeded.profile_id, seeded.device_ids)
    assert len(user.device_ids) == 2
    for identifier in user.device_ids:
        device = env.sb.state.devices[identifier]
        assert device.status is DeviceStatus.APPROVED
        assert device.storage is not None
        assert device.online
    assert await env.token("owner")  # it can log in at once
    empty = await env.admin.seed_user("bare", PASSWORD)
    assert empty.device_ids == ()
    assert await env.admin.users() == [user, empty]

    status, created = await env.raw(
        "POST", "/users", data={"username": "raw", "password": PASSWORD, "devices": "1"}
    )
    assert status == 201
    assert set(json.loads(created)) == {"username", "profileId", "deviceIds"}
    status, listed = await env.raw("GET", "/users")
    assert status == 200
    assert len(json.loads(listed)) == 3
    for body in (created, listed):
        assert PASSWORD not in body
        assert env.sb.admin_token not in body


async def test_a_taken_username_is_a_conflict(env: Env) -> None:
    await env.admin.seed_user("owner", PASSWORD)
    await env.api.run("profile.register", {"username": "wired", "password": PASSWORD}, None)
    for username in ("owner", "wired"):
        error = await refused(env.admin.seed_user(username, PASSWORD, devices=3), 409)
        assert username in error.message
        assert PASSWORD not in str(error)
    assert [u.username for u in await env.admin.users()] == ["owner"]


@pytest.mark.parametrize(
    ("form", "field"),
    [
        ({"password": PASSWORD}, "username"),
        ({"username": "  ", "password": PASSWORD}, "username"),
        ({"username": "a:b", "password": PASSWORD}, "username"),
        ({"username": "u"}, "password"),
        ({"username": "u", "password": PASSWORD, "devices": "-1"}, "devices"),
        ({"username": "u", "password": PASSWORD, "devices": "two"}, "devices"),
        ({"username": "u", "password": PASSWORD, "devices": "100001"}, "devices"),
    ],
)
async def test_bad_seeding_fields_are_refused_by_name(
    env: Env, form: dict[str, str], field: str
) -> None:
    status, body = await env.raw("POST", "/users", data=form)
    assert status == 422
    answer = json.loads(body)
    assert list(answer["errors"]) == [field]
    assert PASSWORD not in body
    assert env.sb.seeded == {}


async def test_the_client_error_of_a_refused_seed_names_the_field_not_the_password(
    env: Env,
) -> None:
    error = await refused(env.admin.seed_user("a:b", PASSWORD, devices=-1), 422)
    assert set(error.errors) == {"username", "devices"}
    assert "username" in str(error)
    assert PASSWORD not in str(error)
    assert PASSWORD not in repr(error)


# -- voting ----------------------------------------------------------------------------------


async def test_pools_are_listed_and_decided_by_votes_from_outside(env: Env) -> None:
    user = await env.admin.seed_user("owner", PASSWORD, devices=3)
    first, second, outsider = user.device_ids
    env.sb.state.voting.open_pool("pool-1", user.profile_id, [first, second], None)

    (pool,) = await env.admin.pools()
    assert (pool.pool_id, pool.profile_id, pool.status) == ("pool-1", user.profile_id, "open")
    assert (pool.eligible, pool.required, pool.ballots) == ((first, second), 2, ())
    assert pool.command_id is None
    assert await env.admin.pools(status="approved") == []

    assert await env.admin.vote("pool-1", first, True) == "open"
    error = await refused(env.admin.vote("pool-1", first, False), 409)
    assert "already voted" in error.message
    error = await refused(env.admin.vote("pool-1", outsider, True), 422)
    assert list(error.errors) == ["device"]
    await refused(env.admin.vote("no-such-pool", first, True), 404)
    await refused(env.admin.vote("pool/1", first, True), 404)  # one path segment, quoted

    assert await env.admin.vote("pool-1", second, True) == "approved"
    (decided,) = await env.admin.pools(status="approved")
    assert decided.ballots == (Ballot(first, True), Ballot(second, True))
    assert (decided.approvals, decided.rejections) == (2, 0)
    assert await env.admin.pools(status="open") == []
    error = await refused(env.admin.vote("pool-1", second, False), 409)
    assert "approved" in error.message

    error = await refused(env.admin.pools(status="maybe"), 422)
    assert list(error.errors) == ["status"]
    for form in ({"approve": "1"}, {"device": first, "approve": "yes"}, {"device": first}):
        status, _ = await env.raw("POST", "/pools/pool-1/votes", data=form)
        assert status == 422, form


# -- faults ----------------------------------------------------------------------------------


async def test_faults_are_scripted_from_outside(env: Env) -> None:
    await env.admin.inject("utility.health", "error", 2)
    await env.admin.inject("utility.health", "rate_limit", retry_after=3)
    statuses = [(await env.api.call("utility.health")).status for _ in range(3)]
    assert statuses == [503, 503, 429]
    await env.admin.inject("utility.health", "rate_limit", retry_after=0.5)
    assert (await env.api.call("utility.health")).headers["Retry-After"] == "0.5"
    assert (await env.api.call("utility.health")).status == 200

    user = await env.admin.seed_user("owner", PASSWORD, devices=1)
    token = await env.token("owner")
    await env.admin.inject("storage.sync_device", "lost")
    lost = await env.api.command(
        "storage.sync_device", {"deviceIdentifier": user.device_ids[0]}, token
    )
    await asyncio.sleep(0.05)
    assert env.sb.state.commands[lost].lost
    assert env.sb.stats.faults == {"error": 2, "rate_limit": 2, "lost": 1}


@pytest.mark.parametrize(
    ("form", "fields"),
    [
        ({}, {"route", "fault"}),
        ({"route": "no.such_route", "fault": "error"}, {"route"}),
        ({"route": "utility.health", "fault": "meteor"}, {"fault"}),
        ({"route": "utility.health", "fault": "error", "times": "0"}, {"times"}),
        ({"route": "utility.health", "fault": "slow", "delay": "-1"}, {"delay"}),
        ({"route": "utility.health", "fault": "rate_limit", "retry_after": "inf"}, {"retry_after"}),
    ],
)
async def test_bad_fault_fields_are_refused_by_name(
    env: Env, form: dict[str, str], fields: set[str]
) -> None:
    status, body = await env.raw("POST", "/faults", data=form)
    assert status == 422
    assert set(json.loads(body)["errors"]) == fields
    assert (await env.api.call("utility.health")).status == 200


async def test_the_ack_channel_is_steered_from_outside(env: Env) -> None:
    user = await env.admin.seed_user("owner", PASSWORD, devices=1)
    token = await env.token("owner")
    assert await env.admin.ws_disconnect_all() == 0

    await env.admin.ws_refuse_joins(1)
    for expected in (401, 200):
        ws = await env.api.http.ws_connect(env.sb.ws_url)
        await ws.send_json({"action": "joinChannel", "data": {"authorizationToken": token}})
        answer = json.loads((await ws.receive(2.0)).data)
        assert answer["status"] == expected
        if expected == 401:
            await ws.close()
    assert await env.admin.ws_disconnect_all() == 1
    assert (await ws.receive(2.0)).type is aiohttp.WSMsgType.CLOSE
    assert ws.close_code == 1012
    await ws.close()

    await env.admin.ws_drop_next(1)
    await env.api.run("storage.sync_device", {"deviceIdentifier": user.device_ids[0]}, token)
    assert (await env.admin.stats())["ws"]["acks_dropped"] == 1
    for path in ("/ws/drop-next", "/ws/refuse-joins"):
        for n in ("0", "many"):
            status, body = await env.raw("POST", path, data={"n": n})
            assert (status, list(json.loads(body)["errors"])) == (422, ["n"])


# -- commands per target ---------------------------------------------------------------------


async def test_commands_are_counted_per_target_every_time_they_are_sent(env: Env) -> None:
    user = await env.admin.seed_user("owner", PASSWORD, devices=2)
    first, second = user.device_ids
    token = await env.token("owner")
    await env.admin.inject("storage.sync_device", "lost")  # accepted all the same: counted
    for device in (first, first, second):
        await env.api.command("storage.sync_device", {"deviceIdentifier": device}, token)
    await env.api.command("storage.remove", {"deviceIdentifier": second}, token)

    by_target = await env.admin.commands_by_target("storage.sync_device")
    assert by_target == {first: 2, second: 1}
    assert await env.admin.commands_by_target() == {
        "storage.sync_device": {first: 2, second: 1},
        "storage.remove": {second: 1},
    }
    assert await env.admin.commands_by_target("devices.approve") == {}
    error = await refused(env.admin.commands_by_target("storage.nope"), 422)
    assert list(error.errors) == ["route"]


# -- answers the client does not understand --------------------------------------------------


async def test_an_answer_that_is_not_the_expected_json_is_an_admin_error() -> None:
    bodies = {
        "/_sandbox/stats": web.Response(text="not json"),
        "/_sandbox/settled": web.json_response({"id": "soon"}),
        "/_sandbox/users": web.json_response([{"username": "x"}]),
        "/_sandbox/due": web.Response(status=502, text="bad gateway"),
        "/_sandbox/tokens/expire": web.json_response({"message": "no, TOKEN"}, status=500),
    }

    async def answer(request: web.Request) -> web.StreamResponse:
        return bodies[request.path]

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", answer)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        async with SandboxAdmin(f"http://127.0.0.1:{port}", "TOKEN") as admin:
            for call in (admin.stats, admin.settled, admin.users):
                error = await refused(call(), 200)
                assert error.message.startswith("unexpected answer to GET /")
            error = await refused(admin.due(), 502)
            assert error.message == "HTTP 502"
            error = await refused(admin.expire_tokens(), 500)
            assert error.message == "no, [admin token]"  # an echoed token is taken out
    finally:
        await runner.cleanup()


async def test_a_given_session_is_left_open_and_an_own_one_is_closed(env: Env) -> None:
    async with aiohttp.ClientSession() as session:
        async with SandboxAdmin(env.sb.api_url, env.sb.admin_token, session=session) as admin:
            assert await admin.users() == []
        assert not session.closed
        assert await admin.users() == []  # still usable: the session is the caller's
    own = SandboxAdmin(env.sb.api_url, env.sb.admin_token)
    assert await own.expire_tokens() == 0
    await own.close()
    await own.close()  # idempotent


# -- a sandbox in another process --------------------------------------------------------------


async def test_a_gated_command_is_voted_from_outside_the_sandbox_process() -> None:
    async with SandboxProcess("--user", "first:pw", latency=0.02) as child, child.admin() as admin:
        assert child.seeded == {"first": ()}
        user = await admin.seed_user("owner", PASSWORD, devices=2)
        voter, vault = user.device_ids
        client = PrivicoreClient(child.api_url, username="owner", password=PASSWORD, poll=FAST_POLL)
        async with client:
            await (await client.authenticators.register(voter))
            templates = await client.policies.list_templates()
            template = next(t for t in templates.values() if t.event_by_name("storage.remove"))
            event = template.event_by_name("storage.remove")
            assert event is not None
            await (
                await client.policies.register(
                    "guard", template.template_id, [event.event_id], {"reason": "two keys"}
                )
            )
            policy = await client.policies.retrieve("guard", wait=1.0)
            await (await client.policies.activate(policy.policy_id))
            for _ in range(2):  # not gated: settles at once, and is counted twice
                await (await client.storage.sync_device(vault))

            removal = await client.storage.remove(vault)
            (pool,) = await admin.pools(status="open")
            assert (pool.command_id, pool.eligible) == (removal.command_id, (voter,))
            await asyncio.sleep(0.1)  # well past the latency: it waits for the vote
            assert not removal.done()
            assert await admin.vote(pool.pool_id, voter, True) == "approved"
            await removal
            assert [d.device_identifier for d in await client.storage.list()] == [voter]

        assert await admin.commands_by_target("storage.remove") == {vault: 1}
        assert await admin.commands_by_target("storage.sync_device") == {vault: 2}
        (decided,) = await admin.pools()
        assert (decided.status, decided.ballots) == ("approved", (Ballot(voter, True),))
        assert [u.username for u in await admin.users()] == ["first", "owner"]
    assert child.proc is None


def test_the_blocking_form_reads_every_url_and_stops_the_child() -> None:
    child = SandboxProcess("--user", "a b:pw", "--devices", "1", latency=0.01)
    with pytest.raises(RuntimeError, match="not started"):
        _ = child.api_url
    with child:
        assert child.proc is not None
        assert child.api_url.startswith("http://127.0.0.1:")
        assert child.ws_url.startswith("ws://127.0.0.1:")
        assert child.upstream_url.startswith("http://127.0.0.1:")
        assert child.downstream_url.startswith("http://127.0.0.1:")
        assert len(child.admin_token) >= 32
        ((name, devices),) = child.seeded.items()
        assert (name, len(devices)) == ("a b", 1)
        assert child.admin_token not in repr(child)
        assert child.stop() == 0  # SIGTERM: a clean stop
    assert child.proc is None


async def test_a_child_that_cannot_start_is_an_error_and_leaves_nothing() -> None:
    with pytest.raises(RuntimeError, match="exited early"):
        async with SandboxProcess("--latency", "-1"):
            pass
    # The blocking form: a child that dies at once, without the sandbox's start-up time.
    false = shutil.which("false")
    assert false is not None
    with (
        pytest.raises(RuntimeError, match=r"exited early \(status 1\)"),
        SandboxProcess(python=false),
    ):
        pass


@pytest.mark.parametrize("env_form", [False, True], ids=["plain", "print-env"])
def test_the_banner_is_read_in_either_form(env_form: bool) -> None:
    note = "# " if env_form else ""
    lines = [
        f"{note}privicore sandbox listening on http://127.0.0.1:1",
        f"{note}privicore sandbox websocket on ws://127.0.0.1:2",
        f"{note}privicore sandbox upstream on http://127.0.0.1:3",
        f"{note}privicore sandbox downstream on http://127.0.0.1:4",
        f"{note}privicore sandbox seeded user a b: devices d-1 d-2",
        f"{note}privicore sandbox seeded user c: devices (none)",
    ]
    if env_form:
        lines += [
            "export PRIVICORE_API_URL=http://127.0.0.1:1",
            "export PRIVICORE_USERNAME='a b'",
            "export PRIVICORE_PASSWORD='pass word'",
            "export PRIVICORE_SANDBOX_ADMIN_TOKEN='tok'",
        ]
    else:
        lines.insert(1, "privicore sandbox admin token tok")
    banner = _Banner()
    for line in lines:
        banner.read(line + "\n")
    assert banner.urls == {
        "api": "http://127.0.0.1:1",
        "ws": "ws://127.0.0.1:2",
        "upstream": "http://127.0.0.1:3",
        "downstream": "http://127.0.0.1:4",
    }
    assert banner.token == "tok"
    assert banner.seeded == {"a b": ("d-1", "d-2"), "c": ()}
    assert banner.complete is env_form  # only the env form has a last line to wait for
    assert "pass word" not in repr(attrs.asdict(banner))
    assert "tok" not in repr(banner)
