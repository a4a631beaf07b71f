"""When status reads happen: adaptive scouts, parked followers and per-kind learning, or
plain exponential backoff; against a scripted status source."""

from __future__ import annotations

import asyncio
import time

from privicore_async import CommandStatus, PollPolicy, gather
from privicore_async.commands import CommandTracker
from tests.commands.scripted import ScriptedSource


async def test_adaptive_polling_learns_the_duration() -> None:
    source = ScriptedSource(rtt=0.001)
    tracker = CommandTracker(source, PollPolicy(timeout=30))
    handles = []
    for i in range(300):
        source.plan(f"c{i}", 0.4)
        handles.append(tracker.track(f"c{i}", kind="k"))
        if i % 50 == 49:
            await asyncio.sleep(0.1)
    await gather(*handles)
    polls = [source.fetches[f"c{i}"] for i in range(300)]
    # Scouts pay for the measurement; everybody else needs about one read.
    assert sum(polls) / len(polls) <= 1.6
    assert sorted(polls)[len(polls) // 2] == 1
    await tracker.close()


async def test_followers_wait_for_a_scout_before_polling() -> None:
    source = ScriptedSource()
    tracker = CommandTracker(source, PollPolicy(initial_delay=0.01, min_interval=0.01, timeout=10))
    handles = []
    for i in range(50):
        source.plan(f"c{i}", 0.3)
        handles.append(tracker.track(f"c{i}", kind="k"))
    await asyncio.sleep(0.25)
    scouts = {f"c{i}" for i in range(8)}  # a new kind warms up with eight scouts
    assert set(source.fetches) == scouts  # only the scouts have spent requests
    assert source.total >= 8 * 3  # and they poll densely
    await gather(*handles)
    followers = [source.fetches[f"c{i}"] for i in range(8, 50)]
    assert max(followers) <= 2
    await tracker.close()


async def test_parked_followers_fall_back_when_scouts_fail() -> None:
    source = ScriptedSource()
    tracker = CommandTracker(source, PollPolicy(initial_delay=0.01, min_interval=0.01, timeout=10))
    for i in range(11):
        source.plan(f"c{i}", 0.2)
    scouts = [tracker.track(f"c{i}", kind="k") for i in range(8)]
    followers = [tracker.track(f"c{i}", kind="k") for i in range(8, 11)]
    for scout in scouts:
        scout.cancel()  # no measurement will come from them
    results = await gather(*followers, timeout=5)
    assert all(r.status is CommandStatus.SUCCEEDED for r in results)
    await tracker.close()


async def test_kinds_are_learned_separately() -> None:
    source = ScriptedSource()
    tracker = CommandTracker(source, PollPolicy(initial_delay=0.01, min_interval=0.01, timeout=10))
    for i in range(10):
        source.plan(f"slow{i}", 0.5)
        source.plan(f"fast{i}", 0.05)
    slow = [tracker.track(f"slow{i}", kind="slow") for i in range(10)]
    fast = [tracker.track(f"fast{i}", kind="fast") for i in range(10)]
    started = time.monotonic()
    await gather(*fast)
    assert time.monotonic() - started < 0.4  # not held back by the slow kind
    await gather(*slow)
    await tracker.close()


async def test_plain_exponential_when_not_adaptive(source: ScriptedSource) -> None:
    policy = PollPolicy(initial_delay=0.01, min_interval=0.01, factor=2.0, adaptive=False)
    tracker = CommandTracker(source, policy)
    source.plan("c", 0.5)
    await tracker.track("c", kind="k")
    gaps = [b - a for a, b in zip(source.fetch_times, source.fetch_times[1:], strict=False)]
    assert len(gaps) >= 3
    assert gaps[-1] > gaps[0] * 2  # the delay grows
    await tracker.close()
