"""A fleet sync in its own process: ``python -m tests.integration.sync_child``.

It syncs the devices listed in a file, with a ``SqliteJournal`` and a ``run_id`` when given
(the crash tests) and a ``RedisRateLimit`` when given (the shared rate-limit test), prints
``accepted N`` every 50 accepted devices (so the parent knows when to kill it) and ``done``
with the report's counts at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path

from privicore_async import PollPolicy, PrivicoreClient
from privicore_async.journal import SqliteJournal
from privicore_async.ratelimit import RedisRateLimit


async def main(args: argparse.Namespace, devices: list[str]) -> None:
    accepted = 0

    def on_accepted(device: str, handle: object) -> None:
        nonlocal accepted
        accepted += 1
        if accepted % 50 == 0:
            print(f"accepted {accepted}", flush=True)

    poll = PollPolicy(initial_delay=0.05, min_interval=0.02, max_interval=0.5, timeout=120)
    limit = None
    if args.redis_limit:
        limit = RedisRateLimit(args.redis_limit, "test-limit", args.rate, args.burst)
    try:
        async with PrivicoreClient(
            args.api,
            username=args.user,
            password=args.password,
            journal=SqliteJournal(args.journal) if args.journal else None,
            poll=poll,
            rate_limit=limit,
        ) as client:
            report = await client.storage.sync_devices(
                devices, run_id=args.run, concurrency=args.concurrency, on_accepted=on_accepted
            )
    finally:
        if limit is not None:
            await limit.close()
    counts = {outcome.value: n for outcome, n in report.counts().items() if n}
    print("done " + json.dumps(counts), flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    for name in ("--api", "--user", "--password", "--devices"):
        parser.add_argument(name, required=True)
    parser.add_argument("--journal")
    parser.add_argument("--run")
    parser.add_argument("--concurrency", type=int, default=500)
    parser.add_argument("--redis-limit", help="a Redis URL: share a RedisRateLimit there")
    parser.add_argument("--rate", type=float, default=100.0)
    parser.add_argument("--burst", type=int, default=10)
    arguments = parser.parse_args()
    asyncio.run(main(arguments, Path(arguments.devices).read_text().split()))
