"""CommandTracker and CommandHandle against a scripted status source."""

from __future__ import annotations

import asyncio
import time

import pytest

from privicore_async import CommandStatus, PollPolicy, errors, gather
from privicore_async.commands import AcceptedCommand, CommandHandle, CommandTracker
from privicore_async.errors import (
    ClientClosedError,
    CommandNotFound,
    CommandRejected,
    CommandTimeout,
    NotFoundError,
    ProtocolError,
    RateLimitError,
    ServerError,
    TransportError,
)
from privicore_async.wire import StatusReading
from tests.commands.scripted import FAST, ScriptedSource


async def test_handle_settles_with_result(source: ScriptedSource) -> None:
    tracker = CommandTracker(source, FAST)
    source.plan("c1", 0.05, body="Command completed successfully")
    handle = tracker.track("c1", kind="k")
    assert not handle.done()
    assert handle.status is CommandStatus.PENDING
    result = await handle
    assert result.command_id == "c1"
    assert result.status is CommandStatus.SUCCEEDED
    assert result.body == "Command completed successfully"
    assert result.polls == source.fetches["c1"] >= 1
    assert result.settled_at is not None
    assert result.submitted_at is not None
    assert result.settled_at >= result.submitted_at
    assert handle.done()
    assert tracker.pending == 0
    await tracker.close()


async def test_rejection_raises_with_reason_and_id(source: ScriptedSource) -> None:
    tracker = CommandTracker(source, FAST)
    source.plan("c2", 0.0, CommandStatus.REJECTED, "device.offline")
    handle = tracker.track("c2")
    with pytest.raises(CommandRejected) as info:
        await handle
    assert info.value.command_id == "c2"
    assert info.value.reason == "device.offline"
    assert handle.status is CommandStatus.REJECTED
    with pytest.raises(CommandRejected):
        handle.result()
    assert isinstance(handle.exception(), CommandRejected)
    await tracker.close()


async def test_unawaited_rejection_reports_nothing_to_the_loop(source: ScriptedSource) -> None:
    loop = asyncio.get_running_loop()
    reported: list[dict[str, object]] = []
    loop.set_exception_handler(lambda _loop, context: reported.append(context))
    try:
        tracker = CommandTracker(source, FAST)
        source.plan("c3", 0.0, CommandStatus.REJECTED, "nope")
        handle = tracker.track("c3")
        for _ in range(50):
            if handle.done():
                break
            await asyncio.sleep(0.01)
        assert handle.done()
        del handle
        import gc

        gc.collect()
        await asyncio.sleep(0)
        assert reported == []
        await tracker.close()
    finally:
        loop.set_exception_handler(None)


async def test_ten_thousand_pending_handles_use_bounded_tasks() -> None:
    source = ScriptedSource(rtt=0.001)
    policy = PollPolicy(
        initial_delay=0.05,
        min_interval=0.02,
        max_interval=0.2,
        timeout=30,
        concurrency=16,
        max_concurrency=40,
    )
    tracker = CommandTracker(source, policy)
    baseline_tasks = len(asyncio.all_tasks())
    handles = []
    for i in range(10_000):
        source.plan(f"id-{i}", 0.3 + (i % 10) * 0.01)
        handles.append(tracker.track(f"id-{i}", kind="storage.sync_device"))
    assert tracker.pending == 10_000
    assert len(asyncio.all_tasks()) <= baseline_tasks + 1  # just the scheduler
    results = await gather(*handles, timeout=30)
    assert len(results) == 10_000
    assert all(r.status is CommandStatus.SUCCEEDED for r in results)
    # The scheduler plus at most `max_concurrency` poll tasks, whatever the number of
    # commands; more than `concurrency` of them, since thousands of reads came due at once.
    assert 16 < source.max_in_flight <= 40
    assert source.max_tasks <= baseline_tasks + 1 + 40
    assert tracker.pending == 0
    await tracker.close()
    assert len(asyncio.all_tasks()) == baseline_tasks


async def test_deadline_gives_command_timeout_with_id(source: ScriptedSource) -> None:
    tracker = CommandTracker(source, FAST)
    source.plan("slow", 60)
    handle = tracker.track("slow", timeout=0.2)
    started = time.monotonic()
    with pytest.raises(CommandTimeout) as info:
        await handle
    assert 0.15 <= time.monotonic() - started < 2
    assert info.value.command_id == "slow"
    assert info.value.last_status == "pending"
    assert handle.done()
    assert tracker.pending == 0
    await tracker.close()


async def test_wait_timeout_bounds_the_wait_but_tracking_goes_on(source: ScriptedSource) -> None:
    tracker = CommandTracker(source, FAST)
    source.plan("c", 0.3)
    handle = tracker.track("c")
    with pytest.raises(CommandTimeout) as info:
        await handle.wait(timeout=0.05)
    assert info.value.command_id == "c"
    assert not handle.done()
    result = await handle.wait(timeout=5)
    assert result.status is CommandStatus.SUCCEEDED
    await tracker.close()


async def test_result_while_pending_is_invalid_state(source: ScriptedSource) -> None:
    tracker = CommandTracker(source, FAST)
    source.plan("c", 10)
    handle = tracker.track("c")
    with pytest.raises(asyncio.InvalidStateError):
        handle.result()
    with pytest.raises(asyncio.InvalidStateError):
        handle.exception()
    await tracker.close()


async def test_cancel_stops_tracking_locally(source: ScriptedSource) -> None:
    tracker = CommandTracker(source, FAST)
    source.plan("c", 10)
    handle = tracker.track("c")
    waiter = asyncio.ensure_future(handle.wait())
    await asyncio.sleep(0.05)
    polls_before = source.fetches.get("c", 0)
    assert handle.cancel() is True
    assert handle.cancelled()
    assert handle.done()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    await asyncio.sleep(0.1)
    assert source.fetches.get("c", 0) == polls_before  # no more status requests
    assert tracker.pending == 0
    assert handle.cancel() is False
    await tracker.close()


async def test_track_same_id_returns_same_handle(source: ScriptedSource) -> None:
    tracker = CommandTracker(source, FAST)
    source.plan("c", 0.05)
    first = tracker.track("c")
    assert tracker.track("c") is first
    await first
    await tracker.close()


async def test_no_id_is_an_accepted_command_done_at_once() -> None:
    tracker = CommandTracker(ScriptedSource(), FAST)
    handle = tracker.track(None, kind="storage.sync_device")
    assert isinstance(handle, AcceptedCommand)
    assert handle.done()
    assert handle.status is CommandStatus.ACCEPTED
    assert not handle.has_id
    assert repr(handle) == "<AcceptedCommand (no command id) accepted>"
    result = await handle
    assert result.status is CommandStatus.ACCEPTED
    assert not result.has_id
    assert "command_id=None" in repr(result)
    # The public contract: the id of a 202 that named none is None.
    assert handle.command_id is None
    assert result.command_id is None
    assert len(asyncio.all_tasks()) == 1  # nothing scheduled
    await tracker.close()


async def test_a_tracked_handle_and_its_result_have_a_str_id(source: ScriptedSource) -> None:
    tracker = CommandTracker(source, FAST)
    source.plan("c", 0.0)
    handle = tracker.track("c")
    assert not isinstance(handle, AcceptedCommand)
    assert (handle.command_id, handle.has_id, handle.response) == ("c", True, None)
    result = await handle
    assert (result.command_id, result.has_id) == ("c", True)
    assert repr(result).startswith("CommandResult(command_id='c', status=<CommandStatus.SUCC")
    await tracker.close()


async def test_done_callbacks_run_once_on_the_loop(source: ScriptedSource) -> None:
    tracker = CommandTracker(source, FAST)
    source.plan("c", 0.02)
    handle = tracker.track("c")
    calls: list[CommandHandle] = []
    handle.add_done_callback(calls.append)
    await handle
    await asyncio.sleep(0)
    assert calls == [handle]
    late: list[CommandHandle] = []
    handle.add_done_callback(late.append)
    assert late == []  # scheduled with call_soon, not called synchronously
    await asyncio.sleep(0)
    assert late == [handle]
    await asyncio.sleep(0.05)
    assert calls == [handle]
    removed: list[CommandHandle] = []
    source.plan("d", 0.02)
    other = tracker.track("d")
    other.add_done_callback(removed.append)
    assert other.remove_done_callback(removed.append) == 1
    await other
    await asyncio.sleep(0)
    assert removed == []
    await tracker.close()


async def test_refresh_reads_once_and_settles(source: ScriptedSource) -> None:
    tracker = CommandTracker(source, PollPolicy(initial_delay=10, timeout=30))
    source.plan("c", 0.0, body="ok")
    handle = tracker.track("c")
    assert await handle.refresh() is CommandStatus.SUCCEEDED
    assert source.fetches["c"] == 1
    assert handle.done()
    assert (await handle).body == "ok"
    await tracker.close()


async def test_not_found_within_grace_is_pending_then_fails(source: ScriptedSource) -> None:
    policy = PollPolicy(
        initial_delay=0.0, min_interval=0.01, max_interval=0.02, not_found_grace=0.2
    )
    tracker = CommandTracker(source, policy)
    source.plan("late", 0.0)
    source.raise_next = [NotFoundError(404), NotFoundError(404)]
    handle = tracker.track("late")
    assert (await handle).status is CommandStatus.SUCCEEDED
    assert source.fetches["late"] == 3

    class AlwaysMissing(ScriptedSource):
        async def fetch(self, command_id: str) -> StatusReading:
            await super().fetch(command_id) if command_id in self.plans else None
            raise NotFoundError(404)

    missing_source = AlwaysMissing()
    tracker2 = CommandTracker(missing_source, policy)
    gone = tracker2.track("gone")
    with pytest.raises(CommandNotFound) as info:
        await gone
    assert info.value.command_id == "gone"
    await tracker.close()
    await tracker2.close()


async def test_transient_errors_are_retried_not_fatal(source: ScriptedSource) -> None:
    tracker = CommandTracker(source, FAST)
    source.plan("c", 0.0)
    source.raise_next = [TransportError("reset"), ServerError(503)]
    result = await tracker.track("c")
    assert result.status is CommandStatus.SUCCEEDED
    assert source.fetches["c"] == 3
    assert result.polls == 3
    await tracker.close()


async def test_protocol_error_fails_the_handle(source: ScriptedSource) -> None:
    tracker = CommandTracker(source, FAST)
    source.plan("c", 0.0)
    source.raise_next = [ProtocolError("command c: command status: unknown value 'weird'")]
    with pytest.raises(ProtocolError, match="weird"):
        await tracker.track("c")
    await tracker.close()


async def test_rate_limit_pauses_all_polling(source: ScriptedSource) -> None:
    tracker = CommandTracker(source, PollPolicy(initial_delay=0.0, min_interval=0.01, timeout=10))
    for name in ("a", "b", "c"):
        source.plan(name, 0.0)
    source.raise_next = [RateLimitError(429, retry_after=0.3)]
    handles = [tracker.track(name) for name in ("a", "b", "c")]
    start = time.monotonic()
    await gather(*handles)
    first, *rest = sorted(source.fetch_times)
    # After the 429 (the first fetch), nothing is polled until Retry-After has passed.
    later = [t for t in rest if t - first < 0.28]
    assert len(later) <= 2  # at most the polls already in flight with the first one
    assert time.monotonic() - start >= 0.28
    await tracker.close()


async def test_settle_from_outside_needs_no_poll(source: ScriptedSource) -> None:
    tracker = CommandTracker(source, PollPolicy(initial_delay=5, timeout=30))
    handle = tracker.track("pushed", kind="k")
    assert tracker.settle("pushed", CommandStatus.SUCCEEDED, "via ack") is True
    result = await handle
    assert result.body == "via ack"
    assert source.total == 0
    assert tracker.settle("pushed", CommandStatus.SUCCEEDED) is False  # no longer tracked
    assert tracker.settle("unknown", CommandStatus.SUCCEEDED) is False
    other = tracker.track("rejected-by-ack")
    tracker.settle("rejected-by-ack", CommandStatus.REJECTED, "vote.denied")
    with pytest.raises(CommandRejected, match=r"vote\.denied"):
        await other
    await tracker.close()


async def test_close_cancels_pending_and_leaves_no_task(source: ScriptedSource) -> None:
    tracker = CommandTracker(source, FAST)
    source.plan("c", 60)
    handle = tracker.track("c")
    await asyncio.sleep(0.05)
    await tracker.close()
    assert handle.cancelled()
    assert len(asyncio.all_tasks()) == 1
    with pytest.raises(ClientClosedError, match="closed"):
        tracker.track("again")


async def test_a_handle_ended_by_close_raises_client_closed_not_cancelled(
    source: ScriptedSource,
) -> None:
    tracker = CommandTracker(source, FAST)
    source.plan("c", 60)
    handle = tracker.track("c")
    waiting = asyncio.ensure_future(handle.wait())  # awaited while the client closes
    await asyncio.sleep(0)
    await tracker.close()
    for attempt in (waiting, handle.wait(), handle.wait(timeout=1)):
        with pytest.raises(ClientClosedError) as info:
            await attempt
        assert isinstance(info.value, errors.PrivicoreError)
        assert not isinstance(info.value, asyncio.CancelledError)
        assert info.value.command_id == "c"
        assert "resume" in str(info.value)
    with pytest.raises(ClientClosedError):
        handle.result()
    assert isinstance(handle.exception(), ClientClosedError)
    assert handle.cancelled()  # tracking stopped before it settled; the journal skips it


async def test_a_handle_cancelled_by_hand_still_raises_cancelled_error(
    source: ScriptedSource,
) -> None:
    tracker = CommandTracker(source, FAST)
    source.plan("c", 60)
    handle = tracker.track("c")
    assert handle.cancel()
    await tracker.close()
    with pytest.raises(asyncio.CancelledError):
        await handle


async def test_the_safety_net_reads_at_most_safety_rate_per_second_however_many_pend() -> None:
    source = ScriptedSource()
    policy = PollPolicy(timeout=60, safety_interval=0.05, safety_rate=20)
    tracker = CommandTracker(source, policy)
    tracker.set_acks_live(True)
    for i in range(2_000):
        source.plan(f"c{i}", 60)
        tracker.track(f"c{i}", kind="k")
    await asyncio.sleep(1.0)
    # 2,000 commands due every 50 ms would be 40,000 reads/s; the pace is 20/s in all.
    assert 10 <= source.total <= 20 * 1.0 + 2
    await tracker.close()


async def test_after_the_ack_channel_drops_polling_resumes_at_once() -> None:
    source = ScriptedSource()
    tracker = CommandTracker(source, PollPolicy(timeout=30, safety_interval=30))
    tracker.set_acks_live(True)
    source.plan("c", 0.05)
    handle = tracker.track("c", kind="k")
    await asyncio.sleep(0.2)
    assert source.total == 0  # acks are live: the safety net reads only after 30 s
    tracker.set_acks_live(False)
    result = await handle.wait(timeout=2)
    assert result.status is CommandStatus.SUCCEEDED
    await tracker.close()


async def test_releasing_many_parked_commands_yields_to_the_event_loop() -> None:
    source = ScriptedSource()
    tracker = CommandTracker(source, PollPolicy(timeout=30))
    source.plan("scout-0", 0.05)
    source.plan("scout-1", 0.05)
    scouts = [tracker.track("scout-0", kind="k"), tracker.track("scout-1", kind="k")]
    await asyncio.sleep(0.001)  # the scouts only: no burst
    for i in range(5_000):
        source.plan(f"c{i}", 10)
        tracker.track(f"c{i}", kind="k")
    backlog: list[int] = []

    async def probe() -> None:
        # Runs whenever the loop is free; a release done in one synchronous pass would
        # never let it see a backlog.
        while not all(scout.done() for scout in scouts) or tracker._backlog:
            backlog.append(len(tracker._backlog))
            await asyncio.sleep(0)

    await asyncio.wait_for(probe(), 5)
    busy = [n for n in backlog if n]
    assert len(busy) >= 3  # the 5,000 went in slices, with the loop free in between
    assert max(busy) > 5_000 - 1_000
    await tracker.close()


class _TeachingFirst:
    """A schedule that makes ``urgent`` handles jump the queue of due reads."""

    def __init__(self, urgent: set[str]) -> None:
        self.urgent_ids = urgent

    def first_delay(self, handle: CommandHandle) -> float | None:
        return 0.0

    def next_delay(self, handle: CommandHandle) -> float:
        return 0.01

    def recheck(self, handle: CommandHandle) -> float:
        return 0.0

    def urgent(self, handle: CommandHandle) -> bool:
        return handle.command_id in self.urgent_ids

    def pending(self, handle: CommandHandle) -> None:
        return None

    def settled(self, handle: CommandHandle, *, exact: bool) -> tuple[CommandHandle, ...]:
        return ()

    def forget(self, handle: CommandHandle) -> tuple[CommandHandle, ...]:
        return ()


async def test_urgent_reads_jump_the_queue_of_due_reads() -> None:
    source = ScriptedSource(rtt=0.001)
    policy = PollPolicy(timeout=10, concurrency=1, max_concurrency=1)
    tracker = CommandTracker(source, policy, schedule=_TeachingFirst({"teach"}))
    order: list[str] = []
    original = source.fetch

    async def fetch(command_id: str) -> StatusReading:
        order.append(command_id)
        return await original(command_id)

    source.fetch = fetch  # type: ignore[method-assign]
    for i in range(20):
        source.plan(f"c{i}", 0)
        tracker.track(f"c{i}")
    source.plan("teach", 0)
    tracker.track("teach")
    await asyncio.sleep(0.2)
    # One worker, 21 due at once: the urgent one is read second (the first was already
    # taken by the worker), not last.
    assert order.index("teach") <= 1
    await tracker.close()


async def test_a_read_the_schedule_defers_at_its_due_time_is_not_made() -> None:
    source = ScriptedSource()

    class Deferring(_TeachingFirst):
        def __init__(self) -> None:
            super().__init__(set())
            self.rechecks = 0

        def recheck(self, handle: CommandHandle) -> float:
            self.rechecks += 1
            return 0.05 if self.rechecks <= 3 else 0.0

    schedule = Deferring()
    tracker = CommandTracker(source, PollPolicy(timeout=10), schedule=schedule)
    source.plan("c", 0)
    await tracker.track("c")
    assert schedule.rechecks == 4
    assert source.fetches["c"] == 1  # three deferrals cost no request
    await tracker.close()
