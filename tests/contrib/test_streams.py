"""The leased stream broker against a real Redis: what upstream ``RedisStreamBroker`` misses
(a quiet stream's dead work is never reclaimed), leases, hand-backs and dead letters."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import aclosing, asynccontextmanager

import pytest
import redis.asyncio
from taskiq import AckableMessage
from taskiq.message import BrokerMessage
from taskiq_redis import RedisStreamBroker

from privicore_async.contrib.streams import GROUP, Delivery, LeasedStreamBroker
from tests.contrib.lost_cancel import LosesOneCancel

QUEUE = "test-queue"
IDLE = 0.3  # seconds


def message(text: str) -> BrokerMessage:
    return BrokerMessage(task_id=text, task_name="t", message=text.encode(), labels={})


@asynccontextmanager
async def brokers(
    redis_url: str, n: int, *, max_deliveries: int = 10
) -> AsyncIterator[list[LeasedStreamBroker]]:
    """``n`` started worker-side brokers on one queue; shut down on the way out."""
    started = [
        LeasedStreamBroker(
            redis_url,
            queue_name=QUEUE,
            idle_timeout=IDLE,
            read_block=0.05,
            max_deliveries=max_deliveries,
        )
        for _ in range(n)
    ]
    try:
        for broker in started:
            broker.is_worker_process = True
            await broker.startup()
        yield started
    finally:
        for broker in started:
            await broker.shutdown()


async def next_message(
    listener: AsyncGenerator[AckableMessage, None], timeout: float
) -> AckableMessage:
    return await asyncio.wait_for(anext(listener), timeout)


def delivery(received: AckableMessage) -> Delivery:
    assert isinstance(received.ack, Delivery)
    return received.ack


async def stream_state(redis_url: str) -> tuple[int, int]:
    client = redis.asyncio.Redis.from_url(redis_url)
    try:
        return await client.xlen(QUEUE), (await client.xpending(QUEUE, GROUP))["pending"]
    finally:
        await client.aclose()


async def test_upstream_never_reclaims_a_dead_workers_message_on_a_quiet_stream(
    redis_clean: str,
) -> None:
    # Why the subclass exists: taskiq-redis 1.2's listen() reclaims only after a read that
    # found new messages. If this starts failing, upstream fixed it; the subclass may go.
    dead, alive = (
        RedisStreamBroker(
            redis_clean, queue_name=QUEUE, idle_timeout=100, xread_block=50, xread_count=1
        )
        for _ in range(2)
    )
    await dead.startup()
    await alive.startup()
    dead_listener, alive_listener = dead.listen(), alive.listen()
    try:
        await dead.kick(message("orphan"))
        await asyncio.wait_for(anext(dead_listener), 5)  # taken, never acknowledged
        reading = asyncio.create_task(anext(alive_listener))
        done, _ = await asyncio.wait({reading}, timeout=1.0)  # 10x the idle timeout
        assert not done  # the orphan is not taken over
        # The read ends with a new message, not a cancellation: redis-py can lose one, and
        # upstream's loop would then read on forever (it did, once in CI).
        await alive.kick(message("new"))
        done, _ = await asyncio.wait({reading}, timeout=5)
        assert done == {reading}
        assert reading.result().data == b"new"  # read first; the reclaim only comes after
    finally:
        await dead_listener.aclose()
        await alive_listener.aclose()
        await dead.shutdown()
        await alive.shutdown()


async def test_a_dead_consumers_message_is_taken_over_on_a_quiet_stream(redis_clean: str) -> None:
    async with brokers(redis_clean, 2) as (dead, alive):
        await dead.kick(message("orphan"))
        async with aclosing(dead.listen()) as listener:
            first = await next_message(listener, 5)  # the "dead" one never acks it
        async with aclosing(alive.listen()) as listener:
            taken = await next_message(listener, 5)
        assert taken.data == first.data
        await taken.ack()
        assert delivery(taken).acked
        assert await stream_state(redis_clean) == (0, 0)  # acknowledged: gone from the stream


async def test_a_leased_message_stays_with_its_worker_past_the_idle_timeout(
    redis_clean: str,
) -> None:
    async with brokers(redis_clean, 2) as (holder, other):
        await holder.kick(message("long batch"))
        async with aclosing(holder.listen()) as listener:
            received = await next_message(listener, 5)
        async with holder.lease(delivery(received)), aclosing(other.listen()) as listener:
            assert holder.leases == 1
            # Three idle timeouts with the lease renewed: nobody takes it over.
            with pytest.raises(TimeoutError):
                await next_message(listener, 3 * IDLE)
            await received.ack()
        assert holder.leases == 0
        assert await stream_state(redis_clean) == (0, 0)


async def test_a_hard_stop_hands_a_running_message_back_at_once(redis_clean: str) -> None:
    async with brokers(redis_clean, 2) as (stopping, other):
        await stopping.kick(message("interrupted"))
        async with aclosing(stopping.listen()) as listener:
            received = await next_message(listener, 5)
        async with stopping.lease(delivery(received)):
            stopping.hand_back_all()
            await received.ack()  # the task "ended" after the stop: no ack
        assert not delivery(received).acked
        # Not after the idle timeout: at once (the listener's first reclaim finds it).
        async with aclosing(other.listen()) as listener:
            taken = await next_message(listener, IDLE / 2)
        assert taken.data == received.data


async def test_a_message_that_never_finishes_goes_to_dead_letters(redis_clean: str) -> None:
    async with brokers(redis_clean, 1, max_deliveries=2) as (broker,):
        await broker.kick(message("poison"))
        async with aclosing(broker.listen()) as listener:
            await next_message(listener, 5)  # delivery 1, never acknowledged
            await next_message(listener, 5)  # delivery 2, taken over after the idle timeout
            with pytest.raises(TimeoutError):  # delivery 3 would exceed the limit
                await next_message(listener, 3 * IDLE)
        client = redis.asyncio.Redis.from_url(redis_clean)
        try:
            [(_, fields)] = await client.xrange(broker.dead_letters)
        finally:
            await client.aclose()
        assert fields[b"data"] == b"poison"
        assert fields[b"deliveries"] == b"3"
        assert await stream_state(redis_clean) == (0, 0)


@pytest.mark.parametrize("queued", [0, 1], ids=["empty queue", "a message read"])
async def test_a_listener_ends_when_redis_loses_its_cancellation(
    redis_clean: str, monkeypatch: pytest.MonkeyPatch, queued: int
) -> None:
    async with brokers(redis_clean, 2) as (stopping, other):
        read = LosesOneCancel(stopping._read)
        monkeypatch.setattr(stopping, "_read", read)
        if queued:
            await stopping.kick(message("read as the stop came"))
        # taskiq's receiver reads with one task per message and stops by cancelling it.
        async with aclosing(stopping.listen()) as listener:
            reading = asyncio.create_task(anext(listener))
            try:
                await asyncio.wait_for(read.entered.wait(), 5)
                reading.cancel()
                done, _ = await asyncio.wait({reading}, timeout=5)
                assert read.lost
                assert done == {reading}, "the listener reads on after its cancellation"
                assert reading.cancelled()
            finally:
                reading.cancel()
                await asyncio.wait({reading})
        if queued:
            # Read for a task that was then cancelled: handed back, so another worker gets
            # it at once, not after the idle timeout.
            async with aclosing(other.listen()) as listener:
                taken = await next_message(listener, IDLE / 2)
            assert taken.data == b"read as the stop came"
        assert await stream_state(redis_clean) == (queued, queued)


async def test_a_lease_renewer_ends_when_redis_loses_its_cancellation(
    redis_clean: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with brokers(redis_clean, 1) as (holder,):
        await holder.kick(message("long batch"))
        async with aclosing(holder.listen()) as listener:
            received = await next_message(listener, 5)
        claim = LosesOneCancel(holder._claim)
        monkeypatch.setattr(holder, "_claim", claim)
        async with holder.lease(delivery(received)):
            await asyncio.wait_for(claim.entered.wait(), 5)  # a renewal is under way
            # shutdown() cancels the renewer and waits for it: the renewer must end although
            # its renewal succeeded and its lease is still held.
            await asyncio.wait_for(holder.shutdown(), 5)
            assert claim.lost
            assert holder.leases == 0
