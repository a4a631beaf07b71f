"""A taskiq-redis stream broker whose messages are leased while their task runs.

Batches go through a Redis stream and one consumer group: ``XREADGROUP`` hands a message to
one worker and keeps it *pending* on that worker until ``XACK``. A worker that dies (SIGKILL,
a lost machine) leaves its message pending; once it has been idle for ``idle_timeout``
another worker takes it over with ``XAUTOCLAIM`` and runs it again.

Three things :class:`~taskiq_redis.RedisStreamBroker` (taskiq-redis 1.2) does not do, and
this subclass does:

* **Reclaim when the stream is quiet.** Upstream ``listen()`` runs ``XAUTOCLAIM`` only after
  an ``XREADGROUP`` that returned new messages, so once every batch has been handed out a
  dead worker's batch is never taken over. Here every turn of the loop reclaims first, then
  reads (one message at a time: a worker takes only what it can start now).
* **Leases.** A message's idle time is not reset while its task runs, so a batch that runs
  longer than ``idle_timeout`` would be taken over from a live worker and run twice at
  once. While a task runs, its worker renews the claim every ``idle_timeout / 3``
  (``XCLAIM ... IDLE 0``, only while the message is still its own), so ``idle_timeout``
  only has to be longer than a stall, not than a batch. A task that ends without an ack
  (its worker was stopped hard) hands its message back at once (``IDLE`` = the timeout);
  any other run that ends without an ack waits for its lease to lapse, as a backoff.
* **Acked means gone.** An ack is ``XACK`` + ``XDEL`` in one transaction, so the stream
  holds only the work not done yet (no ``MAXLEN`` trimming, which could drop pending work).
  A message handed out more than ``max_deliveries`` times (its workers keep dying, or taskiq
  keeps failing on it) moves to the dead-letter stream ``<queue>-dead`` instead of cycling.

Upstream's reclaim lock is not taken here: ``XAUTOCLAIM`` is atomic and resets the idle
time of what it claims, so two workers cannot claim the same message at once.
``unacknowledged_lock_timeout`` is set all the same (to ``idle_timeout``), so that a lock
taken through the upstream code path could never outlive a dead worker and block reclaims.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from typing import Any

import attrs
from redis.asyncio import Redis
from redis.exceptions import RedisError, ResponseError
from taskiq import AckableMessage
from taskiq_redis import RedisStreamBroker

from .cancellation import cancel_pending

__all__ = ["GROUP", "Delivery", "LeasedStreamBroker", "consumer_name"]

logger = logging.getLogger("privicore_async")

GROUP = "privicore-workers"
"""The consumer group every worker of a queue joins."""

# Renew (IDLE 0) or hand back (IDLE >= the timeout) the messages of ARGV[4..] that are still
# pending on this consumer; a message another consumer took over is left alone.
# KEYS[1] the stream; ARGV[1] the group, ARGV[2] this consumer, ARGV[3] the idle time to set
# (ms). Returns the ids it claimed.
_CLAIM_SCRIPT = """
local kept = {}
for i = 4, #ARGV do
  local pending = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[i], ARGV[i], 1)
  if pending[1] and pending[1][2] == ARGV[2] then
    redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, ARGV[i], 'IDLE', ARGV[3], 'JUSTID')
    kept[#kept + 1] = ARGV[i]
  end
end
return kept
"""

# Leave the group (KEYS[1] the stream; ARGV[1] the group, ARGV[2] this consumer), but only
# with nothing pending: deleting a consumer drops its pending messages.
_FORGET_SCRIPT = """
if #redis.call('XPENDING', KEYS[1], ARGV[1], '-', '+', 1, ARGV[2]) == 0 then
  return redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], ARGV[2])
end
return -1
"""


def consumer_name() -> str:
    """A consumer name unique to this process: host, pid and a random suffix."""
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


@attrs.define(eq=False)
class Delivery:
    """One message handed to this worker; taskiq calls it (the ack) once the task ran."""

    broker: LeasedStreamBroker = attrs.field(repr=False)
    message_id: str
    acked: bool = False

    async def __call__(self) -> None:
        await self.broker.acknowledge(self)


class LeasedStreamBroker(RedisStreamBroker):
    """A :class:`~taskiq_redis.RedisStreamBroker` with leases; see the module docstring.

    ``idle_timeout`` and ``read_block`` are in seconds. Workers wrap each task run in
    :meth:`lease`; :meth:`hand_back_all` makes a stopping worker's unfinished tasks skip
    their ack, so that their messages go to other workers.
    """

    def __init__(
        self,
        url: str,
        *,
        queue_name: str,
        idle_timeout: float,
        read_block: float,
        consumer: str | None = None,
        max_deliveries: int = 10,
    ) -> None:
        idle_ms = max(1, round(idle_timeout * 1000))
        super().__init__(
            url,
            queue_name=queue_name,
            consumer_group_name=GROUP,
            consumer_name=consumer or consumer_name(),
            # "0", not "$": batches queued before the first worker created the group are
            # still delivered.
            consumer_id="0",
            idle_timeout=idle_ms,
            xread_block=max(1, round(read_block * 1000)),
            xread_count=1,
            unacknowledged_batch_size=1,
            unacknowledged_lock_timeout=idle_timeout,
        )
        self.max_deliveries = max_deliveries
        """A message handed out more often than this goes to :attr:`dead_letters`."""
        self.dead_letters = f"{queue_name}-dead"
        """The stream of messages that never finished (their batches are not run)."""
        self._leases: dict[str, Delivery] = {}
        self._renewer: asyncio.Task[None] | None = None
        self._handing_back = False
        self._redis: Redis | None = None

    @property
    def leases(self) -> int:
        """Messages whose tasks run here now."""
        return len(self._leases)

    def _client(self) -> Redis:
        if self._redis is None:
            self._redis = Redis(connection_pool=self.connection_pool)
        return self._redis

    # -- receiving ---------------------------------------------------------------------------

    async def listen(self) -> AsyncGenerator[AckableMessage, None]:
        """Yield one message at a time: a dead worker's first, then new ones."""
        failures = 0
        async with Redis(connection_pool=self.connection_pool) as conn:
            while True:
                found = await self._fetch(conn)
                if cancel_pending():
                    if found:  # read for a task that will not run here: another worker's now
                        await self._hand_back([_text(message_id) for message_id, _ in found])
                    raise asyncio.CancelledError
                if found is None:
                    # Wait, then read again: raised, the error would make taskiq restart the
                    # receiver at once, in a tight loop for as long as Redis is away.
                    failures += 1
                    await asyncio.sleep(min(30.0, 0.25 * 2 ** min(failures, 7)))
                    continue
                failures = 0
                for message_id, fields in found:
                    delivery = Delivery(self, _text(message_id))
                    data = fields.get(b"data") if fields else None
                    if isinstance(data, bytes):
                        yield AckableMessage(data=data, ack=delivery)
                    else:  # not a taskiq message: it would be reclaimed forever
                        logger.warning("queue %s: dropping foreign entry", self.queue_name)
                        await self.acknowledge(delivery)

    async def _fetch(self, conn: Redis) -> list[tuple[Any, Any]] | None:
        """A dead worker's message, else a new one, else none; ``None`` if Redis failed."""
        try:
            return await self._reclaim(conn) or await self._read(conn)
        except ResponseError as exc:
            if "NOGROUP" in str(exc):  # the stream was deleted under us: make it again
                with contextlib.suppress(RedisError, OSError):
                    await self._declare_consumer_group()
                return []
            problem = type(exc).__name__
        except (RedisError, OSError) as exc:
            problem = type(exc).__name__
        logger.warning("queue %s: cannot read the queue (%s)", self.queue_name, problem)
        return None

    async def _reclaim(self, conn: Redis) -> list[tuple[Any, Any]]:
        """Claim one message idle for ``idle_timeout``: its worker is gone or stalled."""
        cursor: Any = "0-0"
        while True:
            reply = await conn.xautoclaim(
                self.queue_name,
                self.consumer_group_name,
                self.consumer_name,
                min_idle_time=self.idle_timeout,
                start_id=cursor,
                count=1,
            )
            claimed = [(mid, fields) for mid, fields in reply[1] if fields]
            if claimed:
                message_id = _text(claimed[0][0])
                deliveries = await self._deliveries(conn, message_id)
                if deliveries > self.max_deliveries:
                    await self._bury(conn, message_id, claimed[0][1], deliveries)
                    return []
                logger.info(
                    "queue %s: took over %s (delivery %d) from a worker that stopped renewing it",
                    self.queue_name,
                    message_id,
                    deliveries,
                )
                return claimed
            # XAUTOCLAIM scans a bounded stretch of the pending list per call: go on from
            # its cursor until it wraps around.
            cursor = reply[0]
            if _text(cursor) == "0-0":
                return []

    async def _deliveries(self, conn: Redis, message_id: str) -> int:
        """How many times the message was handed out (XAUTOCLAIM counts its own claim)."""
        pending: Any = await conn.xpending_range(
            self.queue_name, self.consumer_group_name, min=message_id, max=message_id, count=1
        )
        return int(pending[0]["times_delivered"]) if pending else 0

    async def _bury(self, conn: Redis, message_id: str, fields: Any, deliveries: int) -> None:
        """Move a message that keeps failing to the dead-letter stream, out of the queue."""
        pipe = conn.pipeline(transaction=True)
        pipe.xadd(self.dead_letters, {**fields, b"deliveries": str(deliveries)})
        pipe.xack(self.queue_name, self.consumer_group_name, message_id)
        pipe.xdel(self.queue_name, message_id)
        await pipe.execute()
        logger.error(
            "queue %s: %s was handed out %d times without finishing; moved to %s",
            self.queue_name,
            message_id,
            deliveries,
            self.dead_letters,
        )

    async def _read(self, conn: Redis) -> list[tuple[Any, Any]]:
        # redis-py types the reply for every protocol at once; in RESP2 it is
        # [[stream, [(id, fields), ...]], ...].
        reply: Any = await conn.xreadgroup(
            self.consumer_group_name,
            self.consumer_name,
            {self.queue_name: ">"},
            count=1,
            block=self.block,
            noack=False,
        )
        return [message for _stream, messages in reply or [] for message in messages]

    async def queued(self, *, chunk: int = 10) -> AsyncGenerator[bytes, None]:
        """The data of every message still in the queue, oldest first: waiting, or taken and
        not acknowledged yet (acknowledged ones are deleted). Read ``chunk`` at a time."""
        client = self._client()
        start: Any = "-"
        while True:
            entries: Any = await client.xrange(self.queue_name, min=start, count=chunk)
            for _message_id, fields in entries:
                data = fields.get(b"data")
                if isinstance(data, bytes):
                    yield data
            if len(entries) < chunk:
                return
            start = "(" + _text(entries[-1][0])  # after the last one read

    # -- acknowledging, leasing, handing back -------------------------------------------------

    async def acknowledge(self, delivery: Delivery) -> None:
        """The task of ``delivery`` ran: drop its message (skipped while handing back)."""
        if self._handing_back:
            return  # stopped hard: another worker runs it again and resumes from the journal
        pipe = self._client().pipeline(transaction=True)
        pipe.xack(self.queue_name, self.consumer_group_name, delivery.message_id)
        pipe.xdel(self.queue_name, delivery.message_id)
        try:
            await pipe.execute()
        except (RedisError, OSError) as exc:
            # Left pending, the batch runs again and skips what the journal shows done.
            logger.warning(
                "queue %s: could not acknowledge %s (%s)",
                self.queue_name,
                delivery.message_id,
                type(exc).__name__,
            )
            return
        delivery.acked = True

    @contextlib.asynccontextmanager
    async def lease(self, delivery: Delivery) -> AsyncIterator[None]:
        """Keep ``delivery``'s message this worker's while the block runs (renewed every
        ``idle_timeout / 3``); after :meth:`hand_back_all`, hand it back if the block ends
        without an ack."""
        self._leases[delivery.message_id] = delivery
        if self._renewer is None:
            self._renewer = asyncio.get_running_loop().create_task(
                self._renew(), name=f"privicore-lease {self.queue_name}"
            )
        try:
            yield
        finally:
            self._leases.pop(delivery.message_id, None)
            # Only a hard stop hands a message back at once. Any other run that ended without
            # an ack (a failed ack, a failure in taskiq) waits for its lease to lapse: that
            # wait is the retry's backoff, and a failing message cannot spin.
            if self._handing_back and not delivery.acked:
                await self._hand_back([delivery.message_id])

    def hand_back_all(self) -> None:
        """From now on tasks that end are not acknowledged: their messages go back."""
        self._handing_back = True

    async def _renew(self) -> None:
        interval = self.idle_timeout / 3000
        try:
            while self._leases:
                await asyncio.sleep(interval)
                held = dict(self._leases)
                if not held:
                    break
                try:
                    kept = set(await self._claim(list(held), idle_ms=0))
                    if cancel_pending():
                        raise asyncio.CancelledError
                except (RedisError, OSError) as exc:
                    logger.warning(
                        "queue %s: could not renew %d lease(s) (%s)",
                        self.queue_name,
                        len(held),
                        type(exc).__name__,
                    )
                    continue
                for message_id, delivery in held.items():
                    if message_id not in kept and not delivery.acked:
                        # This worker stalled for longer than idle_timeout: another one took
                        # the batch over. Both run it; the journal keeps that safe.
                        logger.warning(
                            "queue %s: lost the lease of %s to another worker",
                            self.queue_name,
                            message_id,
                        )
                        self._leases.pop(message_id, None)
        finally:
            if self._renewer is asyncio.current_task():
                self._renewer = None

    async def _hand_back(self, message_ids: Sequence[str]) -> None:
        try:
            await self._claim(message_ids, idle_ms=self.idle_timeout + 1000)
        except (RedisError, OSError) as exc:
            logger.warning(
                "queue %s: could not hand back %d message(s) (%s); they are taken over after "
                "the idle timeout",
                self.queue_name,
                len(message_ids),
                type(exc).__name__,
            )

    async def _claim(self, message_ids: Sequence[str], *, idle_ms: int) -> list[str]:
        client = self._client()
        args: list[str | int] = [self.consumer_group_name, self.consumer_name, idle_ms]
        args.extend(message_ids)
        kept = await client.eval(_CLAIM_SCRIPT, 1, self.queue_name, *args)
        return [_text(message_id) for message_id in kept]

    # -- lifecycle ---------------------------------------------------------------------------

    async def shutdown(self) -> None:
        """Stop renewing, hand back what is still leased, leave the group, close."""
        renewer, self._renewer = self._renewer, None
        if renewer is not None:
            renewer.cancel()
            # wait(), not await: a cancellation of this call must not be taken for the
            # renewer's own and swallowed.
            await asyncio.wait({renewer})
        if self._leases:
            await self._hand_back(list(self._leases))
            self._leases.clear()
        if self.is_worker_process:
            await self._forget_consumer()
        client, self._redis = self._redis, None
        if client is not None:
            await client.aclose()
        await super().shutdown()

    async def _forget_consumer(self) -> None:
        with contextlib.suppress(RedisError, OSError):  # a stale consumer is only clutter
            await self._client().eval(
                _FORGET_SCRIPT, 1, self.queue_name, self.consumer_group_name, self.consumer_name
            )
