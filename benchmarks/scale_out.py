"""What durability and scale-out cost: journals, the shared rate limit, more workers.

Runs, in one process against the sandbox in another (and a ``redis-server`` of its own):

* **journals**: 2,000 ``sync_devices`` commands with no journal, a ``SqliteJournal`` and a
  ``RedisJournal``, rounds rotated; throughput (commands/s), the ratio to no journal in the same
  round, and the Redis journal's round trips per command;
* **shared limit**: ``RedisRateLimit`` round trips per granted permit with many waiters;
* **workers**: the same fleet synced by 1 and by 2 taskiq worker processes on Redis (wall time
  from enqueue to every device settled in the journal). This machine has 2 cores, shared by
  the sandbox, Redis and the workers: read the worker numbers as "does it scale out at all",
  not as a speed-up measurement.

``python benchmarks/scale_out.py [--commands 2000] [--rounds 3] [--no-workers]``
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
from _common import git_revision, machine_info

from privicore_async import PollPolicy, PrivicoreClient
from privicore_async.journal import CommandJournal, RedisJournal, SqliteJournal
from privicore_async.ratelimit import RedisRateLimit
from privicore_async.sandbox import SandboxAdmin, SandboxProcess

ROOT = Path(__file__).resolve().parents[1]
LATENCY = 0.2
PASSWORD = "bench password"
POLL = PollPolicy(timeout=120)


@asynccontextmanager
async def redis_server() -> AsyncIterator[str]:
    """A throwaway ``redis-server`` on a free port, no persistence."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise SystemExit("redis-server is not installed (apt-get install redis-server)")
    with tempfile.TemporaryDirectory() as directory, socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
        probe.close()
        argv = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
        argv += ["--appendonly", "no", "--dir", directory]
        process = await asyncio.create_subprocess_exec(
            *argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        try:
            deadline = time.monotonic() + 10
            while True:
                try:
                    _, writer = await asyncio.open_connection("127.0.0.1", port)
                    writer.close()
                    await writer.wait_closed()
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise
                    await asyncio.sleep(0.05)
            yield f"redis://127.0.0.1:{port}/0"
        finally:
            process.terminate()
            await asyncio.wait_for(process.wait(), 5)


async def setup_fleet(api_url: str, count: int) -> tuple[str, list[str]]:
    """A profile and ``count`` onboarded storage devices (not measured)."""
    username = f"bench-{os.getpid()}-{time.time_ns()}"
    async with PrivicoreClient(api_url, poll=POLL) as anonymous:
        await (await anonymous.profile.register(username, PASSWORD))
    async with PrivicoreClient(api_url, username=username, password=PASSWORD, poll=POLL) as c:
        slots = asyncio.Semaphore(100)

        async def onboard(i: int) -> str:
            async with slots:
                identifier = await c.devices.onboard(f"scale-{i}")
                await (await c.storage.register(identifier))
                return identifier

        devices = list(await asyncio.gather(*(onboard(i) for i in range(count))))
    return username, devices


async def timed_sync(
    api_url: str, username: str, devices: list[str], journal: CommandJournal | None
) -> float:
    """Seconds to sync every device once (submit to last outcome)."""
    async with PrivicoreClient(
        api_url, username=username, password=PASSWORD, poll=POLL, journal=journal
    ) as client:
        await client.utility.health()  # connect and authenticate outside the timing
        await (await client.storage.sync_device(devices[0]))
        started = time.perf_counter()
        report = await client.storage.sync_devices(
            devices, run_id=f"r-{time.time_ns()}" if journal else None
        )
        elapsed = time.perf_counter() - started
    bad = len(devices) - len(report.succeeded)
    if bad:
        raise RuntimeError(f"{bad} devices did not sync: {report.counts()}")
    return elapsed


async def journals(
    api_url: str, redis_url: str, username: str, devices: list[str], rounds: int
) -> dict[str, Any]:
    """Throughput with no journal, SQLite and Redis, rotated per round."""
    results: dict[str, list[float]] = {"none": [], "sqlite": [], "redis": []}
    redis_trips: list[float] = []
    with tempfile.TemporaryDirectory() as directory:
        makers: dict[str, Callable[[int], CommandJournal | None]] = {
            "none": lambda n: None,
            "sqlite": lambda n: SqliteJournal(Path(directory) / f"journal-{n}.db"),
            "redis": lambda n: RedisJournal(redis_url, namespace=f"bench-{n}"),
        }
        order = list(makers)
        for n in range(rounds):
            for name in order[n % 3 :] + order[: n % 3]:
                journal = makers[name](n)
                elapsed = await timed_sync(api_url, username, devices, journal)
                results[name].append(len(devices) / elapsed)
                if isinstance(journal, RedisJournal):
                    redis_trips.append(journal.round_trips / (len(devices) + 1))
                print(f"  round {n + 1} {name:6}: {len(devices) / elapsed:7.0f} commands/s")
                await asyncio.sleep(0.5)
    median = {name: statistics.median(values) for name, values in results.items()}
    ratios = {
        name: statistics.median(results[name][k] / results["none"][k] for k in range(rounds))
        for name in ("sqlite", "redis")
    }
    return {
        "commands_per_s": median,
        "ratio_to_none_same_round": ratios,
        "redis_round_trips_per_command": statistics.median(redis_trips),
    }


async def limiter(redis_url: str, waiters: int = 2000) -> dict[str, float]:
    """Round trips per granted permit of a busy RedisRateLimit."""
    limit = RedisRateLimit(redis_url, "bench-limit", rate=5000, burst=100, block=25)
    try:
        started = time.perf_counter()
        await asyncio.gather(*(limit.acquire() for _ in range(waiters)))
        elapsed = time.perf_counter() - started
        return {
            "permits": float(limit.granted),
            "round_trips_per_permit": limit.round_trips / limit.granted,
            "permits_per_s": limit.granted / elapsed,
        }
    finally:
        await limit.close()


async def workers(
    api_url: str, redis_url: str, username: str, devices: list[str], counts: tuple[int, ...]
) -> dict[str, float]:
    """Wall seconds for ``len(devices)`` syncs through 1 or 2 taskiq worker processes."""
    from privicore_async.contrib.taskiq import enqueue_sync, make_broker, wait_for_run

    result: dict[str, float] = {}
    env = {**os.environ, "PRIVICORE_PASSWORD": PASSWORD}
    for count in counts:
        namespace = f"workers-{count}"
        argv = [sys.executable, "-m", "privicore_async.cli", "worker", "--redis", redis_url]
        argv += ["--api-url", api_url, "--username", username, "--namespace", namespace]
        procs = [await asyncio.create_subprocess_exec(*argv, env=env) for _ in range(count)]
        try:
            await asyncio.sleep(2.0)  # let the workers connect (not measured)
            broker = make_broker(redis_url)
            await broker.startup()
            journal = RedisJournal(redis_url, namespace=namespace)
            await journal.open()
            try:
                run_id = f"w{count}-{time.time_ns()}"
                started = time.perf_counter()
                await enqueue_sync(broker, devices, run_id=run_id, batch=250)
                await wait_for_run(journal, run_id, len(devices), poll=0.2)
                result[f"{count}_workers_s"] = time.perf_counter() - started
            finally:
                await journal.close()
                await broker.shutdown()
        finally:
            for proc in procs:
                proc.send_signal(signal.SIGTERM)
            for proc in procs:
                await asyncio.wait_for(proc.wait(), 30)
        print(f"  {count} worker(s): {result[f'{count}_workers_s']:.2f} s")
    return result


async def main(args: argparse.Namespace) -> dict[str, Any]:
    with SandboxProcess(latency=0.01) as sandbox:
        api_url = sandbox.api_url
        assert api_url is not None
        async with redis_server() as redis_url, aiohttp.ClientSession() as session:
            admin = SandboxAdmin(api_url, sandbox.admin_token, session=session)
            username, devices = await setup_fleet(api_url, args.commands)
            await admin.set_latency(LATENCY, 0.02)
            print(f"journals: {args.commands} syncs, latency {LATENCY} s, {args.rounds} rounds")
            report: dict[str, Any] = {
                "journals": await journals(api_url, redis_url, username, devices, args.rounds)
            }
            print("shared limit: 2,000 waiters on one RedisRateLimit")
            report["limiter"] = await limiter(redis_url)
            if not args.no_workers:
                print("workers: the same fleet through taskiq workers on Redis")
                report["workers"] = await workers(api_url, redis_url, username, devices, (1, 2))
    return report


def run(args: argparse.Namespace) -> None:
    started = time.time()
    report = asyncio.run(main(args))
    report["machine"] = machine_info()
    report["revision"] = git_revision(ROOT)
    print(json.dumps(report, indent=2))
    out = ROOT / "benchmarks" / "results" / "scale_out.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(report, indent=2))
    print(f"wrote {out} (whole run {time.time() - started:.0f} s)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commands", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-workers", action="store_true")
    run(parser.parse_args())
