"""sandbox/ws.py: the sandbox's WebSocket ack channel (wire reference §a6), driven with a plain
``aiohttp`` WebSocket client: joins, acks per profile, progress and keep-alives, data-request
answers in every output mode, and the channel's fault injection."""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import pytest

from privicore_async.sandbox import Sandbox, WsFaults
from privicore_async.sandbox.engine import CommandState
from tests.sandbox.api import UUID, Api

LATENCY = 0.02
JOINED = "Successfully joined profile channel."
Socket = aiohttp.ClientWebSocketResponse
Data = dict[str, Any]


@asynccontextmanager
async def serving(**kwargs: Any) -> AsyncIterator[Api]:
    kwargs.setdefault("latency", LATENCY)
    async with Sandbox(**kwargs) as sb, aiohttp.ClientSession() as http:
        yield Api(sb, http)


async def receive(ws: Socket, timeout: float = 2.0) -> Any:
    message = await ws.receive(timeout)
    assert message.type is aiohttp.WSMsgType.TEXT, message
    return json.loads(message.data)


async def join(api: Api, token: str, correlation: str | None = "c-1") -> Socket:
    ws = await api.http.ws_connect(api.sb.ws_url)
    request: Data = {"action": "joinChannel", "data": {"authorizationToken": token}}
    if correlation is not None:
        request["correlationId"] = correlation
    await ws.send_json(request)
    answer = await receive(ws)
    assert answer["status"] == 200, answer
    return ws


async def until(
    ws: Socket, matches: Callable[[Data], bool], timeout: float = 2.0
) -> tuple[list[Data], list[float]]:
    """Every ``data`` read (and its arrival time) up to and including the first match."""
    seen: list[Data] = []
    times: list[float] = []
    deadline = time.monotonic() + timeout
    while True:
        message = await receive(ws, max(0.01, deadline - time.monotonic()))
        seen.append(message["data"])
        times.append(time.time())
        if matches(message["data"]):
            return seen, times


def ack(command_id: str, status: int) -> Callable[[Data], bool]:
    return lambda data: data.get("id") == command_id and data.get("command_status") == status


def ack_settled(data: Data) -> bool:
    return data.get("command_status") in (2, 3)


def of_type(kind: str) -> Callable[[Data], bool]:
    return lambda data: data.get("type") == kind


async def nothing_for(ws: Socket, seconds: float) -> None:
    try:
        message = await ws.receive(seconds)
    except TimeoutError:
        return
    pytest.fail(f"unexpected message {message!r}")


# -- joining ----------------------------------------------------------------------------------


async def test_join_answers_200_with_a_channel_id_and_echoes_the_correlation_id() -> None:
    async with serving() as api:
        token = await api.profile()
        ws = await api.http.ws_connect(api.sb.ws_url)
        await ws.send_json(
            {"action": "joinChannel", "data": {"authorizationToken": token}, "correlationId": "x"}
        )
        answer = await receive(ws)
        assert answer["correlationId"] == "x"
        assert answer["status"] == 200
        assert UUID.fullmatch(answer["data"]["channelId"])
        assert answer["data"]["message"] == JOINED
        other = await api.http.ws_connect(api.sb.ws_url)
        await other.send_json({"action": "joinChannel", "data": {"authorizationToken": token}})
        assert "correlationId" not in await receive(other)
        await other.send_json({"action": "joinChannel", "data": {"authorizationToken": token}})
        assert (await receive(other))["status"] == 400  # one join per socket
        assert api.sb.ws_stats.joins_ok == 2
        assert api.sb.ws_stats.connections_open == 2
        await ws.close()
        await other.close()


@pytest.mark.parametrize("why", ["unknown", "expired", "refused", "missing"])
async def test_a_refused_join_answers_401_and_closes_4401(why: str) -> None:
    async with serving() as api:
        token = await api.profile()
        if why == "unknown":
            token = "T-not-a-token"
        elif why == "expired":
            api.sb.expire_tokens()
        elif why == "refused":
            api.sb.ws_refuse_joins(1)
        ws = await api.http.ws_connect(api.sb.ws_url)
        data = {} if why == "missing" else {"authorizationToken": token}
        await ws.send_json({"action": "joinChannel", "data": data, "correlationId": "c-9"})
        answer = await receive(ws)
        assert answer == {
            "correlationId": "c-9",
            "status": 401,
            "data": {"message": "Unauthorized"},
        }
        closing = await ws.receive(2)
        assert closing.type is aiohttp.WSMsgType.CLOSE
        assert ws.close_code == 4401
        assert api.sb.ws_stats.joins_refused == 1
        if why == "refused":  # only the next n joins are refused
            await (await join(api, token)).close()


async def test_malformed_messages_answer_400_and_keep_the_socket() -> None:
    async with serving() as api:
        token = await api.profile()
        ws = await api.http.ws_connect(api.sb.ws_url)
        await ws.send_str("{not json")
        assert (await receive(ws))["status"] == 400
        await ws.send_json({"action": "dance", "correlationId": "c-2"})
        answer = await receive(ws)
        assert (answer["status"], answer["correlationId"]) == (400, "c-2")
        await ws.send_bytes(b"\x00")
        assert (await receive(ws))["status"] == 400
        await ws.send_json({"action": "joinChannel", "data": {"authorizationToken": token}})
        assert (await receive(ws))["status"] == 200
        await ws.close()


async def test_nothing_is_delivered_before_the_join() -> None:
    async with serving() as api:
        token = await api.profile()
        ws = await api.http.ws_connect(api.sb.ws_url)
        await api.run("devices.request_unique_identifier", {"deviceName": "phone"}, token)
        await nothing_for(ws, 0.2)
        await ws.close()


async def test_leave_channel_stops_delivery() -> None:
    async with serving() as api:
        token = await api.profile()
        ws = await join(api, token)
        await ws.send_json({"action": "leaveChannel", "data": {}, "correlationId": "c-3"})
        answer = await receive(ws)
        assert (answer["status"], answer["correlationId"]) == (200, "c-3")
        await api.run("devices.request_unique_identifier", {"deviceName": "phone"}, token)
        await nothing_for(ws, 0.2)
        await ws.close()


# -- command acks -----------------------------------------------------------------------------


async def test_by_default_the_first_ack_of_a_command_is_its_settle_ack() -> None:
    async with serving() as api:
        token = await api.profile()
        ws = await join(api, token)
        api.sb.latency = 1.5  # long enough for a keep-alive or two, and no progress ack
        command_id = await api.command(
            "devices.request_unique_identifier", {"deviceName": "p"}, token
        )
        seen, _ = await until(ws, ack(command_id, 2), timeout=4.0)
        assert [d for d in seen if d.get("id") == command_id] == [
            {
                "type": "X-DPT-CAB-ID",
                "id": command_id,
                "command_status": 2,
                "body": "Command completed successfully",
            }
        ]
        assert api.sb.ws_stats.keep_alives_sent >= 1
        await ws.close()


async def test_acks_go_to_every_socket_of_the_profile_and_no_other() -> None:
    async with serving(ws_progress_interval=1.0) as api:
        alice = await api.profile("alice")
        bob = await api.profile("bob")
        first, second = await join(api, alice), await join(api, alice)
        stranger = await join(api, bob)
        ok = await api.command("devices.request_unique_identifier", {"deviceName": "p"}, alice)
        bad = await api.command("storage.sync_device", {"deviceIdentifier": "nope"}, alice)
        for ws in (first, second):
            seen, _ = await until(ws, ack(ok, 2))
            assert seen[0] == {"type": "X-DPT-CAB-ID", "id": ok, "command_status": 1, "body": None}
            assert seen[-1] == {
                "type": "X-DPT-CAB-ID",
                "id": ok,
                "command_status": 2,
                "body": "Command completed successfully",
            }
            seen, _ = await until(ws, ack(bad, 3))
            reason = api.sb.state.commands[bad].body
            assert isinstance(reason, str)
            assert reason
            assert seen[-1] == {
                "type": "X-DPT-CAB-ID",
                "id": bad,
                "command_status": 3,
                "body": reason,
            }
        await nothing_for(stranger, 0.1)
        assert api.sb.ws_stats.acks_sent == 8  # 2 commands x (1, then 2|3) x 2 sockets
        for ws in (first, second, stranger):
            await ws.close()


async def test_registration_has_no_channel_so_no_ack() -> None:
    async with serving() as api:
        token = await api.profile("alice")
        ws = await join(api, token)
        await api.run("profile.register", {"username": "carol", "password": "pw"}, None)
        await nothing_for(ws, 0.1)
        assert api.sb.ws_stats.acks_sent == 0
        await ws.close()


async def test_a_slow_command_repeats_progress_and_keep_alives_flow() -> None:
    async with serving(ws_progress_interval=0.5) as api:
        token = await api.profile()
        ws = await join(api, token)
        api.sb.latency = 2.5
        command_id = await api.command(
            "devices.request_unique_identifier", {"deviceName": "p"}, token
        )
        seen, _ = await until(ws, ack(command_id, 2), timeout=4.0)
        progress = [d for d in seen if d.get("command_status") == 1]
        keep_alives = [d for d in seen if d == {"type": "keep-alive"}]
        assert len(progress) >= 5  # on accept, then every 0.5 s for 2.5 s
        assert len(keep_alives) >= 2  # keep-alives have their own 1 s timer
        assert api.sb.ws_stats.keep_alives_sent == len(keep_alives)
        await ws.close()


async def test_early_acks_reach_the_socket_before_the_202() -> None:
    async with serving(early_acks=True, early_ack_delay=0.1) as api:
        token = await api.profile()
        ws = await join(api, token)
        waiting = asyncio.ensure_future(until(ws, ack_settled))
        answer = await api.call(
            "devices.request_unique_identifier", {"deviceName": "p"}, token=token
        )
        answered_at = time.time()
        assert answer.status == 202
        seen, times = await waiting
        assert seen[-1]["id"] == answer.command_id
        assert times[-1] < answered_at
        await ws.close()


# -- faults -----------------------------------------------------------------------------------


async def test_drop_rate_1_sends_no_settle_ack_but_the_status_endpoint_knows() -> None:
    async with serving(
        ws_faults=WsFaults(drop_rate=1.0), ws_progress_interval=0.1, status_shape="object"
    ) as api:
        token = await api.profile()
        ws = await join(api, token)
        command = await api.run("devices.request_unique_identifier", {"deviceName": "p"}, token)
        seen, _ = await until(ws, of_type("keep-alive"))
        await until(ws, of_type("keep-alive"))  # a tick after the settle
        assert [d.get("command_status") for d in seen if d.get("id")] == [1]
        status = await api.status(command.command_id)
        assert status.status == 200
        assert status.body["command_status"] == 2
        assert api.sb.ws_stats.acks_dropped == 1
        await ws.close()


async def test_drop_next_drops_only_that_many() -> None:
    async with serving(ws_progress_interval=1.0) as api:
        token = await api.profile()
        ws = await join(api, token)
        api.sb.ws_drop_next(1)
        first = await api.run("devices.request_unique_identifier", {"deviceName": "a"}, token)
        second = await api.run("devices.request_unique_identifier", {"deviceName": "b"}, token)
        seen, _ = await until(ws, ack(second.command_id, 2))
        ids = [(d["id"], d["command_status"]) for d in seen]
        assert (first.command_id, 2) not in ids
        assert (first.command_id, 1) in ids
        await ws.close()


async def test_delay_sends_the_settle_ack_late() -> None:
    async with serving(ws_faults=WsFaults(delay=0.3)) as api:
        token = await api.profile()
        ws = await join(api, token)
        command_id = await api.command(
            "devices.request_unique_identifier", {"deviceName": "p"}, token
        )
        _, times = await until(ws, ack(command_id, 2))
        settled_at = api.sb.settled_at(command_id)
        assert settled_at is not None
        assert times[-1] - settled_at >= 0.25
        await ws.close()


def test_ws_faults_are_validated() -> None:
    with pytest.raises(ValueError, match="drop_rate"):
        WsFaults(drop_rate=1.5)
    with pytest.raises(ValueError, match="delay"):
        WsFaults(delay=-1)
    with pytest.raises(ValueError, match="ws_output"):
        Sandbox(ws_output="smoke")  # type: ignore[arg-type]


async def test_disconnect_all_closes_every_socket_with_1012() -> None:
    async with serving() as api:
        token = await api.profile()
        joined = await join(api, token)
        idle = await api.http.ws_connect(api.sb.ws_url)
        assert api.sb.ws_disconnect_all() == 2
        for ws in (joined, idle):
            assert (await ws.receive(2)).type is aiohttp.WSMsgType.CLOSE
            assert ws.close_code == 1012
        for _ in range(100):
            if api.sb.ws_stats.connections_open == 0:
                break
            await asyncio.sleep(0.01)
        assert api.sb.ws_stats.connections_open == 0
        assert api.sb.ws_disconnect_all() == 0
        await (await join(api, token)).close()  # reconnecting works


# -- data requests ----------------------------------------------------------------------------


async def stored(api: Api, token: str, data: bytes) -> str:
    """A permanent data token holding ``data`` (§c4)."""
    await api.storage_device(token)
    reserve = await api.run("data_tokens.reserve_token_space", {"context": "docs"}, token)
    answer = await api.call(
        "data_tokens.retrieve_temporary_token", token=token, path={"commandId": reserve.command_id}
    )
    temporary = answer.body["token"]
    encoded = base64.b64encode(data).decode()
    exchange = await api.run(
        "data_tokens.exchange", {"temporaryTokenSpace": temporary, "data": encoded}, token
    )
    assert exchange.state is CommandState.SUCCEEDED, exchange.body
    fields = {"token": temporary, "fileName": "a", "extension": "bin", "context": "docs"}
    fields |= {"size": str(len(data)), "path": "/"}
    answer = await api.call("data_tokens.configure_file_meta", fields, token=token)
    assert answer.status == 200, answer.body
    permanent: str = answer.body["token"]
    return permanent


SMALL = bytes(range(256)) * 4
LARGE = bytes(range(256)) * 300  # 76800 bytes > 64 KiB


@pytest.mark.parametrize(
    ("output", "data", "output_type"),
    [
        ("auto", SMALL, 0),
        ("auto", LARGE, 1),
        ("inline", LARGE, 0),
        ("token", SMALL, 1),
        ("url", SMALL, 1),
    ],
)
async def test_request_data_is_announced_per_output_mode(
    output: str, data: bytes, output_type: int
) -> None:
    async with serving(ws_output=output) as api:
        token = await api.profile()
        permanent = await stored(api, token, data)
        ws = await join(api, token)
        answer = await api.call("data_tokens.request_data", {"token": permanent}, token=token)
        assert answer.status == 202
        request_id = answer.headers["x-dpt-cab-request-id"]
        seen, _ = await until(ws, of_type("X-DPT-CAB-REQUEST-ID"))
        assert seen[-2] == {  # the command's own ack goes out first
            "type": "X-DPT-CAB-ID",
            "id": answer.command_id,
            "command_status": 2,
            "body": "Command completed successfully",
        }
        message = seen[-1]
        assert set(message) == {"type", "id", "output_type", "body", "data_context"}
        assert (message["id"], message["output_type"]) == (request_id, output_type)
        assert message["data_context"] == "docs"
        link = api.sb.downstream_link(request_id)
        if output_type == 0:
            assert base64.b64decode(message["body"], validate=True) == data
        elif output == "url":
            assert message["body"] == link
            await nothing_for(ws, 0.1)  # no STREAM-READY for a URL
        else:
            assert link.endswith("?auth=" + message["body"])
            (ready,), _ = await until(ws, of_type("STREAM-READY"))
            assert ready == {
                "type": "STREAM-READY",
                "id": request_id,
                "requestId": request_id,
                "streamUrl": link,
            }
        if output_type == 1:
            async with api.http.get(link) as resp:
                assert (resp.status, await resp.read()) == (200, data)
        assert api.sb.ws_stats.requests_sent == 1
        await ws.close()


# -- clean close ------------------------------------------------------------------------------


async def test_close_closes_sockets_1001_and_leaves_no_task_behind() -> None:
    sb = Sandbox(latency=LATENCY, ws_progress_interval=0.05, ws_faults=WsFaults(delay=5))
    async with sb, aiohttp.ClientSession() as http:
        api = Api(sb, http)
        token = await api.profile()
        ws = await join(api, token)
        await api.command("devices.request_unique_identifier", {"deviceName": "p"}, token)
        await until(ws, of_type("keep-alive"))
        closing = asyncio.ensure_future(until(ws, lambda _: False, timeout=3.0))
        started = time.monotonic()
        await sb.close()
        assert time.monotonic() - started < 1.0
        with pytest.raises(AssertionError, match="CLOSE"):
            await closing  # the client reads on until the close frame
        assert ws.close_code == 1001
        assert sb.ws_stats.connections_open == 0
        await ws.close()
    assert asyncio.all_tasks() == {asyncio.current_task()}
