"""Worker OS processes for the tests: ``python -m privicore_async.cli worker``, started and
always killed, and what the tests read of a run (its journal, the sandbox's syncs)."""

from __future__ import annotations

import asyncio
import inspect
import os
import signal
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

import attrs
import pytest
import redis.asyncio

from privicore_async.contrib.streams import GROUP
from privicore_async.contrib.taskiq import RunProgress, enqueue_sync, make_broker, wait_for_run
from privicore_async.journal import CommandJournal
from privicore_async.sandbox import Sandbox
from tests.integration.conftest import PASSWORD

ROOT = Path(__file__).resolve().parents[2]
READY = "privicore worker: ready as "


def worker_env() -> dict[str, str]:
    """This environment without any PRIVICORE_* of a developer's shell, plus the password."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PRIVICORE_")}
    return {**env, "PYTHONPATH": str(ROOT), "PRIVICORE_PASSWORD": PASSWORD}


@attrs.define
class Worker:
    """One worker process; ``consumer`` is its name in the queue's consumer group."""

    process: asyncio.subprocess.Process
    log: Path
    consumer: str = ""

    @property
    def pid(self) -> int:
        return self.process.pid

    async def stop(self, signum: int = signal.SIGTERM, timeout: float = 20) -> int:
        """Send ``signum`` and wait for the exit status."""
        self.process.send_signal(signum)
        return await asyncio.wait_for(self.process.wait(), timeout)

    def batches_done(self) -> int:
        return self.log_text().count("batch of ")

    def log_text(self) -> str:
        return self.log.read_text()


async def start_worker(
    sb: Sandbox, username: str, redis_url: str, log: Path, *options: str
) -> Worker:
    """Start a worker of ``sb`` on ``redis_url``; returns once it is ready for batches."""
    argv = ["-m", "privicore_async.cli", "worker", "--redis", redis_url]
    argv += ["--api-url", sb.api_url, "--username", username, *options]
    with log.open("wb") as stderr:  # a file, not a pipe: a chatty worker never blocks on it
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            *argv,
            cwd=ROOT,
            env=worker_env(),
            stdout=asyncio.subprocess.PIPE,
            stderr=stderr,
        )
    worker = Worker(process, log)
    assert process.stdout is not None
    try:
        line = (await asyncio.wait_for(process.stdout.readline(), 30)).decode()
    except TimeoutError:
        line = "(nothing in 30 s)"
    if not line.startswith(READY):
        process.kill()
        await process.wait()
        pytest.fail(f"the worker did not get ready: {line!r}\n{worker.log_text()}")
    worker.consumer = line.removeprefix(READY).split()[0]
    return worker


@asynccontextmanager
async def workers(
    sb: Sandbox, username: str, redis_url: str, logs: Path, n: int, *options: str
) -> AsyncIterator[list[Worker]]:
    """``n`` ready workers; every one still running is killed on the way out."""
    started: list[Worker] = []
    try:
        for i in range(n):
            log = logs / f"worker-{i}.log"
            started.append(await start_worker(sb, username, redis_url, log, *options))
        yield started
    finally:
        for worker in started:
            if worker.process.returncode is None:
                worker.process.kill()
            await worker.process.wait()


async def enqueue(redis_url: str, devices: list[str], run_id: str, batch: int) -> int:
    """Queue a run the way a coordinator does; the number of batches."""
    broker = make_broker(redis_url)
    await broker.startup()
    try:
        return await enqueue_sync(broker, devices, run_id=run_id, batch=batch)
    finally:
        await broker.shutdown()


def syncs_per_device(sb: Sandbox) -> Counter[str]:
    """How many ``storage.sync_device`` commands the sandbox accepted for each device."""
    return Counter(
        command.target
        for command in sb.state.commands.values()
        if command.route == "storage.sync_device" and command.target is not None
    )


async def eventually(
    predicate: Callable[[], object], timeout: float, what: str, *, every: float = 0.02
) -> None:
    """Wait until ``predicate()`` (or the awaitable it returns) is true; polled every
    ``every`` seconds, failing with ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if inspect.isawaitable(value):
            value = await value
        if value:
            return
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not within {timeout} s")
        await asyncio.sleep(every)


async def wait_or_explain(
    journal: CommandJournal,
    run_id: str,
    total: int,
    *,
    timeout: float,
    redis_url: str,
    sb: Sandbox,
    processes: Sequence[Worker] = (),
    seen: list[RunProgress] | None = None,
    queue: str = "privicore-sync",
) -> RunProgress:
    """``wait_for_run`` bounded by ``timeout``; on timeout the test fails with what a reader
    needs to tell a hang from a slow machine: the last progress, the queue's pending entries,
    the sandbox's pending commands and every worker's log."""
    reports: list[RunProgress] = [] if seen is None else seen
    try:
        async with asyncio.timeout(timeout):
            return await wait_for_run(journal, run_id, total, on_progress=reports.append, poll=0.1)
    except TimeoutError:
        client = redis.asyncio.Redis.from_url(redis_url)
        try:
            pending = await client.xpending_range(queue, GROUP, "-", "+", 100)
            length = await client.xlen(queue)
        finally:
            await client.aclose()
        logs = "\n".join(
            f"--- worker pid {w.pid} ({w.consumer}) exit {w.process.returncode}:\n{w.log_text()}"
            for w in processes
        )
        pytest.fail(
            f"run {run_id} not done within {timeout} s\n"
            f"last progress: {reports[-1] if reports else None}\n"
            f"queue: {length} entries, pending {pending}\n"
            f"sandbox: {len(sb.state.commands)} commands accepted, {len(sb.due())} pending\n"
            f"{logs}"
        )
