"""commands/service.py: a 202 becomes a handle, acks settle handles or wait for them."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from multidict import CIMultiDict, CIMultiDictProxy

from privicore_async import PollPolicy, errors
from privicore_async.commands import AcceptedCommand, CommandService
from privicore_async.http import WireResponse
from privicore_async.wire import CommandStatus, StatusReading


class Statuses:
    """A status source answering from a dict; records reads and whether they retried."""

    def __init__(self) -> None:
        self.answers: dict[str, StatusReading] = {}
        self.reads: list[tuple[str, bool]] = []

    async def fetch(self, command_id: str, *, retry: bool = False) -> StatusReading:
        self.reads.append((command_id, retry))
        return self.answers.get(command_id, StatusReading(CommandStatus.PENDING))


@pytest.fixture
async def service() -> AsyncIterator[CommandService]:
    # No read is due during a test unless the test says so.
    svc = CommandService(Statuses(), PollPolicy(initial_delay=60, timeout=120), early_acks=2)
    yield svc
    await svc.close()


def answer(body: object, **headers: str) -> WireResponse:
    return WireResponse(202, CIMultiDictProxy(CIMultiDict(headers)), body)


def source(service: CommandService) -> Statuses:
    assert isinstance(service.source, Statuses)
    return service.source


async def test_accept_reads_the_id_from_the_body_or_the_header(service: CommandService) -> None:
    handle = service.accept("storage.sync_device", answer("cmd-1"), timeout=30)
    assert (handle.command_id, handle.kind, handle.done()) == (
        "cmd-1",
        "storage.sync_device",
        False,
    )
    assert service.accept("x", answer(None, **{"X-DPT-CAB-ID": "cmd-2"})).command_id == "cmd-2"
    assert service.pending == 2
    assert service.track("cmd-1") is handle  # one handle per id


async def test_a_202_without_an_id_is_accepted_and_done(service: CommandService) -> None:
    handle = service.accept("storage.sync_device", answer(None))
    assert handle.done()
    assert handle.status is CommandStatus.ACCEPTED
    assert service.pending == 0


async def test_an_ack_settles_its_handle_and_progress_settles_nothing(
    service: CommandService,
) -> None:
    handle = service.accept("k", answer("cmd-1"))
    service.deliver("cmd-1", CommandStatus.PENDING)
    assert not handle.done()
    service.deliver("cmd-1", CommandStatus.REJECTED, "device.offline")
    with pytest.raises(errors.CommandRejected) as info:
        await handle
    assert info.value.reason == "device.offline"
    assert source(service).reads == []
    assert service.early_acks == 0


async def test_an_ack_that_beats_its_202_waits_for_it(service: CommandService) -> None:
    service.deliver("early", CommandStatus.SUCCEEDED, "done")
    service.deliver("progress", CommandStatus.PENDING)  # nothing to keep
    assert service.early_acks == 1
    handle = service.accept("k", answer("early"))
    assert handle.done()
    assert (await handle).body == "done"
    assert service.early_acks == 0
    assert source(service).reads == []


async def test_early_acks_are_bounded(service: CommandService) -> None:
    for n in range(3):  # room for two
        service.deliver(f"c{n}", CommandStatus.SUCCEEDED)
    assert service.early_acks == 2
    assert not service.track("c0").done()  # the oldest made way
    assert service.track("c2").done()


async def test_read_status_is_one_read_with_retries_that_settles_nothing(
    service: CommandService,
) -> None:
    handle = service.accept("k", answer("cmd-1"))
    source(service).answers["cmd-1"] = StatusReading(CommandStatus.SUCCEEDED, "ok")
    reading = await service.read_status("cmd-1")
    assert reading == StatusReading(CommandStatus.SUCCEEDED, "ok")
    assert source(service).reads == [("cmd-1", True)]
    assert not handle.done()


async def test_wait_accepted_waits_for_the_command_of_a_202(service: CommandService) -> None:
    waiting = asyncio.ensure_future(service.wait_accepted("profile.reauthorize", answer("r-1"), 5))
    await asyncio.sleep(0)
    assert not waiting.done()
    service.deliver("r-1", CommandStatus.SUCCEEDED)
    await waiting


async def test_close_cancels_what_is_pending(service: CommandService) -> None:
    handle = service.accept("k", answer("cmd-1"))
    await service.close()
    assert handle.cancelled()
    with pytest.raises(errors.PrivicoreError, match="closed"):
        service.track("cmd-2")


async def test_a_handle_keeps_its_202_without_body_or_credentials(
    service: CommandService,
) -> None:
    handle = service.accept(
        "storage.sync_device",
        answer("cmd-1", **{"x-dpt-cab-request-id": "req-1", "Set-Cookie": "s=1", "Server": "p"}),
    )
    assert handle.response is not None
    assert (handle.response.status, handle.response.request_id) == (202, "req-1")
    assert dict(handle.response.headers) == {"x-dpt-cab-request-id": "req-1", "Server": "p"}
    bare = service.accept("storage.sync_device", answer(None, Server="p"))
    assert isinstance(bare, AcceptedCommand)
    assert bare.response is not None
    assert bare.response.headers["server"] == "p"  # why no id: the answer shows it


async def test_a_resumed_handle_has_no_response_until_its_202_is_seen(
    service: CommandService,
) -> None:
    resumed = service.resume("cmd-9")
    assert resumed.response is None
    assert service.accept("k", answer("cmd-9", Server="p")) is resumed
    assert resumed.response is not None
    assert resumed.response.headers["server"] == "p"


async def test_awaiting_after_close_raises_client_closed(service: CommandService) -> None:
    handle = service.accept("k", answer("cmd-1"))
    await service.close()
    with pytest.raises(errors.ClientClosedError, match="cmd-1"):
        await handle
    with pytest.raises(errors.ClientClosedError, match="closed"):
        service.track("cmd-2")
