"""AckChannel against a scripted WebSocket peer (aiohttp.web on loopback).

The peer speaks §a6 exactly as the tests tell it to, so each rule of the channel is pinned on
its own: the join frame, join refusal, dispatch, early buffers, re-join, reconnect, close.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import WSMsgType, web

from privicore_async import CommandStatus, PollPolicy
from privicore_async.acks import AckChannel
from privicore_async.commands import CommandService
from privicore_async.errors import ClientClosedError, CommandRejected, TransportError
from privicore_async.http import (
    AiohttpSender,
    MemoryReply,
    MemorySender,
    MemorySocket,
    PreparedRequest,
)
from privicore_async.models.profile import AuthToken
from privicore_async.wire import StatusReading
from privicore_async.wire.ws import RequestMessage


class Peer:
    """A WebSocket server that records frames and sends what the test says."""

    def __init__(self) -> None:
        self.frames: list[dict[str, Any]] = []
        self.sockets: list[web.WebSocketResponse] = []
        self.refuse = 0
        self.joined = asyncio.Event()
        self.url = ""
        self._runner: web.AppRunner | None = None

    async def handler(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        async for message in ws:
            if message.type is not WSMsgType.TEXT:
                continue
            frame = json.loads(message.data)
            self.frames.append(frame)
            if frame.get("action") == "joinChannel":
                if self.refuse:
                    self.refuse -= 1
                    await ws.send_json({"status": 401, "data": {"message": "Unauthorized"}})
                    await ws.close()
                    break
                self.sockets.append(ws)
                await ws.send_json({"data": {"type": "keep-alive"}})  # ignored by the client
                await ws.send_json(
                    {
                        "correlationId": frame.get("correlationId"),
                        "status": 200,
                        "data": {"channelId": "ch-1", "message": "Successfully joined."},
                    }
                )
                self.joined.set()
        if ws in self.sockets:
            self.sockets.remove(ws)
        return ws

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/", self.handler)
        self._runner = web.AppRunner(app, shutdown_timeout=0.1)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"ws://127.0.0.1:{port}"

    async def send(self, data: dict[str, Any]) -> None:
        for ws in list(self.sockets):
            await ws.send_json({"data": data})

    async def drop_all(self) -> None:
        for ws in list(self.sockets):
            await ws.close()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


class Tokens:
    """A TokenSource stand-in: counts recoveries and can be handed a new token."""

    def __init__(self, value: str = "T-one") -> None:
        self.current: AuthToken | None = AuthToken(value)
        self.recovered = 0
        self.listeners: list[Any] = []

    async def token(self) -> str:
        assert self.current is not None
        return self.current.authorization_token

    def on_change(self, listener: Any) -> None:
        self.listeners.append(listener)

    async def recover(self, failed: str) -> bool:
        self.recovered += 1
        self.current = AuthToken(f"{failed}-renewed")
        return True


class Statuses:
    """A StatusSource answering from a dict; counts reads."""

    def __init__(self) -> None:
        self.answers: dict[str, StatusReading] = {}
        self.reads: list[str] = []

    async def fetch(self, command_id: str, *, retry: bool = False) -> StatusReading:
        self.reads.append(command_id)
        return self.answers.get(command_id, StatusReading(CommandStatus.PENDING))


@pytest.fixture
async def peer() -> AsyncIterator[Peer]:
    server = Peer()
    await server.start()
    yield server
    await server.stop()


class Rig:
    def __init__(self, peer: Peer) -> None:
        self.peer = peer
        self.sender = AiohttpSender()
        self.tokens = Tokens()
        self.statuses = Statuses()
        policy = PollPolicy(initial_delay=5, safety_interval=30, timeout=60)
        self.service = CommandService(self.statuses, policy)
        self.tracker = self.service.tracker
        self.channel = AckChannel(
            peer.url,
            self.sender,
            self.tokens,
            self.service,
            reconnect_initial=0.01,
            reconnect_max=0.05,
            buffer_size=3,
            buffer_age=60,
        )

    async def close(self) -> None:
        await self.channel.close()
        await self.service.close()
        await self.sender.close()


@pytest.fixture
async def rig(peer: Peer) -> AsyncIterator[Rig]:
    r = Rig(peer)
    yield r
    await r.close()


async def test_join_frame_and_ack(rig: Rig) -> None:
    assert await rig.channel.wait_joined(timeout=5)
    join = rig.peer.frames[0]
    assert join["action"] == "joinChannel"
    assert join["data"] == {"authorizationToken": "T-one"}
    assert isinstance(join["correlationId"], str)
    assert rig.tracker.acks_live
    assert rig.channel.joins == 1
    assert "T-one" not in repr(rig.channel)


async def test_acks_settle_handles_without_status_reads(rig: Rig) -> None:
    await rig.channel.wait_joined(timeout=5)
    ok, bad = rig.tracker.track("c-ok", kind="k"), rig.tracker.track("c-bad", kind="k")
    await rig.peer.send({"type": "X-DPT-CAB-ID", "id": "c-ok", "command_status": 1, "body": None})
    await asyncio.sleep(0.05)
    assert not ok.done()  # 1 is progress
    await rig.peer.send({"type": "X-DPT-CAB-ID", "id": "c-ok", "command_status": 2, "body": "ok"})
    await rig.peer.send(
        {"type": "X-DPT-CAB-ID", "id": "c-bad", "command_status": 3, "body": "device.offline"}
    )
    assert (await ok.wait(timeout=5)).body == "ok"
    with pytest.raises(CommandRejected) as info:
        await bad.wait(timeout=5)
    assert info.value.reason == "device.offline"
    assert rig.statuses.reads == []


async def test_ack_before_its_handle_is_buffered(rig: Rig) -> None:
    await rig.channel.wait_joined(timeout=5)
    await rig.peer.send({"type": "X-DPT-CAB-ID", "id": "early", "command_status": 2, "body": "x"})
    await asyncio.sleep(0.05)
    handle = rig.service.track("early", kind="k")
    assert handle.done()
    assert (await handle).body == "x"
    assert rig.statuses.reads == []


async def test_unknown_types_and_garbage_are_ignored(rig: Rig) -> None:
    await rig.channel.wait_joined(timeout=5)
    handle = rig.tracker.track("c", kind="k")
    for ws in rig.peer.sockets:
        await ws.send_str("not json")
        await ws.send_json({"data": "not an object"})
        await ws.send_json({"data": {"type": "telemetry", "id": "c"}})
        await ws.send_json({"data": {"type": "X-DPT-CAB-ID", "id": "c", "command_status": 9}})
    await rig.peer.send({"type": "X-DPT-CAB-ID", "id": "c", "command_status": 2})
    assert (await handle.wait(timeout=5)).status is CommandStatus.SUCCEEDED
    assert rig.channel.joined


async def test_refused_join_recovers_the_token_and_retries(rig: Rig) -> None:
    rig.peer.refuse = 1
    assert await rig.channel.wait_joined(timeout=5)
    tokens = [f["data"]["authorizationToken"] for f in rig.peer.frames]
    assert tokens == ["T-one", "T-one-renewed"]
    assert rig.tokens.recovered == 1


async def test_reconnect_reads_every_pending_command_once(rig: Rig) -> None:
    await rig.channel.wait_joined(timeout=5)
    handles = [rig.tracker.track(f"c{i}", kind="k") for i in range(50)]
    rig.peer.joined.clear()
    await rig.peer.drop_all()
    await asyncio.wait_for(rig.peer.joined.wait(), 5)
    for i in range(25):
        rig.statuses.answers[f"c{i}"] = StatusReading(CommandStatus.SUCCEEDED, "while away")
    # the re-join reads each pending command once; half settled while the channel was down
    for _ in range(100):
        if sum(h.done() for h in handles) == 25:
            break
        await asyncio.sleep(0.02)
    assert sum(h.done() for h in handles) == 25
    assert rig.channel.joins == 2
    await rig.peer.send({"type": "X-DPT-CAB-ID", "id": "c30", "command_status": 2})
    assert (await handles[30].wait(timeout=5)).status is CommandStatus.SUCCEEDED


async def test_a_new_token_rejoins(rig: Rig) -> None:
    await rig.channel.wait_joined(timeout=5)
    rig.peer.joined.clear()
    rig.tokens.current = AuthToken("T-two")
    rig.channel.token_changed(rig.tokens.current)
    await asyncio.wait_for(rig.peer.joined.wait(), 5)
    joins = [f["data"]["authorizationToken"] for f in rig.peer.frames]
    assert joins == ["T-one", "T-two"]


async def test_request_messages_reach_their_waiter(rig: Rig) -> None:
    await rig.channel.wait_joined(timeout=5)
    waiter = asyncio.ensure_future(rig.channel.wait_request("r-1", timeout=5))
    await asyncio.sleep(0.02)
    await rig.peer.send(
        {
            "type": "X-DPT-CAB-REQUEST-ID",
            "id": "r-1",
            "output_type": 0,
            "body": "QUJD",
            "data_context": "docs",
        }
    )
    message = await waiter
    assert message == RequestMessage("X-DPT-CAB-REQUEST-ID", "r-1", 0, "QUJD", "docs", None)
    assert "QUJD" not in repr(message)


async def test_request_message_before_its_waiter_is_kept(rig: Rig) -> None:
    await rig.channel.wait_joined(timeout=5)
    await rig.peer.send(
        {"type": "X-DPT-CAB-REQUEST-ID", "id": "r-2", "output_type": 1, "body": "dl-token"}
    )
    await rig.peer.send(
        {"type": "STREAM-READY", "requestId": "r-2", "streamUrl": "http://d/?auth=x"}
    )
    await asyncio.sleep(0.05)
    ready = await rig.channel.wait_request("r-2", types=("STREAM-READY",), timeout=1)
    assert ready.stream_url == "http://d/?auth=x"
    answer = await rig.channel.wait_request("r-2", timeout=1)
    assert (answer.output_type, answer.body) == (1, "dl-token")
    with pytest.raises(TransportError, match="r-2"):
        await rig.channel.wait_request("r-2", timeout=0.05)


async def test_close_leaves_no_task(rig: Rig) -> None:
    await rig.channel.wait_joined(timeout=5)
    waiter = asyncio.ensure_future(rig.channel.wait_request("never"))
    await asyncio.sleep(0)
    await rig.channel.close()
    with pytest.raises(ClientClosedError, match="request never"):
        await waiter
    assert not rig.tracker.acks_live
    names = {t.get_name() for t in asyncio.all_tasks()}
    assert "privicore-ack-channel" not in names


async def test_unreachable_peer_keeps_polling_and_closes_cleanly() -> None:
    sender = AiohttpSender()
    statuses = Statuses()
    service = CommandService(statuses, PollPolicy(initial_delay=0.01, min_interval=0.01))
    tracker = service.tracker
    channel = AckChannel("ws://127.0.0.1:1", sender, Tokens(), service, reconnect_initial=0.01)
    try:
        assert not await channel.wait_joined(timeout=0.2)
        statuses.answers["c"] = StatusReading(CommandStatus.SUCCEEDED)
        assert (await tracker.track("c").wait(timeout=5)).status is CommandStatus.SUCCEEDED
        assert statuses.reads  # polled, since no ack can come
    finally:
        await channel.close()
        await service.close()
        await sender.close()


# -- the same channel over an in-memory socket ----------------------------------------------------


async def test_the_channel_over_a_memory_socket_joins_delivers_and_rejoins() -> None:
    sockets: list[MemorySocket] = []

    def open_socket(url: str) -> MemorySocket:
        socket = MemorySocket()
        socket.push('{"data": {"type": "keep-alive"}}')
        socket.push('{"status": 200, "data": {"channelId": "ch-1"}}')
        sockets.append(socket)
        return socket

    service = CommandService(Statuses(), PollPolicy(initial_delay=60, timeout=60))
    tokens = Tokens()
    channel = AckChannel(
        "ws://memory", MemorySender(_no_http, sockets=open_socket), tokens, service,
        reconnect_initial=0.01, reconnect_max=0.02,
    )  # fmt: skip
    try:
        assert await channel.wait_joined(timeout=5)
        assert json.loads(sockets[0].sent[0])["data"] == {"authorizationToken": "T-one"}
        handle = service.track("c1", kind="k")
        sockets[0].push('{"data": {"type": "X-DPT-CAB-ID", "id": "c1", "command_status": 2}}')
        assert (await handle.wait(timeout=5)).status is CommandStatus.SUCCEEDED
        sockets[0].hang_up()  # the server went away: reconnect and join again
        for _ in range(200):
            if channel.joins == 2:
                break
            await asyncio.sleep(0.01)
        assert (channel.joins, len(sockets)) == (2, 2)
        assert tokens.listeners == [channel.token_changed]  # it listens for new tokens itself
    finally:
        await channel.close()
        await service.close()


def _no_http(request: PreparedRequest) -> MemoryReply:
    raise AssertionError(f"the ack channel sent an HTTP request: {request.method} {request.url}")


async def test_an_invalid_url_stops_the_channel_and_polling_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    sender = AiohttpSender()
    statuses = Statuses()
    service = CommandService(statuses, PollPolicy(initial_delay=0.01, min_interval=0.01))
    channel = AckChannel("ws://[not-a-host", sender, Tokens(), service)
    try:
        channel.start()
        for _ in range(100):
            if "cannot be opened; polling only" in caplog.text:
                break
            await asyncio.sleep(0.01)
        assert "cannot be opened; polling only" in caplog.text
        assert "privicore-ack-channel" not in {t.get_name() for t in asyncio.all_tasks()}
        assert not channel.joined
        statuses.answers["c"] = StatusReading(CommandStatus.SUCCEEDED)
        assert (await service.track("c").wait(timeout=5)).status is CommandStatus.SUCCEEDED
    finally:
        await channel.close()
        await service.close()
        await sender.close()
