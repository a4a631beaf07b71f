"""Client-side rate limits: a permit per request, for one process or shared through Redis.

The transport awaits :meth:`RateLimiter.acquire` before each attempt, so a limit is kept
before the server has to answer 429. :class:`InProcessRateLimit` paces one process;
:class:`RedisRateLimit` keeps one limit for every process and machine that names the same
key (it needs the ``redis`` extra, imported only when one is built).

Both count ``rate`` permits per second with a burst of ``burst`` permits: over any window of
``t`` seconds at most ``rate * t + burst`` permits are granted.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections import deque
from typing import TYPE_CHECKING, Any, Protocol

from aiolimiter import AsyncLimiter

from .arguments import require_int, require_text
from .errors import InvalidArgumentError

if TYPE_CHECKING:
    import redis.asyncio

__all__ = ["GCRA_SCRIPT", "InProcessRateLimit", "RateLimiter", "RedisRateLimit"]


class RateLimiter(Protocol):
    """What the transport needs of a rate limit."""

    async def acquire(self) -> None:
        """Wait until one request may be sent (one permit is used up)."""

    async def close(self) -> None:
        """Release what the limiter holds; later :meth:`acquire` calls raise RuntimeError."""


def _require_rate(value: object) -> float:
    # bool is an int: `rate=True` is a mistake, not 1 request per second.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidArgumentError("rate", f"must be a number, not {type(value).__name__}")
    if not (math.isfinite(value) and value > 0):
        raise InvalidArgumentError("rate", "must be a finite number > 0")
    return float(value)


class InProcessRateLimit:
    """``rate`` requests per second for this process, with bursts of up to ``burst``.

    ``burst`` defaults to 1: requests are spaced evenly, ``1 / rate`` seconds apart. Built on
    :class:`aiolimiter.AsyncLimiter` (a leaky bucket of capacity ``burst`` that drains at
    ``rate`` per second).
    """

    def __init__(self, rate: float, *, burst: int | None = None) -> None:
        self._rate = _require_rate(rate)
        self._burst = 1 if burst is None else require_int("burst", burst, minimum=1)
        # AsyncLimiter counts `max_rate` per `time_period`: that capacity is the burst.
        self._limiter = AsyncLimiter(self._burst, self._burst / self._rate)
        self._closed = False

    @property
    def rate(self) -> float:
        """Permits per second."""
        return self._rate

    @property
    def burst(self) -> int:
        """Permits that may be granted at once after a quiet spell."""
        return self._burst

    async def acquire(self) -> None:
        """Wait for one permit."""
        if self._closed:
            raise RuntimeError("this rate limit is closed")
        await self._limiter.acquire()

    async def close(self) -> None:
        """Refuse later acquisitions (nothing else is held). Idempotent."""
        self._closed = True

    def __repr__(self) -> str:
        return f"InProcessRateLimit(rate={self._rate!r}, burst={self._burst!r})"


GCRA_SCRIPT = """
-- GCRA (generic cell rate algorithm) for up to ARGV[3] permits at once.
-- KEYS[1]  the theoretical arrival time (TAT), in microseconds of Redis' clock
-- ARGV[1]  emission interval T: microseconds per permit (1e6 / rate)
-- ARGV[2]  burst: permits that may be granted at once (tolerance = burst * T)
-- ARGV[3]  wanted: permits asked for (1 <= wanted <= burst)
-- returns  {granted, ready_in}: permits granted now (0..wanted) and microseconds from now
--          until one more permit is free (<= 0: free already)
local clock = redis.call('TIME')  -- Redis' clock: the callers' clocks never matter
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
local interval = tonumber(ARGV[1])
local tolerance = interval * tonumber(ARGV[2])
local wanted = tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1])) or now
if tat < now then
  tat = now
end
-- Permit i (1-based) may go at TAT + i*T - tolerance; the epsilon absorbs float rounding.
local free = math.floor((now + tolerance - tat) / interval + 1e-9)
local granted = math.max(0, math.min(wanted, free))
if granted > 0 then
  tat = tat + granted * interval
  -- %.17g keeps every microsecond (tostring would round to 14 digits); the key lives
  -- only while TAT is ahead of now: an absent key is a full bucket.
  redis.call('SET', KEYS[1], string.format('%.17g', tat),
             'PX', math.max(1, math.ceil((tat - now) / 1000)))
end
return {granted, math.ceil(tat + interval - tolerance - now)}
"""
"""The Lua script :class:`RedisRateLimit` runs in Redis (one call = one round trip)."""


def _load_redis() -> Any:
    # redis-py is an optional dependency: imported when a RedisRateLimit is built, not before.
    try:
        import redis.asyncio
    except ImportError as exc:
        raise ImportError(
            "RedisRateLimit needs redis-py: pip install 'privicore-async[redis]'"
        ) from exc
    return redis.asyncio


class RedisRateLimit:
    """One limit of ``rate`` permits per second (bursts of ``burst``) shared through Redis.

    Every limiter built with the same Redis and ``key``, in any process on any machine, draws
    from one GCRA bucket kept under ``key`` (:data:`GCRA_SCRIPT`); time is Redis' own, so
    clock skew between machines does not matter. Within a process, waiters queue first come,
    first served, and one task talks to Redis for all of them: it asks for as many permits as
    there are waiters (at most ``block``, and at most ``burst``) in one script call, hands out
    what it gets, and while waiters remain sleeps until, by the script's answer, Redis can grant
    the next such block, instead of retrying. The task ends when nobody waits.

    :attr:`round_trips` (script calls) and :attr:`granted` (permits) show the cost: a busy
    process makes about ``1 / min(block, burst)`` calls per permit (``m`` busy processes on
    one key about ``m`` times that). A larger ``block`` means fewer calls, but a first waiter
    may wait up to ``block - 1`` permit intervals longer.

    If a script call fails (Redis unreachable, ...), every waiter of that moment gets its
    exception; the next :meth:`acquire` tries again. ``url`` is passed to
    ``redis.asyncio.Redis.from_url`` and never kept or shown (it may hold a password).
    """

    def __init__(self, url: str, key: str, rate: float, burst: int, *, block: int = 10) -> None:
        require_text("url", url)
        self._key = require_text("key", key)
        self._rate = _require_rate(rate)
        self._burst = require_int("burst", burst, minimum=1)
        self._block = require_int("block", block, minimum=1)
        self._interval = 1.0 / self._rate  # seconds per permit
        self._interval_us = repr(self._interval * 1e6)  # the script's ARGV[1], exact
        self._redis: redis.asyncio.Redis = _load_redis().Redis.from_url(url)
        self._script = self._redis.register_script(GCRA_SCRIPT)
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._leaser: asyncio.Task[None] | None = None
        self._wakeup: asyncio.Future[None] | None = None  # the leaser's sleep, while it sleeps
        self._closed = False
        self._round_trips = 0
        self._granted = 0

    @property
    def key(self) -> str:
        """The Redis key that holds the bucket's state."""
        return self._key

    @property
    def rate(self) -> float:
        """Permits per second, for every limiter on :attr:`key` together."""
        return self._rate

    @property
    def burst(self) -> int:
        """Permits that may be granted at once after a quiet spell."""
        return self._burst

    @property
    def block(self) -> int:
        """The most permits this process asks for in one script call."""
        return self._block

    @property
    def round_trips(self) -> int:
        """Script calls made so far (each one round trip to Redis)."""
        return self._round_trips

    @property
    def granted(self) -> int:
        """Permits Redis granted this limiter so far."""
        return self._granted

    async def acquire(self) -> None:
        """Wait for one permit (first come, first served within this process)."""
        if self._closed:
            raise RuntimeError("this rate limit is closed")
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        if self._leaser is None:
            self._leaser = asyncio.get_running_loop().create_task(
                self._lease(), name=f"RedisRateLimit {self._key}"
            )
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled() and waiter.exception() is None:
                self._hand_on()  # granted, then cancelled: the permit is the next waiter's
            else:
                with contextlib.suppress(ValueError):
                    self._waiters.remove(waiter)
                if not self._waiters:
                    self._wake_leaser()  # nobody left: the leaser ends now, not after its sleep
            raise

    async def close(self) -> None:
        """Stop the leasing task, fail pending waiters, close the Redis client. Idempotent."""
        self._closed = True
        self._fail_waiters(RuntimeError("this rate limit is closed"))
        leaser, self._leaser = self._leaser, None
        if leaser is not None:
            leaser.cancel()
            # wait(), not await: a cancellation of this call must not be taken for the
            # leaser's own and swallowed.
            await asyncio.wait({leaser})
        await self._redis.aclose()

    def __repr__(self) -> str:
        return (
            f"RedisRateLimit(key={self._key!r}, rate={self._rate!r}, burst={self._burst!r}, "
            f"block={self._block!r})"
        )

    # -- the leasing task ------------------------------------------------------------------

    def _wanted(self) -> int:
        return min(self._block, self._burst, len(self._waiters))

    async def _lease(self) -> None:
        try:
            while self._waiters:
                granted, ready_in = await self._call(self._wanted())
                for _ in range(granted):
                    if not self._hand_on():
                        break  # every waiter left during the call: the permit goes unused
                if not self._waiters:
                    break
                # Sleep until the next call can fill the queue's next block, not just one permit:
                # that keeps a busy process at about one call per `block` permits.
                await self._sleep(ready_in + (self._wanted() - 1) * self._interval)
        except Exception as exc:
            self._fail_waiters(exc)
        finally:
            if self._leaser is asyncio.current_task():
                self._leaser = None

    async def _call(self, wanted: int) -> tuple[int, float]:
        """One script call: (permits granted, seconds until one more is free)."""
        self._round_trips += 1
        args = [self._interval_us, self._burst, wanted]
        answer = await self._script(keys=[self._key], args=args)
        granted, ready_in_us = int(answer[0]), int(answer[1])
        self._granted += granted
        return granted, ready_in_us / 1e6

    async def _sleep(self, seconds: float) -> None:
        if seconds <= 0:
            return
        loop = asyncio.get_running_loop()
        wakeup = self._wakeup = loop.create_future()
        timer = loop.call_later(seconds, self._wake_leaser)
        try:
            await wakeup
        finally:
            timer.cancel()
            self._wakeup = None

    def _wake_leaser(self) -> None:
        if self._wakeup is not None and not self._wakeup.done():
            self._wakeup.set_result(None)

    def _hand_on(self) -> bool:
        """Give one permit to the longest waiter still waiting; False if there is none."""
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return True
        return False

    def _fail_waiters(self, exc: BaseException) -> None:
        waiters, self._waiters = self._waiters, deque()
        for waiter in waiters:
            if not waiter.done():
                waiter.set_exception(exc)
