"""Fleet syncs through taskiq workers on Redis: real worker processes, a real redis-server,
the sandbox in this process over loopback.

The acceptance test kills one of three workers with SIGKILL in the middle of a batch: the
others take its batch over and resume it from the journal. None is lost, and a device is
synced twice only where the journal could not know whether its request had left (in doubt).
"""

from __future__ import annotations

import asyncio
import json
import signal
import time
from collections import Counter
from pathlib import Path

import redis.asyncio

from privicore_async.contrib.streams import GROUP
from privicore_async.contrib.taskiq import (
    RunProgress,
    make_broker,
    reopen_run,
    run_is_queued,
    run_progress,
    wait_for_run,
)
from privicore_async.journal import EntryState, Intent, Outcome, RedisJournal
from privicore_async.resources.bulk_sync import sync_key
from privicore_async.sandbox import Faults, Sandbox
from tests.contrib.workers import (
    enqueue,
    eventually,
    syncs_per_device,
    wait_or_explain,
    workers,
)
from tests.integration.test_crash_recovery import seed_fleet

QUEUE = "privicore-sync"


async def _queue_state(redis_url: str) -> tuple[int, int]:
    """(entries in the stream, entries pending on some worker)."""
    client = redis.asyncio.Redis.from_url(redis_url)
    try:
        pending = await client.xpending(QUEUE, GROUP)
        return await client.xlen(QUEUE), pending["pending"]
    finally:
        await client.aclose()


async def test_two_workers_sync_a_fleet_once_each(redis_clean: str, tmp_path: Path) -> None:
    run = "fleet-two"
    async with Sandbox(latency=0.2) as sb:
        username, devices = seed_fleet(sb, 300)
        journal = RedisJournal(redis_clean)
        await journal.open()
        try:
            before = await run_progress(journal, run, len(devices))
            assert before == RunProgress(total=300)
            assert before.not_started == 300
            async with workers(
                sb, username, redis_clean, tmp_path, 2, "--idle-timeout", "5"
            ) as pair:
                assert await enqueue(redis_clean, devices, run, batch=50) == 6
                seen: list[RunProgress] = []
                done = await wait_or_explain(
                    journal,
                    run,
                    len(devices),
                    timeout=60,
                    redis_url=redis_clean,
                    sb=sb,
                    processes=pair,
                    seen=seen,
                )
                # Both workers took batches: the work was spread, not run by one.
                assert all(worker.batches_done() >= 1 for worker in pair), [
                    worker.log_text() for worker in pair
                ]
                assert sum(worker.batches_done() for worker in pair) == 6
            entries = await journal.entries(run_id=run)
        finally:
            await journal.close()

    # One line per device, all synchronised, each synced exactly once (no crash: no repeat).
    assert done.done
    assert done.all_succeeded
    assert (done.settled, done.succeeded, done.in_doubt, done.accepted) == (300, 300, 0, 0)
    assert sorted(entry.target or "" for entry in entries) == sorted(devices)
    assert {entry.key for entry in entries} == {sync_key(run, d) for d in devices}
    assert all(entry.outcome is Outcome.SUCCEEDED for entry in entries)
    assert syncs_per_device(sb) == Counter(dict.fromkeys(devices, 1))
    # Progress only grows, and the last report is the finished run.
    assert [p.settled for p in seen] == sorted(p.settled for p in seen)
    assert seen[-1] == done
    # Every batch was acknowledged, and acknowledged batches leave the stream.
    assert await _queue_state(redis_clean) == (0, 0)


async def _pending_batch(redis_url: str, consumer: str) -> list[str]:
    """The device ids of the batch pending on ``consumer`` (empty: none)."""
    client = redis.asyncio.Redis.from_url(redis_url)
    try:
        pending = await client.xpending_range(QUEUE, GROUP, "-", "+", 10, consumername=consumer)
        if not pending:
            return []
        message_id = pending[0]["message_id"]
        [(_, fields)] = await client.xrange(QUEUE, message_id, message_id)
    finally:
        await client.aclose()
    kwargs: dict[str, list[str]] = json.loads(fields[b"data"])["kwargs"]
    return kwargs["device_ids"]


async def test_a_killed_worker_loses_nothing(redis_clean: str, tmp_path: Path) -> None:
    run, total, batch = "fleet-kill", 1500, 250
    # A third of the sync requests are answered late, so that some are in flight (in doubt)
    # when the kill comes.
    slow = Faults(slow_rate=0.3, slow_delay=0.4, routes={"storage.sync_device"}, seed=3)
    started = time.monotonic()
    async with Sandbox(latency=0.5, faults=slow) as sb:
        username, devices = seed_fleet(sb, total)
        journal = RedisJournal(redis_clean)
        await journal.open()
        try:
            async with workers(
                sb, username, redis_clean, tmp_path, 3, "--idle-timeout", "2"
            ) as trio:
                assert await enqueue(redis_clean, devices, run, batch=batch) == total // batch
                victim = trio[0]
                # Kill it in the middle of a batch: some of the batch's devices accepted,
                # some still in flight (in doubt).
                mine: list[str] = []

                async def mid_batch() -> bool:
                    nonlocal mine
                    mine = mine or await _pending_batch(redis_clean, victim.consumer)
                    if not mine:
                        return False
                    ours = set(mine)
                    entries = [e for e in await journal.entries(run_id=run) if e.target in ours]
                    # Both kinds the takeover must handle: accepted (resume) and in doubt.
                    states = Counter(entry.state for entry in entries)
                    return states[EntryState.ACCEPTED] > 0 and states[EntryState.INTENT] > 0

                await eventually(mid_batch, 30, "the victim mid-batch", every=0.01)
                victim.process.send_signal(signal.SIGKILL)
                assert await victim.process.wait() == -signal.SIGKILL
                victim_batches = victim.batches_done()
                killed_at = time.monotonic()

                # What the dead worker left: its batch, still pending on it (nobody has taken
                # it over yet, so this is the state the takeover will find).
                at_kill = [e for e in await journal.entries(run_id=run) if e.target in set(mine)]
                assert await _pending_batch(redis_clean, victim.consumer) == mine
                in_doubt = sum(entry.in_doubt for entry in at_kill)
                states = Counter(entry.state for entry in at_kill)
                assert states[EntryState.SETTLED] < batch  # killed mid-batch
                assert states[EntryState.ACCEPTED] > 0
                assert in_doubt > 0

                final = await wait_or_explain(
                    journal, run, total, timeout=40, redis_url=redis_clean, sb=sb, processes=trio
                )
                taken_over_after = time.monotonic() - killed_at
                survivors_batches = sum(worker.batches_done() for worker in trio[1:])
            entries = await journal.entries(run_id=run)
        finally:
            await journal.close()
    elapsed = time.monotonic() - started

    # None lost: every device settled as synchronised in the journal, and synced on the
    # sandbox's side at least once.
    assert final.done
    assert final.succeeded == total
    assert len(entries) == total
    assert all(e.outcome is Outcome.SUCCEEDED for e in entries)
    synced = syncs_per_device(sb)
    assert set(synced) == set(devices)
    # Twice only where the journal could not know (in doubt when the worker died).
    twice = sorted(device for device, n in synced.items() if n > 1)
    assert len(twice) <= in_doubt
    assert set(twice) <= {e.target for e in at_kill if e.in_doubt}
    assert max(synced.values()) <= 2
    # The survivors ran every batch, the dead worker's included, and acknowledged them all.
    assert survivors_batches + victim_batches == total // batch
    assert await _queue_state(redis_clean) == (0, 0)
    print(
        f"\nkilled mid-batch: {len(at_kill)}/{batch} of its devices journaled "
        f"({dict((s.value, n) for s, n in states.items())}), in doubt {in_doubt}, "
        f"synced twice {len(twice)}; run finished {taken_over_after:.1f} s after the kill, "
        f"{elapsed:.1f} s in all"
    )


async def test_run_progress_counts_the_journal_of_a_run(redis_clean: str) -> None:
    journal = RedisJournal(redis_clean)
    await journal.open()
    try:

        def intent(device: str, run: str = "r1") -> Intent:
            return Intent(sync_key(run, device), "storage.sync_device", device, run)

        await asyncio.gather(*(journal.intend(intent(f"d{i}")) for i in range(7)))
        await journal.intend(intent("other", run="r2"))
        await journal.intend(Intent("r1/x", "devices.approve", "x", "r1"))  # not a sync
        await journal.accept("r1/d1", "c1")
        await journal.accept("r1/d2", "c2")
        await journal.settle("r1/d2", Outcome.SUCCEEDED)
        await journal.accept("r1/d3", "c3")
        await journal.settle("r1/d3", Outcome.REJECTED, "device.offline")
        await journal.accept("r1/d4", "c4")
        await journal.settle("r1/d4", Outcome.TIMED_OUT)
        await journal.settle("r1/d5", Outcome.FAILED, "503")
        await journal.accept("r1/d6", None)  # a 202 without an id: settled as accepted

        progress = await run_progress(journal, "r1", 10)
        assert progress == RunProgress(
            total=10,
            settled=5,
            accepted=1,
            in_doubt=1,
            succeeded=1,
            rejected=1,
            timed_out=1,
            failed=1,
            accepted_no_id=1,
            reasons=(("device.offline", 1),),
        )
        assert (progress.not_started, progress.done, progress.all_succeeded) == (3, False, False)
        assert (await run_progress(journal, "r1", 2, devices={"d0", "d2"})).settled == 1

        # Before a run is queued again, what a worker would redo stops counting as settled:
        # the failed one goes back to intent (resend), the timed-out one to accepted (resume).
        assert await reopen_run(journal, "r1") == 2
        reopened = await run_progress(journal, "r1", 7)
        assert (reopened.settled, reopened.accepted, reopened.in_doubt) == (3, 2, 2)
        assert (await journal.get("r1/d4")).command_id == "c4"  # type: ignore[union-attr]

        # wait_for_run returns once the last ones settle, reporting each read.
        seen: list[RunProgress] = []

        async def settle_the_rest() -> None:
            await eventually(lambda: len(seen) >= 2, 5, "two progress reads")
            for device in ("d0", "d1", "d4", "d5"):
                await journal.settle(f"r1/{device}", Outcome.SUCCEEDED)

        async with asyncio.timeout(10), asyncio.TaskGroup() as group:
            group.create_task(settle_the_rest())
            done = await wait_for_run(journal, "r1", 7, on_progress=seen.append, poll=0.02)
        assert (done.done, done.settled, done.succeeded) == (True, 7, 5)
        assert seen[0].settled == 3
        assert seen[-1] == done
    finally:
        await journal.close()


async def test_a_run_left_without_queued_batches_stops_the_wait(redis_clean: str) -> None:
    broker = make_broker(redis_clean)
    await broker.startup()
    journal = RedisJournal(redis_clean)
    await journal.open()
    try:
        assert not await run_is_queued(broker, "lost")
        await enqueue(redis_clean, ["a", "b"], "other", batch=1)
        await enqueue(redis_clean, ["c", "d", "e"], "lost", batch=2)
        assert await run_is_queued(broker, "lost")
        assert await run_is_queued(broker, "other")
        # The batches disappear without running (as when moved to the dead letters).
        client = redis.asyncio.Redis.from_url(redis_clean)
        try:
            ids = [message_id for message_id, _ in await client.xrange(QUEUE)]
            await client.xdel(QUEUE, *ids[2:])
        finally:
            await client.aclose()
        assert not await run_is_queued(broker, "lost")
        await journal.intend(Intent(sync_key("lost", "c"), "storage.sync_device", "c", "lost"))

        async def still_queued() -> bool:
            return await run_is_queued(broker, "lost")

        async with asyncio.timeout(5):
            stalled = await wait_for_run(journal, "lost", 3, poll=0.01, still_queued=still_queued)
        assert not stalled.done
        assert (stalled.in_doubt, stalled.not_started) == (1, 2)
    finally:
        await journal.close()
        await broker.shutdown()
