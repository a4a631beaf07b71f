"""``run_worker`` in this process: a graceful stop finishes the running batch, a cancel hands
it back at once, a batch that fails as a whole is queued again, and nothing is left behind."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import pytest
import redis.asyncio

from privicore_async.contrib import broker as broker_module
from privicore_async.contrib.streams import GROUP
from privicore_async.contrib.taskiq import WorkerSettings, run_progress, run_worker, wait_for_run
from privicore_async.journal import JournalError, RedisJournal
from privicore_async.sandbox import Sandbox
from tests.contrib.workers import enqueue, eventually, syncs_per_device
from tests.integration.conftest import PASSWORD
from tests.integration.test_crash_recovery import seed_fleet

QUEUE = "privicore-sync"


def settings_for(sb: Sandbox, username: str, redis_url: str) -> WorkerSettings:
    return WorkerSettings(
        api_url=sb.api_url,
        redis_url=redis_url,
        username=username,
        password=PASSWORD,
        idle_timeout=30.0,  # far longer than any test waits: only a hand-back is fast
        grace=10.0,
    )


@asynccontextmanager
async def worker_task(
    settings: WorkerSettings, stop: asyncio.Event | None = None
) -> AsyncIterator[asyncio.Task[None]]:
    """A running, ready ``run_worker`` task; cancelled and awaited on the way out."""
    ready = asyncio.Event()
    task = asyncio.create_task(run_worker(settings, stop=stop, on_ready=lambda _: ready.set()))
    readiness = asyncio.create_task(ready.wait())
    try:
        await asyncio.wait({task, readiness}, timeout=15, return_when=asyncio.FIRST_COMPLETED)
        readiness.cancel()
        await asyncio.wait({readiness})
        assert ready.is_set(), task.exception() if task.done() else "not ready in 15 s"
        yield task
    finally:
        await stop_within(task, STOP_WITHIN)


STOP_WITHIN = 20.0  # seconds: a worker's hard stop waits at most 10 s for its receiver


async def stop_within(task: asyncio.Task[None], seconds: float) -> None:
    """Cancel a ``run_worker`` task and fail if it has not ended within ``seconds``."""
    task.cancel()
    done, _ = await asyncio.wait({task}, timeout=seconds)
    assert done, f"the cancelled worker did not stop within {seconds:g} s"


async def pending_messages(redis_url: str) -> list[dict[str, object]]:
    client = redis.asyncio.Redis.from_url(redis_url)
    try:
        found: list[dict[str, object]] = await client.xpending_range(QUEUE, GROUP, "-", "+", 10)
        return found
    finally:
        await client.aclose()


def others(before: set[asyncio.Task[object]]) -> set[asyncio.Task[object]]:
    return asyncio.all_tasks() - before - {asyncio.current_task()}  # type: ignore[operator]


async def test_a_stopped_worker_finishes_its_batch_and_leaves_nothing(redis_clean: str) -> None:
    before = asyncio.all_tasks()
    async with Sandbox(latency=0.3) as sb:
        username, devices = seed_fleet(sb, 120)
        stop = asyncio.Event()
        async with worker_task(settings_for(sb, username, redis_clean), stop) as worker:
            await enqueue(redis_clean, devices, "graceful", batch=120)
            await eventually(lambda: len(syncs_per_device(sb)) > 0, 10, "the batch started")
            stop.set()  # mid-batch: the batch still finishes, then the worker ends
            await asyncio.wait({worker}, timeout=20)
            assert worker.done()
            assert worker.exception() is None
        journal = RedisJournal(redis_clean)
        await journal.open()
        try:
            progress = await run_progress(journal, "graceful", len(devices))
        finally:
            await journal.close()
        assert progress.succeeded == len(devices)
        assert syncs_per_device(sb) == dict.fromkeys(devices, 1)
        assert await pending_messages(redis_clean) == []
    assert others(before) == set()  # client, journal, leases, receiver: all gone


async def test_a_cancelled_worker_hands_its_batch_back_at_once(redis_clean: str) -> None:
    async with Sandbox(latency=0.5) as sb:
        username, devices = seed_fleet(sb, 200)
        settings = settings_for(sb, username, redis_clean)
        journal = RedisJournal(redis_clean)
        await journal.open()
        try:
            async with worker_task(settings) as first:
                await enqueue(redis_clean, devices, "handed-back", batch=200)
                await eventually(lambda: len(syncs_per_device(sb)) >= 20, 10, "the batch started")
                await stop_within(first, STOP_WITHIN)
            assert first.cancelled()
            # Not acknowledged, and idle beyond the timeout: any worker may take it now.
            [message] = await pending_messages(redis_clean)
            assert message["time_since_delivered"] >= settings.idle_timeout * 1000  # type: ignore[operator]
            in_doubt = sum(entry.in_doubt for entry in await journal.entries(run_id="handed-back"))
            async with worker_task(settings):
                # Well within the 30 s idle timeout: the batch was handed back, not abandoned.
                async with asyncio.timeout(15):
                    done = await wait_for_run(journal, "handed-back", len(devices), poll=0.05)
        finally:
            await journal.close()
    assert done.succeeded == len(devices)
    synced = syncs_per_device(sb)
    assert set(synced) == set(devices)
    assert sum(1 for n in synced.values() if n > 1) <= in_doubt
    assert await pending_messages(redis_clean) == []


async def test_a_batch_that_fails_as_a_whole_is_queued_again(
    redis_clean: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []
    real_sync: Callable[..., object] = broker_module._Worker.sync

    async def flaky(self: object, run_id: str, device_ids: list[str]) -> object:
        calls.append(run_id)
        if len(calls) == 1:
            raise JournalError("the journal is unreachable")  # e.g. Redis restarting
        return await real_sync(self, run_id, device_ids)  # type: ignore[misc]

    monkeypatch.setattr(broker_module._Worker, "sync", flaky)
    async with Sandbox(latency=0.05) as sb:
        username, devices = seed_fleet(sb, 30)
        journal = RedisJournal(redis_clean)
        await journal.open()
        try:
            async with worker_task(settings_for(sb, username, redis_clean)):
                await enqueue(redis_clean, devices, "retried", batch=30)
                async with asyncio.timeout(15):
                    done = await wait_for_run(journal, "retried", len(devices), poll=0.05)
                await eventually(lambda: len(calls) == 2, 5, "the retry ran")
        finally:
            await journal.close()
    assert done.succeeded == len(devices)
    assert syncs_per_device(sb) == dict.fromkeys(devices, 1)
    assert await pending_messages(redis_clean) == []
