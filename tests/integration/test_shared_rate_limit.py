"""Two processes under one RedisRateLimit keep a gateway's limit: no 429 at all.

The sandbox refuses requests beyond a token bucket (``Sandbox(rate_limit=...)``), as a real
gateway would. Two OS processes sync 5,000 devices between them: sharing one Redis limit at
90 % of the sandbox's rate they get no 429; without it, they get many.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from privicore_async.sandbox import Sandbox
from tests.integration.conftest import PASSWORD
from tests.integration.test_crash_recovery import seed_fleet

ROOT = Path(__file__).resolve().parents[2]
DEVICES = 5000
RATE, BURST = 800.0, 200  # the sandbox's limit: a burst that absorbs a stalled process


async def _two_processes(sb: Sandbox, tmp_path: Path, *limit_args: str) -> list[str]:
    username, devices = seed_fleet(sb, DEVICES)
    half = DEVICES // 2
    children = []
    for n, part in enumerate((devices[:half], devices[half:])):
        listing = tmp_path / f"devices-{n}-{len(limit_args)}.txt"
        listing.write_text("\n".join(part))
        argv = ["-m", "tests.integration.sync_child", "--api", sb.api_url, "--user", username]
        argv += ["--password", PASSWORD, "--devices", str(listing), "--concurrency", "200"]
        child = await asyncio.create_subprocess_exec(
            sys.executable,
            *argv,
            *limit_args,
            cwd=ROOT,
            stdout=asyncio.subprocess.PIPE,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        children.append(child)
    outputs = await asyncio.wait_for(asyncio.gather(*(c.communicate() for c in children)), 120)
    assert [c.returncode for c in children] == [0, 0]
    return [out.decode().strip().splitlines()[-1] for out, _ in outputs]


async def test_a_shared_limit_at_90_percent_gets_no_429(redis_clean: str, tmp_path: Path) -> None:
    shared = ("--redis-limit", redis_clean, "--rate", str(RATE * 0.9), "--burst", str(BURST // 2))
    async with Sandbox(latency=0.05, rate_limit=(RATE, BURST)) as sb:
        done = await _two_processes(sb, tmp_path, *shared)
        assert sb.stats.rate_limited == 0
    assert done == ['done {"succeeded": 2500}'] * 2


async def test_without_it_the_same_processes_get_many_429s(tmp_path: Path) -> None:
    async with Sandbox(latency=0.05, rate_limit=(RATE, BURST)) as sb:
        done = await _two_processes(sb, tmp_path)
        assert sb.stats.rate_limited > 100
    # A refused sync is a failed line: a command POST that got an answer is not resent.
    assert any('"failed"' in line for line in done)
