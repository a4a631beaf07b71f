"""gather and as_completed over tracked handles, against a scripted status source."""

from __future__ import annotations

import asyncio
import time

import pytest

from privicore_async import CommandStatus, as_completed, gather
from privicore_async.commands import AcceptedCommand, CommandResult, CommandTracker
from privicore_async.errors import ClientClosedError, CommandRejected, CommandTimeout
from tests.commands.scripted import FAST, ScriptedSource


async def test_gather_returns_in_order_and_raises_first_failure(source: ScriptedSource) -> None:
    tracker = CommandTracker(source, FAST)
    source.plan("a", 0.1)
    source.plan("b", 0.0, CommandStatus.REJECTED, "bad")
    source.plan("c", 0.05)
    a, b, c = (tracker.track(x) for x in "abc")
    results = await gather(a, b, c, return_exceptions=True)
    kinds = [type(r).__name__ for r in results]
    assert kinds == ["CommandResult", "CommandRejected", "CommandResult"]
    assert results[0].command_id == "a"
    with pytest.raises(CommandRejected):
        await gather(a, b, c)
    await tracker.close()


async def test_gather_shared_deadline(source: ScriptedSource) -> None:
    tracker = CommandTracker(source, FAST)
    source.plan("fast", 0.0)
    source.plan("slow", 30)
    fast, slow = tracker.track("fast"), tracker.track("slow")
    started = time.monotonic()
    with pytest.raises(CommandTimeout) as info:
        await gather(fast, slow, timeout=0.2)
    assert time.monotonic() - started < 1
    assert info.value.command_id == "slow"
    assert info.value.pending == (slow,)
    results = await gather(fast, slow, timeout=0.05, return_exceptions=True)
    assert results[0].status is CommandStatus.SUCCEEDED
    assert isinstance(results[1], CommandTimeout)
    assert not slow.done()  # the shared deadline does not stop tracking
    await tracker.close()


async def test_as_completed_yields_in_settle_order(source: ScriptedSource) -> None:
    tracker = CommandTracker(source, FAST)
    source.plan("third", 0.3)
    source.plan("first", 0.0)
    source.plan("second", 0.15)
    handles = [tracker.track(x) for x in ("third", "first", "second")]
    order = [h.command_id async for h in as_completed(handles)]
    assert order == ["first", "second", "third"]
    await tracker.close()


async def test_as_completed_shared_deadline(source: ScriptedSource) -> None:
    tracker = CommandTracker(source, FAST)
    source.plan("quick", 0.0)
    source.plan("never", 60)
    quick, never = tracker.track("quick"), tracker.track("never")
    iterator = as_completed([quick, never], timeout=0.2)
    assert (await anext(iterator)) is quick
    with pytest.raises(CommandTimeout) as info:
        await anext(iterator)
    assert info.value.pending == (never,)
    assert never._callbacks == []  # detached: nothing left behind
    await tracker.close()


async def test_gather_and_as_completed_over_handles_a_close_ended(source: ScriptedSource) -> None:
    tracker = CommandTracker(source, FAST)
    source.plan("done", 0.0)
    source.plan("slow", 60)
    done, slow = tracker.track("done"), tracker.track("slow")
    await done
    gathering = asyncio.ensure_future(gather(done, slow))  # waiting while the client closes
    await asyncio.sleep(0)
    await tracker.close()
    with pytest.raises(ClientClosedError):
        await gathering
    with pytest.raises(ClientClosedError):
        await gather(done, slow)
    results = await gather(done, slow, return_exceptions=True)
    assert isinstance(results[0], CommandResult)
    assert isinstance(results[1], ClientClosedError)
    assert results[1].command_id == "slow"
    order = [handle async for handle in as_completed([slow, done])]
    assert order == [slow, done]
    with pytest.raises(ClientClosedError):
        order[0].result()


async def test_as_completed_yields_the_handles_it_was_given(source: ScriptedSource) -> None:
    tracker = CommandTracker(source, FAST)
    accepted = tracker.track(None)
    source.plan("a", 0.0)
    tracked = tracker.track("a")
    seen = [handle async for handle in as_completed([tracked, accepted])]
    assert seen == [accepted, tracked]
    assert isinstance(seen[0], AcceptedCommand)
    results = await gather(tracked, accepted)
    assert [r.status for r in results] == [CommandStatus.SUCCEEDED, CommandStatus.ACCEPTED]
    await tracker.close()
