"""commands/recorder.py, through CommandService.submit: the journal sees every step."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from multidict import CIMultiDict, CIMultiDictProxy

from privicore_async import PollPolicy, errors
from privicore_async.commands import CommandService
from privicore_async.http import WireResponse
from privicore_async.journal import EntryState, JournalEntry, MemoryJournal, Outcome
from privicore_async.wire import CommandStatus, StatusReading

KIND = "storage.sync_device"


class Statuses:
    async def fetch(self, command_id: str, *, retry: bool = False) -> StatusReading:
        return StatusReading(CommandStatus.PENDING)


@pytest.fixture
async def journal() -> MemoryJournal:
    return MemoryJournal()


@pytest.fixture
async def service(journal: MemoryJournal) -> AsyncIterator[CommandService]:
    svc = CommandService(Statuses(), PollPolicy(initial_delay=60, timeout=120), journal=journal)
    yield svc
    await svc.close()


def accepted(body: object = "cmd-1", **headers: str) -> WireResponse:
    return WireResponse(202, CIMultiDictProxy(CIMultiDict(headers)), body)


async def entry(journal: MemoryJournal, key: str) -> JournalEntry:
    found = await journal.get(key)
    assert found is not None
    return found


async def settled(journal: MemoryJournal, key: str) -> JournalEntry:
    for _ in range(100):
        found = await entry(journal, key)
        if found.state is EntryState.SETTLED:
            return found
        await asyncio.sleep(0.01)
    raise AssertionError(f"{key} was not settled in the journal")


async def test_intent_before_the_request_accepted_before_the_handle(
    service: CommandService, journal: MemoryJournal
) -> None:
    seen: list[JournalEntry] = []

    async def send() -> WireResponse:
        seen.append(await entry(journal, "k1"))  # what the journal held while sending
        return accepted("cmd-1")

    handle = await service.submit(KIND, send, key="k1", target="dev-1", run_id="r1", timeout=30)
    assert [e.state for e in seen] == [EntryState.INTENT]
    assert seen[0].in_doubt
    assert (seen[0].kind, seen[0].target, seen[0].run_id) == (KIND, "dev-1", "r1")
    assert seen[0].deadline is not None
    now = await entry(journal, "k1")
    assert (now.state, now.command_id) == (EntryState.ACCEPTED, "cmd-1")
    assert handle.command_id == "cmd-1"

    service.deliver("cmd-1", CommandStatus.SUCCEEDED, "done")
    done = await settled(journal, "k1")
    assert (done.outcome, done.reason) == (Outcome.SUCCEEDED, "done")


async def test_a_rejection_and_a_timeout_are_written(
    service: CommandService, journal: MemoryJournal
) -> None:
    rejected = await service.submit(KIND, _answer("c-rej"), key="rej")
    timed = await service.submit(KIND, _answer("c-slow"), key="slow", timeout=0.05)
    service.deliver("c-rej", CommandStatus.REJECTED, "device.offline")
    with pytest.raises(errors.CommandRejected):
        await rejected
    with pytest.raises(errors.CommandTimeout):
        await timed
    assert (await settled(journal, "rej")).reason == "device.offline"
    assert (await settled(journal, "slow")).outcome is Outcome.TIMED_OUT


def _answer(command_id: str | None) -> Callable[[], Awaitable[WireResponse]]:
    async def send() -> WireResponse:
        return accepted(command_id)

    return send


@pytest.mark.parametrize(
    ("error", "state"),
    [
        (errors.ValidationError(422, None), EntryState.SETTLED),  # answered: not started
        (errors.TransportError("refused", may_have_arrived=False), EntryState.SETTLED),
        (errors.TransportError("reset"), EntryState.INTENT),  # may have started: in doubt
        (errors.ProtocolError("202 with a strange body"), EntryState.INTENT),
    ],
)
async def test_a_failed_request_is_settled_only_when_it_cannot_have_started(
    service: CommandService, journal: MemoryJournal, error: Exception, state: EntryState
) -> None:
    async def send() -> WireResponse:
        raise error

    with pytest.raises(type(error)):
        await service.submit(KIND, send, key="k")
    found = await entry(journal, "k")
    assert found.state is state
    if state is EntryState.SETTLED:
        assert found.outcome is Outcome.FAILED


async def test_a_202_without_an_id_is_settled_as_accepted(
    service: CommandService, journal: MemoryJournal
) -> None:
    handle = await service.submit(KIND, _answer(None), key="k")
    assert handle.status is CommandStatus.ACCEPTED
    found = await entry(journal, "k")
    assert (found.state, found.outcome) == (EntryState.SETTLED, Outcome.ACCEPTED)


async def test_closing_leaves_pending_commands_resumable(journal: MemoryJournal) -> None:
    service = CommandService(Statuses(), PollPolicy(initial_delay=60), journal=journal)
    handle = await service.submit(KIND, _answer("cmd-1"), key="k")
    await service.close()
    assert handle.cancelled()
    await journal.open()  # closed with the service: read it again
    found = await entry(journal, "k")
    assert (found.state, found.command_id) == (EntryState.ACCEPTED, "cmd-1")
    assert [e.key for e in await journal.entries(unsettled=True)] == ["k"]


async def test_a_resumed_command_writes_its_outcome(
    service: CommandService, journal: MemoryJournal
) -> None:
    await service.submit(KIND, _answer("cmd-9"), key="k")
    other = CommandService(Statuses(), PollPolicy(initial_delay=60), journal=journal)
    try:
        handle = other.resume("cmd-9", kind=KIND, key="k")
        other.deliver("cmd-9", CommandStatus.SUCCEEDED)
        await handle
        assert (await settled(journal, "k")).outcome is Outcome.SUCCEEDED
    finally:
        await other.close()


async def test_without_a_journal_submit_is_accept(service: CommandService) -> None:
    plain = CommandService(Statuses(), PollPolicy(initial_delay=60))
    try:
        handle = await plain.submit(KIND, _answer("c"))
        assert handle.command_id == "c"
        assert await plain.entries() == []
    finally:
        await plain.close()


async def test_a_journaled_handle_keeps_its_202_too(service: CommandService) -> None:
    async def send() -> WireResponse:
        return accepted("cmd-1", **{"x-dpt-cab-request-id": "req-1"})

    handle = await service.submit(KIND, send, key="k")
    assert handle.response is not None
    assert (handle.response.status, handle.response.request_id) == (202, "req-1")


async def test_a_close_leaves_the_entry_resumable_and_the_handle_closed(
    service: CommandService, journal: MemoryJournal
) -> None:
    handle = await service.submit(KIND, _answer("cmd-1"), key="k")
    await service.close()
    with pytest.raises(errors.ClientClosedError):
        handle.result()
    await journal.open()
    assert (await entry(journal, "k")).state is EntryState.ACCEPTED
