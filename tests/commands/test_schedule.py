"""When status reads happen: adaptive scouts, parked followers, gap bisection, the learned
window, drift probes and per-kind learning, or plain exponential backoff; against a scripted
status source."""

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


async def test_a_burst_of_a_new_kind_sends_eight_scouts_and_parks_the_rest() -> None:
    source = ScriptedSource()
    tracker = CommandTracker(source, PollPolicy(initial_delay=0.01, timeout=10))
    handles = []
    for i in range(50):
        source.plan(f"c{i}", 0.3)
        handles.append(tracker.track(f"c{i}", kind="k"))
    await asyncio.sleep(0.25)
    # Two scouts, then (as commands keep coming within target_lag) up to eight in all.
    assert len(source.fetches) == 8
    assert {"c0", "c1"} <= set(source.fetches)
    # With 42 parked as old as they are, the scouts read every target_lag (0.1 s), not on an
    # exponential backoff: their settle decides the lag of every parked command.
    assert all(source.fetches[c] >= 3 for c in source.fetches)
    await gather(*handles)
    followers = [source.fetches[f"c{i}"] for i in range(50) if f"c{i}" not in source.fetches]
    assert followers == []
    parked = [source.fetches[f"c{i}"] for i in range(50)]
    assert sorted(parked)[len(parked) // 2] == 1
    await tracker.close()


async def test_a_lone_command_scouts_on_exponential_backoff() -> None:
    source = ScriptedSource()
    tracker = CommandTracker(source, PollPolicy(initial_delay=0.01, timeout=10))
    source.plan("c", 1.0)
    await tracker.track("c", kind="k")
    gaps = [b - a for a, b in zip(source.fetch_times, source.fetch_times[1:], strict=False)]
    assert gaps[-1] > 2 * gaps[0]
    assert source.fetches["c"] <= 12
    await tracker.close()


async def _stream(
    tracker: CommandTracker,
    source: ScriptedSource,
    durations: list[float],
    every: float,
    settled_at: dict[str, float],
    seen_at: dict[str, float],
) -> None:
    handles = []
    for i, duration in enumerate(durations):
        cid = f"c{i}"
        source.plan(cid, duration)
        settled_at[cid] = time.monotonic() + duration
        handle = tracker.track(cid, kind="k")
        handle.add_done_callback(lambda h: seen_at.__setitem__(h.command_id, time.monotonic()))
        handles.append(handle)
        await asyncio.sleep(every)
    await gather(*handles)
    await asyncio.sleep(0)


async def test_a_known_duration_costs_about_one_read_right_after_it() -> None:
    source = ScriptedSource(rtt=0.001)
    tracker = CommandTracker(source, PollPolicy(timeout=30))
    settled_at: dict[str, float] = {}
    seen_at: dict[str, float] = {}
    await _stream(tracker, source, [0.3] * 120, 0.02, settled_at, seen_at)
    # The gap between the latest "pending" and the earliest "settled" was bisected by a few
    # probes; after that each command is read once, right after 0.3 s.
    late = [f"c{i}" for i in range(60, 120)]
    assert sum(source.fetches[c] for c in late) / len(late) <= 1.2
    lags = sorted(seen_at[c] - settled_at[c] for c in late)
    assert lags[len(lags) // 2] < 0.03
    await tracker.close()


async def test_a_spread_is_read_at_intervals_of_target_lag_inside_the_window() -> None:
    import random

    rng = random.Random(7)
    source = ScriptedSource(rtt=0.001)
    policy = PollPolicy(timeout=30, target_lag=0.05)
    tracker = CommandTracker(source, policy)
    settled_at: dict[str, float] = {}
    seen_at: dict[str, float] = {}
    durations = [0.4 + rng.uniform(0, 0.4) for _ in range(150)]
    await _stream(tracker, source, durations, 0.02, settled_at, seen_at)
    late = [f"c{i}" for i in range(75, 150)]
    lags = sorted(seen_at[c] - settled_at[c] for c in late)
    # Reads 1.5 x target_lag apart inside the window: the median lag is within target_lag.
    assert lags[len(lags) // 2] <= policy.target_lag
    # ...for far fewer reads than polling every target_lag from the start (~12 each).
    assert sum(source.fetches[c] for c in late) / len(late) <= 6
    await tracker.close()


async def test_probes_notice_when_the_server_gets_faster() -> None:
    source = ScriptedSource(rtt=0.001)
    tracker = CommandTracker(source, PollPolicy(timeout=30))
    settled_at: dict[str, float] = {}
    seen_at: dict[str, float] = {}
    await _stream(tracker, source, [0.4] * 60 + [0.15] * 80, 0.02, settled_at, seen_at)
    # After the change a command read at the old 0.4 s would wait 250 ms: probes below the
    # window find commands settled and the window's start moves down to them (its top
    # follows more slowly, so the reads in between are spaced 1.5 x target_lag).
    lags = sorted(seen_at[f"c{i}"] - settled_at[f"c{i}"] for i in range(110, 140))
    assert lags[len(lags) // 2] < 0.16
    await tracker.close()


async def test_parked_followers_fall_back_when_scouts_fail() -> None:
    source = ScriptedSource()
    tracker = CommandTracker(source, PollPolicy(initial_delay=0.01, timeout=10))
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
