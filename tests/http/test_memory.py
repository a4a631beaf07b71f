"""http/memory.py: the in-memory sender and socket, and the recording wrapper."""

from __future__ import annotations

import pytest

from privicore_async import errors
from privicore_async.http import (
    Failure,
    MemoryReply,
    MemorySender,
    MemorySocket,
    PreparedRequest,
    RecordingSender,
    SendError,
)


async def test_answers_with_the_handler_and_keeps_every_request() -> None:
    async def handler(request: PreparedRequest) -> MemoryReply:  # a coroutine works too
        return MemoryReply(201, b'{"ok": true}', {"X-DPT-CAB-ID": "c-1"})

    sender = MemorySender(handler)
    request = PreparedRequest("POST", "http://x/p", {"A": "1"}, b"body", "r.name")
    async with sender.send(request) as reply:
        assert reply.status == 201
        assert reply.headers["x-dpt-cab-id"] == "c-1"  # case-insensitive, like aiohttp's
        assert await reply.read() == b'{"ok": true}'
    assert sender.requests == [request]
    await sender.close()
    with pytest.raises(errors.PrivicoreError, match="closed"):
        async with sender.send(request):
            pass


async def test_chunks_and_a_body_cut_short() -> None:
    sender = MemorySender(lambda _: MemoryReply(200, [b"abcd", b"ef"], cut_after=1))
    async with sender.send(PreparedRequest("GET", "http://x/")) as reply:
        chunks = reply.chunks(3)
        assert [await anext(chunks), await anext(chunks)] == [b"abc", b"d"]
        with pytest.raises(SendError) as info:
            await anext(chunks)
        assert info.value.failure is Failure.LOST
        with pytest.raises(SendError):
            await reply.read()


async def test_a_socket_the_test_plays_the_server_of() -> None:
    sender = MemorySender(lambda _: MemoryReply(), sockets=lambda url: MemorySocket())
    async with sender.connect("ws://x", heartbeat=1) as socket:
        assert isinstance(socket, MemorySocket)
        await socket.send_text("hello")
        socket.push("world")
        assert socket.sent == ["hello"]
        assert await socket.receive_text() == "world"
        socket.hang_up()
        assert await socket.receive_text() is None
        assert socket.closed
    with pytest.raises(SendError):
        async with MemorySender(lambda _: MemoryReply()).connect("ws://x", heartbeat=1):
            pass


async def test_the_recording_sender_records_then_sends() -> None:
    seen: list[str] = []
    inner = MemorySender(lambda _: MemoryReply(204))
    sender = RecordingSender(inner, lambda request: seen.append(request.route))
    async with sender.send(PreparedRequest("GET", "http://x/", route="utility.health")) as reply:
        assert reply.status == 204
    assert seen == ["utility.health"]
    assert len(inner.requests) == 1
    await sender.close()
    assert inner.closed


async def test_the_readme_example_a_client_on_a_memory_sender() -> None:
    from privicore_async import PrivicoreClient

    sender = MemorySender(lambda request: MemoryReply(202, b'"cmd-1"'))
    async with PrivicoreClient("http://privicore.test", token="t", sender=sender) as client:
        handle = await client.storage.sync_device("dev-1")
    assert handle.command_id == "cmd-1"
    assert sender.requests[0].body == b"deviceIdentifier=dev-1"
    assert sender.requests[0].headers["X-DPT-AUTHORIZATION"] == "t"
