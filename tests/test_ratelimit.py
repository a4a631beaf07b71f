"""Client-side rate limits: in-process pacing and the GCRA limit shared through a real Redis.

Timing assertions are generous counts over windows (never exact instants): a limit is kept
when no window of ``t`` seconds holds more than ``rate * t + burst`` grants. A grant is
stamped when its waiter resumes, a little after Redis decided it, so windows get ``SLACK``
seconds of leeway.
"""

from __future__ import annotations

import asyncio
import math
import subprocess
import sys
import time
from collections.abc import Sequence

import pytest
import redis.asyncio

from privicore_async.errors import InvalidArgumentError
from privicore_async.ratelimit import (
    GCRA_SCRIPT,
    InProcessRateLimit,
    RateLimiter,
    RedisRateLimit,
)

SLACK = 0.02  # seconds between Redis granting a permit and its waiter stamping it


def assert_within_limit(stamps: Sequence[float], rate: float, burst: int) -> None:
    """No window [stamps[i], stamps[j]] holds more than rate * (its length + SLACK) + burst."""
    stamps = sorted(stamps)
    for i, start in enumerate(stamps):
        for j in range(i, len(stamps)):
            allowed = rate * (stamps[j] - start + SLACK) + burst
            assert j - i + 1 <= allowed, (
                f"{j - i + 1} grants in {stamps[j] - start:.3f} s (limit {allowed:.1f})"
            )


async def acquire_all(limiter: RateLimiter, n: int) -> list[float]:
    """``n`` concurrent acquisitions; the loop time at which each was granted."""
    loop = asyncio.get_running_loop()

    async def one() -> float:
        await limiter.acquire()
        return loop.time()

    return list(await asyncio.gather(*(one() for _ in range(n))))


def other_tasks() -> set[asyncio.Task[object]]:
    return {task for task in asyncio.all_tasks() if task is not asyncio.current_task()}


# -- InProcessRateLimit --------------------------------------------------------------------


async def test_in_process_paces_to_its_rate() -> None:
    limiter = InProcessRateLimit(50)
    started = asyncio.get_running_loop().time()
    stamps = await acquire_all(limiter, 100)
    elapsed = max(stamps) - started
    # Burst 1: 99 intervals of 20 ms after the first permit.
    assert 1.5 <= elapsed <= 5.0
    assert_within_limit(stamps, 50, 1)
    await limiter.close()


async def test_in_process_burst_goes_at_once_then_paces() -> None:
    limiter = InProcessRateLimit(20, burst=10)
    started = asyncio.get_running_loop().time()
    stamps = sorted(await acquire_all(limiter, 20))
    assert stamps[9] - started < 0.2  # the burst
    assert stamps[-1] - started >= 0.4  # then 10 more at 20/s
    assert_within_limit(stamps, 20, 10)


async def test_in_process_refuses_after_close() -> None:
    limiter = InProcessRateLimit(10)
    await limiter.acquire()
    await limiter.close()
    with pytest.raises(RuntimeError, match="closed"):
        await limiter.acquire()


BAD_RATES = [0, -1.0, math.nan, math.inf, "5", None, True]
BAD_BURSTS = [0, -3, 1.5, "2", True]


@pytest.mark.parametrize("rate", BAD_RATES)
def test_rate_must_be_a_finite_positive_number(rate: object) -> None:
    with pytest.raises(InvalidArgumentError) as caught:
        InProcessRateLimit(rate)  # type: ignore[arg-type]
    assert set(caught.value.errors) == {"rate"}
    with pytest.raises(InvalidArgumentError):
        RedisRateLimit("redis://127.0.0.1:1/0", "k", rate, 1)  # type: ignore[arg-type]


@pytest.mark.parametrize("burst", BAD_BURSTS)
def test_burst_must_be_a_positive_integer(burst: object) -> None:
    with pytest.raises(InvalidArgumentError) as caught:
        InProcessRateLimit(10, burst=burst)  # type: ignore[arg-type]
    assert set(caught.value.errors) == {"burst"}
    with pytest.raises(ValueError, match="burst"):  # InvalidArgumentError is a ValueError
        RedisRateLimit("redis://127.0.0.1:1/0", "k", 10, burst)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("url", "key", "block", "argument"),
    [
        ("", "k", 10, "url"),
        ("redis://127.0.0.1:1/0", " ", 10, "key"),
        ("redis://127.0.0.1:1/0", "k", 0, "block"),
    ],
)
def test_redis_arguments_are_checked(url: str, key: str, block: int, argument: str) -> None:
    with pytest.raises(InvalidArgumentError) as caught:
        RedisRateLimit(url, key, 10, 5, block=block)
    assert set(caught.value.errors) == {argument}


def test_repr_never_shows_the_url() -> None:
    limiter = RedisRateLimit("redis://:s3cret@127.0.0.1:1/0", "api", 10, 5)
    assert "s3cret" not in repr(limiter)
    assert repr(limiter) == "RedisRateLimit(key='api', rate=10.0, burst=5, block=10)"


# -- the GCRA script -----------------------------------------------------------------------


async def test_gcra_script_grants_what_is_free_and_says_when_the_next_is(
    redis_clean: str,
) -> None:
    client = redis.asyncio.Redis.from_url(redis_clean)
    script = client.register_script(GCRA_SCRIPT)
    try:
        args: list[str | int] = [repr(1e6 / 10), 5]  # 10 per second (T = 100 ms), burst 5

        async def call(wanted: int) -> tuple[int, int]:
            granted, ready_in = await script(keys=["gcra"], args=[*args, wanted])
            return int(granted), int(ready_in)

        granted, ready_in = await call(3)
        assert granted == 3
        assert -100_000 <= ready_in <= -99_000  # two of the burst are still free
        granted, ready_in = await call(5)
        assert granted == 2  # a partial grant: what is free
        assert 90_000 <= ready_in <= 100_000  # about one interval
        granted, ready_in = await call(1)
        assert granted == 0
        assert 0 < ready_in <= 100_000  # denied: how long until one permit is free
        # The key lives only while its TAT is ahead of Redis' clock (5 permits = 500 ms).
        assert 0 < await client.pttl("gcra") <= 500
    finally:
        await client.aclose()


# -- RedisRateLimit ------------------------------------------------------------------------


async def test_two_limiters_on_one_key_share_the_limit(redis_clean: str) -> None:
    rate, burst = 100, 5
    a = RedisRateLimit(redis_clean, "shared", rate, burst)
    b = RedisRateLimit(redis_clean, "shared", rate, burst)
    try:
        started = asyncio.get_running_loop().time()
        stamps_a, stamps_b = await asyncio.gather(acquire_all(a, 60), acquire_all(b, 60))
        stamps = stamps_a + stamps_b
        assert_within_limit(stamps, rate, burst)
        assert max(stamps) - started >= (120 - burst) / rate - SLACK
        assert (a.granted, b.granted) == (60, 60)
        # Two processes in contention still lease in blocks most of the time.
        assert (a.round_trips + b.round_trips) / 120 <= 0.5
    finally:
        await a.close()
        await b.close()


async def test_a_busy_process_leases_permits_in_blocks(redis_clean: str) -> None:
    limiter = RedisRateLimit(redis_clean, "busy", 400, 20, block=10)
    try:
        stamps = await acquire_all(limiter, 200)
        assert limiter.granted == 200
        assert limiter.round_trips / limiter.granted <= 0.2
        assert_within_limit(stamps, 400, 20)
    finally:
        await limiter.close()


async def test_a_denied_call_sleeps_as_long_as_redis_says(redis_clean: str) -> None:
    first = RedisRateLimit(redis_clean, "deny", 4, 1)  # one permit every 250 ms
    second = RedisRateLimit(redis_clean, "deny", 4, 1)
    try:
        await first.acquire()
        loop = asyncio.get_running_loop()
        started = loop.time()
        await second.acquire()
        assert loop.time() - started >= 0.2
        # Denied once, slept the wait the script returned, granted: no polling in between.
        assert (second.round_trips, second.granted) == (2, 1)
    finally:
        await first.close()
        await second.close()


async def test_no_busy_loop_when_the_burst_is_one(redis_clean: str) -> None:
    limiter = RedisRateLimit(redis_clean, "paced", 20, 1)
    try:
        stamps = await acquire_all(limiter, 10)
        assert max(stamps) - min(stamps) >= 9 / 20 - SLACK
        assert limiter.round_trips <= limiter.granted + 1
    finally:
        await limiter.close()


async def test_the_leasing_task_ends_when_nobody_waits(redis_clean: str) -> None:
    limiter = RedisRateLimit(redis_clean, "idle", 100, 5)
    try:
        await acquire_all(limiter, 12)
        assert not other_tasks()
        # Waiters that give up while the leaser sleeps (2 s to the next permit) end it at once.
        slow = RedisRateLimit(redis_clean, "idle-slow", 0.5, 1)
        await slow.acquire()
        waiters = [asyncio.ensure_future(slow.acquire()) for _ in range(3)]
        await asyncio.sleep(0.1)
        for waiter in waiters:
            waiter.cancel()
        await asyncio.gather(*waiters, return_exceptions=True)
        await asyncio.sleep(0.01)
        assert not other_tasks()
        assert slow.round_trips == 2  # the first grant, then one denial
        await slow.close()
    finally:
        await limiter.close()


async def test_close_fails_waiters_and_leaves_no_task(redis_clean: str) -> None:
    limiter = RedisRateLimit(redis_clean, "closing", 1, 1)
    await limiter.acquire()
    waiters = [asyncio.ensure_future(limiter.acquire()) for _ in range(3)]
    await asyncio.sleep(0.05)
    await limiter.close()
    results = await asyncio.gather(*waiters, return_exceptions=True)
    assert all(isinstance(r, RuntimeError) for r in results), results
    assert not other_tasks()
    with pytest.raises(RuntimeError, match="closed"):
        await limiter.acquire()
    await limiter.close()  # idempotent


async def test_an_unreachable_redis_fails_the_waiters() -> None:
    limiter = RedisRateLimit("redis://127.0.0.1:1/0", "down", 10, 5)
    try:
        results = await asyncio.gather(
            *(limiter.acquire() for _ in range(3)), return_exceptions=True
        )
        assert all(isinstance(r, redis.exceptions.ConnectionError) for r in results), results
        assert not other_tasks()
    finally:
        await limiter.close()


_CHILD = """
import asyncio, sys, time
from privicore_async.ratelimit import RedisRateLimit

async def main(url, key, n):
    limiter = RedisRateLimit(url, key, 40, 4)
    stamps = []
    async def one():
        await limiter.acquire()
        stamps.append(time.time())
    await asyncio.gather(*(one() for _ in range(n)))
    await limiter.close()
    print(" ".join(map(repr, stamps)), limiter.round_trips, flush=True)

print("ready", flush=True)
sys.stdin.readline()  # every child starts at the parent's word
asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3])))
"""


async def test_the_limit_holds_across_two_os_processes(redis_clean: str) -> None:
    rate, burst, n = 40, 4, 30
    children = [
        await asyncio.create_subprocess_exec(
            *(sys.executable, "-c", _CHILD, redis_clean, "processes", str(n)),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        for _ in range(2)
    ]
    try:
        for child in children:
            assert child.stdout is not None
            assert await asyncio.wait_for(child.stdout.readline(), 30) == b"ready\n"
        started = time.time()
        outputs = await asyncio.wait_for(
            asyncio.gather(*(child.communicate(b"go\n") for child in children)), 30
        )
    finally:
        for child in children:
            if child.returncode is None:
                child.kill()
                await child.wait()
    stamps: list[float] = []
    for child, (out, err) in zip(children, outputs, strict=True):
        assert child.returncode == 0, err.decode()
        *granted, _round_trips = out.split()
        assert len(granted) == n
        stamps += [float(s) for s in granted]
    assert_within_limit(stamps, rate, burst)
    assert max(stamps) - started >= (2 * n - burst) / rate - SLACK


def test_the_module_imports_without_redis() -> None:
    code = (
        "import sys; sys.modules['redis'] = None\n"
        "import privicore_async.ratelimit as r\n"
        "r.InProcessRateLimit(5)\n"
        "try:\n"
        "    r.RedisRateLimit('redis://127.0.0.1:1/0', 'k', 5, 5)\n"
        "except ImportError as exc:\n"
        "    print(exc)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "RedisRateLimit needs redis-py: pip install 'privicore-async[redis]'\n"
